//! The classifier (docs/metrics.md, "Cache hits, routing, retries, stale reads"): whether each call
//! was a cache hit — its id never reached a backend — or reached the wrong server. Back-channel
//! batches of served ids arrive up to 100 ms late, so calls are held until the latest end seen is
//! [`GRACE`] past theirs, then looked up in the backends' ledgers; [`Classifier::flush`] classifies
//! the rest at the end. Memory: the calls of the last [`GRACE`].

use super::classified::{Backends, Call, DeriveSetup};
use crate::mcp::outcome::Outcome;
use crate::sample::Sample;
use std::collections::VecDeque;

/// How long after its end a call is classified.
pub const GRACE_NS: i64 = 1_500_000_000;

pub struct Classifier {
    pending: VecDeque<Sample>,
    latest_end: i64,
}

impl Classifier {
    pub fn new(_setup: &DeriveSetup) -> Classifier {
        Classifier {
            pending: VecDeque::new(),
            latest_end: i64::MIN,
        }
    }

    /// Holds `s`; hands on every held call whose grace has passed.
    pub fn push(&mut self, setup: &DeriveSetup, s: &Sample, out: &mut dyn FnMut(&Call)) {
        self.latest_end = self.latest_end.max(s.end_ns);
        self.pending.push_back(*s);
        while let Some(front) = self.pending.front() {
            if front.end_ns.saturating_add(GRACE_NS) > self.latest_end {
                break;
            }
            if let Some(s) = self.pending.pop_front() {
                classify(setup, &s, out);
            }
        }
    }

    /// Classifies every call still held.
    pub fn flush(&mut self, setup: &DeriveSetup, out: &mut dyn FnMut(&Call)) {
        while let Some(s) = self.pending.pop_front() {
            classify(setup, &s, out);
        }
    }
}

const UNKNOWN: &str = super::recorder::UNKNOWN_SERVER;

fn classify(setup: &DeriveSetup, s: &Sample, out: &mut dyn FnMut(&Call)) {
    let (server, tool) = match setup.keys.get(s.key as usize) {
        Some((server, tool)) => (server.as_str(), tool.as_str()),
        None => (UNKNOWN, ""),
    };
    let (hit, wrong_server) = lookup(setup, s, server);
    out(&Call {
        sample: s,
        server,
        tool,
        hit,
        wrong_server,
        data_version: s.data_version,
    });
}

/// (hit, wrong server) of one call.
fn lookup(setup: &DeriveSetup, s: &Sample, server: &str) -> (Option<bool>, bool) {
    let Some(backends) = setup.backends.as_deref() else {
        return (None, false);
    };
    let elsewhere = |b: &dyn Backends| {
        setup
            .servers
            .iter()
            .any(|o| o != server && b.seen(o, s.call_id).is_some_and(|n| n > 0))
    };
    match backends.seen(server, s.call_id) {
        Some(n) if n > 0 => (Some(false), false),
        Some(_) if s.outcome != Outcome::Ok => (Some(false), elsewhere(backends)),
        Some(_) => {
            if elsewhere(backends) {
                (Some(false), true)
            } else if backends.propagates(server) == Some(true) {
                (Some(true), false)
            } else {
                (None, false)
            }
        }
        None if s.outcome != Outcome::Ok => (Some(false), false),
        None => (None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Snapshot;
    use crate::plan::phase::Phase;
    use std::collections::HashMap;
    use std::sync::Arc;

    struct Fake {
        seen: HashMap<(String, u64), u8>,
        propagates: bool,
    }

    impl Backends for Fake {
        fn seen(&self, server: &str, id: u64) -> Option<u8> {
            (server != "blind").then(|| *self.seen.get(&(server.to_owned(), id)).unwrap_or(&0))
        }
        fn snapshot(&self, _: &str) -> Option<Snapshot> {
            None
        }
        fn propagates(&self, server: &str) -> Option<bool> {
            (server != "blind").then_some(self.propagates)
        }
    }

    fn sample(id: u64, key: u32, end_ms: i64, outcome: Outcome) -> Sample {
        Sample {
            call_id: id,
            key,
            phase: Phase::Steady,
            intended_ns: end_ms * 1_000_000 - 1_000_000,
            start_ns: end_ms * 1_000_000 - 1_000_000,
            end_ns: end_ms * 1_000_000,
            outcome,
            service_us: None,
            session: 0,
            args_hash: 0,
            data_version: None,
        }
    }

    fn setup(propagates: bool) -> DeriveSetup {
        let mut seen = HashMap::new();
        seen.insert(("a".to_owned(), 1), 1);
        seen.insert(("b".to_owned(), 3), 1);
        DeriveSetup {
            keys: vec![("a".into(), "t".into()), ("blind".into(), "t".into())],
            servers: vec!["a".into(), "b".into(), "blind".into()],
            backends: Some(Arc::new(Fake { seen, propagates })),
            ..DeriveSetup::default()
        }
    }

    fn run(setup: &DeriveSetup, samples: &[Sample]) -> Vec<(u64, Option<bool>, bool)> {
        let mut c = Classifier::new(setup);
        let mut got = Vec::new();
        for s in samples {
            c.push(setup, s, &mut |c: &Call| {
                got.push((c.sample.call_id, c.hit, c.wrong_server))
            });
        }
        assert!(got.len() < samples.len(), "calls wait for their grace");
        c.flush(setup, &mut |c: &Call| {
            got.push((c.sample.call_id, c.hit, c.wrong_server))
        });
        got
    }

    #[test]
    fn ids_decide_hits_misses_and_wrong_servers() {
        let s = setup(true);
        let got = run(
            &s,
            &[
                sample(1, 0, 10, Outcome::Ok),
                sample(2, 0, 11, Outcome::Ok),
                sample(3, 0, 12, Outcome::Ok),
                sample(4, 0, 13, Outcome::Timeout),
                sample(5, 1, 14, Outcome::Ok),
            ],
        );
        assert_eq!(
            got,
            vec![
                (1, Some(false), false),
                (2, Some(true), false),
                (3, Some(false), true),
                (4, Some(false), false),
                (5, None, false),
            ]
        );
    }

    #[test]
    fn without_propagated_ids_an_unseen_call_is_unknown() {
        let s = setup(false);
        let got = run(
            &s,
            &[sample(1, 0, 10, Outcome::Ok), sample(2, 0, 11, Outcome::Ok)],
        );
        assert_eq!(got, vec![(1, Some(false), false), (2, None, false)]);
    }

    #[test]
    fn calls_are_held_for_the_grace_then_handed_on_in_order() {
        let s = DeriveSetup::default();
        let mut c = Classifier::new(&s);
        let mut got = Vec::new();
        for (id, end) in [(1, 0), (2, 1000), (3, 1499), (4, 1500), (5, 3100)] {
            c.push(&s, &sample(id, 0, end, Outcome::Ok), &mut |c: &Call| {
                got.push(c.sample.call_id)
            });
        }
        assert_eq!(got, vec![1, 2, 3, 4]);
    }
}
