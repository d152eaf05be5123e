//! The `baseline` phase (`gateway: { …, baseline: 10s }`): the scenario's mix sent straight to
//! the mocks for that long before t = 0, outside `duration` and faults, so that latency through
//! the gateway can be set against latency without it (docs/metrics.md, "Gateway overhead").
//!
//! It runs before the run's t = 0 is fixed, on its own engine and channel; its records are
//! then moved onto the run's clock (negative times) and handed to the recorder. Its call ids
//! start at [`ID_BASE`], apart from the run's.

use super::engine::{Engine, Record, Setup};
use super::sessions::{InitRecord, open_mock_targets};
use crate::error::Result;
use crate::mcp::client::HttpClient;
use crate::mcp::conn::Endpoint;
use crate::mcp::protocol::ProtocolChoice;
use crate::plan::build::{Overrides, Plan};
use crate::plan::phase::Phase;
use crate::scenario::{Gateway, Model, Scenario};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The first call id of the baseline.
pub const ID_BASE: u64 = 1 << 40;

/// The baseline's plan: the scenario's load for `length`, no warmup, no faults.
pub fn plan(s: &Scenario, length: Duration, overrides: &Overrides) -> Result<Plan> {
    let mut b = s.clone();
    b.duration = length;
    b.warmup = Duration::ZERO;
    b.faults.clear();
    b.baseline = None;
    b.gateway = Gateway::None;
    let o = Overrides {
        duration: None,
        rate_scale: overrides.rate_scale,
        seed: overrides.seed,
    };
    Plan::build(&b, o)
}

/// What the baseline left: its records on its own clock, and that clock's zero.
pub struct Ran {
    pub records: Vec<Record>,
    pub t0: Instant,
}

/// Runs the baseline to its end against the mocks; `stop` cuts it short.
pub async fn run(
    s: &Scenario,
    plan: Arc<Plan>,
    endpoints: &[(String, Endpoint)],
    client: &HttpClient,
    choice: ProtocolChoice,
    stop: CancellationToken,
) -> Result<Ran> {
    let mut inits: Vec<InitRecord> = Vec::new();
    let (targets, routes) = open_mock_targets(
        &plan.keys,
        endpoints,
        client,
        s.load.sessions,
        choice,
        &mut inits,
    )
    .await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let t0 = Instant::now() + Duration::from_millis(50);
    let engine = Engine::new(Setup {
        plan,
        targets,
        routes,
        t0,
        timeout: s.load.timeout,
        max_in_flight: s.load.max_in_flight as usize,
        open_model: matches!(s.load.model, Model::Open { .. }),
        tx,
        stop,
        label: Some(Phase::Baseline),
        id_base: ID_BASE,
    });
    engine.run().await;
    let mut records = Vec::new();
    while let Ok(r) = rx.try_recv() {
        records.push(r);
    }
    if let Ok(engine) = Arc::try_unwrap(engine) {
        for t in engine.targets {
            for c in t.sessions {
                if let Ok(c) = Arc::try_unwrap(c) {
                    let _ = tokio::time::timeout(Duration::from_secs(3), c.close()).await;
                }
            }
        }
    }
    Ok(Ran { records, t0 })
}

/// Moves a record from a clock whose zero is `offset_ns` on the run's clock onto the run's.
pub fn shift(r: Record, offset_ns: i64) -> Record {
    match r {
        Record::Sample(mut s) => {
            s.intended_ns += offset_ns;
            s.start_ns += offset_ns;
            s.end_ns += offset_ns;
            Record::Sample(s)
        }
        Record::Event(mut e) => {
            e.at_ns += offset_ns;
            Record::Event(e)
        }
    }
}
