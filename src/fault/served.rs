//! What the stdio mocks of a run served, as they report it over the back-channel
//! (the back-channel): per server, the call ids seen once and twice (sparse bitsets,
//! memory flat), counters like a ledger's, and the calls without an id per tool and arguments
//! hash (bounded). The derivation looks calls up here as it does in in-process ledgers.

use crate::ledger::ids::{Arrived, ISSUED, IdSet, KEY_CAP, KeyCounts};
use crate::ledger::{CallIds, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Calls without a call id of one tool and arguments hash, in one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmarked {
    pub tool: String,
    pub args_hash: u64,
    pub n: u64,
}

/// Every stdio server's calls.
#[derive(Default)]
pub struct Served {
    by_server: Mutex<HashMap<String, One>>,
}

/// One server's calls (over all its processes).
struct One {
    ids: IdSet,
    counts: CallIds,
    calls: u64,
    traced: u64,
    unmarked: KeyCounts<(String, u64)>,
}

impl Default for One {
    fn default() -> One {
        One {
            ids: IdSet::default(),
            counts: CallIds::default(),
            calls: 0,
            traced: 0,
            unmarked: KeyCounts::new(KEY_CAP),
        }
    }
}

impl Served {
    fn with<T>(&self, server: &str, f: impl FnOnce(&One) -> T) -> Option<T> {
        let g = self.by_server.lock().unwrap_or_else(|p| p.into_inner());
        g.get(server).map(f)
    }

    /// A process of `server` connected: from now on its calls can be seen.
    pub fn hello(&self, server: &str) {
        let mut g = self.by_server.lock().unwrap_or_else(|p| p.into_inner());
        g.entry(server.to_owned()).or_default();
    }

    /// One report of `server`'s calls.
    pub fn record(&self, server: &str, ids: &[u64], unmarked: &[Unmarked], traced: u64) {
        let mut g = self.by_server.lock().unwrap_or_else(|p| p.into_inner());
        let one = g.entry(server.to_owned()).or_default();
        one.traced += traced;
        for &id in ids {
            one.calls += 1;
            if !ISSUED.contains(&id) {
                one.counts.foreign += 1;
                continue;
            }
            match one.ids.arrive(id) {
                Arrived::First => one.counts.distinct += 1,
                Arrived::Second => one.counts.repeated += 1,
                Arrived::Again => one.counts.extra_arrivals += 1,
            }
        }
        for u in unmarked {
            one.calls += u.n;
            one.counts.missing += u.n;
            one.unmarked.add_n(&(u.tool.clone(), u.args_hash), u.n);
        }
    }

    /// How often `server` served call id `id` (0, 1, 2 for twice or more); `None` when no
    /// process of it ever reported.
    pub fn seen(&self, server: &str, id: u64) -> Option<u8> {
        self.with(server, |o| {
            if ISSUED.contains(&id) {
                o.ids.count(id)
            } else {
                0
            }
        })
    }

    /// `server`'s calls as a ledger snapshot (tools/call only: that is what stdio mocks
    /// report); `None` when no process of it ever reported.
    pub fn snapshot(&self, server: &str) -> Option<Snapshot> {
        self.with(server, |o| Snapshot {
            server: server.to_owned(),
            requests: o.calls,
            methods: BTreeMap::from([("tools/call".to_owned(), o.calls)]),
            tools: BTreeMap::new(),
            call_ids: o.counts.clone(),
            with_traceparent: o.traced,
        })
    }

    /// `server`'s calls of `tool` without a call id, per arguments hash.
    pub fn unmarked(&self, server: &str, tool: &str) -> Result<HashMap<u64, u64>, String> {
        self.with(server, |o| {
            if o.unmarked.overflow() > 0 {
                return Err(format!(
                    "`{server}` received calls without a call id with more than {KEY_CAP} \
                     distinct arguments: too many to match"
                ));
            }
            Ok(o.unmarked
                .iter()
                .filter(|((t, _), _)| t == tool)
                .map(|((_, h), n)| (*h, *n))
                .collect())
        })
        .unwrap_or_else(|| {
            Err(format!(
                "no process of `{server}` reported over the back-channel"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_fill_ids_counts_and_unmarked_calls() {
        let s = Served::default();
        assert_eq!(s.seen("fraud", 1), None);
        s.hello("fraud");
        assert_eq!(s.seen("fraud", 1), Some(0));
        let u = |tool: &str, h, n| Unmarked {
            tool: tool.into(),
            args_hash: h,
            n,
        };
        s.record(
            "fraud",
            &[1, 2, 2, 1 << 40],
            &[u("score", 9, 2), u("other", 9, 1)],
            4,
        );
        s.record("fraud", &[2], &[u("score", 9, 1)], 1);
        assert_eq!(
            (
                s.seen("fraud", 1),
                s.seen("fraud", 2),
                s.seen("fraud", 1 << 40)
            ),
            (Some(1), Some(2), Some(0))
        );
        let snap = s.snapshot("fraud").expect("seen");
        assert_eq!((snap.tool_calls(), snap.with_traceparent), (9, 5));
        let ids = &snap.call_ids;
        assert_eq!(
            (
                ids.distinct,
                ids.repeated,
                ids.extra_arrivals,
                ids.foreign,
                ids.missing
            ),
            (2, 1, 1, 1, 4)
        );
        assert_eq!(s.unmarked("fraud", "score").expect("counts")[&9], 3);
        assert!(s.unmarked("billing", "x").is_err());
    }
}
