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
//! [`escape`], in HTML text, attributes and SVG alike.

mod compare;
mod context;
mod derived;
mod figures;

pub use compare::compare_page;

use crate::metrics::Summary;
use crate::metrics::figures::{Quality, Verdict};
use crate::metrics::summary::{CallStats, DRIVER_CPU_LIMIT_PCT, SEND_LAG_P99_LIMIT_MS};
use std::fmt::Write;

/// The file name in a run's folder.
pub const FILE_NAME: &str = "report.html";

/// Text for HTML and SVG, in element content and in quoted attributes alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

const STYLE: &str = "
:root{--pass:#1a7f37;--fail:#c62828;--warn:#9a6700;--muted:#5f6368;--line:#dde1e6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1f2328;background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:16px 20px 48px}
h1{font-size:22px;margin:4px 0}
section{scroll-margin-top:40px}
h2{font-size:18px;margin:28px 0 8px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:15px;margin:14px 0 6px}
.meta{color:var(--muted);margin:0 0 12px}
.meta span{margin-right:14px;white-space:nowrap}
.banner{border-radius:8px;padding:12px 16px;margin:12px 0;border:2px solid}
.banner.pass{border-color:var(--pass);background:#eaf6ec}
.banner.fail{border-color:var(--fail);background:#fdecec}
.banner.none{border-color:var(--line);background:#fff}
.banner .big{font-size:26px;font-weight:700;margin-right:12px}
.pass .big,.ok{color:var(--pass)}
.fail .big,.bad{color:var(--fail)}
.banner table{margin-top:8px;background:transparent}
.warning{border-left:5px solid var(--warn);background:#fff8e1;padding:8px 12px;margin:8px 0;border-radius:4px}
.warning.severe{border-color:var(--fail);background:#fdecec}
nav{position:sticky;top:0;background:#f6f8fa;padding:6px 0;border-bottom:1px solid var(--line);z-index:2}
nav a{margin-right:14px;color:#0b57d0;text-decoration:none;white-space:nowrap}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
svg.chart{display:block;width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px;margin-top:6px}
svg.chart circle.tip:hover{stroke:#1f2328;stroke-width:1.5}
.legend{list-style:none;padding:0;margin:4px 0 10px;display:flex;flex-wrap:wrap;gap:4px 18px}
.swatch{display:inline-block;width:14px;height:4px;margin-right:6px;vertical-align:middle;border-radius:2px}
.note{color:var(--muted);margin:2px 0 6px}
.empty{color:var(--muted);font-style:italic}
.na{color:var(--muted)}
.est{color:var(--warn);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card h3{margin-top:2px}
.card .head{font-size:18px;font-weight:700;margin:4px 0}
.card .head.na{font-size:14px;font-weight:400}
.card dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:6px 0}
.card dt{color:var(--muted)}
.card dd{margin:0;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:10px;background:#0072b2;border-radius:2px;vertical-align:middle;margin-right:6px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;padding:1px 4px;border-radius:3px;word-break:break-all}
details summary{cursor:pointer;color:#0b57d0}
";

/// A table cell: text (escaped), a number (escaped, right-aligned) or markup built here.
pub(crate) enum Cell {
    Text(String),
    Num(String),
    Html(String),
}

/// A text cell.
pub(crate) fn t(s: impl AsRef<str>) -> Cell {
    Cell::Text(s.as_ref().to_owned())
}

/// A number cell.
pub(crate) fn n(s: impl AsRef<str>) -> Cell {
    Cell::Num(s.as_ref().to_owned())
}

/// A table with a header row.
pub(crate) fn table(head: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = String::from("<div class=\"scroll\"><table>\n<tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = match cell {
                Cell::Text(s) => write!(out, "<td>{}</td>", escape(s)),
                Cell::Num(s) => write!(out, "<td class=\"n\">{}</td>", escape(s)),
                Cell::Html(s) => write!(out, "<td>{s}</td>"),
            };
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    out
}

/// A section's opening: its anchor and heading.
pub(crate) fn section(id: &str, title: &str) -> String {
    format!("<section id=\"{id}\">\n<h2>{}</h2>\n", escape(title))
}

/// The line shown when a section has nothing to show.
pub(crate) fn empty(text: &str) -> String {
    format!("<p class=\"empty\">{}</p>\n", escape(text))
}

/// A latency in ms for people (`0.42ms`, `12.3ms`, `1.25s`, `-`).
pub(crate) fn ms(x: Option<f64>) -> String {
    super::ms(x)
}

/// A fraction as a percentage: `8.3%`, `0.04%`, `0%`; `-` for none.
pub(crate) fn pct(x: Option<f64>) -> String {
    match x {
        None => "-".to_owned(),
        Some(0.0) => "0%".to_owned(),
        Some(x) if (x * 100.0).abs() < 1.0 => format!("{:.2}%", x * 100.0),
        Some(x) => format!("{:.1}%", x * 100.0),
    }
}

/// How far a figure can be trusted, as a cell: `exact`, `estimated: why`, `unavailable: why`.
pub(crate) fn quality(q: Quality, reason: Option<&str>) -> Cell {
    let why = reason.map_or(String::new(), |r| format!(": {}", escape(r)));
    Cell::Html(match q {
        Quality::Exact => "exact".to_owned(),
        Quality::Estimated => format!("<span class=\"est\">estimated</span>{why}"),
        Quality::Unavailable => format!("<span class=\"na\">unavailable{why}</span>"),
    })
}

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
