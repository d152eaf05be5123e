//! Gateway overhead per server.tool (docs/metrics.md). Exact: over the steady ok calls that brought
//! the mock's service time back (`Sample::service_us`, from the result's `_meta`), an HDR
//! histogram of client latency − service time. Otherwise estimated: the steady p50/p99 of the
//! tool minus its `baseline` phase's (the same mix sent straight to the mocks), when the run
//! had a baseline; otherwise unavailable.

use super::classified::{Call, DeriveSetup};
use super::figures::{Overhead, Quality};
use super::hist::round3;
use super::hist::{self, Latency};
use super::recorder::LatencyRule;
use super::summary::{CallStats, Summary};
use crate::plan::phase::Phase;
use hdrhistogram::Histogram;

/// One key's steady ok calls.
struct KeyOverhead {
    /// Latency − service time of the calls with a service time, µs.
    exact: Histogram<u64>,
    /// Steady ok calls without one (cache hits, or a gateway that dropped `_meta`).
    without: u64,
}

/// See the module doc.
pub struct OverheadAcc {
    rule: LatencyRule,
    keys: Vec<KeyOverhead>,
}

impl OverheadAcc {
    pub fn new(setup: &DeriveSetup) -> OverheadAcc {
        OverheadAcc {
            rule: LatencyRule::new(setup.model_open, setup.timeout),
            keys: (setup.keys.iter())
                .map(|_| KeyOverhead {
                    exact: hist::new_histogram(),
                    without: 0,
                })
                .collect(),
        }
    }

    /// One call: steady ok calls count.
    pub fn add(&mut self, c: &Call) {
        let s = c.sample;
        if s.phase != Phase::Steady || !s.outcome.is_ok() {
            return;
        }
        let Some(k) = self.keys.get_mut(s.key as usize) else {
            return;
        };
        match (self.rule.of(s), s.service_us) {
            (Some(latency), Some(service)) => {
                k.exact.saturating_record(latency.saturating_sub(service));
            }
            _ => k.without += 1,
        }
    }

    /// One entry per key of the run, in key-table order.
    pub fn finish(&self, setup: &DeriveSetup, summary: &Summary) -> Vec<Overhead> {
        (setup.keys.iter().zip(&self.keys))
            .map(|((server, tool), k)| {
                let mut o = Overhead {
                    server: server.clone(),
                    tool: tool.clone(),
                    ..Overhead::default()
                };
                if k.exact.is_empty() {
                    estimate(&mut o, summary);
                } else {
                    let l = Latency::of(&k.exact);
                    o.quality = Quality::Exact;
                    o.calls = k.exact.len();
                    (o.p50_ms, o.p99_ms) = (l.p50, l.p99);
                    o.reason = (k.without > 0).then(|| {
                        format!(
                            "over the calls that brought a service time back; {} steady ok \
                             calls did not (cache hits among them)",
                            k.without
                        )
                    });
                }
                o
            })
            .collect()
    }
}

/// Steady minus baseline percentiles of `o`'s tool, from the summary's calls.
fn estimate(o: &mut Overhead, summary: &Summary) {
    let entry = |phase: Phase| -> Option<&CallStats> {
        (summary.calls.iter())
            .find(|c| c.phase == phase && c.server == o.server && c.tool == o.tool && c.ok > 0)
    };
    let Some(steady) = entry(Phase::Steady) else {
        o.reason = Some("no steady ok calls".into());
        return;
    };
    let Some(base) = entry(Phase::Baseline) else {
        o.reason = Some(
            "no service time came back through the gateway and the run had no baseline \
             (`gateway.baseline`) to compare with"
                .into(),
        );
        return;
    };
    let minus = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round3((a - b).max(0.0)));
    o.quality = Quality::Estimated;
    o.calls = steady.ok;
    o.p50_ms = minus(steady.latency_ms.p50, base.latency_ms.p50);
    o.p99_ms = minus(steady.latency_ms.p99, base.latency_ms.p99);
    o.reason = Some(
        "no service time came back through the gateway: steady p50/p99 minus the baseline \
         phase's (straight to the mock)"
            .into(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::outcome::Outcome;
    use crate::metrics::testkit::{call, sample, setup, summary};
    use crate::sample::Sample;

    fn overhead(su: &DeriveSetup, samples: &[Sample]) -> Vec<Overhead> {
        let mut acc = OverheadAcc::new(su);
        for s in samples {
            acc.add(&call(su, s, None));
        }
        acc.finish(su, &summary(su, samples, &[], 10))
    }

    fn with_service(mut s: Sample, us: u64) -> Sample {
        s.service_us = Some(us);
        s
    }

    #[test]
    fn exact_from_the_service_time_the_mock_reported() {
        let su = setup(&["a"], &[("a", "t")]);
        let mut samples: Vec<Sample> = (0..100)
            .map(|i| {
                let took = 10.0 + f64::from(i % 10) * 0.1; // 10.0 – 10.9 ms
                with_service(
                    sample(0, Phase::Steady, f64::from(i), took, Outcome::Ok),
                    9_500,
                )
            })
            .collect();
        // Not counted: warmup, failures, a cache hit without a service time (counted apart).
        samples.push(with_service(
            sample(0, Phase::Warmup, 0.0, 900.0, Outcome::Ok),
            1,
        ));
        samples.push(with_service(
            sample(0, Phase::Steady, 0.0, 900.0, Outcome::Timeout),
            1,
        ));
        samples.push(sample(0, Phase::Steady, 0.0, 0.2, Outcome::Ok));
        let o = &overhead(&su, &samples)[0];
        assert_eq!((o.quality, o.calls), (Quality::Exact, 100));
        assert!(o.p50_ms.is_some_and(|p| (0.9..0.91).contains(&p)), "{o:?}");
        assert!(o.p99_ms.is_some_and(|p| (1.4..1.41).contains(&p)), "{o:?}");
        assert!(
            o.reason
                .as_deref()
                .is_some_and(|r| r.contains("1 steady ok"))
        );
    }

    #[test]
    fn estimated_from_the_baseline_else_unavailable() {
        let su = setup(&["a"], &[("a", "t"), ("a", "u"), ("a", "v")]);
        let mut samples = Vec::new();
        for i in 0..100 {
            let at = f64::from(i);
            samples.push(sample(0, Phase::Steady, at, 12.0, Outcome::Ok));
            samples.push(sample(0, Phase::Baseline, -at, 10.0, Outcome::Ok));
            samples.push(sample(0, Phase::Baseline, -at - 0.5, 20.0, Outcome::Ok));
            samples.push(sample(1, Phase::Steady, at, 12.0, Outcome::Ok));
            samples.push(sample(2, Phase::Steady, at, 1.0, Outcome::ToolError));
        }
        let o = overhead(&su, &samples);
        assert_eq!((o[0].quality, o[0].calls), (Quality::Estimated, 100));
        // Half the baseline took 10 ms, half 20: p50 10 (2 ms under), p99 20 (not negative).
        assert_eq!((o[0].p50_ms, o[0].p99_ms), (Some(2.0), Some(0.0)));
        assert_eq!((o[1].quality, o[1].p50_ms), (Quality::Unavailable, None));
        assert!(
            o[1].reason
                .as_deref()
                .is_some_and(|r| r.contains("no baseline"))
        );
        assert_eq!(o[2].quality, Quality::Unavailable);
        assert_eq!(o[2].reason.as_deref(), Some("no steady ok calls"));
    }
}
