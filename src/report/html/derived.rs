//! The derived figures of report.html: a recovery card per fault window, cache hits per tool,
//! cold starts per server, propagation, and the rest (capacity, overhead, stale reads,
//! routing, retries). A figure marked unavailable shows its reason instead of a number.

use super::markup::{Cell, empty, escape, ms, n, pct, quality, section, t, table};
use crate::metrics::Summary;
use crate::metrics::figures::{BlastRadius, Quality, Recovery};
use crate::metrics::summary::FaultWindow;
use std::fmt::Write;

/// `server.tool`.
fn key(server: &str, tool: &str) -> String {
    format!("{server}.{tool}")
}

/// A number cell, or a dash where the figure is unavailable.
fn figure(q: Quality, text: String) -> Cell {
    if q == Quality::Unavailable {
        n("-")
    } else {
        n(text)
    }
}

/// One card per fault window (and per recovery figure without a window).
pub(super) fn recovery(s: &Summary) -> String {
    let mut out = section("recovery", "Recovery per fault window");
    let d = &s.derived;
    let orphans = d
        .recovery
        .iter()
        .filter(|r| !s.windows.iter().any(|w| w.window == r.window));
    if s.windows.is_empty() && d.recovery.is_empty() {
        out.push_str(&empty("No fault windows in this run."));
        out.push_str("</section>\n");
        return out;
    }
    out.push_str("<div class=\"cards\">\n");
    for w in &s.windows {
        let r = d.recovery.iter().find(|r| r.window == w.window);
        let b = d.blast_radius.iter().find(|b| b.window == w.window);
        out.push_str(&card(Some(w), r, b, w.window, &w.server, &w.kind));
    }
    for r in orphans {
        let b = d.blast_radius.iter().find(|b| b.window == r.window);
        out.push_str(&card(None, Some(r), b, r.window, &r.server, &r.kind));
    }
    out.push_str("</div>\n</section>\n");
    out
}

fn card(
    w: Option<&FaultWindow>,
    r: Option<&Recovery>,
    b: Option<&BlastRadius>,
    window: usize,
    server: &str,
    kind: &str,
) -> String {
    let target = match w.and_then(|w| w.tool.as_deref()) {
        Some(tool) => key(server, tool),
        None => server.to_owned(),
    };
    let mut out = format!(
        "<div class=\"card\" id=\"window-{window}\">\n<h3>#{window} {} on {}</h3>\n",
        escape(kind),
        escape(&target)
    );
    out.push_str(&headline(r));
    out.push_str("<dl>\n");
    let mut item = |dt: &str, dd: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{dd}</dd>", escape(dt));
    };
    if let Some(w) = w {
        item(
            "fault",
            format!("<code>{}</code>", escape(&w.fault_spec.to_string())),
        );
        item(
            "planned",
            escape(&span_s(Some(w.planned_start_ms), w.planned_end_ms)),
        );
        let actual = match w.actual_start_ms {
            None => "never started (the run ended first)".to_owned(),
            Some(_) => span_s(w.actual_start_ms, w.actual_end_ms),
        };
        let cut = if w.cut { ", cut at the run's end" } else { "" };
        item("actual", escape(&format!("{actual}{cut}")));
    }
    if let Some(r) = r.filter(|r| r.quality != Quality::Unavailable) {
        let d = &r.during;
        item(
            "during",
            escape(&format!(
                "{} calls, {} failed ({})",
                d.calls,
                d.errors,
                pct(d.error_rate)
            )),
        );
        item(
            "failure latency",
            escape(&format!(
                "p50 {}, p99 {}",
                ms(d.failure_p50_ms),
                ms(d.failure_p99_ms)
            )),
        );
        item(
            "before (steady)",
            escape(&format!(
                "errors {}, p99 {}",
                pct(r.before_error_rate),
                ms(r.before_p99_ms)
            )),
        );
        item("first success after", escape(&ms(r.first_success_ms)));
    }
    item("blast radius", blast(b));
    out.push_str("</dl>\n</div>\n");
    out
}

/// `5.002–8.001 s`, or `5.002 s` for a point.
fn span_s(start: Option<f64>, end: Option<f64>) -> String {
    match (start, end) {
        (Some(a), Some(b)) => format!("{:.3}–{:.3} s", a / 1000.0, b / 1000.0),
        (Some(a), None) => format!("{:.3} s", a / 1000.0),
        _ => "-".to_owned(),
    }
}

/// The card's big line: recovered in …, never recovered, or why there is no figure.
fn headline(r: Option<&Recovery>) -> String {
    let Some(r) = r else {
        return "<p class=\"head na\">unavailable: no recovery figure was derived for this window</p>\n".to_owned();
    };
    let why = r.reason.as_deref().unwrap_or("no reason given");
    let text = match (r.quality, r.never, r.recovery_ms) {
        (Quality::Unavailable, ..) => {
            return format!("<p class=\"head na\">unavailable: {}</p>\n", escape(why));
        }
        (_, true, _) => format!(
            "<span class=\"bad\">never recovered</span> ({:.0} s observed)",
            r.observed_s
        ),
        (_, false, Some(ms_)) => format!(
            "<span class=\"ok\">recovered in {}</span>",
            escape(&ms(Some(ms_)))
        ),
        (_, false, None) => "<span class=\"na\">recovery unknown</span>".to_owned(),
    };
    let mark = if r.quality == Quality::Estimated {
        format!(
            " <span class=\"est\" title=\"{}\">estimated</span>",
            escape(why)
        )
    } else {
        String::new()
    };
    format!("<p class=\"head\">{text}{mark}</p>\n")
}

fn blast(b: Option<&BlastRadius>) -> String {
    let Some(b) = b else {
        return "<span class=\"na\">unavailable: not derived</span>".to_owned();
    };
    let why = escape(b.reason.as_deref().unwrap_or("no reason given"));
    if b.quality == Quality::Unavailable {
        return format!("<span class=\"na\">unavailable: {why}</span>");
    }
    let points = b.points.map_or("-".to_owned(), |p| format!("{p:+.1} pp"));
    let worst = b
        .worst
        .as_deref()
        .map_or(String::new(), |w| format!(" on {w}"));
    let ratio = b
        .p99_ratio
        .map_or(String::new(), |r| format!(", p99 ×{r:.2}"));
    let mark = if b.quality == Quality::Estimated {
        format!(" <span class=\"est\">estimated</span>: {why}")
    } else {
        String::new()
    };
    format!("{}{mark}", escape(&format!("{points}{worst}{ratio}")))
}

/// Cache hit rate per tool, with a bar.
pub(super) fn cache(s: &Summary) -> String {
    let mut out = section("cache", "Cache hit rate per tool");
    if s.derived.cache.is_empty() {
        out.push_str(&empty("No cache figures: none were derived for this run."));
    } else {
        let rows: Vec<Vec<Cell>> = s
            .derived
            .cache
            .iter()
            .map(|c| {
                let rate = match (c.quality, c.rate) {
                    (Quality::Unavailable, _) | (_, None) => n("-"),
                    (_, Some(r)) => Cell::Html(format!(
                        "<span class=\"bar\" style=\"width:{:.0}px\"></span>{}",
                        (r * 120.0).clamp(0.0, 120.0),
                        escape(&pct(Some(r)))
                    )),
                };
                let hits = c.hits.map_or("-".to_owned(), |h| h.to_string());
                vec![
                    t(key(&c.server, &c.tool)),
                    n(c.ok.to_string()),
                    n(hits),
                    rate,
                    quality(c.quality, c.reason.as_deref()),
                ]
            })
            .collect();
        out.push_str(&table(
            &["tool", "ok calls", "hits", "hit rate", "quality"],
            &rows,
        ));
    }
    out.push_str("</section>\n");
    out
}

/// Cold starts per server, and which servers were started at all.
pub(super) fn cold_starts(s: &Summary) -> String {
    let mut out = section("cold-starts", "Cold starts per server");
    let c = &s.derived.cold_start;
    if c.servers.is_empty() {
        out.push_str(&empty(
            "No cold start figures: none were derived for this run.",
        ));
    } else {
        let rows: Vec<Vec<Cell>> = c
            .servers
            .iter()
            .map(|x| {
                let f = |v: Option<f64>| figure(x.quality, ms(v));
                vec![
                    t(&x.server),
                    f(x.first_call_ms),
                    n(ms(x.warm_p50_ms)),
                    f(x.cost_ms),
                    n(x.queued.to_string()),
                    n(ms(x.spawn_to_ready_ms)),
                    n(x.starts.to_string()),
                    quality(x.quality, x.reason.as_deref()),
                ]
            })
            .collect();
        let head = [
            "server",
            "first call",
            "warm p50",
            "cost",
            "queued behind it",
            "spawn → ready",
            "starts",
            "quality",
        ];
        out.push_str(&table(&head, &rows));
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let lists = [&c.spawned, &c.used, &c.never_started];
    if lists.iter().any(|l| !l.is_empty()) {
        let _ = writeln!(
            out,
            "<p>Spawned: {}. Used: {}. Never started: {}.</p>",
            escape(&list(&c.spawned)),
            escape(&list(&c.used)),
            escape(&list(&c.never_started))
        );
    }
    out.push_str("</section>\n");
    out
}

/// What reached the mocks of what the driver sent, and what came back.
pub(super) fn propagation(s: &Summary) -> String {
    let mut out = section("propagation", "What propagated");
    match &s.propagation {
        None => out.push_str(&empty(
            "Propagation was not measured (no in-process mock saw the calls).",
        )),
        Some(p) => {
            let row = |what: &str, k: u64, of: u64, share| {
                vec![t(what), n(k.to_string()), n(of.to_string()), n(pct(share))]
            };
            let rows = [
                row(
                    "backend calls carrying the driver's call id",
                    p.with_call_id,
                    p.backend_calls,
                    p.call_id_share,
                ),
                row(
                    "backend calls carrying a traceparent",
                    p.with_traceparent,
                    p.backend_calls,
                    p.traceparent_share,
                ),
                row(
                    "ok calls that brought the mock's service time back",
                    p.with_service_time,
                    p.ok_calls,
                    p.service_time_share,
                ),
            ];
            out.push_str(&table(&["what", "count", "of", "share"], &rows));
        }
    }
    out.push_str("</section>\n");
    out
}

/// Capacity, overhead, stale reads, routing and retries.
pub(super) fn other(s: &Summary) -> String {
    let mut out = section("other", "Other derived figures");
    out.push_str(&capacity(s));
    out.push_str(&overhead(s));
    out.push_str(&stale_reads(s));
    let r = &s.derived.routing;
    out.push_str("<h3>Routing</h3>\n");
    if r.quality == Quality::Unavailable {
        let why = r.reason.as_deref().unwrap_or("no reason given");
        let _ = writeln!(out, "<p class=\"na\">unavailable: {}</p>", escape(why));
    } else {
        let mark = if r.quality == Quality::Estimated {
            " (estimated)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<p>{} call(s) reached the wrong server; {} lost (failed without reaching any backend){mark}.</p>",
            r.wrong_server, r.lost
        );
    }
    out.push_str(&retries(s));
    out.push_str("</section>\n");
    out
}

fn capacity(s: &Summary) -> String {
    let mut out = String::from("<h3>Capacity</h3>\n");
    let Some(c) = &s.derived.capacity else {
        out.push_str(&empty(
            "No capacity figure: the load was not a stepped ramp.",
        ));
        return out;
    };
    let rate = match (c.quality, c.rate_per_s) {
        (Quality::Unavailable, _) => format!(
            "unavailable: {}",
            c.reason.as_deref().unwrap_or("no reason given")
        ),
        (_, None) => "no step held".to_owned(),
        (_, Some(r)) => format!("{r:.1} calls/s"),
    };
    let est = if c.quality == Quality::Estimated {
        " (estimated)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<p>Capacity: <strong>{}</strong>{est}, with p99 ≤ {}.</p>",
        escape(&rate),
        escape(&ms(Some(c.p99_max_ms)))
    );
    let rows: Vec<Vec<Cell>> = c
        .steps
        .iter()
        .map(|x| {
            let held = if x.held {
                "<span class=\"ok\">held</span>"
            } else {
                "<span class=\"bad\">did not hold</span>"
            };
            vec![
                n(x.step.to_string()),
                n(format!("{:.0}–{:.0} s", x.start_s, x.end_s)),
                n(format!("{:.1}", x.offered_per_s)),
                n(format!("{:.1}", x.achieved_per_s)),
                n(pct(Some(x.error_rate))),
                n(ms(x.p99_ms)),
                Cell::Html(held.to_owned()),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table(
            &["step", "measured", "offered/s", "ok/s", "errors", "p99", ""],
            &rows,
        ));
    }
    out
}

fn overhead(s: &Summary) -> String {
    let mut out = String::from("<h3>Gateway overhead</h3>\n");
    if s.derived.overhead.is_empty() {
        out.push_str(&empty(
            "No overhead figures: none were derived for this run.",
        ));
        return out;
    }
    let rows: Vec<Vec<Cell>> = s
        .derived
        .overhead
        .iter()
        .map(|o| {
            vec![
                t(key(&o.server, &o.tool)),
                n(o.calls.to_string()),
                figure(o.quality, ms(o.p50_ms)),
                figure(o.quality, ms(o.p99_ms)),
                quality(o.quality, o.reason.as_deref()),
            ]
        })
        .collect();
    out.push_str(&table(&["tool", "calls", "p50", "p99", "quality"], &rows));
    out
}

fn stale_reads(s: &Summary) -> String {
    let mut out = String::from("<h3>Stale reads</h3>\n");
    if s.derived.stale_reads.is_empty() {
        out.push_str(&empty("No data changes in this run."));
        return out;
    }
    let rows: Vec<Vec<Cell>> = s
        .derived
        .stale_reads
        .iter()
        .map(|x| {
            let target = x
                .tool
                .as_deref()
                .map_or(x.server.clone(), |tool| key(&x.server, tool));
            vec![
                n(format!("#{}", x.window)),
                t(target),
                n(format!("{:.3} s", x.at_ms / 1000.0)),
                figure(x.quality, x.stale_calls.to_string()),
                figure(x.quality, ms(x.window_ms)),
                quality(x.quality, x.reason.as_deref()),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "window",
            "target",
            "changed at",
            "stale answers",
            "stale for",
            "quality",
        ],
        &rows,
    ));
    out
}

fn retries(s: &Summary) -> String {
    let mut out = String::from("<h3>Retry amplification</h3>\n");
    if s.derived.retries.is_empty() {
        out.push_str(&empty("No retry figures: none were derived for this run."));
        return out;
    }
    let rows: Vec<Vec<Cell>> = s
        .derived
        .retries
        .iter()
        .map(|r| {
            vec![
                t(&r.server),
                n(r.driver_calls.to_string()),
                figure(r.quality, r.backend_calls.to_string()),
                figure(r.quality, r.duplicated_ids.to_string()),
                figure(
                    r.quality,
                    r.amplification
                        .map_or("-".to_owned(), |a| format!("{a:.2}×")),
                ),
                quality(r.quality, r.reason.as_deref()),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "server",
            "driver calls",
            "backend calls",
            "duplicated ids",
            "amplification",
            "quality",
        ],
        &rows,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::figures::During;

    fn rec(quality: Quality, never: bool, recovery_ms: Option<f64>) -> Recovery {
        Recovery {
            quality,
            reason: Some("<why>".into()),
            never,
            recovery_ms,
            observed_s: 12.0,
            during: During::default(),
            ..Recovery::default()
        }
    }

    #[test]
    fn headlines_say_recovered_never_or_why_not() {
        assert!(headline(None).contains("unavailable: no recovery figure"));
        assert!(
            headline(Some(&rec(Quality::Exact, false, Some(998.5))))
                .contains("recovered in 998.5ms")
        );
        assert!(
            headline(Some(&rec(Quality::Exact, true, None)))
                .contains("never recovered</span> (12 s observed)")
        );
        let est = headline(Some(&rec(Quality::Estimated, false, Some(5.0))));
        assert!(
            est.contains("estimated") && est.contains("&lt;why&gt;"),
            "{est}"
        );
        let na = headline(Some(&rec(Quality::Unavailable, false, None)));
        assert!(na.contains("unavailable: &lt;why&gt;"), "{na}");
    }

    #[test]
    fn blast_radius_text() {
        let b = BlastRadius {
            quality: Quality::Exact,
            points: Some(2.26),
            worst: Some("b".into()),
            p99_ratio: Some(1.5),
            ..BlastRadius::default()
        };
        assert_eq!(blast(Some(&b)), "+2.3 pp on b, p99 ×1.50");
        assert!(blast(None).contains("unavailable"));
    }

    #[test]
    fn empty_sections_say_so() {
        let s: Summary = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "scenario": "x", "seed": 1, "gauntlet_version": "0", "scenario_hash": "h",
            "started_at": "t", "duration_s": 1.0, "partial": false, "generator_saturated": false,
            "saturation": {"send_lag_p99_ms": null, "driver_cpu_pct_max": null}, "calls": [],
            "send_lag_ms": {"p50": null, "p90": null, "p99": null, "p99_9": null, "max": null, "mean": null},
            "events": [], "timeseries": [], "process": []
        }))
        .expect("a minimal summary");
        assert!(recovery(&s).contains("No fault windows"));
        assert!(cache(&s).contains("No cache figures"));
        assert!(cold_starts(&s).contains("No cold start figures"));
        assert!(propagation(&s).contains("not measured"));
        let other = other(&s);
        assert!(
            other.contains("not a stepped ramp") && other.contains("No data changes"),
            "{other}"
        );
    }
}
