//! Capacity from a stepped ramp (docs/metrics.md): each step is measured after its first
//! [`DISCARD`] — offered and achieved (ok) calls per second, error rate, p99 of ok calls (an
//! HDR histogram per step) — and holds when it achieves ≥ 99% of what was offered with errors
//! ≤ 1% and p99 ≤ `p99_max`. The capacity is the rate of the highest step that held.

use super::classified::{Call, DeriveSetup, StepSpec};
use super::figures::{Capacity, CapacityStep, Quality};
use super::hist::round3;
use super::hist::{self, Latency};
use super::recorder::LatencyRule;
use super::summary::Summary;
use crate::mcp::outcome::Outcome;
use crate::plan::phase::Phase;
use hdrhistogram::Histogram;
use std::time::Duration;

/// The start of each step left out of its figures.
pub const DISCARD: Duration = Duration::from_secs(5);
/// How long a step must be held for an exact figure.
pub const MIN_HOLD: Duration = Duration::from_secs(20);
/// A step holds when achieved ≥ this share of offered …
pub const MIN_ACHIEVED: f64 = 0.99;
/// … and its error rate is at most this.
pub const MAX_ERRORS: f64 = 0.01;

const DISCARD_NS: i64 = 5_000_000_000;

/// The calls of one step's measured part.
struct StepCalls {
    offered: u64,
    /// Calls the target answered or failed (all but dropped and the driver's own failures).
    sent: u64,
    ok: u64,
    failed: u64,
    ok_latency: Histogram<u64>,
}

/// See the module doc.
pub struct CapacityAcc {
    rule: LatencyRule,
    steps: Vec<StepSpec>,
    calls: Vec<StepCalls>,
}

impl CapacityAcc {
    pub fn new(setup: &DeriveSetup) -> CapacityAcc {
        let mut steps = setup.steps.clone();
        steps.sort_by_key(|s| s.start_ns);
        let calls = (steps.iter())
            .map(|_| StepCalls {
                offered: 0,
                sent: 0,
                ok: 0,
                failed: 0,
                ok_latency: hist::new_histogram(),
            })
            .collect();
        CapacityAcc {
            rule: LatencyRule::new(setup.model_open, setup.timeout),
            steps,
            calls,
        }
    }

    /// One call, counted in the step its intended start falls in (after the step's first 5 s).
    pub fn add(&mut self, c: &Call) {
        let s = c.sample;
        if s.phase == Phase::Baseline {
            return;
        }
        let i = self
            .steps
            .partition_point(|st| st.start_ns <= s.intended_ns);
        let Some(i) = i.checked_sub(1) else { return };
        let step = &self.steps[i];
        if s.intended_ns >= step.end_ns || s.intended_ns < step.start_ns.saturating_add(DISCARD_NS)
        {
            return;
        }
        let k = &mut self.calls[i];
        k.offered += 1;
        match s.outcome {
            Outcome::Dropped | Outcome::ClientError => return,
            Outcome::Ok => {
                k.ok += 1;
                if let Some(us) = self.rule.of(s) {
                    k.ok_latency.saturating_record(us);
                }
            }
            _ => k.failed += 1,
        }
        k.sent += 1;
    }

    /// `None` when the run has no stepped ramp.
    pub fn finish(&self, setup: &DeriveSetup, summary: &Summary) -> Option<Capacity> {
        if self.steps.is_empty() {
            return None;
        }
        let run_end_ns = (summary.duration_s * 1e9) as i64;
        let p99_max_ms = setup.p99_max.map(|d| d.as_secs_f64() * 1e3);
        let mut out = Capacity {
            p99_max_ms: p99_max_ms.unwrap_or(0.0),
            ..Capacity::default()
        };
        let mut shortest: Option<i64> = None;
        for (spec, k) in self.steps.iter().zip(&self.calls) {
            let end = spec.end_ns.min(run_end_ns);
            let start = spec.start_ns.saturating_add(DISCARD_NS);
            if end <= start {
                continue; // cut by the run's end before anything was measured
            }
            let held_for = end - spec.start_ns;
            shortest = Some(shortest.map_or(held_for, |s| s.min(held_for)));
            let step = measure(spec, k, (start, end), p99_max_ms);
            if step.held {
                out.rate_per_s = Some(spec.rate);
            }
            out.steps.push(step);
        }
        let (quality, reason) = quality(p99_max_ms.is_some(), shortest, summary);
        out.quality = quality;
        out.reason = reason;
        if quality == Quality::Unavailable {
            out.rate_per_s = None;
        }
        Some(out)
    }
}

/// One step's figures over its measured part `[start, end)`.
fn measure(
    spec: &StepSpec,
    k: &StepCalls,
    (start, end): (i64, i64),
    p99_max_ms: Option<f64>,
) -> CapacityStep {
    let secs = (end - start) as f64 / 1e9;
    let offered = k.offered as f64 / secs;
    let achieved = k.ok as f64 / secs;
    let error_rate = if k.sent == 0 {
        0.0
    } else {
        k.failed as f64 / k.sent as f64
    };
    let p99_ms = Latency::of(&k.ok_latency).p99;
    let held = k.offered > 0
        && achieved >= MIN_ACHIEVED * offered
        && error_rate <= MAX_ERRORS
        && p99_ms.zip(p99_max_ms).is_some_and(|(p, max)| p <= max);
    CapacityStep {
        step: spec.step,
        start_s: round3(start as f64 / 1e9),
        end_s: round3(end as f64 / 1e9),
        offered_per_s: round3(offered),
        achieved_per_s: round3(achieved),
        error_rate: round3(error_rate * 1e3) / 1e3,
        p99_ms,
        held,
    }
}

/// How far the figure can be trusted: steps held long enough, a generator that kept up.
fn quality(
    has_p99_max: bool,
    shortest_ns: Option<i64>,
    summary: &Summary,
) -> (Quality, Option<String>) {
    if !has_p99_max {
        let why = "the scenario sets no `p99_max` for its steps";
        return (Quality::Unavailable, Some(why.into()));
    }
    let Some(shortest) = shortest_ns else {
        let why = "no step lasted past its first 5 s";
        return (Quality::Unavailable, Some(why.into()));
    };
    let mut reasons = Vec::new();
    if shortest < i64::try_from(MIN_HOLD.as_nanos()).unwrap_or(i64::MAX) {
        reasons.push(format!(
            "a step was held {:.1} s, under the 20 s the definition asks",
            shortest as f64 / 1e9
        ));
    }
    if summary.generator_saturated {
        reasons.push("the load generator saturated: the steps describe the machine".into());
    }
    if reasons.is_empty() {
        (Quality::Exact, None)
    } else {
        (Quality::Estimated, Some(reasons.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testkit::{S, call, sample, setup, summary};

    /// Steps of 100, 200, 300 and 400/s held `hold_s` each from t = 0.
    fn ramp(hold_s: i64) -> DeriveSetup {
        let mut su = setup(&["a"], &[("a", "t")]);
        su.steps = (0..4)
            .map(|i| StepSpec {
                step: i as usize,
                start_ns: i * hold_s * S,
                end_ns: (i + 1) * hold_s * S,
                rate: 100.0 * (i + 1) as f64,
            })
            .collect();
        su.p99_max = Some(Duration::from_millis(200));
        su
    }

    /// Each step's calls: `rate` a second; how each call goes is `f(step, n)`.
    fn calls(
        su: &DeriveSetup,
        f: impl Fn(usize, u64) -> (Outcome, f64),
    ) -> Vec<crate::sample::Sample> {
        let mut out = Vec::new();
        for st in &su.steps {
            let n = ((st.end_ns - st.start_ns) as f64 / 1e9 * st.rate) as u64;
            for j in 0..n {
                let at = st.start_ns as f64 / 1e6 + j as f64 * 1e3 / st.rate;
                let (o, took) = f(st.step, j);
                out.push(sample(0, Phase::Steady, at, took, o));
            }
        }
        out
    }

    fn capacity(su: &DeriveSetup, samples: &[crate::sample::Sample], run_s: u64) -> Capacity {
        let mut acc = CapacityAcc::new(su);
        for s in samples {
            acc.add(&call(su, s, None));
        }
        let summary = summary(su, &[], &[], run_s);
        acc.finish(su, &summary).expect("a ramp")
    }

    #[test]
    fn the_highest_step_that_held_by_table() {
        // (what fails in step 2 and 3, capacity)
        type Rule = fn(usize, u64) -> (Outcome, f64);
        let cases: [(&str, Rule, Option<f64>); 4] = [
            ("all good", |_, _| (Outcome::Ok, 10.0), Some(400.0)),
            (
                "p99 over from step 2",
                |s, _| (Outcome::Ok, if s >= 2 { 250.0 } else { 10.0 }),
                Some(200.0),
            ),
            (
                "2% errors in step 3; 0.5% in step 2",
                |s, j| match s {
                    3 if j % 100 < 2 => (Outcome::RpcError(-32603), 1.0),
                    2 if j % 200 == 0 => (Outcome::Timeout, 1.0),
                    _ => (Outcome::Ok, 10.0),
                },
                Some(300.0),
            ),
            (
                "drops (over max_in_flight) in every step",
                |_, j| {
                    let o = if j % 50 == 0 {
                        Outcome::Dropped
                    } else {
                        Outcome::Ok
                    };
                    (o, 10.0)
                },
                None,
            ),
        ];
        for (what, rule, want) in cases {
            let su = ramp(20);
            let c = capacity(&su, &calls(&su, rule), 80);
            assert_eq!(c.rate_per_s, want, "{what}: {:?}", c.steps);
            assert_eq!((c.quality, c.p99_max_ms), (Quality::Exact, 200.0), "{what}");
            assert_eq!(c.steps.len(), 4);
        }
    }

    #[test]
    fn each_step_is_measured_after_its_first_5_s() {
        let su = ramp(20);
        // The first 5 s of every step are slow: they do not count.
        let slow = |s: usize, j: u64| j < 500 * (s as u64 + 1);
        let samples = calls(&su, |s, j| {
            (Outcome::Ok, if slow(s, j) { 900.0 } else { 10.0 })
        });
        let c = capacity(&su, &samples, 80);
        assert_eq!(c.rate_per_s, Some(400.0));
        let s1 = &c.steps[1];
        assert_eq!((s1.start_s, s1.end_s), (25.0, 40.0));
        assert_eq!((s1.offered_per_s, s1.achieved_per_s), (200.0, 200.0));
        assert_eq!(s1.error_rate, 0.0);
        assert!(s1.p99_ms.is_some_and(|p| (10.0..10.1).contains(&p)));
    }

    #[test]
    fn short_or_cut_steps_are_estimated_and_no_ramp_is_none() {
        let su = ramp(8);
        let c = capacity(&su, &calls(&su, |_, _| (Outcome::Ok, 1.0)), 32);
        assert_eq!((c.quality, c.rate_per_s), (Quality::Estimated, Some(400.0)));
        assert!(c.reason.as_deref().is_some_and(|r| r.contains("8.0 s")));
        // --duration 27s: step 3 (24–32 s) never got past its first 5 s.
        let c = capacity(&su, &calls(&su, |_, _| (Outcome::Ok, 1.0)), 27);
        assert_eq!(c.steps.len(), 3);
        let mut su = ramp(20);
        su.p99_max = None;
        let c = capacity(&su, &calls(&su, |_, _| (Outcome::Ok, 1.0)), 80);
        assert_eq!((c.quality, c.rate_per_s), (Quality::Unavailable, None));
        let flat = setup(&["a"], &[("a", "t")]);
        let acc = CapacityAcc::new(&flat);
        assert_eq!(acc.finish(&flat, &summary(&flat, &[], &[], 1)), None);
    }
}
