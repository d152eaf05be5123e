//! The latency histograms of the metrics: HDR, 1 µs – 1 h, 3 significant digits,
//! values in microseconds; their percentile summary in milliseconds; and the encoding embedded in
//! results.json (HdrHistogram V2 compressed — "deflate" — in standard base64, as in interval logs).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// The lowest discernible value: 1 µs.
pub const LOWEST_US: u64 = 1;
/// The highest trackable value: 1 h. Longer values are recorded as 1 h.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant digits of the per-key histograms.
pub const SIGFIG: u8 = 3;

/// An empty latency histogram with the run's bounds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("constant bounds are valid")
}

/// Nanoseconds to whole microseconds (nearest); negative durations count as 0.
pub fn ns_to_us(ns: i64) -> u64 {
    u64::try_from(ns).map_or(0, |ns| ns.saturating_add(500) / 1000)
}

/// Microseconds to milliseconds, exact to the microsecond.
pub fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Percentiles, maximum and mean of a latency histogram, in milliseconds; all null when the
/// histogram is empty. Read from the histogram alone, so that a decoded copy gives the same
/// numbers (the maximum is the highest value equivalent to the largest recorded one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p99_9: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let q = |q: f64| Some(us_to_ms(h.value_at_quantile(q)));
        Latency {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p99_9: q(0.999),
            max: Some(us_to_ms(h.max())),
            // The mean to the microsecond, like every other figure.
            mean: Some(h.mean().round() / 1000.0),
        }
    }

    /// Whether every figure is within `eps` milliseconds of `other`'s (null matches null only).
    pub fn approx_eq(&self, other: &Latency, eps: f64) -> bool {
        let pairs = [
            (self.p50, other.p50),
            (self.p90, other.p90),
            (self.p99, other.p99),
            (self.p99_9, other.p99_9),
            (self.max, other.max),
            (self.mean, other.mean),
        ];
        pairs.iter().all(|pair| match *pair {
            (Some(a), Some(b)) => (a - b).abs() <= eps,
            (None, None) => true,
            _ => false,
        })
    }
}

/// Why an embedded histogram could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    #[error("the histogram is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("the histogram is not an HdrHistogram V2 encoding: {0}")]
    Decode(#[from] hdrhistogram::serialization::DeserializeError),
    #[error("{what}: the histogram holds {found} values, the counts say {expected}")]
    Count {
        what: String,
        expected: u64,
        found: u64,
    },
}

/// The V2 compressed encoding in base64. Encoding into memory cannot fail for histograms whose
/// counts fit an i64; should it anyway, the error is logged and the string is empty.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => STANDARD.encode(&bytes),
        Err(e) => {
            tracing::error!("a latency histogram could not be encoded: {e}");
            String::new()
        }
    }
}

/// Reads back what [`encode`] wrote (or any V2 / V2 compressed histogram in base64).
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = STANDARD.decode(text.trim())?;
    Ok(Deserializer::new().deserialize(&mut bytes.as_slice())?)
}

/// A figure rounded to three decimals, as results.json writes it.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_to_the_microsecond() {
        assert_eq!(ns_to_us(-5), 0);
        assert_eq!(ns_to_us(0), 0);
        assert_eq!(ns_to_us(499), 0);
        assert_eq!(ns_to_us(1_500), 2);
        assert_eq!(ns_to_us(i64::MAX), (i64::MAX as u64 + 500) / 1000);
        assert_eq!(us_to_ms(12_345), 12.345);
    }

    #[test]
    fn an_empty_histogram_has_null_figures() {
        assert_eq!(Latency::of(&new_histogram()), Latency::default());
        assert!(Latency::default().approx_eq(&Latency::default(), 0.0));
    }

    #[test]
    fn figures_survive_encoding() {
        let mut h = new_histogram();
        for us in 1..=10_000u64 {
            h.saturating_record(us * 37);
        }
        h.saturating_record(HIGHEST_US * 10); // clamped to an hour
        let before = Latency::of(&h);
        assert!(
            before.p50.is_some_and(|p| (185.0..=185.2).contains(&p)),
            "{before:?}"
        );
        assert!(before.max.is_some_and(|m| m >= 3_600_000.0));
        let text = encode(&h);
        let back = decode(&text).expect("decodes");
        assert_eq!(back.len(), h.len());
        assert_eq!(Latency::of(&back), before);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(decode("%%%"), Err(HistogramError::Base64(_))));
        assert!(matches!(decode("AAAA"), Err(HistogramError::Decode(_))));
    }
}
