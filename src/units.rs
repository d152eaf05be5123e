//! Units written by hand in catalogues and scenarios: durations ("250ms", "5s", "1m"),
//! percentages ("1%", "0.5%"). Each parses strictly and says what is allowed when it cannot.

use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::time::Duration;

const DURATION_HELP: &str = "write a number with a unit: 250us, 20ms, 1.5s, 2m, 1h (or 0)";

/// Parses "250ms", "1.5s", "2m", "1h", "100us", "0".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{s}` has no unit; {DURATION_HELP}"))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; {DURATION_HELP}"))?;
    let secs = match unit.trim() {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit `{other}` in `{s}`; {DURATION_HELP}")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("`{s}` is out of range; {DURATION_HELP}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Formats a duration the way users write them.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0".into()
    } else if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// Parses "1%", "0.5%" into a fraction in 0..=1.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t
        .strip_suffix('%')
        .ok_or_else(|| format!("`{s}` is not a percentage: write it with %, e.g. 1% or 0.5%"))?;
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage: write e.g. 1% or 0.5%"))?;
    if !(0.0..=100.0).contains(&n) {
        return Err(format!("`{s}` is outside 0%..100%"));
    }
    Ok(n / 100.0)
}

/// A duration field: a string with a unit, or the number 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 250ms, 1.5s or 2m")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Dur, E> {
                if n == 0 {
                    Ok(Dur(Duration::ZERO))
                } else {
                    Err(E::custom(format!("`{n}` has no unit; {DURATION_HELP}")))
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "`{n}` is not a duration; {DURATION_HELP}"
                )))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Dur, E> {
                Err(E::custom(format!("`{n}` has no unit; {DURATION_HELP}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A probability written as a percentage ("1%"); holds the fraction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as 1% or 0.5%")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Percent, E> {
                parse_percent(s).map(Percent).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Percent, E> {
                Err(E::custom(format!("`{n}` needs a % sign: write {n}%")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Percent, E> {
                Err(E::custom(format!("`{n}` needs a % sign: write {n}%")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("0", 0),
            ("250ms", 250_000_000),
            ("1.5s", 1_500_000_000),
            ("2m", 120_000_000_000),
            ("100us", 100_000),
            ("1h", 3_600_000_000_000),
        ];
        for (s, ns) in ok {
            assert_eq!(parse_duration(s).unwrap().as_nanos(), ns, "{s}");
        }
        for bad in ["", "5", "ms", "5 parsecs", "-1s", "1e400s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(3)), "3s");
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("1%").unwrap(), 0.01);
        assert_eq!(parse_percent("0.5 %").unwrap(), 0.005);
        for bad in ["1", "101%", "-1%", "x%"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }
}
