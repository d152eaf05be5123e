//! The run's mocks as the derivation sees them ([`Backends`]): in-process mocks through their
//! ledgers, stdio mocks through what they report over the back-channel. Counts are taken from
//! the start of the run proper ([`MockBackends::mark_run_start`], after the baseline); the
//! baseline's call ids are outside the issued range, so they are never "seen".

use crate::fault::served::Served;
use crate::ledger::{CallIds, Ledger, Snapshot};
use crate::metrics::classified::Backends;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the derivation can look up in the run's mocks.
pub struct MockBackends {
    /// In-process mocks, by server name.
    ledgers: HashMap<String, Arc<Ledger>>,
    /// Stdio servers (their processes report over the back-channel).
    stdio: Vec<String>,
    served: Option<Arc<Served>>,
    /// Every server's counts when the run proper started.
    start: Mutex<HashMap<String, Snapshot>>,
}

impl MockBackends {
    /// `ledgers` of the in-process mocks; `stdio` servers seen through `served`.
    pub fn new(
        ledgers: HashMap<String, Arc<Ledger>>,
        stdio: Vec<String>,
        served: Option<Arc<Served>>,
    ) -> MockBackends {
        MockBackends {
            ledgers,
            stdio,
            served,
            start: Mutex::new(HashMap::new()),
        }
    }

    /// Counts from now on: what the backends received before (the baseline) is left out of
    /// [`Backends::snapshot`] and [`Backends::propagates`].
    pub fn mark_run_start(&self) {
        let now: HashMap<String, Snapshot> = self
            .servers()
            .filter_map(|s| Some((s.to_owned(), self.raw(s)?)))
            .collect();
        *self.start.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Every server that can be seen.
    pub fn servers(&self) -> impl Iterator<Item = &str> {
        self.ledgers
            .keys()
            .map(String::as_str)
            .chain(self.stdio.iter().map(String::as_str))
    }

    fn served_of(&self, server: &str) -> Option<&Served> {
        self.served
            .as_deref()
            .filter(|_| self.stdio.iter().any(|s| s == server))
    }

    /// The whole of `server`'s counts, the baseline included.
    fn raw(&self, server: &str) -> Option<Snapshot> {
        match self.ledgers.get(server) {
            Some(l) => Some(l.snapshot()),
            None => self.served_of(server)?.snapshot(server),
        }
    }

    /// `server`'s call-id counters when the run started.
    fn start_ids(&self, server: &str) -> CallIds {
        let g = self.start.lock().unwrap_or_else(|p| p.into_inner());
        g.get(server)
            .map(|s| s.call_ids.clone())
            .unwrap_or_default()
    }
}

impl Backends for MockBackends {
    fn seen(&self, server: &str, id: u64) -> Option<u8> {
        match self.ledgers.get(server) {
            Some(l) => Some(l.seen_count(id)),
            None => self.served_of(server)?.seen(server, id),
        }
    }

    /// Counts since the run proper started.
    fn snapshot(&self, server: &str) -> Option<Snapshot> {
        let now = self.raw(server)?;
        let g = self.start.lock().unwrap_or_else(|p| p.into_inner());
        Some(match g.get(server) {
            Some(before) => now.since(before),
            None => now,
        })
    }

    fn propagates(&self, server: &str) -> Option<bool> {
        let now = match self.ledgers.get(server) {
            Some(l) => l.call_ids(),
            None => self.served_of(server)?.snapshot(server)?.call_ids,
        };
        let before = self.start_ids(server);
        if now.distinct > before.distinct {
            Some(true)
        } else if now.missing > before.missing {
            Some(false)
        } else {
            None
        }
    }

    fn unmarked(&self, server: &str, tool: &str) -> Result<HashMap<u64, u64>, String> {
        match (self.ledgers.get(server), self.served_of(server)) {
            (Some(l), _) => l.unmarked(tool),
            (None, Some(s)) => s.unmarked(server, tool),
            (None, None) => Err(format!("the calls `{server}` received cannot be seen")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::served::Unmarked;
    use crate::ledger::{Answered, Arrival};

    fn arrive(l: &Ledger, id: Option<u64>, args_hash: u64) {
        let t = l.arrive(Arrival {
            method: "tools/call".into(),
            tool: Some("t".into()),
            args_hash,
            call_id: id,
            traceparent: None,
            session: None,
            arrival_ns: 0,
        });
        l.finish(&t, 0, Answered::Ok);
    }

    #[test]
    fn ledgers_and_reports_answer_alike_from_the_run_start() {
        let l = Arc::new(Ledger::new("a", vec!["t".into()]));
        let served = Arc::new(Served::default());
        served.hello("s");
        let b = MockBackends::new(
            HashMap::from([("a".to_owned(), l.clone())]),
            vec!["s".into()],
            Some(served.clone()),
        );
        arrive(&l, Some(1 << 40), 1);
        b.mark_run_start();
        assert_eq!(b.propagates("a"), None, "the baseline's calls do not count");
        arrive(&l, Some(3), 1);
        arrive(&l, Some(3), 1);
        served.record(
            "s",
            &[],
            &[Unmarked {
                tool: "t".into(),
                args_hash: 8,
                n: 2,
            }],
            0,
        );
        assert_eq!(
            (b.seen("a", 3), b.seen("s", 3), b.seen("x", 3)),
            (Some(2), Some(0), None)
        );
        assert_eq!(
            (b.propagates("a"), b.propagates("s")),
            (Some(true), Some(false))
        );
        let snap = b.snapshot("a").expect("seen");
        assert_eq!((snap.tool_calls(), snap.call_ids.repeated), (2, 1));
        assert_eq!(b.unmarked("s", "t").expect("counts")[&8], 2);
        assert!(b.unmarked("x", "t").is_err());
    }
}
