//! What `gauntlet compare BASE.json NEW.json [--max-regression 25%]` computes (docs/reports.md):
//! per-key deltas between two runs that do not cry wolf on a noisy machine.
//!
//! A key is a server. For each, the steady phase's p50, p99, error rate and throughput are
//! compared: the headline values come from the calls (merged HDR histograms, counts), and
//! whether a change is real from the runs' per-second intervals of that server in steady
//! seconds — a one-sided Mann-Whitney U test ([`stats`]). A key is a regression only when its
//! change is worse than `--max-regression` *and* significant at α = 0.01, Bonferroni-corrected
//! for the number of tests (each side needs at least [`MIN_INTERVALS`] intervals; fewer are
//! reported, never flagged). Cache hit rates per tool use a two-proportion z-test on hits and
//! ok calls. Recovery per fault window is shown for reading: one value per run allows no test,
//! so it is never flagged. `--html FILE` overlays both runs' percentile spectra.

pub mod stats;

use crate::error::{Error, Result};
use crate::metrics::summary::CallStats;
use crate::metrics::{Summary, hist};
use crate::plan::phase::Phase;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Per-second intervals each run needs before a change can be called significant.
pub const MIN_INTERVALS: usize = 30;
/// The family-wise significance level.
pub const ALPHA: f64 = 0.01;
/// An error rate must also rise by this much (a fraction: 1 percentage point) to regress.
pub const MIN_ERROR_RISE: f64 = 0.01;

/// Which way is worse for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Worse {
    Higher,
    Lower,
}

/// What the comparison says of one key and metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Regression,
    Improvement,
    /// Within the threshold, or not significant.
    Unchanged,
    /// Not tested: why (too few intervals, no calls on one side, one value per run).
    Untested(String),
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    pub metric: &'static str,
    pub unit: &'static str,
    pub base: Option<f64>,
    pub new: Option<f64>,
    /// The one-sided p-value of "new is worse", when tested.
    pub p: Option<f64>,
    pub verdict: Change,
}

/// Every row of the comparison of `new` against `base`.
pub fn compare(base: &Summary, new: &Summary, threshold: f64) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for server in common_servers(base, new) {
        rows.extend(server_rows(base, new, &server)?);
    }
    rows.extend(cache_rows(base, new));
    rows.extend(recovery_rows(base, new));
    let tests = rows.iter().filter(|r| r.p.is_some()).count().max(1);
    let level = ALPHA / tests as f64;
    for r in &mut rows {
        if let (Some(p), Change::Unchanged) = (r.p, &r.verdict) {
            r.verdict = judge(r, p, level, threshold);
        }
    }
    Ok(rows)
}

fn common_servers(base: &Summary, new: &Summary) -> Vec<String> {
    let servers = |s: &Summary| -> BTreeSet<String> {
        s.calls
            .iter()
            .filter(|c| c.phase == Phase::Steady)
            .map(|c| c.server.clone())
            .collect()
    };
    servers(base).intersection(&servers(new)).cloned().collect()
}

/// Regression, improvement or unchanged, once the p-value is known.
fn judge(r: &Row, p: f64, level: f64, threshold: f64) -> Change {
    let (Some(b), Some(n)) = (r.base, r.new) else {
        return Change::Unchanged;
    };
    let worse = worse_of(r.metric);
    let beyond = |from: f64, to: f64| match r.metric {
        "error_rate" => to - from >= MIN_ERROR_RISE && to - from > threshold * from,
        _ => match worse {
            Worse::Higher => to > from * (1.0 + threshold),
            Worse::Lower => to < from * (1.0 - threshold),
        },
    };
    if beyond(b, n) && p < level {
        Change::Regression
    } else if beyond(n, b) {
        Change::Improvement
    } else {
        Change::Unchanged
    }
}

fn worse_of(metric: &str) -> Worse {
    match metric {
        "throughput" | "cache_hit_rate" => Worse::Lower,
        _ => Worse::Higher,
    }
}

/// The steady figures of one server, and its per-second intervals.
struct Steady {
    p50: Option<f64>,
    p99: Option<f64>,
    error_rate: Option<f64>,
    throughput: Option<f64>,
    /// Per steady second: p50, p99, error rate, ok calls.
    seconds: [Vec<f64>; 4],
}

const METRICS: [(&str, &str); 4] = [
    ("p50", "ms"),
    ("p99", "ms"),
    ("error_rate", "%"),
    ("throughput", "calls/s"),
];

fn server_rows(base: &Summary, new: &Summary, server: &str) -> Result<Vec<Row>> {
    let (b, n) = (steady(base, server)?, steady(new, server)?);
    let heads = |s: &Steady| [s.p50, s.p99, s.error_rate, s.throughput];
    let (hb, hn) = (heads(&b), heads(&n));
    let mut rows = Vec::new();
    for (i, (metric, unit)) in METRICS.into_iter().enumerate() {
        let (xs, ys) = (&b.seconds[i], &n.seconds[i]);
        let mut row = Row {
            key: server.to_owned(),
            metric,
            unit,
            base: hb[i],
            new: hn[i],
            p: None,
            verdict: Change::Unchanged,
        };
        if xs.len() < MIN_INTERVALS || ys.len() < MIN_INTERVALS {
            row.verdict = Change::Untested(format!(
                "{} and {} steady seconds; {MIN_INTERVALS} needed",
                xs.len(),
                ys.len()
            ));
        } else {
            row.p = match worse_of(metric) {
                Worse::Higher => stats::mann_whitney_greater(xs, ys),
                Worse::Lower => stats::mann_whitney_greater(ys, xs),
            };
        }
        rows.push(row);
    }
    Ok(rows)
}

fn steady(s: &Summary, server: &str) -> Result<Steady> {
    let entries: Vec<&CallStats> = s
        .calls
        .iter()
        .filter(|c| c.phase == Phase::Steady && c.server == server)
        .collect();
    let mut merged = hist::new_histogram();
    let (mut count, mut ok, mut mine) = (0u64, 0u64, 0u64);
    for c in &entries {
        let h = hist::decode(&c.histogram)
            .map_err(|e| Error::Input(format!("{server}.{}: {e}", c.tool)))?;
        let _ = merged.add(&h);
        count += c.count;
        ok += c.ok;
        mine += c.outcomes.get("client_error").copied().unwrap_or(0);
    }
    let q = |q: f64| (!merged.is_empty()).then(|| hist::us_to_ms(merged.value_at_quantile(q)));
    let judged = count.saturating_sub(mine);
    let length: f64 = s
        .phases
        .iter()
        .filter(|p| p.phase == Phase::Steady)
        .map(|p| p.end_s - p.start_s)
        .sum();
    Ok(Steady {
        p50: q(0.5),
        p99: q(0.99),
        error_rate: (judged > 0).then(|| (judged - ok) as f64 / judged as f64),
        throughput: (length > 0.0).then(|| ok as f64 / length),
        seconds: steady_seconds(s, server),
    })
}

/// Per second wholly inside a steady span: p50, p99, error rate, ok calls.
fn steady_seconds(s: &Summary, server: &str) -> [Vec<f64>; 4] {
    let steady = |second: i64| {
        let (a, b) = (second as f64, second as f64 + 1.0);
        s.phases.is_empty()
            || s.phases
                .iter()
                .any(|p| p.phase == Phase::Steady && p.start_s <= a && b <= p.end_s)
    };
    let mut out: [Vec<f64>; 4] = Default::default();
    for r in s.timeseries.iter().filter(|r| r.server == server) {
        if r.second < 0 || !steady(r.second) {
            continue;
        }
        out[0].extend(r.p50_ms);
        out[1].extend(r.p99_ms);
        let mine = r.outcomes.get("client_error").copied().unwrap_or(0);
        let judged = r.offered.saturating_sub(mine);
        if judged > 0 {
            out[2].push(judged.saturating_sub(r.ok) as f64 / judged as f64);
        }
        out[3].push(r.ok as f64);
    }
    out
}

fn cache_rows(base: &Summary, new: &Summary) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in &base.derived.cache {
        let Some(n) = new
            .derived
            .cache
            .iter()
            .find(|n| n.server == b.server && n.tool == b.tool)
        else {
            continue;
        };
        let mut row = Row {
            key: format!("{}.{}", b.server, b.tool),
            metric: "cache_hit_rate",
            unit: "%",
            base: b.rate,
            new: n.rate,
            p: None,
            verdict: Change::Unchanged,
        };
        match (b.hits, n.hits) {
            (Some(bh), Some(nh)) => row.p = stats::proportion_lower(bh, b.ok, nh, n.ok),
            _ => row.verdict = Change::Untested("a cache figure is unavailable".into()),
        }
        rows.push(row);
    }
    rows
}

fn recovery_rows(base: &Summary, new: &Summary) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in &base.derived.recovery {
        let Some(n) = new
            .derived
            .recovery
            .iter()
            .find(|n| n.window == b.window && n.server == b.server)
        else {
            continue;
        };
        rows.push(Row {
            key: format!("{}@fault:{}", b.server, b.window),
            metric: "recovery",
            unit: "ms",
            base: b.recovery_ms,
            new: n.recovery_ms,
            p: None,
            verdict: Change::Untested("one value per run: shown, never flagged".into()),
        });
    }
    rows
}

/// The comparison as an aligned table, then a line of totals.
pub fn render(rows: &[Row], threshold: f64) -> String {
    let mut table =
        vec![["key", "metric", "base", "new", "change", "p", "verdict"].map(String::from)];
    for r in rows {
        table.push([
            r.key.clone(),
            r.metric.to_owned(),
            value(r.base, r.unit),
            value(r.new, r.unit),
            change(r),
            r.p.map_or("-".into(), |p| format!("{p:.2e}")),
            match &r.verdict {
                Change::Regression => "REGRESSION".into(),
                Change::Improvement => "improved".into(),
                Change::Unchanged => "~".into(),
                Change::Untested(why) => format!("untested: {why}"),
            },
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let n = rows
        .iter()
        .filter(|r| r.verdict == Change::Regression)
        .count();
    let _ = writeln!(
        out,
        "{n} regression(s) (worse by more than {:.0}% and significant at α = {ALPHA}, corrected for {} tests)",
        threshold * 100.0,
        rows.iter().filter(|r| r.p.is_some()).count()
    );
    out
}

fn value(x: Option<f64>, unit: &str) -> String {
    match (x, unit) {
        (None, _) => "-".into(),
        (Some(x), "%") => format!("{:.2}%", x * 100.0),
        (Some(x), "ms") => format!("{x:.2}ms"),
        (Some(x), _) => format!("{x:.1}/s"),
    }
}

fn change(r: &Row) -> String {
    match (r.base, r.new) {
        (Some(b), Some(n)) if r.unit == "%" => format!("{:+.2}pp", (n - b) * 100.0),
        (Some(b), Some(n)) if b != 0.0 => format!("{:+.1}%", (n - b) / b * 100.0),
        _ => "-".into(),
    }
}
