//! Budget expressions (docs/scenario.md, "Budgets"): `p99(freight.quote@steady) < 150ms`,
//! `error_rate(fraud) < 1%`, `throughput(all) > 90/s`, `cache_hit_rate(translation.translate) > 60%`,
//! `cold_start(fraud) < 2s`, `recovery(translation) < 5s`, `blast_radius(translation) < 1pp`,
//! `capacity > 500/s`, `propagation > 99%`. Parsing is pure; whether a scope exists is checked
//! by the caller, who knows the servers.

use crate::units::{format_duration, parse_duration, parse_percent, parse_rate};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// A latency percentile, e.g. 99.0 or 99.9.
    Percentile(f64),
    Max,
    ErrorRate,
    Throughput,
    CacheHitRate,
    ColdStart,
    Recovery,
    BlastRadius,
    Capacity,
    Propagation,
}

const METRICS: &str = "p50, p90, p99, p99.9, max, error_rate, throughput, cache_hit_rate, \
                       cold_start, recovery, blast_radius, capacity, propagation";

/// What a budget looks at: all calls, a server, or one tool, optionally in one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    pub server: Option<String>,
    pub tool: Option<String>,
    /// `steady`, `warmup`, `baseline`, `fault`, `fault:2`, `settle`, `settle:2`.
    pub phase: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Below,
    #[serde(rename = ">")]
    Above,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    Duration(Duration),
    /// A fraction (1% = 0.01).
    Percent(f64),
    /// Calls per second.
    Rate(f64),
    /// Percentage points.
    Points(f64),
}

/// One parsed budget: `metric(scope) op threshold`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// The expression as written (trimmed): it names the budget in every report.
    pub text: String,
    pub metric: Metric,
    pub scope: Option<Scope>,
    pub op: Op,
    /// Written `<=` or `>=`: a value equal to the limit passes.
    pub inclusive: bool,
    pub threshold: Threshold,
}

/// A parse error: what is wrong, and the byte offset in the expression where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError {
        offset,
        message: message.into(),
    })
}

/// Parses one budget expression.
pub fn parse(text: &str) -> Result<Budget, ExprError> {
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    let lead = text.len() - text.trim_start().len();
    let name = text[lead..name_end].trim();
    let metric = metric(name).ok_or_else(|| ExprError {
        offset: lead,
        message: format!("unknown metric `{name}`; metrics are {METRICS}"),
    })?;
    let mut rest = &text[name_end..];
    let mut pos = name_end;
    let scope = if rest.trim_start().starts_with('(') {
        let open = pos + rest.find('(').unwrap_or(0);
        let Some(close) = text[open..].find(')').map(|i| open + i) else {
            return err(open, "`(` without `)`");
        };
        let scope = parse_scope(&text[open + 1..close], open + 1)?;
        pos = close + 1;
        rest = &text[pos..];
        Some(scope)
    } else {
        None
    };
    let trimmed = rest.trim_start();
    pos += rest.len() - trimmed.len();
    let inclusive = trimmed.as_bytes().get(1) == Some(&b'=');
    let (op, len) = match trimmed.as_bytes() {
        [b'<', b'=', ..] => (Op::Below, 2),
        [b'>', b'=', ..] => (Op::Above, 2),
        [b'<', ..] => (Op::Below, 1),
        [b'>', ..] => (Op::Above, 1),
        _ => return err(pos, "expected `<` or `>` after the metric"),
    };
    let value_text = trimmed[len..].trim();
    if value_text.is_empty() {
        let op_text = &trimmed[..len];
        return err(
            pos,
            format!("no limit after `{op_text}`: write e.g. `p99(all) < 200ms`"),
        );
    }
    let value_pos = pos + len + (trimmed[len..].len() - trimmed[len..].trim_start().len());
    let threshold = threshold(metric, value_text).map_err(|m| ExprError {
        offset: value_pos,
        message: m,
    })?;
    check_shape(metric, scope.as_ref(), op).map_err(|m| ExprError {
        offset: lead,
        message: m,
    })?;
    Ok(Budget {
        text: text.trim().to_string(),
        metric,
        scope,
        op,
        inclusive,
        threshold,
    })
}

fn metric(name: &str) -> Option<Metric> {
    Some(match name {
        "p50" => Metric::Percentile(50.0),
        "p90" => Metric::Percentile(90.0),
        "p95" => Metric::Percentile(95.0),
        "p99" => Metric::Percentile(99.0),
        "p99.9" => Metric::Percentile(99.9),
        "p99.99" => Metric::Percentile(99.99),
        "max" => Metric::Max,
        "error_rate" => Metric::ErrorRate,
        "throughput" => Metric::Throughput,
        "cache_hit_rate" => Metric::CacheHitRate,
        "cold_start" => Metric::ColdStart,
        "recovery" => Metric::Recovery,
        "blast_radius" => Metric::BlastRadius,
        "capacity" => Metric::Capacity,
        "propagation" => Metric::Propagation,
        _ => return None,
    })
}

fn parse_scope(inner: &str, at: usize) -> Result<Scope, ExprError> {
    let s = inner.trim();
    let (target, phase) = match s.split_once('@') {
        Some((t, p)) => (t.trim(), Some(p.trim().to_string())),
        None => (s, None),
    };
    if target.is_empty() {
        return err(at, "empty scope: write `all`, a server, or server.tool");
    }
    let ok = |x: &str| {
        !x.is_empty()
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    let (server, tool) = match target.split_once('.') {
        _ if target == "all" => (None, None),
        Some((srv, tool)) if ok(srv) && !tool.is_empty() => {
            (Some(srv.to_string()), Some(tool.to_string()))
        }
        None if ok(target) => (Some(target.to_string()), None),
        _ => {
            return err(
                at,
                format!("`{target}` is not a scope: write `all`, a server, or server.tool"),
            );
        }
    };
    if let Some(p) = &phase
        && !valid_phase(p)
    {
        return err(
            at,
            format!(
                "unknown phase `@{p}`; phases are steady, warmup, baseline, fault, fault:N, settle, settle:N"
            ),
        );
    }
    Ok(Scope {
        server,
        tool,
        phase,
    })
}

fn valid_phase(p: &str) -> bool {
    match p.split_once(':') {
        None => matches!(p, "steady" | "warmup" | "baseline" | "fault" | "settle"),
        Some((k, n)) => matches!(k, "fault" | "settle") && n.parse::<usize>().is_ok(),
    }
}

fn threshold(metric: Metric, v: &str) -> Result<Threshold, String> {
    match metric {
        Metric::Percentile(_) | Metric::Max | Metric::ColdStart | Metric::Recovery => {
            parse_duration(v).map(Threshold::Duration)
        }
        Metric::ErrorRate | Metric::CacheHitRate | Metric::Propagation => {
            parse_percent(v).map(Threshold::Percent)
        }
        Metric::Throughput | Metric::Capacity => parse_rate(v).map(Threshold::Rate),
        Metric::BlastRadius => {
            let n = v
                .strip_suffix("pp")
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n >= 0.0);
            n.map(Threshold::Points)
                .ok_or_else(|| format!("`{v}` is not in percentage points: write e.g. 1pp"))
        }
    }
}

/// Which metrics take which scopes, and which direction makes sense.
fn check_shape(metric: Metric, scope: Option<&Scope>, op: Op) -> Result<(), String> {
    let name = metric_name(metric);
    match metric {
        Metric::Capacity | Metric::Propagation if scope.is_some() => {
            return Err(format!(
                "`{name}` is a figure of the whole run: write `{name} > …` without a scope"
            ));
        }
        Metric::Capacity | Metric::Propagation => {}
        Metric::CacheHitRate if scope.is_some_and(|s| s.phase.is_some()) => {
            return Err(format!(
                "`{name}` is over the whole run: write `{name}(SERVER.TOOL)` without `@phase`"
            ));
        }
        Metric::ColdStart | Metric::Recovery | Metric::BlastRadius => match scope {
            Some(Scope {
                server: Some(_),
                tool: None,
                phase: None,
            }) => {}
            _ => return Err(format!("`{name}` takes one server: write `{name}(SERVER)`")),
        },
        _ if scope.is_none() => {
            return Err(format!(
                "`{name}` needs a scope: write `{name}(all)`, `{name}(SERVER)` or `{name}(SERVER.TOOL)`"
            ));
        }
        _ => {}
    }
    let upper = !matches!(
        metric,
        Metric::Throughput | Metric::CacheHitRate | Metric::Capacity | Metric::Propagation
    );
    match (upper, op) {
        (true, Op::Above) => Err(format!("`{name}` is an upper bound: write `{name}(…) < …`")),
        (false, Op::Below) => Err(format!("`{name}` is a lower bound: write `{name}(…) > …`")),
        _ => Ok(()),
    }
}

/// The metric as written in expressions (`p99`, `error_rate`).
pub fn metric_name(m: Metric) -> String {
    match m {
        Metric::Percentile(p) => format!("p{p}"),
        Metric::Max => "max".into(),
        Metric::ErrorRate => "error_rate".into(),
        Metric::Throughput => "throughput".into(),
        Metric::CacheHitRate => "cache_hit_rate".into(),
        Metric::ColdStart => "cold_start".into(),
        Metric::Recovery => "recovery".into(),
        Metric::BlastRadius => "blast_radius".into(),
        Metric::Capacity => "capacity".into(),
        Metric::Propagation => "propagation".into(),
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Duration(d) => f.write_str(&format_duration(*d)),
            Threshold::Percent(p) => write!(f, "{}%", p * 100.0),
            Threshold::Rate(r) => write!(f, "{r}/s"),
            Threshold::Points(p) => write!(f, "{p}pp"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let b = parse("p99(freight.quote@steady) < 150ms").unwrap();
        assert_eq!(b.metric, Metric::Percentile(99.0));
        let s = b.scope.unwrap();
        assert_eq!(
            (s.server.as_deref(), s.tool.as_deref()),
            (Some("freight"), Some("quote"))
        );
        assert_eq!(s.phase.as_deref(), Some("steady"));
        assert_eq!(b.threshold, Threshold::Duration(Duration::from_millis(150)));
        for ok in [
            "p99.9(all) < 1s",
            "error_rate(fraud) < 1%",
            "throughput(all@fault:0) > 90/s",
            "cache_hit_rate(translation.translate) > 60%",
            "cold_start(fraud) < 2s",
            "recovery(translation) < 5s",
            "blast_radius(translation) < 1pp",
            "capacity > 500/s",
            "propagation >= 99%",
            "max(freight) <= 2s",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
        assert!(parse("max(freight) <= 2s").is_ok_and(|b| b.inclusive));
        assert!(parse("max(freight) < 2s").is_ok_and(|b| !b.inclusive));
    }

    #[test]
    fn errors_point_at_the_mistake() {
        let cases = [
            ("p98(all) < 1s", 0, "unknown metric"),
            ("p99(all) 1s", 9, "expected `<`"),
            ("p99(all) < 1 parsec", 11, "unknown unit"),
            ("p99(all) > 1s", 0, "upper bound"),
            ("throughput(all) < 5/s", 0, "lower bound"),
            ("error_rate(fraud) < 1", 20, "%"),
            ("p99 < 1s", 0, "needs a scope"),
            ("recovery(all) < 1s", 0, "one server"),
            ("capacity(all) > 1/s", 0, "whole run"),
            ("p99(all@lunch) < 1s", 4, "unknown phase"),
            ("p99(all < 1s", 3, "without `)`"),
            ("blast_radius(x) < 1%", 18, "percentage points"),
            ("cache_hit_rate(a.b@steady) > 5%", 0, "whole run"),
        ];
        for (text, offset, words) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(words), "{text}: {e:?}");
            assert_eq!(e.offset, offset, "{text}: {e:?}");
        }
    }
}
