//! report.html: one self-contained page (inline CSS and SVG; no script, nothing fetched) that
//! shows a [`Summary`] at a glance, readable at 1366×768.
//!
//! From the top: the verdict banner (every budget, measured against its limit), warnings
//! (generator saturated, partial run), then the latency percentile spectrum, throughput, errors
//! and p99 over time with the fault windows shaded, a recovery card per fault window, cache
//! hits, cold starts, the gateway's memory and CPU, propagation, the other derived figures, the
//! gateway and what was spoken, events, and every call key.
//!
//! [`render`] is pure: the same summary gives the same bytes. Every string that came with the
//! data (names, reasons, notes, fault specs, the gateway's command) is written through
//! `markup::escape`, in HTML text, attributes and SVG alike.

mod compare;
mod context;
mod derived;
mod figures;
pub(crate) mod markup;

pub use compare::compare_page;

use crate::metrics::Summary;
use crate::metrics::figures::Verdict;
use crate::metrics::summary::{CallStats, DRIVER_CPU_LIMIT_PCT, SEND_LAG_P99_LIMIT_MS};
use markup::{Cell, STYLE, empty, escape, ms, n, pct, quality, section, t, table};
use std::fmt::Write;

/// The file name in a run's folder.
pub const FILE_NAME: &str = "report.html";

/// The whole page.
pub fn render(s: &Summary) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>gauntlet: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&s.scenario)
    );
    out.push_str(&header(s));
    out.push_str(&verdicts(&s.verdicts));
    out.push_str(&warnings(s));
    out.push_str(NAV);
    out.push_str(&figures::latency(s));
    out.push_str(&figures::over_time(s));
    out.push_str(&derived::recovery(s));
    out.push_str(&derived::cache(s));
    out.push_str(&derived::cold_starts(s));
    out.push_str(&figures::process(s));
    out.push_str(&derived::propagation(s));
    out.push_str(&derived::other(s));
    out.push_str(&context::gateway(s));
    out.push_str(&context::events(s));
    out.push_str(&calls(s));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

const NAV: &str = "<nav><a href=\"#verdicts\">Verdicts</a><a href=\"#latency\">Latency</a>\
<a href=\"#over-time\">Over time</a><a href=\"#recovery\">Recovery</a><a href=\"#cache\">Cache</a>\
<a href=\"#cold-starts\">Cold starts</a><a href=\"#process\">Gateway process</a>\
<a href=\"#propagation\">Propagation</a><a href=\"#other\">Other figures</a>\
<a href=\"#gateway\">Gateway</a><a href=\"#events\">Events</a><a href=\"#calls\">Calls</a></nav>\n";

fn header(s: &Summary) -> String {
    let gateway = match &s.gateway {
        Some(g) => format!("gateway: {} {}", g.kind, g.url),
        None => "no gateway: calls went straight to the mocks".to_owned(),
    };
    let items = [
        format!("started {}", s.started_at),
        format!("{:.1} s", s.duration_s),
        format!("seed {}", s.seed),
        gateway,
        format!("gauntlet {}", s.gauntlet_version),
        format!("scenario hash {}", s.scenario_hash),
    ];
    let mut out = format!(
        "<h1>gauntlet report: {}</h1>\n<p class=\"meta\">",
        escape(&s.scenario)
    );
    for item in items {
        let _ = write!(out, "<span>{}</span>", escape(&item));
    }
    out.push_str("</p>\n");
    out
}

/// The banner: PASS when every budget held, FAIL otherwise, and each budget's verdict.
fn verdicts(v: &[Verdict]) -> String {
    let failed = v.iter().filter(|v| !v.passed).count();
    let (class, big, line) = match (v.len(), failed) {
        (0, _) => (
            "none",
            "NO BUDGETS",
            "the scenario sets no budget: nothing to pass or fail".to_owned(),
        ),
        (n, 0) => ("pass", "PASS", format!("all {n} budgets held")),
        (n, f) => ("fail", "FAIL", format!("{f} of {n} budgets failed")),
    };
    let mut out = format!(
        "<section id=\"verdicts\" class=\"banner {class}\">\n<span class=\"big\">{big}</span>{}\n",
        escape(&line)
    );
    if !v.is_empty() {
        let rows: Vec<Vec<Cell>> = v.iter().map(verdict_row).collect();
        out.push_str(&table(
            &["budget", "verdict", "measured", "limit", "quality"],
            &rows,
        ));
    }
    out.push_str("</section>\n");
    out
}

fn verdict_row(v: &Verdict) -> Vec<Cell> {
    let verdict = if v.passed {
        "<span class=\"ok\">✓ pass</span>".to_owned()
    } else {
        "<span class=\"bad\">✗ fail</span>".to_owned()
    };
    vec![
        Cell::Html(format!("<code>{}</code>", escape(&v.budget))),
        Cell::Html(verdict),
        n(&v.measured_text),
        n(&v.limit_text),
        quality(v.quality, v.reason.as_deref()),
    ]
}

fn warnings(s: &Summary) -> String {
    let mut out = String::new();
    if s.generator_saturated {
        let (lag, cpu) = super::saturation_figures(s);
        let _ = writeln!(
            out,
            "<div class=\"warning severe\" id=\"generator-saturated\"><strong>generator_saturated</strong>: \
             the load generator, not the gateway, was the bottleneck (send lag p99 {} against a limit of \
             {SEND_LAG_P99_LIMIT_MS} ms; driver CPU at most {} of a core against {DRIVER_CPU_LIMIT_PCT}%). \
             These numbers describe the load generator's machine.</div>",
            escape(&lag),
            escape(&cpu)
        );
    }
    if s.partial {
        out.push_str(
            "<div class=\"warning\"><strong>partial run</strong>: it was cut short; \
             the numbers cover what ran.</div>\n",
        );
    }
    if let Some(how) = s
        .gateway
        .as_ref()
        .and_then(|g| g.exited_during_run.as_deref())
    {
        let _ = writeln!(
            out,
            "<div class=\"warning severe\"><strong>the gateway exited during the run</strong>: {}</div>",
            escape(how)
        );
    }
    out
}

/// Every phase × server × tool.
fn calls(s: &Summary) -> String {
    let mut out = section("calls", "Every call key");
    if s.calls.is_empty() {
        out.push_str(&empty("No calls were recorded."));
    } else {
        let rows: Vec<Vec<Cell>> = s.calls.iter().map(call_row).collect();
        let head = [
            "phase", "server", "tool", "calls", "ok", "failures", "calls/s", "p50", "p90", "p99",
            "p99.9", "max",
        ];
        out.push_str(&table(&head, &rows));
    }
    out.push_str("</section>\n");
    out
}

fn call_row(c: &CallStats) -> Vec<Cell> {
    let ok = (c.count > 0).then(|| c.ok as f64 / c.count as f64);
    let l = &c.latency_ms;
    vec![
        t(c.phase.to_string()),
        t(&c.server),
        t(&c.tool),
        n(c.count.to_string()),
        n(pct(ok)),
        t(failures(c)),
        n(c.rate_per_s.map_or("-".to_owned(), |r| format!("{r:.1}"))),
        n(ms(l.p50)),
        n(ms(l.p90)),
        n(ms(l.p99)),
        n(ms(l.p99_9)),
        n(ms(l.max)),
    ]
}

/// The failed outcomes of an entry, each with its count: details (`rpc_error:-32603 2`) where
/// there are any, the class otherwise.
pub(crate) fn failures(c: &CallStats) -> String {
    let parts: Vec<String> = c
        .outcomes
        .iter()
        .filter(|(k, _)| k.as_str() != "ok")
        .filter(|(k, _)| {
            k.contains(':')
                || !c.outcomes.keys().any(|d| {
                    d.strip_prefix(k.as_str())
                        .is_some_and(|r| r.starts_with(':'))
                })
        })
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn percentages_read_well() {
        let cases = [
            (None, "-"),
            (Some(0.0), "0%"),
            (Some(0.0004), "0.04%"),
            (Some(0.083), "8.3%"),
            (Some(1.0), "100.0%"),
        ];
        for (x, want) in cases {
            assert_eq!(pct(x), want, "{x:?}");
        }
    }

    #[test]
    fn the_banner_says_pass_fail_or_nothing() {
        let v = |passed| Verdict {
            budget: "p99 < 1ms".into(),
            passed,
            ..Verdict::default()
        };
        assert!(verdicts(&[]).contains("NO BUDGETS"));
        assert!(verdicts(&[v(true), v(true)]).contains("PASS</span>all 2 budgets held"));
        let fail = verdicts(&[v(true), v(false)]);
        assert!(fail.contains("FAIL</span>1 of 2 budgets failed"), "{fail}");
        assert!(fail.contains("<code>p99 &lt; 1ms</code>"));
    }

    #[test]
    fn failures_show_details_over_classes() {
        let mut c = CallStats {
            phase: crate::plan::phase::Phase::Steady,
            server: "s".into(),
            tool: "t".into(),
            count: 10,
            ok: 5,
            outcomes: Default::default(),
            rate_per_s: None,
            latency_ms: Default::default(),
            histogram: String::new(),
            all_outcomes: crate::metrics::summary::LatencyHistogram {
                count: 0,
                latency_ms: Default::default(),
                histogram: String::new(),
            },
            by_outcome: Default::default(),
        };
        for (k, v) in [
            ("ok", 5),
            ("rpc_error", 3),
            ("rpc_error:-32603", 3),
            ("timeout", 2),
        ] {
            c.outcomes.insert(k.into(), v);
        }
        assert_eq!(failures(&c), "rpc_error:-32603 3, timeout 2");
    }
}
