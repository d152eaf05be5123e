//! The phase of a call, a pure function of its intended start.
//!
//! Rules, first match wins, for t measured from t = 0 (the first intended call):
//!
//! 1. `warmup` — t < warmup. Warmup wins over everything: "calls that start in it are phase
//!    `warmup`", and warmup numbers are never used as measurements. (A fault window that starts
//!    in the warmup only gets `fault:i` calls from the warmup's end.)
//! 2. `fault:i` — t in window i, the half-open `[start, end)`. Overlapping windows: the
//!    latest-started one wins (the newest disruption); equal starts go to the later-listed
//!    window. A point event (crash: end = start) has no `fault:i` calls, only a settle.
//! 3. `settle:i` — t in `[end_i, end_i + settle)`, cut short at the start of the next window
//!    (the first other window starting at or after end_i). Where settles overlap (after
//!    overlapping windows), the latest-ended window wins, then the latest-started, then the
//!    later-listed.
//! 4. `steady` — everything else.
//!
//! `baseline` (the same mix direct to the mocks, before t = 0) is never returned by
//! [`Phases::phase_at`]: the baseline run labels its own calls.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Which part of the run a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Baseline,
    Warmup,
    Fault(usize),
    Settle(usize),
    Steady,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Baseline => f.write_str("baseline"),
            Phase::Warmup => f.write_str("warmup"),
            Phase::Fault(i) => write!(f, "fault:{i}"),
            Phase::Settle(i) => write!(f, "settle:{i}"),
            Phase::Steady => f.write_str("steady"),
        }
    }
}

impl FromStr for Phase {
    type Err = String;

    /// The Display form back (budget scopes such as `p99(x@fault:0)`).
    fn from_str(s: &str) -> Result<Phase, String> {
        let window = |n: &str| {
            n.parse::<usize>()
                .map_err(|_| format!("`{s}`: the window number must be a whole number"))
        };
        match s.trim() {
            "baseline" => Ok(Phase::Baseline),
            "warmup" => Ok(Phase::Warmup),
            "steady" => Ok(Phase::Steady),
            t => match t.split_once(':') {
                Some(("fault", n)) => window(n).map(Phase::Fault),
                Some(("settle", n)) => window(n).map(Phase::Settle),
                _ => Err(format!(
                    "unknown phase `{s}`; allowed: baseline, warmup, steady, fault:N, settle:N"
                )),
            },
        }
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Phase, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The inputs of the rules, kept for [`Phases::new`]'s precomputation.
struct Rules<'a> {
    warmup: Duration,
    /// (start, end) with end ≥ start.
    windows: &'a [(Duration, Duration)],
    settle: Duration,
}

impl Rules<'_> {
    /// Where window i's settle ends: `settle` after it, or the next window's start.
    fn settle_end(&self, i: usize) -> Duration {
        let end = self.windows[i].1;
        self.windows
            .iter()
            .enumerate()
            .filter(|&(j, w)| j != i && w.0 >= end)
            .map(|(_, w)| w.0)
            .fold(end.saturating_add(self.settle), Duration::min)
    }

    /// The rules of the module doc, straight (O(windows²) per call; [`Phases`] tabulates).
    fn phase(&self, t: Duration) -> Phase {
        if t < self.warmup {
            return Phase::Warmup;
        }
        let w = self.windows.iter().enumerate();
        let fault = w
            .clone()
            .filter(|(_, (s, e))| *s <= t && t < *e)
            .max_by_key(|&(i, (s, _))| (*s, i));
        if let Some((i, _)) = fault {
            return Phase::Fault(i);
        }
        let settle = w
            .filter(|&(i, (_, e))| *e <= t && t < self.settle_end(i))
            .max_by_key(|&(i, (s, e))| (*e, *s, i));
        match settle {
            Some((i, _)) => Phase::Settle(i),
            None => Phase::Steady,
        }
    }
}

/// The phases of a run as spans: each phase from its start until the next span's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phases {
    spans: Vec<(Duration, Phase)>,
}

impl Phases {
    /// `windows[i]` is fault window i as (start, end) from t = 0; an end before its start is
    /// taken as the start (a point event). Windows may overlap (see the module doc).
    pub fn new(warmup: Duration, windows: &[(Duration, Duration)], settle: Duration) -> Phases {
        let windows: Vec<(Duration, Duration)> =
            windows.iter().map(|&(s, e)| (s, e.max(s))).collect();
        let rules = Rules {
            warmup,
            windows: &windows,
            settle,
        };
        // The phase only changes at these points, so one evaluation per point suffices.
        let mut points = vec![Duration::ZERO, warmup];
        for (i, &(s, e)) in windows.iter().enumerate() {
            points.extend([s, e, rules.settle_end(i)]);
        }
        points.sort_unstable();
        points.dedup();
        let mut spans: Vec<(Duration, Phase)> = Vec::with_capacity(points.len());
        for p in points {
            let phase = rules.phase(p);
            if spans.last().is_none_or(|&(_, last)| last != phase) {
                spans.push((p, phase));
            }
        }
        Phases { spans }
    }

    /// The phase of a call whose intended start is `t`.
    pub fn phase_at(&self, t: Duration) -> Phase {
        let i = self.spans.partition_point(|&(start, _)| start <= t);
        // spans[0] starts at 0 ≤ t, so i ≥ 1.
        self.spans
            .get(i.wrapping_sub(1))
            .map_or(Phase::Steady, |&(_, p)| p)
    }

    /// Every change of phase: (from, phase), the first from t = 0, sorted.
    pub fn spans(&self) -> &[(Duration, Phase)] {
        &self.spans
    }

    /// The phases within a run of length `run`: (start, end, phase), empty spans left out.
    pub fn within(&self, run: Duration) -> Vec<(Duration, Duration, Phase)> {
        let mut out = Vec::new();
        for (i, &(start, phase)) in self.spans.iter().enumerate() {
            if start >= run {
                break;
            }
            let end = self
                .spans
                .get(i + 1)
                .map_or(run, |&(next, _)| next.min(run));
            if end > start {
                out.push((start, end, phase));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phase::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn display_and_parse_round_trip() {
        let cases = [
            (Baseline, "baseline"),
            (Warmup, "warmup"),
            (Fault(0), "fault:0"),
            (Settle(12), "settle:12"),
            (Steady, "steady"),
        ];
        for (phase, text) in cases {
            assert_eq!(phase.to_string(), text);
            assert_eq!(text.parse::<Phase>(), Ok(phase));
            assert_eq!(
                serde_json::to_string(&phase).unwrap(),
                format!("\"{text}\"")
            );
        }
        for bad in ["warm", "fault:", "fault:x", "settle:-1", "fault"] {
            assert!(bad.parse::<Phase>().is_err(), "{bad}");
        }
        assert!("nope".parse::<Phase>().unwrap_err().contains("allowed"));
    }

    /// (name, warmup, windows, settle, "t:phase …" with t in seconds)
    type Case = (&'static str, u64, &'static [(u64, u64)], u64, &'static str);

    #[test]
    fn phases_by_table() {
        #[rustfmt::skip]
        let cases: [Case; 11] = [
            ("no faults", 5, &[], 10, "0:warmup 4:warmup 5:steady 99:steady"),
            ("one window", 5, &[(20, 30)], 10,
             "19:steady 20:fault:0 29:fault:0 30:settle:0 39:settle:0 40:steady"),
            ("settle cut short by the next window", 0, &[(20, 30), (35, 40)], 10,
             "0:steady 34:settle:0 35:fault:1 40:settle:1 49:settle:1 50:steady"),
            ("back to back windows: no settle between", 0, &[(10, 20), (20, 30)], 10,
             "19:fault:0 20:fault:1 30:settle:1 40:steady"),
            ("overlap: the later start wins, then the later end's settle", 0, &[(10, 30), (20, 25)], 10,
             "15:fault:0 20:fault:1 25:fault:0 30:settle:0 39:settle:0 40:steady"),
            ("overlap: the inner window ends later", 0, &[(10, 25), (20, 30)], 10,
             "19:fault:0 20:fault:1 29:fault:1 30:settle:1 40:steady"),
            ("equal starts: the later-listed wins", 0, &[(10, 20), (10, 15)], 5,
             "10:fault:1 15:fault:0 20:settle:0 25:steady"),
            ("warmup wins over a window that starts in it", 10, &[(5, 15)], 5,
             "5:warmup 9:warmup 10:fault:0 15:settle:0 20:steady"),
            ("a point event has only a settle", 0, &[(30, 30)], 10,
             "29:steady 30:settle:0 39:settle:0 40:steady"),
            ("an end before the start is a point event", 0, &[(30, 10)], 10,
             "10:steady 30:settle:0 40:steady"),
            ("no settle", 0, &[(10, 20)], 0, "19:fault:0 20:steady"),
        ];
        for (name, warmup, windows, settle, expect) in cases {
            let w: Vec<_> = windows.iter().map(|&(a, b)| (s(a), s(b))).collect();
            let phases = Phases::new(s(warmup), &w, s(settle));
            for item in expect.split_whitespace() {
                let (t, want) = item.split_once(':').unwrap();
                let want: Phase = want.parse().unwrap();
                let t = t.parse().unwrap();
                assert_eq!(phases.phase_at(s(t)), want, "{name}: t = {t}");
            }
        }
    }

    #[test]
    fn tabulated_spans_match_the_rules_everywhere() {
        let windows = [
            (s(3), s(9)),
            (s(5), s(6)),
            (s(12), s(12)),
            (s(14), s(20)),
            (s(14), s(16)),
        ];
        let rules = Rules {
            warmup: s(4),
            windows: &windows,
            settle: s(3),
        };
        let phases = Phases::new(s(4), &windows, s(3));
        for t in (0..30_000).step_by(250).map(ms) {
            assert_eq!(phases.phase_at(t), rules.phase(t), "t = {t:?}");
        }
        let starts: Vec<_> = phases.spans().iter().map(|&(t, _)| t).collect();
        assert_eq!(starts[0], Duration::ZERO);
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
        assert!(phases.spans().windows(2).all(|w| w[0].1 != w[1].1));
    }

    #[test]
    fn boundaries_are_half_open_to_the_nanosecond() {
        let phases = Phases::new(ms(100), &[(ms(200), ms(300))], ms(50));
        let ns = Duration::from_nanos(1);
        let cases = [
            (ms(100) - ns, Warmup),
            (ms(100), Steady),
            (ms(200) - ns, Steady),
            (ms(200), Fault(0)),
            (ms(300) - ns, Fault(0)),
            (ms(300), Settle(0)),
            (ms(350) - ns, Settle(0)),
            (ms(350), Steady),
        ];
        for (t, want) in cases {
            assert_eq!(phases.phase_at(t), want, "{t:?}");
        }
    }
}
