//! `summary.csv` (phase × server × tool) and `timeseries.csv` (second × server): RFC 4180 CSV
//! written with std — fields quoted when they hold a comma, a quote or a line break; null
//! figures are empty cells; `\n` line ends.

use crate::metrics::summary::{CallStats, SecondStats};
use crate::metrics::{OUTCOME_CLASSES, Summary};
use std::borrow::Cow;
use std::fmt::Write;

pub const SUMMARY_FILE: &str = "summary.csv";
pub const TIMESERIES_FILE: &str = "timeseries.csv";

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
}
