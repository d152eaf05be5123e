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
    if t.is_empty() {
        return Err(format!("a duration is missing here; {DURATION_HELP}"));
    }
    if let Some(positive) = t.strip_prefix('-') {
        return Err(format!(
            "`{s}`: a duration cannot be negative; write e.g. {positive}"
        ));
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

/// Written back the way users write it ("250ms").
impl serde::Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
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

const RATE_HELP: &str = "write calls per second, e.g. 200/s or 12.5/s";

/// Parses "200/s" into calls per second. Other time units are refused with the fix: a rate
/// is always per second in gauntlet, so that files read the same everywhere.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let Some((num, unit)) = t.split_once('/') else {
        return Err(format!("`{s}` is not a rate: {RATE_HELP}"));
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate: {RATE_HELP}"))?;
    let per_s = match unit.trim() {
        "s" => n,
        "m" | "min" | "h" | "ms" => {
            let fixed = match unit.trim() {
                "ms" => n * 1000.0,
                "h" => n / 3600.0,
                _ => n / 60.0,
            };
            return Err(format!(
                "`{s}` is not a rate: write {}/s",
                trim_float(fixed)
            ));
        }
        _ => return Err(format!("`{s}` is not a rate: {RATE_HELP}")),
    };
    if !per_s.is_finite() || !(0.0..=10_000_000.0).contains(&per_s) {
        return Err(format!("`{s}` is out of range: {RATE_HELP}"));
    }
    Ok(per_s)
}

fn trim_float(f: f64) -> String {
    let s = format!("{f:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A rate field: "200/s".
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate such as 200/s")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Rate, E> {
                parse_rate(s).map(Rate).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Rate, E> {
                Err(E::custom(format!("`{n}` is not a rate: write {n}/s")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Rate, E> {
                Err(E::custom(format!("`{n}` is not a rate: write {n}/s")))
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", trim_float(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200/s").unwrap(), 200.0);
        assert_eq!(parse_rate("12.5 /s").unwrap(), 12.5);
        assert_eq!(
            parse_rate("200/m").unwrap_err(),
            "`200/m` is not a rate: write 3.333/s"
        );
        assert_eq!(
            parse_rate("60/min").unwrap_err(),
            "`60/min` is not a rate: write 1/s"
        );
        for bad in ["200", "x/s", "-1/s", "1/fortnight"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

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
