//! Cache hits per tool, routing, retry amplification and stale reads (docs/metrics.md), from the
//! classified calls and the backends' ledgers.
//!
//! - **Cache hits** are exact when every ok call of the tool was decided by its call id (the
//!   backend saw the ids); otherwise the backend's calls without an id are matched with the
//!   driver's calls by tool and arguments hash, over the run (estimated); when the backend's
//!   calls cannot be seen, or had too many distinct arguments to count, unavailable.
//! - **Routing**: calls whose id reached another server's backend; calls lost (timeout,
//!   transport failure) whose id reached no backend. Exact only when every server's backend
//!   sees the ids.
//! - **Retries** per server: the backend's tools/call requests against the driver's calls, and
//!   per distinct call id that reached it.
//! - **Stale reads** per `data_change` window: ok calls sent after the change that returned a
//!   version some call had returned before it.
//!
//! Memory: counters per key and server, a bounded map per (key, arguments hash) of the calls
//! their ids did not decide (empty when every id reaches its backend), a bounded set of
//! versions per data-change window.

use super::classified::{Backends, Call, DeriveSetup};
use super::figures::{CacheHits, Quality, Retries, Routing, StaleRead};
use super::summary::Summary;
use crate::mcp::outcome::Outcome;
use crate::plan::phase::Phase;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// (key, arguments hash) pairs kept for matching; past it a key's figure is unavailable.
const ARGS_CAP: usize = 100_000;
/// Versions kept per data-change window.
const VERSIONS_CAP: usize = 1024;

/// One key's calls.
#[derive(Default, Clone)]
struct KeyAcc {
    /// Sent (neither dropped nor the driver's own failure).
    sent: u64,
    ok: u64,
    /// Ok calls whose hit was decided by call id.
    decided: u64,
    hits: u64,
    /// Some (key, arguments) pair did not fit the matching map.
    overflow: bool,
}

/// The calls of one (key, arguments hash) whose fate the call ids did not decide (every call
/// but the ok ones classified as hit or miss by id).
#[derive(Default, Clone, Copy)]
struct ArgAcc {
    sent: u64,
    ok: u64,
}

/// One data-change window.
struct StaleAcc {
    window: usize,
    server: String,
    tool: Option<String>,
    at_ns: i64,
    /// Versions answered before the change.
    old: HashSet<u64>,
    old_overflow: bool,
    /// Whether any call of the server(.tool) carried a version.
    versions: bool,
    stale: u64,
    last_end_ns: Option<i64>,
}

/// Cache hits per key, routing, retries per server, stale reads per data-change window.
pub type Figures = (Vec<CacheHits>, Routing, Vec<Retries>, Vec<StaleRead>);

pub struct CacheAcc {
    backends: Option<Arc<dyn Backends>>,
    servers: Vec<String>,
    keys: Vec<KeyAcc>,
    args: HashMap<(u32, u64), ArgAcc>,
    /// Driver calls sent per server (by name).
    driver_calls: HashMap<String, u64>,
    wrong_server: u64,
    lost: u64,
    /// Failed calls whose fate cannot be looked up (a backend that cannot be seen).
    lost_unknown: u64,
    stale: Vec<StaleAcc>,
}

impl CacheAcc {
    pub fn new(setup: &DeriveSetup) -> CacheAcc {
        let stale = setup
            .windows
            .iter()
            .filter(|w| w.kind == "data_change")
            .map(|w| StaleAcc {
                window: w.window,
                server: w.server.clone(),
                tool: w.tool.clone(),
                at_ns: w.start_ns,
                old: HashSet::new(),
                old_overflow: false,
                versions: false,
                stale: 0,
                last_end_ns: None,
            })
            .collect();
        CacheAcc {
            backends: setup.backends.clone(),
            servers: setup.servers.clone(),
            keys: vec![KeyAcc::default(); setup.keys.len()],
            args: HashMap::new(),
            driver_calls: HashMap::new(),
            wrong_server: 0,
            lost: 0,
            lost_unknown: 0,
            stale,
        }
    }

    /// One classified call (O(1) but for a lost call's look-up in every backend).
    pub fn add(&mut self, c: &Call) {
        let s = c.sample;
        if s.phase == Phase::Baseline
            || matches!(s.outcome, Outcome::Dropped | Outcome::ClientError)
        {
            return;
        }
        *self.driver_calls.entry(c.server.to_owned()).or_insert(0) += 1;
        self.wrong_server += u64::from(c.wrong_server);
        if matches!(s.outcome, Outcome::Timeout | Outcome::Transport(_)) {
            self.failed(c);
        }
        for w in &mut self.stale {
            w.add(c);
        }
        let Some(k) = self.keys.get_mut(s.key as usize) else {
            return;
        };
        k.sent += 1;
        let ok = s.outcome.is_ok();
        if ok {
            k.ok += 1;
            k.decided += u64::from(c.hit.is_some());
            k.hits += u64::from(c.hit == Some(true));
        }
        // An ok call decided by its id needs no matching: only the others are kept, so that
        // a run whose ids reach the backends keeps no per-arguments state at all.
        if ok && c.hit.is_some() {
            return;
        }
        let pair = (s.key, s.args_hash);
        if self.args.len() >= ARGS_CAP && !self.args.contains_key(&pair) {
            k.overflow = true;
            return;
        }
        let a = self.args.entry(pair).or_default();
        a.sent += 1;
        a.ok += u64::from(ok);
    }

    /// A timeout or transport failure: lost when its id reached no backend.
    fn failed(&mut self, c: &Call) {
        let Some(b) = self.backends.as_deref() else {
            self.lost_unknown += 1;
            return;
        };
        let mut blind = false;
        for server in &self.servers {
            match b.seen(server, c.sample.call_id) {
                Some(0) => {}
                Some(_) => return,
                None => blind = true,
            }
        }
        if blind {
            self.lost_unknown += 1;
        } else {
            self.lost += 1;
        }
    }

    /// Every figure of this file (the summary adds nothing to them).
    pub fn finish(&self, setup: &DeriveSetup, _summary: &Summary) -> Figures {
        self.figures(setup)
    }

    fn figures(&self, setup: &DeriveSetup) -> Figures {
        let cache = setup
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| self.keys.get(*i).is_some_and(|k| k.sent > 0))
            .map(|(i, (server, tool))| self.hits(i, server, tool))
            .collect();
        let retries = setup.servers.iter().map(|s| self.retries(s)).collect();
        let stale = self.stale.iter().map(StaleAcc::figure).collect();
        (cache, self.routing(setup), retries, stale)
    }

    /// The cache figure of key `i`.
    fn hits(&self, i: usize, server: &str, tool: &str) -> CacheHits {
        let k = &self.keys[i];
        let mut out = CacheHits {
            server: server.to_owned(),
            tool: tool.to_owned(),
            ok: k.ok,
            ..CacheHits::default()
        };
        let Some(b) = self.backends.as_deref() else {
            out.reason = Some("the backends' calls cannot be seen".into());
            return out;
        };
        if k.decided == k.ok && b.propagates(server) == Some(true) {
            out.quality = Quality::Exact;
            out.hits = Some(k.hits);
        } else {
            match b.unmarked(server, tool) {
                Err(why) => {
                    out.reason = Some(why);
                    return out;
                }
                Ok(_) if k.overflow => {
                    out.reason = Some(format!(
                        "more than {ARGS_CAP} distinct arguments: too many to match"
                    ));
                    return out;
                }
                Ok(backend) => {
                    out.quality = Quality::Estimated;
                    out.reason = Some(format!(
                        "call ids did not reach `{server}`'s backend: its calls without an id \
                         matched with the driver's by tool and arguments"
                    ));
                    out.hits = Some(self.matched(i as u32, &backend));
                }
            }
        }
        out.rate = out
            .hits
            .filter(|_| k.ok > 0)
            .map(|h| super::hist::round3(h as f64 / k.ok as f64));
        out
    }

    /// Estimated hits of key `key`: the hits decided by id, plus, per arguments, the
    /// undecided calls less the backend's calls without an id, at most the ok calls among them.
    fn matched(&self, key: u32, backend: &HashMap<u64, u64>) -> u64 {
        let decided = self.keys.get(key as usize).map_or(0, |k| k.hits);
        let undecided: u64 = self
            .args
            .iter()
            .filter(|((k, _), _)| *k == key)
            .map(|((_, h), a)| {
                let arrived = backend.get(h).copied().unwrap_or(0);
                a.ok.min(a.sent.saturating_sub(arrived))
            })
            .sum();
        decided + undecided
    }

    fn routing(&self, setup: &DeriveSetup) -> Routing {
        let mut out = Routing::default();
        let Some(b) = self.backends.as_deref() else {
            out.reason = Some("the backends' calls cannot be seen".into());
            return out;
        };
        for server in &setup.servers {
            if !self.driver_calls.contains_key(server) {
                continue;
            }
            if b.snapshot(server).is_none() {
                out.reason = Some(format!("the calls `{server}` received cannot be seen"));
                return out;
            }
            if b.propagates(server) == Some(false) {
                out.reason = Some(format!("call ids do not reach `{server}`'s backend"));
                return out;
            }
        }
        if self.lost_unknown > 0 {
            out.reason = Some(format!(
                "{} failed calls could not be looked up",
                self.lost_unknown
            ));
            return out;
        }
        out.quality = Quality::Exact;
        out.wrong_server = self.wrong_server;
        out.lost = self.lost;
        out
    }

    fn retries(&self, server: &str) -> Retries {
        let mut out = Retries {
            server: server.to_owned(),
            driver_calls: self.driver_calls.get(server).copied().unwrap_or(0),
            ..Retries::default()
        };
        let Some(snap) = self.backends.as_deref().and_then(|b| b.snapshot(server)) else {
            out.reason = Some(format!("the calls `{server}` received cannot be seen"));
            return out;
        };
        let ids = &snap.call_ids;
        out.backend_calls = snap.tool_calls();
        out.duplicated_ids = ids.repeated;
        let with_id = ids.distinct + ids.repeated + ids.extra_arrivals;
        out.quality = Quality::Exact;
        if ids.distinct > 0 {
            out.amplification = Some(super::hist::round3(with_id as f64 / ids.distinct as f64));
            if ids.missing > 0 {
                out.quality = Quality::Estimated;
                out.reason = Some(format!(
                    "{} calls arrived without a call id: over the calls with one",
                    ids.missing
                ));
            }
        } else if ids.missing > 0 {
            out.quality = Quality::Unavailable;
            out.reason = Some(format!("call ids do not reach `{server}`'s backend"));
        }
        out
    }
}

impl StaleAcc {
    fn add(&mut self, c: &Call) {
        let s = c.sample;
        let (true, Some(v)) = (s.outcome.is_ok(), c.data_version) else {
            return;
        };
        if c.server != self.server || self.tool.as_deref().is_some_and(|t| t != c.tool) {
            return;
        }
        self.versions = true;
        if s.end_ns <= self.at_ns {
            if self.old.len() < VERSIONS_CAP {
                self.old.insert(v);
            } else {
                self.old_overflow |= !self.old.contains(&v);
            }
        } else if s.start_ns >= self.at_ns && c.hit != Some(false) && self.old.contains(&v) {
            // A call whose id reached the backend got its answer from the server itself.
            self.stale += 1;
            self.last_end_ns = Some(self.last_end_ns.map_or(s.end_ns, |e| e.max(s.end_ns)));
        }
    }

    fn figure(&self) -> StaleRead {
        let mut out = StaleRead {
            window: self.window,
            server: self.server.clone(),
            tool: self.tool.clone(),
            at_ms: self.at_ns as f64 / 1e6,
            ..StaleRead::default()
        };
        let what = match &self.tool {
            Some(t) => format!("{}.{t}", self.server),
            None => self.server.clone(),
        };
        if !self.versions {
            out.reason = Some(format!("the results of `{what}` carry no data version"));
            return out;
        }
        if self.old.is_empty() {
            out.reason = Some(format!(
                "no call of `{what}` was answered before the change"
            ));
            return out;
        }
        out.quality = Quality::Exact;
        if self.old_overflow {
            out.quality = Quality::Estimated;
            out.reason = Some(format!(
                "more than {VERSIONS_CAP} versions before the change: the first kept"
            ));
        }
        out.stale_calls = self.stale;
        let ms = |ns: i64| super::hist::round3(ns as f64 / 1e6);
        out.window_ms = Some(self.last_end_ns.map_or(0.0, |e| ms(e - self.at_ns)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{CallIds, Snapshot};
    use crate::metrics::classified::WindowSpec;
    use crate::sample::Sample;
    use std::collections::BTreeMap;

    /// Backends by table: per server, whether it can be seen, its ids, its propagation, its
    /// calls without ids.
    #[derive(Default)]
    struct Fake {
        seen: HashMap<(&'static str, u64), u8>,
        blind: Vec<&'static str>,
        propagates: HashMap<&'static str, bool>,
        unmarked: HashMap<&'static str, HashMap<u64, u64>>,
        ids: HashMap<&'static str, (u64, CallIds)>,
    }

    impl Backends for Fake {
        fn seen(&self, server: &str, id: u64) -> Option<u8> {
            if self.blind.contains(&server) {
                return None;
            }
            Some(
                self.seen
                    .iter()
                    .find(|((s, i), _)| *s == server && *i == id)
                    .map_or(0, |x| *x.1),
            )
        }
        fn snapshot(&self, server: &str) -> Option<Snapshot> {
            if self.blind.contains(&server) {
                return None;
            }
            let (calls, ids) = self.ids.get(server).cloned().unwrap_or_default();
            Some(Snapshot {
                server: server.into(),
                methods: BTreeMap::from([("tools/call".to_owned(), calls)]),
                call_ids: ids,
                ..Snapshot::default()
            })
        }
        fn propagates(&self, server: &str) -> Option<bool> {
            self.propagates.get(server).copied()
        }
        fn unmarked(&self, server: &str, _tool: &str) -> Result<HashMap<u64, u64>, String> {
            self.unmarked
                .get(server)
                .cloned()
                .ok_or_else(|| format!("`{server}` blind"))
        }
    }

    fn setup(fake: Fake) -> DeriveSetup {
        DeriveSetup {
            keys: vec![("a".into(), "t".into()), ("b".into(), "u".into())],
            servers: vec!["a".into(), "b".into()],
            windows: vec![WindowSpec {
                window: 0,
                fault: 0,
                server: "a".into(),
                tool: Some("t".into()),
                kind: "data_change".into(),
                start_ns: 1_000_000_000,
                end_ns: None,
            }],
            backends: Some(Arc::new(fake)),
            ..DeriveSetup::default()
        }
    }

    /// A call: (id, key, outcome, args hash, start ms, end ms).
    fn sample(id: u64, key: u32, outcome: Outcome, args_hash: u64, ms: (i64, i64)) -> Sample {
        Sample {
            call_id: id,
            key,
            phase: Phase::Steady,
            intended_ns: ms.0 * 1_000_000,
            start_ns: ms.0 * 1_000_000,
            end_ns: ms.1 * 1_000_000,
            outcome,
            service_us: None,
            session: 0,
            args_hash,
            data_version: None,
        }
    }

    struct In {
        s: Sample,
        hit: Option<bool>,
        wrong: bool,
        version: Option<u64>,
    }

    fn call(id: u64, key: u32, outcome: Outcome, hash: u64, hit: Option<bool>) -> In {
        In {
            s: sample(id, key, outcome, hash, (id as i64, id as i64 + 1)),
            hit,
            wrong: false,
            version: None,
        }
    }

    fn feed(setup: &DeriveSetup, calls: &[In]) -> Figures {
        let mut acc = CacheAcc::new(setup);
        for c in calls {
            let (server, tool) = &setup.keys[c.s.key as usize];
            acc.add(&Call {
                sample: &c.s,
                server,
                tool,
                hit: c.hit,
                wrong_server: c.wrong,
                data_version: c.version,
            });
        }
        acc.figures(setup)
    }

    #[test]
    fn hits_are_exact_by_id_estimated_by_arguments_or_unavailable() {
        let fake = Fake {
            propagates: HashMap::from([("a", true), ("b", false)]),
            unmarked: HashMap::from([("b", HashMap::from([(1, 1), (2, 0)]))]),
            ..Fake::default()
        };
        let ok = Outcome::Ok;
        let calls = [
            call(1, 0, ok, 1, Some(true)),
            call(2, 0, ok, 1, Some(true)),
            call(3, 0, ok, 1, Some(false)),
            call(4, 0, Outcome::Timeout, 1, Some(false)),
            call(5, 0, Outcome::Dropped, 1, None),
            call(6, 1, ok, 1, None),
            call(7, 1, ok, 1, None),
            call(8, 1, ok, 1, None),
            call(9, 1, ok, 2, None),
            call(10, 1, ok, 2, None),
        ];
        let (cache, ..) = feed(&setup(fake), &calls);
        let a = &cache[0];
        assert_eq!(
            (a.quality, a.ok, a.hits, a.rate),
            (Quality::Exact, 3, Some(2), Some(0.667))
        );
        let b = &cache[1];
        assert_eq!((b.quality, b.ok, b.hits), (Quality::Estimated, 5, Some(4)));
        assert!(
            b.reason.as_deref().is_some_and(|r| r.contains("arguments")),
            "{b:?}"
        );

        let blind = Fake {
            propagates: HashMap::from([("a", true)]),
            ..Fake::default()
        };
        let (cache, ..) = feed(&setup(blind), &calls);
        assert_eq!(
            (cache[1].quality, cache[1].hits, cache[1].rate),
            (Quality::Unavailable, None, None)
        );
        assert_eq!(cache[1].reason.as_deref(), Some("`b` blind"));
        let mut none = setup(Fake::default());
        none.backends = None;
        let (cache, routing, retries, _) = feed(&none, &calls);
        assert!(
            cache
                .iter()
                .all(|c| c.quality == Quality::Unavailable && c.hits.is_none())
        );
        assert_eq!(routing.quality, Quality::Unavailable);
        assert!(retries.iter().all(|r| r.quality == Quality::Unavailable));
    }

    #[test]
    fn only_calls_their_ids_did_not_decide_are_kept_for_matching() {
        let fake = Fake {
            propagates: HashMap::from([("a", true), ("b", false)]),
            unmarked: HashMap::from([("b", HashMap::from([(1, 1)]))]),
            ..Fake::default()
        };
        let setup = setup(fake);
        let mut acc = CacheAcc::new(&setup);
        // Ten thousand calls with distinct arguments, each decided by its id: nothing kept.
        for id in 0..10_000u64 {
            let c = call(id, 0, Outcome::Ok, id, Some(id % 3 == 0));
            acc.add(&Call {
                sample: &c.s,
                server: "a",
                tool: "t",
                hit: c.hit,
                wrong_server: false,
                data_version: None,
            });
        }
        assert_eq!(acc.args.len(), 0);
        // Decided hits count as hits; the undecided calls are matched by arguments.
        let ok = Outcome::Ok;
        let calls = [
            call(1, 1, ok, 5, Some(true)),
            call(2, 1, ok, 6, Some(true)),
            call(3, 1, ok, 1, None),
            call(4, 1, ok, 1, None),
            call(5, 1, ok, 1, None),
        ];
        let (cache, ..) = feed(&setup, &calls);
        let b = &cache[0];
        assert_eq!((b.quality, b.ok, b.hits), (Quality::Estimated, 5, Some(4)));
    }

    #[test]
    fn routing_counts_wrong_servers_and_lost_calls() {
        let fake = || Fake {
            seen: HashMap::from([(("b", 2), 1)]),
            propagates: HashMap::from([("a", true), ("b", true)]),
            ..Fake::default()
        };
        let mut wrong = call(1, 0, Outcome::Ok, 1, Some(false));
        wrong.wrong = true;
        let calls = [
            wrong,
            call(2, 0, Outcome::Timeout, 1, Some(false)),
            call(3, 0, Outcome::Timeout, 1, Some(false)),
            call(
                4,
                1,
                Outcome::Transport(crate::mcp::outcome::TransportError::Reset),
                1,
                Some(false),
            ),
            call(5, 1, Outcome::RpcError(-1), 1, Some(false)),
        ];
        let (_, r, ..) = feed(&setup(fake()), &calls);
        assert_eq!((r.quality, r.wrong_server, r.lost), (Quality::Exact, 1, 2));
        let mut stripped = fake();
        stripped.propagates.insert("b", false);
        let (_, r, ..) = feed(&setup(stripped), &calls);
        assert_eq!((r.quality, r.lost), (Quality::Unavailable, 0));
        let mut blind = fake();
        blind.blind.push("b");
        let (_, r, ..) = feed(&setup(blind), &calls);
        assert_eq!(r.quality, Quality::Unavailable);
        assert!(
            r.reason.as_deref().is_some_and(|x| x.contains("`b`")),
            "{r:?}"
        );
    }

    #[test]
    fn retries_are_backend_calls_per_distinct_id() {
        let ids = |distinct, repeated, extra_arrivals, missing| CallIds {
            distinct,
            repeated,
            extra_arrivals,
            missing,
            ..CallIds::default()
        };
        let fake = Fake {
            ids: HashMap::from([("a", (6, ids(4, 1, 1, 0))), ("b", (3, ids(0, 0, 0, 3)))]),
            ..Fake::default()
        };
        let calls = [
            call(1, 0, Outcome::Ok, 1, None),
            call(2, 0, Outcome::Ok, 1, None),
            call(3, 1, Outcome::Ok, 1, None),
        ];
        let (_, _, r, _) = feed(&setup(fake), &calls);
        let a = &r[0];
        assert_eq!(
            (
                a.quality,
                a.driver_calls,
                a.backend_calls,
                a.duplicated_ids,
                a.amplification
            ),
            (Quality::Exact, 2, 6, 1, Some(1.5))
        );
        let b = &r[1];
        assert_eq!(
            (b.quality, b.backend_calls, b.amplification),
            (Quality::Unavailable, 3, None)
        );
        let mixed = Fake {
            ids: HashMap::from([("a", (5, ids(4, 0, 0, 1)))]),
            ..Fake::default()
        };
        let (_, _, r, _) = feed(&setup(mixed), &calls);
        assert_eq!(
            (r[0].quality, r[0].amplification),
            (Quality::Estimated, Some(1.0))
        );
    }

    #[test]
    fn stale_reads_are_old_versions_after_the_change() {
        let at = |id, ms: (i64, i64), version, hit| In {
            s: sample(id, 0, Outcome::Ok, 1, ms),
            hit,
            wrong: false,
            version,
        };
        let calls = [
            at(1, (400, 500), Some(1), Some(false)),
            at(2, (990, 1010), Some(1), None),
            at(3, (1100, 1200), Some(1), None),
            at(4, (1150, 1250), Some(1), Some(true)),
            at(5, (1300, 1400), Some(2), Some(false)),
            at(6, (1500, 1600), Some(1), Some(false)),
            In {
                s: sample(7, 1, Outcome::Ok, 1, (1700, 1800)),
                hit: None,
                wrong: false,
                version: Some(1),
            },
        ];
        let (.., stale) = feed(&setup(Fake::default()), &calls);
        let w = &stale[0];
        assert_eq!(
            (w.quality, w.stale_calls, w.window_ms, w.at_ms),
            (Quality::Exact, 2, Some(250.0), 1000.0)
        );
        let fresh = [
            at(1, (400, 500), Some(1), None),
            at(2, (1100, 1200), Some(2), None),
        ];
        let (.., stale) = feed(&setup(Fake::default()), &fresh);
        assert_eq!((stale[0].stale_calls, stale[0].window_ms), (0, Some(0.0)));
        let bare = [
            at(1, (400, 500), None, None),
            at(2, (1100, 1200), None, None),
        ];
        let (.., stale) = feed(&setup(Fake::default()), &bare);
        assert_eq!(
            (stale[0].quality, stale[0].window_ms),
            (Quality::Unavailable, None)
        );
        let late = [at(2, (1100, 1200), Some(2), None)];
        let (.., stale) = feed(&setup(Fake::default()), &late);
        assert_eq!(stale[0].quality, Quality::Unavailable);
    }

    #[test]
    fn baseline_calls_are_left_out() {
        let mut c = call(1 << 40, 0, Outcome::Ok, 1, None);
        c.s.phase = Phase::Baseline;
        let (cache, _, retries, _) = feed(&setup(Fake::default()), &[c]);
        assert!(cache.is_empty());
        assert_eq!(retries[0].driver_calls, 0);
    }
}
