//! Distributions of durations (service time, added latency), sampled as a pure function of
//! uniform draws so that the same key gives the same delay however calls interleave.

use crate::units::Dur;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Samples are clamped to this.
pub const MAX_SAMPLE: Duration = Duration::from_secs(3600);
/// The standard normal quantile at 0.99.
const Z99: f64 = 2.326_347_874_040_841;

/// A distribution of durations, as written in catalogues and scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DurationDist {
    /// `5ms` or `0`.
    Fixed(Dur),
    Shaped(Shape),
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Shape {
    Fixed(Dur),
    Uniform { min: Dur, max: Dur },
    Normal { mean: Dur, stddev: Dur },
    Lognormal { p50: Dur, p99: Dur },
    Pareto { scale: Dur, shape: f64 },
}

impl Default for DurationDist {
    fn default() -> Self {
        DurationDist::Fixed(Dur(Duration::ZERO))
    }
}

impl DurationDist {
    /// Checks the parameters; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            DurationDist::Fixed(_) | DurationDist::Shaped(Shape::Fixed(_)) => Ok(()),
            DurationDist::Shaped(Shape::Uniform { min, max }) if min > max => {
                Err("uniform: `min` must not exceed `max`".into())
            }
            DurationDist::Shaped(Shape::Lognormal { p50, .. }) if p50.0.is_zero() => {
                Err("lognormal: `p50` must be above 0".into())
            }
            DurationDist::Shaped(Shape::Lognormal { p50, p99 }) if p99 < p50 => {
                Err("lognormal: `p99` must be at least `p50`".into())
            }
            DurationDist::Shaped(Shape::Pareto { scale, shape })
                if scale.0.is_zero() || !(shape > 0.0 && shape.is_finite()) =>
            {
                Err("pareto: `scale` must be above 0 and `shape` a positive number".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether every sample is zero (the fast path skips timers entirely).
    pub fn is_zero(&self) -> bool {
        matches!(
            self,
            DurationDist::Fixed(Dur(d)) | DurationDist::Shaped(Shape::Fixed(Dur(d))) if d.is_zero()
        )
    }

    /// A sample from two independent uniform draws in [0, 1).
    pub fn sample(&self, u1: f64, u2: f64) -> Duration {
        let secs = match *self {
            DurationDist::Fixed(d) | DurationDist::Shaped(Shape::Fixed(d)) => return d.0,
            DurationDist::Shaped(Shape::Uniform { min, max }) => {
                min.0.as_secs_f64() + u1 * (max.0.as_secs_f64() - min.0.as_secs_f64())
            }
            DurationDist::Shaped(Shape::Normal { mean, stddev }) => {
                mean.0.as_secs_f64() + stddev.0.as_secs_f64() * standard_normal(u1, u2)
            }
            DurationDist::Shaped(Shape::Lognormal { p50, p99 }) => {
                let mu = p50.0.as_secs_f64().max(1e-9).ln();
                let sigma = (p99.0.as_secs_f64().max(1e-9).ln() - mu).max(0.0) / Z99;
                (mu + sigma * standard_normal(u1, u2)).exp()
            }
            DurationDist::Shaped(Shape::Pareto { scale, shape }) => {
                scale.0.as_secs_f64() / (1.0 - u1).max(1e-12).powf(1.0 / shape)
            }
        };
        if secs.is_nan() || secs <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(secs.min(MAX_SAMPLE.as_secs_f64()))
        }
    }
}

/// Box–Muller.
fn standard_normal(u1: f64, u2: f64) -> f64 {
    let u1 = u1.max(1e-12);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// SplitMix64: a fast, well-mixed 64-bit hash step.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) that is a pure function of its inputs.
pub fn unit(a: u64, b: u64) -> f64 {
    (mix(mix(a) ^ b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Dur {
        Dur(Duration::from_millis(n))
    }

    fn quantile(d: DurationDist, q: f64) -> f64 {
        let mut v: Vec<f64> = (0..20_000u64)
            .map(|i| d.sample(unit(1, i), unit(2, i)).as_secs_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64) * q) as usize]
    }

    #[test]
    fn lognormal_hits_its_percentiles() {
        let d = DurationDist::Shaped(Shape::Lognormal {
            p50: ms(20),
            p99: ms(120),
        });
        let p50 = quantile(d, 0.5);
        let p99 = quantile(d, 0.99);
        assert!((p50 - 0.020).abs() < 0.002, "p50 {p50}");
        assert!((p99 - 0.120).abs() < 0.02, "p99 {p99}");
    }

    #[test]
    fn shapes_stay_in_range() {
        let u = DurationDist::Shaped(Shape::Uniform {
            min: ms(5),
            max: ms(10),
        });
        for i in 0..1000 {
            let s = u.sample(unit(3, i), unit(4, i));
            assert!(s >= Duration::from_millis(5) && s <= Duration::from_millis(10));
        }
        let p = DurationDist::Shaped(Shape::Pareto {
            scale: ms(5),
            shape: 1.5,
        });
        assert!(quantile(p, 0.0) >= 0.005);
        let n = DurationDist::Shaped(Shape::Normal {
            mean: ms(1),
            stddev: ms(10),
        });
        assert!(quantile(n, 0.0) >= 0.0);
        assert_eq!(
            DurationDist::Fixed(ms(7)).sample(0.3, 0.9),
            Duration::from_millis(7)
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let bad = DurationDist::Shaped(Shape::Uniform {
            min: ms(9),
            max: ms(1),
        });
        assert!(bad.validate().unwrap_err().contains("min"));
        let bad = DurationDist::Shaped(Shape::Lognormal {
            p50: ms(9),
            p99: ms(1),
        });
        assert!(bad.validate().is_err());
    }

    #[test]
    fn draws_are_pure_and_uniform() {
        assert_eq!(unit(7, 9), unit(7, 9));
        let mean: f64 = (0..10_000).map(|i| unit(42, i)).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02);
    }
}
