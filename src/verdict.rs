//! Budget verdicts over a run's [`Summary`] (docs/scenario.md, "Budgets"). Pure: the figures come
//! from the summary alone, so a results.json read back gives the same verdicts.
//!
//! | metric | figure |
//! |---|---|
//! | `p50` … `p99.9`, `max` | the ok calls' histograms of the scope's entries in `calls`, added |
//! | `error_rate` | failed / calls of the scope; `client_error` (the driver's own failure, never the gateway's) counts on neither side, `dropped` (over `max_in_flight`) is a failure |
//! | `throughput` | ok calls / the length of the scope's phases (each phase's length is its entries' count / `rate_per_s`) |
//! | `cache_hit_rate` | Σ hits / Σ ok over `derived.cache` entries of the scope |
//! | `cold_start` | `derived.cold_start` of the server: `cost_ms` |
//! | `recovery` | the slowest `derived.recovery` window on the server; `never` fails |
//! | `blast_radius` | the largest `points` over `derived.blast_radius` windows on the server |
//! | `capacity` | `derived.capacity.rate_per_s` |
//! | `propagation` | the smaller of the call-id and traceparent shares of `propagation` |
//!
//! Scopes without `@phase` are `steady` calls. `@fault` and `@settle` take every window's
//! phase, `@fault:N` one. A scope that names no calls, or a figure the run could not measure,
//! fails with the reason: never a silent pass. An estimated figure passes or fails on its value;
//! its verdict says `estimated`.

use crate::metrics::Summary;
use crate::metrics::figures::{Quality, Verdict};
use crate::metrics::hist;
use crate::metrics::summary::CallStats;
use crate::plan::phase::Phase;
use crate::scenario::budget::expr::{Budget, Metric, Op, Scope, Threshold};
use std::collections::BTreeMap;

/// One verdict per budget, in order.
pub fn evaluate(budgets: &[Budget], s: &Summary) -> Vec<Verdict> {
    let lengths = phase_lengths(s);
    budgets.iter().map(|b| verdict(b, s, &lengths)).collect()
}

/// What a budget's figure came to.
#[derive(Debug, Clone, PartialEq)]
enum Figure {
    /// A number in the budget's unit.
    Value(f64, Quality),
    /// Measured, but not a number that can pass (`never` recovered, no capacity step held).
    Failed {
        text: String,
        reason: String,
        quality: Quality,
    },
    /// The data cannot support a number: why.
    Unavailable(String),
}

/// The headline figures of a run's `steady` calls (summary.md).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Headline {
    pub calls: u64,
    pub ok: u64,
    /// As `error_rate(all)` counts it; `None` without calls.
    pub error_rate: Option<f64>,
    /// Of the ok calls, ms.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Calls, ok calls, error rate, p50 and p99 of every `steady` call, as budgets count them.
pub fn steady_headline(s: &Summary) -> Headline {
    let all = all();
    let list = entries(s, &all);
    let value = |f: Figure| match f {
        Figure::Value(x, _) => Some(x),
        _ => None,
    };
    Headline {
        calls: list.iter().map(|c| c.count).sum(),
        ok: list.iter().map(|c| c.ok).sum(),
        error_rate: value(error_rate(s, &all)),
        p50_ms: value(latency(s, &all, Some(50.0))),
        p99_ms: value(latency(s, &all, Some(99.0))),
    }
}

/// `all`: every server's calls.
fn all() -> Scope {
    Scope {
        server: None,
        tool: None,
        phase: None,
    }
}

fn verdict(b: &Budget, s: &Summary, lengths: &BTreeMap<Phase, f64>) -> Verdict {
    let all = all();
    let scope = b.scope.as_ref().unwrap_or(&all);
    let server = scope.server.as_deref().unwrap_or_default();
    let figure = match b.metric {
        Metric::Percentile(p) => latency(s, scope, Some(p)),
        Metric::Max => latency(s, scope, None),
        Metric::ErrorRate => error_rate(s, scope),
        Metric::Throughput => throughput(s, scope, lengths),
        Metric::CacheHitRate => cache_hit_rate(s, scope),
        Metric::ColdStart => cold_start(s, server),
        Metric::Recovery => recovery(s, server),
        Metric::BlastRadius => blast_radius(s, server),
        Metric::Capacity => capacity(s),
        Metric::Propagation => propagation(s),
    };
    let op = match (b.op, b.inclusive) {
        (Op::Below, false) => "<",
        (Op::Below, true) => "<=",
        (Op::Above, false) => ">",
        (Op::Above, true) => ">=",
    };
    let mut v = Verdict {
        budget: b.text.clone(),
        limit_text: format!("{op} {}", b.threshold),
        ..Verdict::default()
    };
    match figure {
        Figure::Value(x, quality) => {
            let limit = limit(b.threshold);
            v.passed = match b.op {
                Op::Below => x < limit || (b.inclusive && x == limit),
                Op::Above => x > limit || (b.inclusive && x == limit),
            };
            v.measured = Some(x);
            v.measured_text = show(b.threshold, x);
            v.quality = quality;
        }
        Figure::Failed {
            text,
            reason,
            quality,
        } => {
            v.measured_text = text;
            v.reason = Some(reason);
            v.quality = quality;
        }
        Figure::Unavailable(reason) => {
            v.measured_text = "unavailable".into();
            v.reason = Some(reason);
            v.quality = Quality::Unavailable;
        }
    }
    v
}

/// The limit in the unit of the measured value: ms, a fraction, calls/s, points.
fn limit(t: Threshold) -> f64 {
    match t {
        Threshold::Duration(d) => d.as_secs_f64() * 1000.0,
        Threshold::Percent(p) => p,
        Threshold::Rate(r) => r,
        Threshold::Points(p) => p,
    }
}

/// A measured value as people read it, in the unit of the limit.
fn show(t: Threshold, x: f64) -> String {
    match t {
        Threshold::Duration(_) if x >= 1000.0 => format!("{}s", trim(x / 1000.0, 2)),
        Threshold::Duration(_) if x >= 1.0 => format!("{}ms", trim(x, 1)),
        Threshold::Duration(_) => format!("{}us", trim(x * 1000.0, 0)),
        Threshold::Percent(_) => format!("{}%", trim(x * 100.0, 2)),
        Threshold::Rate(_) => format!("{}/s", trim(x, 1)),
        Threshold::Points(_) => format!("{}pp", trim(x, 2)),
    }
}

/// `x` to `places` decimals, trailing zeros dropped (`12.50` → `12.5`, `3.0` → `3`).
fn trim(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `freight.quote@steady`, `all@fault`.
fn describe(scope: &Scope) -> String {
    let target = match (&scope.server, &scope.tool) {
        (Some(s), Some(t)) => format!("{s}.{t}"),
        (Some(s), None) => s.clone(),
        _ => "all".into(),
    };
    format!("{target}@{}", scope.phase.as_deref().unwrap_or("steady"))
}

/// Whether phase `p` is one the selector names (`fault` and `settle` name every window's).
fn phase_matches(selector: &str, p: Phase) -> bool {
    match selector {
        "fault" => matches!(p, Phase::Fault(_)),
        "settle" => matches!(p, Phase::Settle(_)),
        other => other.parse::<Phase>() == Ok(p),
    }
}

/// The `calls` entries of a scope (no `@phase`: `steady`).
fn entries<'s>(s: &'s Summary, scope: &Scope) -> Vec<&'s CallStats> {
    let selector = scope.phase.as_deref().unwrap_or("steady");
    s.calls
        .iter()
        .filter(|c| scope.server.as_ref().is_none_or(|x| *x == c.server))
        .filter(|c| scope.tool.as_ref().is_none_or(|x| *x == c.tool))
        .filter(|c| phase_matches(selector, c.phase))
        .collect()
}

fn no_calls(scope: &Scope) -> Figure {
    Figure::Unavailable(format!("no calls in {}", describe(scope)))
}

/// A percentile (`Some(99.0)`) or the maximum (`None`) of the scope's ok latency, in ms.
fn latency(s: &Summary, scope: &Scope, percentile: Option<f64>) -> Figure {
    let list = entries(s, scope);
    if list.is_empty() {
        return no_calls(scope);
    }
    let mut h = hist::new_histogram();
    for c in &list {
        let added = hist::decode(&c.histogram)
            .map_err(|e| e.to_string())
            .and_then(|x| h.add(&x).map_err(|e| format!("{e:?}")));
        if let Err(e) = added {
            let what = format!("{}/{}.{}", c.phase, c.server, c.tool);
            return Figure::Unavailable(format!("the histogram of {what} cannot be read: {e}"));
        }
    }
    if h.is_empty() {
        let calls: u64 = list.iter().map(|c| c.count).sum();
        return Figure::Unavailable(format!(
            "no ok calls in {} ({calls} calls, none ok)",
            describe(scope)
        ));
    }
    let us = match percentile {
        Some(p) => h.value_at_quantile(p / 100.0),
        None => h.max(),
    };
    Figure::Value(hist::us_to_ms(us), Quality::Exact)
}

/// Failed calls / calls, `client_error` left out of both, `dropped` a failure.
fn error_rate(s: &Summary, scope: &Scope) -> Figure {
    let list = entries(s, scope);
    if list.is_empty() {
        return no_calls(scope);
    }
    let (mut calls, mut failed) = (0u64, 0u64);
    for c in list {
        let own = c.outcomes.get("client_error").copied().unwrap_or(0);
        calls += c.count.saturating_sub(own);
        failed += c.count.saturating_sub(c.ok).saturating_sub(own);
    }
    if calls == 0 {
        return Figure::Unavailable(format!(
            "every call in {} was the driver's own failure (client_error)",
            describe(scope)
        ));
    }
    Figure::Value(failed as f64 / calls as f64, Quality::Exact)
}

/// Each phase's length in seconds, from any of its entries (count / rate_per_s).
fn phase_lengths(s: &Summary) -> BTreeMap<Phase, f64> {
    let mut out = BTreeMap::new();
    for c in &s.calls {
        if let Some(rate) = c.rate_per_s.filter(|r| *r > 0.0)
            && c.count > 0
        {
            out.entry(c.phase).or_insert(c.count as f64 / rate);
        }
    }
    out
}

/// Ok calls per second over the scope's phases (every phase the selector names that had calls,
/// whether or not the scope's own calls fell in it).
fn throughput(s: &Summary, scope: &Scope, lengths: &BTreeMap<Phase, f64>) -> Figure {
    let list = entries(s, scope);
    if list.is_empty() {
        return no_calls(scope);
    }
    let ok: u64 = list.iter().map(|c| c.ok).sum();
    let selector = scope.phase.as_deref().unwrap_or("steady");
    let mut seconds = 0.0;
    let phases: std::collections::BTreeSet<Phase> = s
        .calls
        .iter()
        .map(|c| c.phase)
        .filter(|p| phase_matches(selector, *p))
        .collect();
    for p in phases {
        match lengths.get(&p) {
            Some(l) => seconds += l,
            None => {
                return Figure::Unavailable(format!("the length of phase {p} is unknown"));
            }
        }
    }
    if seconds <= 0.0 {
        return Figure::Unavailable(format!("the phases of {} have no length", describe(scope)));
    }
    Figure::Value(ok as f64 / seconds, Quality::Exact)
}

/// The worse of two qualities (exact < estimated < unavailable).
fn worse(a: Quality, b: Quality) -> Quality {
    let rank = |q: Quality| match q {
        Quality::Exact => 0,
        Quality::Estimated => 1,
        Quality::Unavailable => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn why(reason: &Option<String>) -> &str {
    reason.as_deref().unwrap_or("the run could not measure it")
}

/// Σ hits / Σ ok over the scope's tools; any tool without a figure makes it unavailable.
fn cache_hit_rate(s: &Summary, scope: &Scope) -> Figure {
    let list: Vec<_> = s
        .derived
        .cache
        .iter()
        .filter(|c| scope.server.as_ref().is_none_or(|x| *x == c.server))
        .filter(|c| scope.tool.as_ref().is_none_or(|x| *x == c.tool))
        .collect();
    if list.is_empty() {
        let target = describe(scope);
        let target = target.split('@').next().unwrap_or_default();
        return Figure::Unavailable(format!("no cache figures for {target}"));
    }
    let (mut hits, mut ok, mut quality) = (0u64, 0u64, Quality::Exact);
    for c in list {
        match c.hits {
            Some(h) if c.quality != Quality::Unavailable => {
                hits += h;
                ok += c.ok;
                quality = worse(quality, c.quality);
            }
            _ => {
                return Figure::Unavailable(format!("{}.{}: {}", c.server, c.tool, why(&c.reason)));
            }
        }
    }
    if ok == 0 {
        return Figure::Unavailable("no ok calls to count hits among".into());
    }
    Figure::Value(hits as f64 / ok as f64, quality)
}

fn cold_start(s: &Summary, server: &str) -> Figure {
    let Some(c) = s
        .derived
        .cold_start
        .servers
        .iter()
        .find(|c| c.server == server)
    else {
        return Figure::Unavailable(format!("no cold-start figure for `{server}`"));
    };
    match c.cost_ms {
        Some(ms) if c.quality != Quality::Unavailable => Figure::Value(ms, c.quality),
        _ => Figure::Unavailable(why(&c.reason).to_string()),
    }
}

/// Why a server has no per-window figure: it had no fault window, or its windows have no figure.
fn no_window_figure(s: &Summary, server: &str) -> Figure {
    if s.windows.iter().any(|w| w.server == server) {
        Figure::Unavailable(format!(
            "the run derived no figure for the fault windows on `{server}`"
        ))
    } else {
        Figure::Unavailable(format!("no fault window on `{server}`"))
    }
}

/// The slowest recovery over the server's windows; one that never recovered fails the budget.
fn recovery(s: &Summary, server: &str) -> Figure {
    let list: Vec<_> = s
        .derived
        .recovery
        .iter()
        .filter(|r| r.server == server)
        .collect();
    if list.is_empty() {
        return no_window_figure(s, server);
    }
    if let Some(r) = list.iter().find(|r| r.never) {
        let seen = trim(r.observed_s, 1);
        return Figure::Failed {
            text: format!("never ({seen}s observed)"),
            reason: format!("window {} never recovered ({seen}s observed)", r.window),
            quality: r.quality,
        };
    }
    let (mut worst, mut quality) = (0.0f64, Quality::Exact);
    for r in list {
        match r.recovery_ms {
            Some(ms) if r.quality != Quality::Unavailable => {
                worst = worst.max(ms);
                quality = worse(quality, r.quality);
            }
            _ => {
                return Figure::Unavailable(format!("window {}: {}", r.window, why(&r.reason)));
            }
        }
    }
    Figure::Value(worst, quality)
}

/// The largest error-rate increase over the server's windows, percentage points.
fn blast_radius(s: &Summary, server: &str) -> Figure {
    let list: Vec<_> = s
        .derived
        .blast_radius
        .iter()
        .filter(|b| b.server == server)
        .collect();
    if list.is_empty() {
        return no_window_figure(s, server);
    }
    let (mut worst, mut quality) = (f64::NEG_INFINITY, Quality::Exact);
    for b in list {
        match b.points {
            Some(p) if b.quality != Quality::Unavailable => {
                worst = worst.max(p);
                quality = worse(quality, b.quality);
            }
            _ => {
                return Figure::Unavailable(format!("window {}: {}", b.window, why(&b.reason)));
            }
        }
    }
    Figure::Value(worst, quality)
}

fn capacity(s: &Summary) -> Figure {
    let Some(c) = &s.derived.capacity else {
        return Figure::Unavailable(
            "capacity needs a stepped ramp (`load.steps`); this run had none".into(),
        );
    };
    match (c.quality, c.rate_per_s) {
        (Quality::Unavailable, _) => Figure::Unavailable(why(&c.reason).to_string()),
        (q, Some(rate)) => Figure::Value(rate, q),
        (q, None) => Figure::Failed {
            text: "no step held".into(),
            reason: c
                .reason
                .clone()
                .unwrap_or_else(|| "no step of the ramp held".into()),
            quality: q,
        },
    }
}

/// The smaller of the shares of backend calls that carried the call id and a traceparent.
fn propagation(s: &Summary) -> Figure {
    let Some(p) = &s.propagation else {
        return Figure::Unavailable("propagation was not measured in this run".into());
    };
    match (p.call_id_share, p.traceparent_share) {
        (Some(a), Some(b)) => Figure::Value(a.min(b), Quality::Exact),
        _ => Figure::Unavailable("no tools/call request reached the in-process mocks".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::outcome::Outcome;
    use crate::metrics::figures::{BlastRadius, CacheHits, Capacity, ColdStart, Recovery};
    use crate::metrics::summary::Propagation;
    use crate::metrics::{Recorder, RunMeta};
    use crate::sample::Sample;
    use crate::scenario::budget::expr::parse;
    use std::time::Duration;

    /// Keys: 0 = a.x, 1 = a.y, 2 = b.z. Steady lasts 10 s, fault:0 2 s.
    /// - steady a.x: 100 ok at 1..=100 ms, 5 timeouts, 2 client errors, 1 dropped;
    /// - steady a.y: 10 ok at 200 ms; steady b.z: 4 tool errors;
    /// - fault:0 b.z: 20 ok at 5 ms.
    fn summary() -> Summary {
        let keys = [("a", "x"), ("a", "y"), ("b", "z")]
            .map(|(s, t)| (s.to_string(), t.to_string()))
            .to_vec();
        let mut r = Recorder::new(keys, true, Duration::from_secs(5));
        let mut id = 0u64;
        let mut add = |key: u32, phase: Phase, ms: i64, outcome: Outcome| {
            id += 1;
            let intended = id as i64 * 1_000_000;
            r.add(&Sample {
                call_id: id,
                key,
                phase,
                intended_ns: intended,
                start_ns: intended,
                end_ns: intended + ms * 1_000_000,
                outcome,
                service_us: None,
                session: 0,
                args_hash: 0,
                data_version: None,
            });
        };
        for ms in 1..=100 {
            add(0, Phase::Steady, ms, Outcome::Ok);
        }
        for _ in 0..5 {
            add(0, Phase::Steady, 5000, Outcome::Timeout);
        }
        add(0, Phase::Steady, 1, Outcome::ClientError);
        add(0, Phase::Steady, 1, Outcome::ClientError);
        add(0, Phase::Steady, 0, Outcome::Dropped);
        for _ in 0..10 {
            add(1, Phase::Steady, 200, Outcome::Ok);
        }
        for _ in 0..4 {
            add(2, Phase::Steady, 3, Outcome::ToolError);
        }
        for _ in 0..20 {
            add(2, Phase::Fault(0), 5, Outcome::Ok);
        }
        r.finish(RunMeta {
            phase_lengths: [
                (Phase::Steady, Duration::from_secs(10)),
                (Phase::Fault(0), Duration::from_secs(2)),
            ]
            .into(),
            ..crate::metrics::testkit::run_meta(12)
        })
    }

    fn one(text: &str, s: &Summary) -> Verdict {
        let b = parse(text).expect("a valid budget");
        evaluate(&[b], s).remove(0)
    }

    /// Each row: the budget, whether it passes, and the measured text (or a word of it).
    fn table(s: &Summary, rows: &[(&str, bool, &str)]) {
        for (text, passed, shown) in rows {
            let v = one(text, s);
            assert_eq!(v.passed, *passed, "{text}: {v:?}");
            let seen = format!("{} {}", v.measured_text, v.reason.as_deref().unwrap_or(""));
            assert!(seen.contains(shown), "{text}: {v:?}");
            assert_eq!(v.budget, *text);
        }
    }

    #[test]
    fn latency_budgets_read_the_ok_histograms_of_their_scope() {
        let s = summary();
        table(
            &s,
            &[
                ("p50(a.x) < 60ms", true, "50"),
                ("p50(a.x) < 40ms", false, "50"),
                ("p99(a.x@steady) < 150ms", true, "99"),
                ("p99(a.x) < 90ms", false, "99"),
                ("max(a.x) < 101ms", true, "100"),
                ("max(a.x) < 100ms", false, "100"),
                // a.x and a.y together: the 10 calls at 200 ms are the top 9%.
                ("p90(a) < 150ms", true, "99"),
                ("p95(a) < 150ms", false, "200"),
                ("p95(all) < 150ms", false, "200"),
                ("p50(all@fault) < 6ms", true, "5"),
                ("p50(b@fault:0) < 6ms", true, "5"),
                ("p99.9(a.x) < 1s", true, "100"),
            ],
        );
        let v = one("p99(a.x) < 150ms", &s);
        assert!(
            v.measured.is_some_and(|m| (99.0..=99.1).contains(&m)),
            "{v:?}"
        );
        assert_eq!(v.limit_text, "< 150ms");
        assert_eq!(v.quality, Quality::Exact);
    }

    #[test]
    fn a_scope_without_calls_or_ok_calls_fails_with_the_reason() {
        let s = summary();
        table(
            &s,
            &[
                ("p99(a@fault) < 1s", false, "no calls in a@fault"),
                ("p99(b.z) < 1s", false, "none ok"),
                (
                    "error_rate(a@settle:3) < 1%",
                    false,
                    "no calls in a@settle:3",
                ),
                ("throughput(a.y@warmup) > 1/s", false, "no calls"),
            ],
        );
        let v = one("p99(b.z) < 1s", &s);
        assert_eq!((v.measured, v.quality), (None, Quality::Unavailable));
        assert_eq!(v.measured_text, "unavailable");
    }

    #[test]
    fn error_rates_leave_client_errors_out_and_count_drops() {
        let s = summary();
        // a.x: 5 timeouts + 1 dropped of 100 + 6 (the 2 client errors on neither side).
        let v = one("error_rate(a.x) < 6%", &s);
        assert!(v.passed, "{v:?}");
        assert!(v.measured.is_some_and(|m| (m - 6.0 / 106.0).abs() < 1e-9));
        assert_eq!(v.measured_text, "5.66%");
        table(
            &s,
            &[
                ("error_rate(a.x) < 5%", false, "5.66%"),
                ("error_rate(a.y) < 0.1%", true, "0%"),
                ("error_rate(b) < 50%", false, "100%"),
                ("error_rate(b@fault:0) < 1%", true, "0%"),
                // a and b steady: 6 + 4 failed of 106 + 10 + 4.
                ("error_rate(all) < 8.4%", true, "8.33%"),
            ],
        );
    }

    #[test]
    fn throughput_is_ok_calls_per_second_of_the_phase() {
        let s = summary();
        table(
            &s,
            &[
                ("throughput(a.x) > 9.9/s", true, "10/s"),
                ("throughput(a.x) > 10/s", false, "10/s"),
                ("throughput(a.x) >= 10/s", true, "10/s"),
                ("throughput(all) > 10.9/s", true, "11/s"),
                ("throughput(b@fault) > 9/s", true, "10/s"),
                // b.z had no ok calls in steady: 0/s, a value that fails, not unavailable.
                ("throughput(b.z) > 1/s", false, "0/s"),
            ],
        );
    }

    #[test]
    fn cache_hit_rates_add_up_and_keep_the_worst_quality() {
        let mut s = summary();
        let entry = |tool: &str, ok, hits: Option<u64>, quality| CacheHits {
            server: "a".into(),
            tool: tool.into(),
            quality,
            reason: (quality != Quality::Exact).then(|| format!("{tool} reason")),
            ok,
            hits,
            rate: hits.map(|h| h as f64 / ok as f64),
        };
        s.derived.cache = vec![
            entry("x", 100, Some(70), Quality::Exact),
            entry("y", 100, Some(50), Quality::Estimated),
        ];
        table(
            &s,
            &[
                ("cache_hit_rate(a.x) > 60%", true, "70%"),
                ("cache_hit_rate(a.x) > 80%", false, "70%"),
                ("cache_hit_rate(a) > 59%", true, "60%"),
                ("cache_hit_rate(b) > 1%", false, "no cache figures for b"),
            ],
        );
        assert_eq!(
            one("cache_hit_rate(a) > 1%", &s).quality,
            Quality::Estimated
        );
        assert_eq!(one("cache_hit_rate(a.x) > 1%", &s).quality, Quality::Exact);
        s.derived.cache[1] = entry("y", 100, None, Quality::Unavailable);
        table(&s, &[("cache_hit_rate(all) > 1%", false, "a.y: y reason")]);
    }

    #[test]
    fn cold_starts_come_from_their_server() {
        let mut s = summary();
        s.derived.cold_start.servers = vec![
            ColdStart {
                server: "a".into(),
                quality: Quality::Exact,
                cost_ms: Some(1500.0),
                ..ColdStart::default()
            },
            ColdStart {
                server: "b".into(),
                quality: Quality::Unavailable,
                reason: Some("b was never called".into()),
                ..ColdStart::default()
            },
        ];
        table(
            &s,
            &[
                ("cold_start(a) < 2s", true, "1.5s"),
                ("cold_start(a) < 1s", false, "1.5s"),
                ("cold_start(b) < 1s", false, "b was never called"),
                ("cold_start(c) < 1s", false, "no cold-start figure for `c`"),
            ],
        );
    }

    fn window(window: usize, server: &str, ms: Option<f64>, never: bool) -> Recovery {
        Recovery {
            window,
            server: server.into(),
            kind: "outage".into(),
            quality: if ms.is_some() || never {
                Quality::Exact
            } else {
                Quality::Unavailable
            },
            reason: ms.is_none().then(|| "too few calls".to_string()),
            recovery_ms: ms,
            never,
            observed_s: 20.0,
            ..Recovery::default()
        }
    }

    #[test]
    fn recovery_is_the_slowest_window_and_never_fails() {
        let mut s = summary();
        s.derived.recovery = vec![
            window(0, "a", Some(1200.0), false),
            window(1, "a", Some(3400.0), false),
            window(2, "b", None, true),
            window(3, "c", None, false),
        ];
        table(
            &s,
            &[
                ("recovery(a) < 5s", true, "3.4s"),
                ("recovery(a) < 3s", false, "3.4s"),
                ("recovery(b) < 5s", false, "never recovered (20s observed)"),
                ("recovery(c) < 5s", false, "window 3: too few calls"),
                ("recovery(d) < 5s", false, "no fault window on `d`"),
            ],
        );
        s.windows.push(crate::metrics::FaultWindow {
            window: 4,
            fault: 0,
            repeat: 0,
            server: "d".into(),
            tool: None,
            kind: "outage".into(),
            fault_spec: serde_json::json!({"outage": "refuse"}),
            planned_start_ms: 0.0,
            planned_end_ms: Some(1.0),
            actual_start_ms: Some(0.0),
            actual_end_ms: Some(1.0),
            cut: false,
        });
        table(
            &s,
            &[(
                "recovery(d) < 5s",
                false,
                "no figure for the fault windows on `d`",
            )],
        );
        assert_eq!(
            one("recovery(b) < 5s", &s).measured_text,
            "never (20s observed)"
        );
    }

    #[test]
    fn blast_radius_is_the_largest_increase_over_the_windows() {
        let mut s = summary();
        let blast = |window, server: &str, points: Option<f64>| BlastRadius {
            window,
            server: server.into(),
            quality: if points.is_some() {
                Quality::Exact
            } else {
                Quality::Unavailable
            },
            reason: points
                .is_none()
                .then(|| "overlaps another fault".to_string()),
            points,
            ..BlastRadius::default()
        };
        s.derived.blast_radius = vec![
            blast(0, "a", Some(0.4)),
            blast(1, "a", Some(0.9)),
            blast(2, "b", None),
        ];
        table(
            &s,
            &[
                ("blast_radius(a) < 1pp", true, "0.9pp"),
                ("blast_radius(a) < 0.5pp", false, "0.9pp"),
                ("blast_radius(b) < 1pp", false, "overlaps another fault"),
                ("blast_radius(c) < 1pp", false, "no fault window"),
            ],
        );
    }

    #[test]
    fn capacity_needs_a_ramp_and_a_step_that_held() {
        let mut s = summary();
        table(&s, &[("capacity > 10/s", false, "load.steps")]);
        s.derived.capacity = Some(Capacity {
            quality: Quality::Exact,
            rate_per_s: Some(400.0),
            ..Capacity::default()
        });
        table(
            &s,
            &[
                ("capacity > 300/s", true, "400/s"),
                ("capacity > 500/s", false, "400/s"),
            ],
        );
        s.derived.capacity = Some(Capacity {
            quality: Quality::Exact,
            ..Capacity::default()
        });
        table(&s, &[("capacity > 1/s", false, "no step held")]);
    }

    #[test]
    fn propagation_is_the_weaker_share() {
        let mut s = summary();
        table(&s, &[("propagation > 1%", false, "not measured")]);
        s.propagation = Some(Propagation::new(200, 200, 190, (0, 0)));
        table(
            &s,
            &[
                ("propagation > 90%", true, "95%"),
                ("propagation > 99%", false, "95%"),
            ],
        );
        s.propagation = Some(Propagation::new(0, 0, 0, (0, 0)));
        table(&s, &[("propagation > 1%", false, "no tools/call request")]);
    }

    #[test]
    fn the_headline_is_every_steady_call() {
        let h = steady_headline(&summary());
        assert_eq!((h.calls, h.ok), (108 + 10 + 4, 110));
        assert!(
            h.error_rate
                .is_some_and(|e| (e - 10.0 / 120.0).abs() < 1e-9)
        );
        assert!(
            h.p50_ms.is_some_and(|p| (55.0..=55.1).contains(&p)),
            "{h:?}"
        );
        assert!(
            h.p99_ms.is_some_and(|p| (200.0..=200.2).contains(&p)),
            "{h:?}"
        );
    }

    #[test]
    fn values_read_well() {
        let d = Threshold::Duration(Duration::ZERO);
        assert_eq!(show(d, 0.25), "250us");
        assert_eq!(show(d, 183.04), "183ms");
        assert_eq!(show(d, 12.34), "12.3ms");
        assert_eq!(show(d, 2500.0), "2.5s");
        assert_eq!(show(Threshold::Percent(0.0), 0.004), "0.4%");
        assert_eq!(show(Threshold::Rate(0.0), 99.96), "100/s");
        assert_eq!(show(Threshold::Points(0.0), 1.234), "1.23pp");
    }
}
