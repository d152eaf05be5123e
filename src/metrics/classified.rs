//! What derivation works on: the run's setup ([`DeriveSetup`]: keys, servers, fault windows,
//! ramp steps, what the backends can say) and a classified call ([`Call`]), which the
//! classifier hands to every accumulator.

use crate::ledger::Snapshot;
use crate::sample::Sample;
use std::sync::Arc;
use std::time::Duration;

/// What gauntlet can see of the backends (the mocks' ledgers, in process or over the
/// back-channel).
pub trait Backends: Send + Sync {
    /// How often `server`'s backend saw call id `id`: 0, 1, or 2 for twice or more; `None`
    /// when gauntlet cannot see that server's calls.
    fn seen(&self, server: &str, id: u64) -> Option<u8>;
    /// The ledger of `server`, when gauntlet can see it.
    fn snapshot(&self, server: &str) -> Option<Snapshot>;
    /// Whether `server`'s backend has seen any call carrying a driver call id: `Some(false)`
    /// when it saw calls but none carried one; `None` when it saw none or cannot be seen.
    fn propagates(&self, server: &str) -> Option<bool>;
    /// `server`'s tools/call requests for `tool` that carried no call id, per arguments hash
    /// ([`crate::hash::args_hash`]), to match them with driver calls; `Err` says why
    /// they cannot be known.
    fn unmarked(
        &self,
        server: &str,
        _tool: &str,
    ) -> Result<std::collections::HashMap<u64, u64>, String> {
        Err(format!("the calls `{server}` received cannot be seen"))
    }
    /// The driver calls (ids) issued before the run proper (the baseline): left out of
    /// backend counts where they can be told apart.
    fn baseline_ids(&self) -> std::ops::Range<u64> {
        0..0
    }
}

/// A fault window (one occurrence of the timeline), times in ns from t = 0.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    /// Its number in the timeline.
    pub window: usize,
    /// Its index in the scenario's `faults:`.
    pub fault: usize,
    pub server: String,
    pub tool: Option<String>,
    /// The fault kind's name (`outage`, `data_change`, …).
    pub kind: String,
    pub start_ns: i64,
    /// `None` for a point event (a crash).
    pub end_ns: Option<i64>,
}

/// One step of a stepped ramp, ns from t = 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSpec {
    pub step: usize,
    pub start_ns: i64,
    pub end_ns: i64,
    /// Offered calls per second.
    pub rate: f64,
}

/// What derivation needs to know before the first call.
#[derive(Clone, Default)]
pub struct DeriveSetup {
    /// (server, tool) of each sample key.
    pub keys: Vec<(String, String)>,
    /// Every server of the scenario (in declaration order).
    pub servers: Vec<String>,
    pub windows: Vec<WindowSpec>,
    pub steps: Vec<StepSpec>,
    pub p99_max: Option<Duration>,
    /// Settle period after each window (`settle`, docs/scenario.md).
    pub settle: Duration,
    /// Whether latency runs from the intended start (open model) or the actual start (closed).
    pub model_open: bool,
    /// The calls' timeout: timeouts count at it, and a call ends at most this long after it
    /// was sent.
    pub timeout: Duration,
    pub backends: Option<Arc<dyn Backends>>,
}

/// A call, classified: what every accumulator receives.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub sample: &'a Sample,
    /// Index into [`DeriveSetup::servers`]-ordered key servers: `keys[sample.key].0`.
    pub server: &'a str,
    pub tool: &'a str,
    /// Whether the call was a cache hit: `Some(true)` when ok and its id reached no backend,
    /// `Some(false)` when it reached one (or failed), `None` when that cannot be known.
    pub hit: Option<bool>,
    /// Whether its id reached a backend other than its server's.
    pub wrong_server: bool,
    /// The data version the result carried (a hash of it), if any.
    pub data_version: Option<u64>,
}

impl DeriveSetup {
    /// What a run of `plan` (from `s`) derives, with `backends` to look calls up in.
    pub fn of_run(
        s: &crate::scenario::Scenario,
        plan: &crate::plan::build::Plan,
        backends: Option<Arc<dyn Backends>>,
    ) -> DeriveSetup {
        let ns = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let windows = plan
            .timeline
            .occurrences()
            .iter()
            .map(|o| {
                let f = s.faults.get(o.fault);
                WindowSpec {
                    window: o.window,
                    fault: o.fault,
                    server: f.map(|f| f.server.clone()).unwrap_or_default(),
                    tool: f.and_then(|f| f.tool.clone()),
                    kind: o.kind.name().to_owned(),
                    start_ns: ns(o.start),
                    end_ns: o.end.map(ns),
                }
            })
            .collect();
        let steps = match &plan.schedule {
            crate::plan::schedule::Schedule::Open(open) => open
                .segments()
                .iter()
                .filter_map(|seg| match seg.part {
                    crate::plan::schedule::Part::Step(step) => Some(StepSpec {
                        step,
                        start_ns: ns(seg.start),
                        end_ns: ns(seg.start + seg.len),
                        rate: seg.from,
                    }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        DeriveSetup {
            keys: plan.keys.clone(),
            servers: s.servers.iter().map(|x| x.name.clone()).collect(),
            windows,
            steps,
            p99_max: s.load.p99_max,
            settle: s.settle,
            model_open: matches!(s.load.model, crate::scenario::Model::Open { .. }),
            timeout: s.load.timeout,
            backends,
        }
    }
}
