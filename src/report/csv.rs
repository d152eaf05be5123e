//! `summary.csv` (phase × server × tool), `timeseries.csv` (second × server), `recovery.csv`
//! (fault window) and `derived.csv` (one row per derived figure): RFC 4180 CSV written with std — fields quoted when they hold a comma, a quote or a line break; null
//! figures are empty cells; `\n` line ends.

use crate::metrics::figures::Quality;
use crate::metrics::summary::{CallStats, SecondStats};
use crate::metrics::{OUTCOME_CLASSES, Summary};
use std::borrow::Cow;
use std::fmt::Write;

pub const SUMMARY_FILE: &str = "summary.csv";
pub const TIMESERIES_FILE: &str = "timeseries.csv";
pub const RECOVERY_FILE: &str = "recovery.csv";
pub const DERIVED_FILE: &str = "derived.csv";

/// The columns of `summary.csv`: phase, server, tool, count, ok, one count per failed outcome
/// class (in [`OUTCOME_CLASSES`] order), then rate and latency figures (ms, over ok calls).
pub fn summary_header() -> Vec<&'static str> {
    let mut h = vec!["phase", "server", "tool", "count", "ok"];
    h.extend(&OUTCOME_CLASSES[1..]);
    h.extend([
        "rate_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p99_9_ms",
        "max_ms",
        "mean_ms",
    ]);
    h
}

/// The columns of `timeseries.csv`; `errors` counts every outcome but ok (dropped included).
pub const TIMESERIES_HEADER: [&str; 8] = [
    "second", "server", "offered", "sent", "ok", "errors", "p50_ms", "p99_ms",
];

pub fn summary_csv(s: &Summary) -> String {
    let mut out = String::new();
    line(&mut out, summary_header().into_iter().map(Cow::Borrowed));
    for c in &s.calls {
        line(&mut out, summary_row(c).into_iter());
    }
    out
}

pub fn timeseries_csv(s: &Summary) -> String {
    let mut out = String::new();
    line(&mut out, TIMESERIES_HEADER.into_iter().map(Cow::Borrowed));
    for r in &s.timeseries {
        line(&mut out, timeseries_row(r).into_iter());
    }
    out
}

/// The columns of `recovery.csv`: one row per fault window, its recovery and blast radius.
pub const RECOVERY_HEADER: [&str; 20] = [
    "window",
    "server",
    "kind",
    "start_ms",
    "end_ms",
    "calls_during",
    "errors_during",
    "error_rate_during",
    "failure_p50_ms",
    "failure_p99_ms",
    "before_error_rate",
    "before_p99_ms",
    "first_success_ms",
    "recovery_ms",
    "never",
    "observed_s",
    "quality",
    "blast_radius_pp",
    "blast_worst",
    "blast_p99_ratio",
];

pub fn recovery_csv(s: &Summary) -> String {
    let mut out = String::new();
    line(&mut out, RECOVERY_HEADER.into_iter().map(Cow::Borrowed));
    for r in &s.derived.recovery {
        let blast = s.derived.blast_radius.iter().find(|b| b.window == r.window);
        let d = &r.during;
        let mut row: Vec<Cow<'_, str>> = vec![
            r.window.to_string().into(),
            r.server.as_str().into(),
            r.kind.as_str().into(),
            r.start_ms.to_string().into(),
            r.end_ms.to_string().into(),
            d.calls.to_string().into(),
            d.errors.to_string().into(),
        ];
        let figures = [
            d.error_rate,
            d.failure_p50_ms,
            d.failure_p99_ms,
            r.before_error_rate,
            r.before_p99_ms,
            r.first_success_ms,
            r.recovery_ms,
        ];
        row.extend(figures.into_iter().map(number));
        row.push(r.never.to_string().into());
        row.push(r.observed_s.to_string().into());
        row.push(quality(r.quality).into());
        row.push(number(blast.and_then(|b| b.points)));
        row.push(blast.and_then(|b| b.worst.as_deref()).unwrap_or("").into());
        row.push(number(blast.and_then(|b| b.p99_ratio)));
        line(&mut out, row.into_iter());
    }
    out
}

/// The columns of `derived.csv`: one figure per row.
pub const DERIVED_HEADER: [&str; 6] = ["figure", "scope", "value", "unit", "quality", "reason"];

pub fn derived_csv(s: &Summary) -> String {
    let mut out = String::new();
    line(&mut out, DERIVED_HEADER.into_iter().map(Cow::Borrowed));
    for row in derived_rows(s) {
        let DerivedRow {
            figure,
            scope,
            value,
            unit,
            quality: q,
            reason,
        } = row;
        let cells = [
            Cow::Borrowed(figure),
            Cow::Owned(scope),
            number(value),
            Cow::Borrowed(unit),
            Cow::Borrowed(quality(q)),
            Cow::Owned(reason.unwrap_or_default()),
        ];
        line(&mut out, cells.into_iter());
    }
    out
}

/// One derived figure, flattened.
pub struct DerivedRow {
    pub figure: &'static str,
    pub scope: String,
    pub value: Option<f64>,
    pub unit: &'static str,
    pub quality: Quality,
    pub reason: Option<String>,
}

/// Every derived figure of `s`, one per row, in results.json order.
pub fn derived_rows(s: &Summary) -> Vec<DerivedRow> {
    let d = &s.derived;
    let mut rows = Vec::new();
    let mut push = |figure, scope: String, value, unit, quality, reason: &Option<String>| {
        rows.push(DerivedRow {
            figure,
            scope,
            value,
            unit,
            quality,
            reason: reason.clone(),
        })
    };
    if let Some(c) = &d.capacity {
        push(
            "capacity",
            "all".into(),
            c.rate_per_s,
            "calls/s",
            c.quality,
            &c.reason,
        );
    }
    for o in &d.overhead {
        let scope = format!("{}.{}", o.server, o.tool);
        push(
            "overhead_p50",
            scope.clone(),
            o.p50_ms,
            "ms",
            o.quality,
            &o.reason,
        );
        push("overhead_p99", scope, o.p99_ms, "ms", o.quality, &o.reason);
    }
    for c in &d.cache {
        let scope = format!("{}.{}", c.server, c.tool);
        push(
            "cache_hit_rate",
            scope,
            c.rate,
            "fraction",
            c.quality,
            &c.reason,
        );
    }
    for r in &d.stale_reads {
        let scope = match &r.tool {
            Some(t) => format!("{}.{t}@fault:{}", r.server, r.window),
            None => format!("{}@fault:{}", r.server, r.window),
        };
        push(
            "stale_read_window",
            scope,
            r.window_ms,
            "ms",
            r.quality,
            &r.reason,
        );
    }
    for c in &d.cold_start.servers {
        let (q, why) = (c.quality, &c.reason);
        push("cold_start", c.server.clone(), c.cost_ms, "ms", q, why);
        push(
            "spawn_to_ready",
            c.server.clone(),
            c.spawn_to_ready_ms,
            "ms",
            q,
            why,
        );
    }
    for r in &d.recovery {
        let scope = format!("{}@fault:{}", r.server, r.window);
        let (q, why) = (r.quality, &r.reason);
        push(
            "time_to_first_success",
            scope.clone(),
            r.first_success_ms,
            "ms",
            q,
            why,
        );
        push("time_to_recovery", scope, r.recovery_ms, "ms", q, why);
    }
    for b in &d.blast_radius {
        let scope = format!("{}@fault:{}", b.server, b.window);
        push("blast_radius", scope, b.points, "pp", b.quality, &b.reason);
    }
    let r = &d.routing;
    push(
        "wrong_server",
        "all".into(),
        Some(r.wrong_server as f64),
        "calls",
        r.quality,
        &r.reason,
    );
    push(
        "lost",
        "all".into(),
        Some(r.lost as f64),
        "calls",
        r.quality,
        &r.reason,
    );
    for r in &d.retries {
        let q = (r.quality, &r.reason);
        push(
            "retry_amplification",
            r.server.clone(),
            r.amplification,
            "ratio",
            q.0,
            q.1,
        );
    }
    rows
}

fn quality(q: Quality) -> &'static str {
    match q {
        Quality::Exact => "exact",
        Quality::Estimated => "estimated",
        Quality::Unavailable => "unavailable",
    }
}

fn summary_row(c: &CallStats) -> Vec<Cow<'_, str>> {
    let mut row: Vec<Cow<'_, str>> = vec![
        c.phase.to_string().into(),
        c.server.as_str().into(),
        c.tool.as_str().into(),
        c.count.to_string().into(),
        c.ok.to_string().into(),
    ];
    for class in &OUTCOME_CLASSES[1..] {
        let n = c.outcomes.get(*class).copied().unwrap_or(0);
        row.push(n.to_string().into());
    }
    let l = &c.latency_ms;
    let figures = [c.rate_per_s, l.p50, l.p90, l.p99, l.p99_9, l.max, l.mean];
    row.extend(figures.into_iter().map(number));
    row
}

fn timeseries_row(r: &SecondStats) -> Vec<Cow<'_, str>> {
    vec![
        r.second.to_string().into(),
        r.server.as_str().into(),
        r.offered.to_string().into(),
        r.sent.to_string().into(),
        r.ok.to_string().into(),
        r.offered.saturating_sub(r.ok).to_string().into(),
        number(r.p50_ms),
        number(r.p99_ms),
    ]
}

fn number<'a>(x: Option<f64>) -> Cow<'a, str> {
    x.map_or(Cow::Borrowed(""), |x| Cow::Owned(x.to_string()))
}

fn line<'a>(out: &mut String, fields: impl Iterator<Item = Cow<'a, str>>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", quote(&f));
    }
    out.push('\n');
}

/// A field as CSV: quoted (quotes doubled) when it holds a comma, a quote or a line break.
pub fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote(""), "");
    }

    #[test]
    fn headers_have_one_column_per_class() {
        let h = summary_header();
        assert_eq!(h.len(), 5 + 8 + 7);
        assert_eq!(
            &h[..6],
            ["phase", "server", "tool", "count", "ok", "tool_error"]
        );
        assert!(h.contains(&"client_error") && h.contains(&"timeout"));
        let mut out = String::new();
        line(&mut out, ["a", "b,c", ""].into_iter().map(Cow::Borrowed));
        assert_eq!(out, "a,\"b,c\",\n");
        assert_eq!(number(None), "");
        assert_eq!(number(Some(1.5)), "1.5");
    }

    fn summary_with_derived() -> Summary {
        use crate::metrics::Recorder;
        use crate::metrics::figures::{BlastRadius, CacheHits, Recovery};
        let meta = crate::metrics::testkit::run_meta(1);
        let mut s = Recorder::new(Vec::new(), true, std::time::Duration::from_secs(1)).finish(meta);
        s.derived.cache.push(CacheHits {
            server: "a,b".into(),
            tool: "t".into(),
            quality: Quality::Exact,
            ok: 10,
            hits: Some(4),
            rate: Some(0.4),
            reason: None,
        });
        s.derived.recovery.push(Recovery {
            window: 0,
            server: "tr".into(),
            kind: "outage".into(),
            quality: Quality::Exact,
            recovery_ms: Some(1500.0),
            ..Recovery::default()
        });
        s.derived.blast_radius.push(BlastRadius {
            window: 0,
            server: "tr".into(),
            quality: Quality::Unavailable,
            reason: Some("overlaps window 1".into()),
            ..BlastRadius::default()
        });
        s
    }

    #[test]
    fn recovery_and_derived_views_have_a_row_per_window_and_figure() {
        let s = summary_with_derived();
        let rec = recovery_csv(&s);
        let lines: Vec<&str> = rec.lines().collect();
        assert_eq!(lines.len(), 2, "{rec}");
        let cells: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(cells.len(), RECOVERY_HEADER.len());
        assert_eq!(cells[0..3], ["0", "tr", "outage"]);
        assert_eq!(cells[13], "1500");
        assert_eq!(cells[16], "exact");
        let der = derived_csv(&s);
        assert!(
            der.contains("cache_hit_rate,\"a,b.t\",0.4,fraction,exact,\n"),
            "{der}"
        );
        assert!(
            der.contains("time_to_recovery,tr@fault:0,1500,ms,exact,\n"),
            "{der}"
        );
        assert!(
            der.contains("blast_radius,tr@fault:0,,pp,unavailable,overlaps window 1\n"),
            "{der}"
        );
        assert!(
            der.contains("wrong_server,all,0,calls,unavailable,\n"),
            "{der}"
        );
    }
}
