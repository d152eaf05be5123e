//! Derivation (docs/metrics.md): the stage between the recorder and the [`Derived`] figures.
//!
//! Every sample the [`Recorder`](super::Recorder) takes also enters here. The [`Classifier`]
//! holds ok calls until the backends' ledgers can say whether their call id reached a backend
//! (back-channel batches arrive late), then hands each call on, classified, to the
//! accumulators — one per figure, each in its own file, each O(1) per call:
//!
//! - [`cache`]: cache hits per tool, routing, retry amplification, stale reads;
//! - [`recovery`]: recovery and blast radius per fault window;
//! - [`cold`]: cold starts per server, spawned vs used;
//! - [`capacity`]: the stepped ramp's capacity;
//! - [`overhead`]: the gateway's overhead per tool.
//!
//! [`DeriveState::finish`] computes every figure once, at the end, from the accumulators and
//! the rest of the summary.

use super::cache::CacheAcc;
use super::capacity::CapacityAcc;
use super::classify::Classifier;
use super::cold::ColdAcc;
use super::figures::Derived;
use super::overhead::OverheadAcc;
use super::recovery::WindowsAcc;
use super::summary::Summary;
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

/// One accumulator per figure; every classified call goes to each.
struct Accumulators {
    cache: CacheAcc,
    windows: WindowsAcc,
    cold: ColdAcc,
    capacity: CapacityAcc,
    overhead: OverheadAcc,
}

impl Accumulators {
    fn add(&mut self, c: &Call) {
        self.cache.add(c);
        self.windows.add(c);
        self.cold.add(c);
        self.capacity.add(c);
        self.overhead.add(c);
    }
}

/// The classifier and the accumulators it feeds.
pub struct DeriveState {
    setup: DeriveSetup,
    classifier: Classifier,
    accs: Accumulators,
}

impl DeriveState {
    pub fn new(setup: DeriveSetup) -> DeriveState {
        DeriveState {
            classifier: Classifier::new(&setup),
            accs: Accumulators {
                cache: CacheAcc::new(&setup),
                windows: WindowsAcc::new(&setup),
                cold: ColdAcc::new(&setup),
                capacity: CapacityAcc::new(&setup),
                overhead: OverheadAcc::new(&setup),
            },
            setup,
        }
    }

    /// One sample (O(1) amortised); calls whose classification is due go on to the
    /// accumulators.
    pub fn add(&mut self, s: &Sample) {
        let accs = &mut self.accs;
        self.classifier
            .push(&self.setup, s, &mut |c: &Call| accs.add(c));
    }

    /// Every figure, from the accumulators and the summary (which has everything else:
    /// calls, series, events, windows).
    pub fn finish(mut self, summary: &Summary) -> Derived {
        let accs = &mut self.accs;
        self.classifier
            .flush(&self.setup, &mut |c: &Call| accs.add(c));
        let (setup, a) = (&self.setup, &mut self.accs);
        let (cache, routing, retries, stale_reads) = a.cache.finish(setup, summary);
        let (recovery, blast_radius) = a.windows.finish(setup, summary);
        Derived {
            capacity: a.capacity.finish(setup, summary),
            overhead: a.overhead.finish(setup, summary),
            cache,
            stale_reads,
            cold_start: a.cold.finish(setup, summary),
            recovery,
            blast_radius,
            routing,
            retries,
        }
    }
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
