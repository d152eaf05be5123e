//! Cold starts (docs/metrics.md): per server, the latency of the first call after the server was
//! started minus its warm p50, and the calls sent while that first call was in flight; spawn →
//! ready of its process; which servers were spawned, used, never started.
//!
//! Per server, memory is bounded: a latency histogram of its warm calls, and the calls whose
//! intended start lies within the timeout (+ 1 s) of its earliest one — at most
//! [`MAX_EARLY`] — since the first call after a start and the calls queued behind it are
//! there. The process events (spawn, ready, exit, with their pids) come from the summary.

use super::classified::{Call, DeriveSetup};
use super::figures::{ColdStart, ColdStarts, Quality};
use super::hist::round3;
use super::hist::{self, Latency, us_to_ms};
use super::recorder::LatencyRule;
use super::summary::{EventEntryKind, Summary};
use crate::mcp::outcome::Outcome;
use crate::plan::phase::Phase;
use hdrhistogram::Histogram;
use std::collections::HashMap;

/// Calls kept per server around its first call.
pub const MAX_EARLY: usize = 65_536;

/// A sent call near the server's first one.
#[derive(Debug, Clone, Copy)]
struct Early {
    intended_ns: i64,
    start_ns: i64,
    end_ns: i64,
    latency_us: u64,
}

/// One server's calls.
struct PerServer {
    /// Steady ok calls not known to be cache hits: the warm latency.
    warm: Histogram<u64>,
    /// Ok calls not known to be cache hits (they reached the backend, or may have).
    reached: u64,
    /// Sent calls with intended start ≤ `earliest` + the horizon.
    early: Vec<Early>,
    earliest: Option<i64>,
    /// Some calls within the horizon were left out ([`MAX_EARLY`]): those after this one.
    capped: bool,
    cut_ns: i64,
}

/// A process's life, from the summary's `process` events.
#[derive(Debug, Default)]
struct Processes {
    /// (at_ns, pid) of every spawn, in time order.
    spawns: Vec<(i64, u32)>,
    readies: Vec<(i64, u32)>,
    /// Calls the processes said they served (exit events).
    served: u64,
}

/// See the module doc.
pub struct ColdAcc {
    rule: LatencyRule,
    horizon_ns: i64,
    /// Server index of each key.
    key_server: Vec<usize>,
    names: Vec<String>,
    per: Vec<PerServer>,
}

impl ColdAcc {
    pub fn new(setup: &DeriveSetup) -> ColdAcc {
        let mut names = setup.servers.clone();
        let key_server = (setup.keys.iter())
            .map(|(server, _)| match names.iter().position(|n| n == server) {
                Some(i) => i,
                None => {
                    names.push(server.clone());
                    names.len() - 1
                }
            })
            .collect();
        let per = names
            .iter()
            .map(|_| PerServer {
                warm: hist::new_histogram(),
                reached: 0,
                early: Vec::new(),
                earliest: None,
                capped: false,
                cut_ns: i64::MAX,
            })
            .collect();
        let horizon = setup.timeout + std::time::Duration::from_secs(1);
        ColdAcc {
            rule: LatencyRule::new(setup.model_open, setup.timeout),
            horizon_ns: i64::try_from(horizon.as_nanos()).unwrap_or(i64::MAX),
            key_server,
            names,
            per,
        }
    }

    /// One classified call (baseline calls are left out).
    pub fn add(&mut self, c: &Call) {
        let s = c.sample;
        let Some(&i) = self.key_server.get(s.key as usize) else {
            return;
        };
        if s.phase == Phase::Baseline || matches!(s.outcome, Outcome::ClientError) {
            return;
        }
        let Some(latency_us) = self.rule.of(s) else {
            return; // dropped: never sent
        };
        let p = &mut self.per[i];
        if s.outcome.is_ok() && c.hit != Some(true) {
            p.reached += 1;
            if s.phase == Phase::Steady {
                p.warm.saturating_record(latency_us);
            }
        }
        let e = Early {
            intended_ns: s.intended_ns,
            start_ns: s.start_ns,
            end_ns: s.end_ns,
            latency_us,
        };
        p.keep(e, self.horizon_ns);
    }

    pub fn finish(&self, setup: &DeriveSetup, summary: &Summary) -> ColdStarts {
        let procs = processes(summary);
        let none = Processes::default();
        let mut out = ColdStarts::default();
        for (i, name) in self.names.iter().enumerate() {
            let p = &self.per[i];
            let pr = procs.get(name.as_str()).unwrap_or(&none);
            let spawned = !pr.spawns.is_empty();
            let used = p.reached > 0 || pr.served > 0;
            if spawned {
                out.spawned.push(name.clone());
            }
            if used {
                out.used.push(name.clone());
            } else if !spawned && setup.servers.contains(name) {
                out.never_started.push(name.clone());
            }
            if self.key_server.contains(&i) || spawned {
                out.servers.push(p.cold_start(name, pr));
            }
        }
        out
    }
}

impl PerServer {
    /// Keeps `e` if it lies within `horizon_ns` of the earliest call. When full, calls past
    /// the horizon go first, then the latest quarter (amortised O(log n) a call).
    fn keep(&mut self, e: Early, horizon_ns: i64) {
        let earliest = self
            .earliest
            .map_or(e.intended_ns, |at| at.min(e.intended_ns));
        self.earliest = Some(earliest);
        let limit = earliest.saturating_add(horizon_ns);
        if e.intended_ns > limit.min(self.cut_ns) {
            return;
        }
        if self.early.len() >= MAX_EARLY {
            self.early.retain(|k| k.intended_ns <= limit);
            if self.early.len() > MAX_EARLY * 3 / 4 {
                self.early.sort_unstable_by_key(|k| k.intended_ns);
                self.early.truncate(MAX_EARLY * 3 / 4);
                self.cut_ns = self.early.last().map_or(i64::MAX, |k| k.intended_ns);
                self.capped = true;
                if e.intended_ns > self.cut_ns {
                    return;
                }
            }
        }
        self.early.push(e);
    }

    /// The server's cold start: see [`ColdStart`].
    fn cold_start(&self, name: &str, pr: &Processes) -> ColdStart {
        let mut c = ColdStart {
            server: name.to_owned(),
            starts: match pr.spawns.len() {
                0 => u64::from(self.reached > 0),
                n => n as u64,
            },
            ..ColdStart::default()
        };
        let Some(first) = self.early.iter().min_by_key(|e| e.intended_ns) else {
            c.reason = Some("it got no calls".into());
            return c;
        };
        let mut reasons = Vec::new();
        let (cold, exact) = match pick_spawn(&pr.spawns, first.end_ns) {
            Some((at, pid)) => {
                c.spawn_to_ready_ms = (pr.readies.iter())
                    .find(|&&(r, p)| p == pid && r >= at)
                    .map(|&(r, _)| round3((r - at) as f64 / 1e6));
                match (self.early.iter().filter(|e| e.end_ns > at)).min_by_key(|e| e.intended_ns) {
                    Some(e) => (e, true),
                    None => {
                        reasons.push(
                            "its process was spawned after every call near its first one: the \
                             first call is taken as the cold one",
                        );
                        (first, false)
                    }
                }
            }
            None => {
                reasons.push(
                    "no process spawn was reported for it (an HTTP backend, or a stdio one \
                     without the back-channel): the first call of the run is taken as the one \
                     that started it",
                );
                (first, false)
            }
        };
        c.first_call_ms = Some(us_to_ms(cold.latency_us));
        c.queued = (self.early.iter())
            .filter(|e| e.start_ns >= cold.start_ns && e.start_ns < cold.end_ns)
            .count()
            .saturating_sub(1) as u64;
        if self.capped {
            reasons.push("more calls came in within the timeout of its first one than are kept: queued may be short");
        }
        c.warm_p50_ms = Latency::of(&self.warm).p50;
        c.cost_ms = c
            .first_call_ms
            .zip(c.warm_p50_ms)
            .map(|(f, w)| round3((f - w).max(0.0)));
        c.quality = if c.cost_ms.is_none() {
            reasons.insert(0, "no steady ok call reached it: no warm p50");
            Quality::Unavailable
        } else if exact && !self.capped {
            Quality::Exact
        } else {
            Quality::Estimated
        };
        c.reason = (!reasons.is_empty()).then(|| reasons.join("; "));
        c
    }
}

/// The spawn that started the process serving a first call ending at `end_ns`: the latest
/// spawn before that end, or else the first one after it.
fn pick_spawn(spawns: &[(i64, u32)], end_ns: i64) -> Option<(i64, u32)> {
    (spawns.iter().rev().find(|&&(at, _)| at <= end_ns))
        .or_else(|| spawns.first())
        .copied()
}

/// Every server's process events.
fn processes(summary: &Summary) -> HashMap<&str, Processes> {
    let mut out: HashMap<&str, Processes> = HashMap::new();
    for e in &summary.events {
        let EventEntryKind::Process {
            server,
            pid,
            what,
            calls,
            ..
        } = &e.kind
        else {
            continue;
        };
        let p = out.entry(server.as_str()).or_default();
        match what.as_str() {
            "spawn" => p.spawns.push((e.at_ns, *pid)),
            "ready" => p.readies.push((e.at_ns, *pid)),
            "exit" => p.served += calls.unwrap_or(0),
            _ => {}
        }
    }
    for p in out.values_mut() {
        p.spawns.sort_unstable();
        p.readies.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testkit::{MS, call, sample, setup, summary};
    use crate::sample::{Event, EventKind, Sample};

    fn process(at_ms: i64, server: &str, pid: u32, what: &str, calls: Option<u64>) -> Event {
        Event {
            at_ns: at_ms * MS,
            kind: EventKind::Process {
                server: server.into(),
                pid,
                what: what.into(),
                reason: None,
                calls,
            },
        }
    }

    /// Runs `samples` (in the order given) through an accumulator; `hit` for every call.
    fn cold(setup: &DeriveSetup, samples: &[Sample], events: &[Event]) -> ColdStarts {
        let mut acc = ColdAcc::new(setup);
        for s in samples {
            acc.add(&call(setup, s, None));
        }
        acc.finish(setup, &summary(setup, &[], events, 10))
    }

    fn server<'a>(c: &'a ColdStarts, name: &str) -> &'a ColdStart {
        c.servers.iter().find(|s| s.server == name).expect("listed")
    }

    /// A lazily spawned server: the first call (at 0) waits 800 ms for the start; the calls
    /// sent meanwhile (every 100 ms) wait with it; then 5 ms calls.
    fn lazy_start() -> Vec<Sample> {
        let mut v = vec![sample(0, Phase::Steady, 0.0, 830.0, Outcome::Ok)];
        for i in 1..=8 {
            let at = f64::from(i) * 100.0;
            v.push(sample(0, Phase::Steady, at, 835.0 - at, Outcome::Ok));
        }
        for i in 9..200 {
            v.push(sample(
                0,
                Phase::Steady,
                f64::from(i) * 100.0,
                5.0,
                Outcome::Ok,
            ));
        }
        v
    }

    #[test]
    fn a_spawned_server_is_measured_from_its_spawn() {
        let setup = setup(&["fraud", "idle"], &[("fraud", "score")]);
        let mut samples = lazy_start();
        samples.reverse(); // arrival order does not matter
        let events = [
            process(2, "fraud", 41, "spawn", None),
            process(812, "fraud", 41, "ready", None),
            process(20_000, "fraud", 41, "exit", Some(200)),
        ];
        let c = cold(&setup, &samples, &events);
        let f = server(&c, "fraud");
        assert_eq!(f.quality, Quality::Exact, "{:?}", f.reason);
        assert_eq!(f.first_call_ms, Some(830.0));
        assert!(f.warm_p50_ms.is_some_and(|w| (5.0..5.01).contains(&w)));
        assert!(f.cost_ms.is_some_and(|x| (824.9..825.1).contains(&x)));
        assert_eq!(f.queued, 8);
        assert_eq!(f.spawn_to_ready_ms, Some(810.0));
        assert_eq!(f.starts, 1);
        assert_eq!(c.spawned, ["fraud"]);
        assert_eq!(c.used, ["fraud"]);
        assert_eq!(c.never_started, ["idle"]);
        assert!(
            c.servers.iter().all(|s| s.server != "idle"),
            "not in the mix"
        );
    }

    #[test]
    fn the_spawn_picked_is_the_one_that_served_the_first_call() {
        // A process spawned before the run (a baseline's), then the gateway's at 3 ms; and a
        // restart later on.
        let setup = setup(&["fraud"], &[("fraud", "score")]);
        let events = [
            process(-9_000, "fraud", 7, "spawn", None),
            process(-8_990, "fraud", 7, "ready", None),
            process(3, "fraud", 8, "spawn", None),
            process(-8_000, "fraud", 7, "exit", Some(0)),
            process(803, "fraud", 8, "ready", None),
            process(15_000, "fraud", 9, "spawn", None),
        ];
        let c = cold(&setup, &lazy_start(), &events);
        let f = server(&c, "fraud");
        assert_eq!(f.spawn_to_ready_ms, Some(800.0));
        assert_eq!((f.starts, f.first_call_ms), (3, Some(830.0)));
    }

    #[test]
    fn a_first_call_that_failed_before_the_spawn_is_not_the_cold_one() {
        let setup = setup(&["a"], &[("a", "t")]);
        let mut samples = vec![sample(
            0,
            Phase::Warmup,
            0.0,
            1.0,
            Outcome::RpcError(-32603),
        )];
        samples.push(sample(0, Phase::Warmup, 50.0, 700.0, Outcome::Ok));
        samples.extend(
            (1..50).map(|i| sample(0, Phase::Steady, 1000.0 + f64::from(i), 4.0, Outcome::Ok)),
        );
        let events = [process(60, "a", 1, "spawn", None)];
        let f = server(&cold(&setup, &samples, &events), "a").clone();
        assert_eq!(f.first_call_ms, Some(700.0));
        assert_eq!(f.quality, Quality::Exact);
        assert_eq!(f.spawn_to_ready_ms, None, "no ready reported");
    }

    #[test]
    fn an_http_backend_is_estimated_from_the_runs_first_call() {
        let setup = setup(&["a", "b"], &[("a", "t"), ("b", "t")]);
        let mut samples = lazy_start();
        samples.push(sample(0, Phase::Baseline, -5000.0, 1.0, Outcome::Ok));
        samples.push(sample(1, Phase::Steady, 5.0, 1.0, Outcome::Dropped));
        let c = cold(&setup, &samples, &[]);
        let a = server(&c, "a");
        assert_eq!(a.quality, Quality::Estimated);
        assert!(
            a.reason
                .as_deref()
                .is_some_and(|r| r.contains("HTTP backend"))
        );
        assert_eq!((a.first_call_ms, a.queued, a.starts), (Some(830.0), 8, 1));
        assert_eq!(a.spawn_to_ready_ms, None);
        let b = server(&c, "b");
        assert_eq!(
            (b.quality, b.starts, b.cost_ms),
            (Quality::Unavailable, 0, None)
        );
        assert_eq!(b.reason.as_deref(), Some("it got no calls"));
        assert!(c.spawned.is_empty());
        assert_eq!(
            (c.used.as_slice(), c.never_started.as_slice()),
            (&["a".to_owned()][..], &["b".to_owned()][..])
        );
    }

    #[test]
    fn cache_hits_are_not_warm_calls_and_no_warm_call_means_no_cost() {
        let setup = setup(&["a"], &[("a", "t")]);
        let first = sample(0, Phase::Warmup, 0.0, 900.0, Outcome::Ok);
        let hit = sample(0, Phase::Steady, 2000.0, 0.2, Outcome::Ok);
        let mut acc = ColdAcc::new(&setup);
        acc.add(&call(&setup, &first, Some(false)));
        acc.add(&call(&setup, &hit, Some(true)));
        let c = acc.finish(&setup, &summary(&setup, &[], &[], 10));
        let a = server(&c, "a");
        assert_eq!((a.first_call_ms, a.warm_p50_ms), (Some(900.0), None));
        assert_eq!(a.quality, Quality::Unavailable);
        assert!(
            a.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("no steady ok call"))
        );
    }

    #[test]
    fn a_first_call_faster_than_warm_costs_nothing() {
        let setup = setup(&["a"], &[("a", "t")]);
        let samples: Vec<Sample> = (0..20)
            .map(|i| {
                sample(
                    0,
                    Phase::Steady,
                    f64::from(i),
                    5.0 - f64::from(i == 0),
                    Outcome::Ok,
                )
            })
            .collect();
        let a = server(&cold(&setup, &samples, &[]), "a").clone();
        assert_eq!((a.first_call_ms, a.cost_ms), (Some(4.0), Some(0.0)));
    }

    #[test]
    fn memory_is_bounded_by_the_horizon_and_the_cap() {
        let setup = setup(&["a"], &[("a", "t")]);
        let mut acc = ColdAcc::new(&setup);
        for i in 0..200_000 {
            let s = sample(0, Phase::Steady, f64::from(i) * 0.1, 1.0, Outcome::Ok);
            acc.add(&call(&setup, &s, None));
        }
        let early = acc.per[0].early.len();
        assert_eq!(early, 6000 * 10 + 1, "the first 6 s of 20 s of calls");
        assert!(!acc.per[0].capped);
        for i in 0..100_000 {
            let s = sample(0, Phase::Steady, -f64::from(i) * 0.001, 1.0, Outcome::Ok);
            acc.add(&call(&setup, &s, None));
        }
        let p = &acc.per[0];
        assert!(p.early.len() <= MAX_EARLY && p.capped);
        let first = p.early.iter().map(|e| e.intended_ns).min();
        assert_eq!(first, Some(-99_999 * 1000), "the earliest calls are kept");
        let c = acc.finish(&setup, &summary(&setup, &[], &[], 10));
        assert_eq!(server(&c, "a").quality, Quality::Estimated);
    }
}
