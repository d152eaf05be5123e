//! Crafted calls and summaries for the accumulators' unit tests.

use super::classified::{Call, DeriveSetup};
use super::recorder::{Recorder, RunMeta};
use super::summary::Summary;
use crate::mcp::outcome::Outcome;
use crate::plan::phase::Phase;
use crate::sample::{Event, Sample};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub const MS: i64 = 1_000_000;
pub const S: i64 = 1_000_000_000;

/// A setup of `servers`, each key a `(server, tool)`; open model, 5 s timeout.
pub fn setup(servers: &[&str], keys: &[(&str, &str)]) -> DeriveSetup {
    DeriveSetup {
        keys: (keys.iter())
            .map(|&(s, t)| (s.to_owned(), t.to_owned()))
            .collect(),
        servers: servers.iter().map(|&s| s.to_owned()).collect(),
        model_open: true,
        timeout: Duration::from_secs(5),
        ..DeriveSetup::default()
    }
}

/// A call of `key` intended at `at_ms`, sent on time, answered after `took_ms`.
pub fn sample(key: u32, phase: Phase, at_ms: f64, took_ms: f64, outcome: Outcome) -> Sample {
    let at = (at_ms * 1e6) as i64;
    Sample {
        call_id: 0,
        key,
        phase,
        intended_ns: at,
        start_ns: at,
        end_ns: at + (took_ms * 1e6) as i64,
        outcome,
        service_us: None,
        session: 0,
        args_hash: 0,
        data_version: None,
    }
}

/// `s` as the classifier hands it on, with `hit`.
pub fn call<'a>(setup: &'a DeriveSetup, s: &'a Sample, hit: Option<bool>) -> Call<'a> {
    let (server, tool) = &setup.keys[s.key as usize];
    Call {
        sample: s,
        server,
        tool,
        hit,
        wrong_server: false,
        data_version: None,
    }
}

/// The summary of `samples` and `events` (no derivation) for a run of `run_s` seconds.
pub fn summary(setup: &DeriveSetup, samples: &[Sample], events: &[Event], run_s: u64) -> Summary {
    let mut r = Recorder::new(setup.keys.clone(), setup.model_open, setup.timeout);
    for s in samples {
        r.add(s);
    }
    for e in events {
        r.add_event(e);
    }
    r.finish(run_meta(run_s))
}

/// The metadata of a finished test run of `run_s` seconds: complete, no phase lengths.
pub fn run_meta(run_s: u64) -> RunMeta {
    RunMeta {
        scenario: "t".into(),
        seed: 1,
        gauntlet_version: "0".into(),
        scenario_hash: "h".into(),
        started_at: SystemTime::UNIX_EPOCH,
        duration: Duration::from_secs(run_s),
        partial: false,
        phase_lengths: BTreeMap::new(),
    }
}
