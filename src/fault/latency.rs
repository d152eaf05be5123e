//! `latency`: delay added to every request the fault covers, drawn per call from a
//! distribution (fixed, uniform, normal, lognormal by p50/p99, pareto) as a pure function of
//! the call's key; or `stall`: every request is held until the window ends.
//!
//! A server-wide fault covers every request (initialize and ping included: a slow server is
//! slow at everything); one with `tool:` covers that tool's calls. The delay comes before the
//! work, so the service time the mock reports includes it.

use super::draw;
use super::hold::Hold;
use crate::dist::DurationDist;
use crate::scenario::spec::LatencyFaultSpec;
use serde::{Serialize, Serializer};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Serialize for LatencyFaultSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LatencyFaultSpec::Stall => s.serialize_str("stall"),
            LatencyFaultSpec::Add(d) => d.serialize(s),
        }
    }
}

/// Adds what a latency fault does to one request to its hold: a stall waits for the window's
/// end (`window_end` fires then), a distribution adds a draw.
pub fn apply(
    spec: &LatencyFaultSpec,
    seed: u64,
    fault: usize,
    key: u64,
    window_end: &CancellationToken,
    hold: &mut Hold,
) {
    match spec {
        LatencyFaultSpec::Stall => hold.stall_until(window_end.clone()),
        LatencyFaultSpec::Add(d) => hold.add(added(d, seed, fault, key)),
    }
}

/// The delay one call gets: two draws of its own (streams 1 and 2 of the fault).
pub fn added(d: &DurationDist, seed: u64, fault: usize, key: u64) -> Duration {
    if d.is_zero() {
        return Duration::ZERO;
    }
    d.sample(draw(seed, fault, key, 1), draw(seed, fault, key, 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Shape;
    use crate::units::Dur;

    fn ms(n: u64) -> Dur {
        Dur(Duration::from_millis(n))
    }

    #[test]
    fn each_distribution_by_table() {
        // (distribution, lowest allowed, highest allowed, median low, median high) in ms.
        let cases: [(DurationDist, f64, f64, f64, f64); 5] = [
            (DurationDist::Fixed(ms(300)), 300.0, 300.0, 300.0, 300.0),
            (
                DurationDist::Shaped(Shape::Uniform {
                    min: ms(10),
                    max: ms(20),
                }),
                10.0,
                20.0,
                14.0,
                16.0,
            ),
            (
                DurationDist::Shaped(Shape::Normal {
                    mean: ms(50),
                    stddev: ms(5),
                }),
                0.0,
                100.0,
                48.0,
                52.0,
            ),
            (
                DurationDist::Shaped(Shape::Lognormal {
                    p50: ms(20),
                    p99: ms(120),
                }),
                0.0,
                3_600_000.0,
                18.0,
                22.0,
            ),
            (
                DurationDist::Shaped(Shape::Pareto {
                    scale: ms(5),
                    shape: 2.0,
                }),
                5.0,
                3_600_000.0,
                6.5,
                7.7,
            ),
        ];
        for (d, lo, hi, mlo, mhi) in cases {
            let mut v: Vec<f64> = (0..4000u64)
                .map(|k| added(&d, 42, 0, crate::dist::mix(k)).as_secs_f64() * 1e3)
                .collect();
            v.sort_by(f64::total_cmp);
            assert!(
                v[0] >= lo - 1e-9 && v[v.len() - 1] <= hi + 1e-9,
                "{d:?}: {} {}",
                v[0],
                v[v.len() - 1]
            );
            let median = v[v.len() / 2];
            assert!(median >= mlo && median <= mhi, "{d:?}: median {median}");
        }
    }

    #[test]
    fn a_call_gets_the_same_delay_every_time_and_another_seed_another() {
        let d = DurationDist::Shaped(Shape::Uniform {
            min: ms(0),
            max: ms(1000),
        });
        assert_eq!(added(&d, 1, 3, 77), added(&d, 1, 3, 77));
        assert_ne!(added(&d, 1, 3, 77), added(&d, 2, 3, 77));
        assert_ne!(added(&d, 1, 3, 77), added(&d, 1, 4, 77));
        assert_eq!(added(&DurationDist::default(), 1, 3, 77), Duration::ZERO);
    }

    #[test]
    fn stall_waits_for_the_window_and_a_distribution_adds() {
        let end = CancellationToken::new();
        let mut hold = Hold::default();
        apply(&LatencyFaultSpec::Stall, 0, 0, 1, &end, &mut hold);
        apply(
            &LatencyFaultSpec::Add(DurationDist::Fixed(ms(5))),
            0,
            1,
            1,
            &end,
            &mut hold,
        );
        apply(
            &LatencyFaultSpec::Add(DurationDist::Fixed(ms(7))),
            0,
            2,
            1,
            &end,
            &mut hold,
        );
        assert_eq!(hold.added(), Duration::from_millis(12));
        assert_eq!(hold.stalls(), 1);
        assert_eq!(
            serde_json::to_string(&LatencyFaultSpec::Stall).unwrap(),
            r#""stall""#
        );
    }
}
