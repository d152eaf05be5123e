//! The charts of report.html, from the summary: the latency percentile spectrum per server
//! (HdrHistogram style), throughput, error rate and p99 over time, and the processes' memory
//! and CPU, with the fault windows shaded.

use super::markup::{Cell, empty, escape, ms, n, section, t, table};
use crate::metrics::hist::{self, Latency};
use crate::metrics::summary::{FaultWindow, ProcessSecond, SecondStats};
use crate::metrics::{Summary, summary::CallStats};
use crate::plan::phase::Phase;
use crate::report::charts::{self, Band, GREY, LineChart, PALETTE, Point, Series, XLabels};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The servers in the order they first appear in the calls (the scenario's order), each with
/// its colour.
pub(super) fn servers(s: &Summary) -> Vec<(&str, &'static str)> {
    let mut out: Vec<&str> = Vec::new();
    let names = s.calls.iter().map(|c| c.server.as_str());
    for name in names.chain(s.timeseries.iter().map(|r| r.server.as_str())) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, name)| (name, PALETTE[i % PALETTE.len()]))
        .collect()
}

/// A server, its colour, and its merged histogram (or why it could not be read).
pub(super) type Merged<'a> = (&'a str, &'static str, Result<Histogram<u64>, String>);

/// Each server's ok latency over the run (every phase but the baseline), merged from its keys'
/// histograms; a server whose histograms cannot be read gets the error instead.
pub(super) fn merged(s: &Summary) -> Vec<Merged<'_>> {
    servers(s)
        .into_iter()
        .map(|(server, color)| {
            let keys = s
                .calls
                .iter()
                .filter(|c| c.server == server && c.phase != Phase::Baseline && c.ok > 0);
            (server, color, merge(keys))
        })
        .collect()
}

fn merge<'a>(keys: impl Iterator<Item = &'a CallStats>) -> Result<Histogram<u64>, String> {
    let mut into = hist::new_histogram();
    for c in keys {
        let h = hist::decode(&c.histogram)
            .map_err(|e| format!("{} {}.{}: {e}", c.phase, c.server, c.tool))?;
        into.add(&h)
            .map_err(|e| format!("{} {}.{}: {e:?}", c.phase, c.server, c.tool))?;
    }
    Ok(into)
}

/// Steps per decade of the spectrum's x axis.
const SPECTRUM_STEPS: u32 = 20;

/// One server's spectrum: x = nines of the percentile (`log10(1 / (1 − q))`), y = latency in
/// ms, up to the last percentile its count supports and then its maximum; tooltips at 0%, 50%,
/// each whole nine and the maximum.
pub(super) fn spectrum(name: &str, h: &Histogram<u64>) -> Vec<Point> {
    let count = h.len();
    if count == 0 {
        return Vec::new();
    }
    let last = (count as f64).log10();
    let tip = |label: &str, v: f64| {
        Some(format!(
            "{name} {label}: {} (of {count} ok calls)",
            ms(Some(v))
        ))
    };
    let mut out = Vec::new();
    let mut i = 0u32;
    loop {
        let x = f64::from(i) / f64::from(SPECTRUM_STEPS);
        if x >= last {
            break;
        }
        let q = 1.0 - 10f64.powf(-x);
        let v = hist::us_to_ms(h.value_at_quantile(q));
        let label = i
            .is_multiple_of(SPECTRUM_STEPS)
            .then(|| charts::nines_label(x));
        out.push(Point {
            x,
            y: Some(v),
            tip: label.and_then(|l| tip(&format!("p{}", l.trim_end_matches('%')), v)),
        });
        if i == SPECTRUM_STEPS * 3 / 10 {
            // x = 0.3 is p49.9; the median gets its own point.
            let p50 = hist::us_to_ms(h.value_at_quantile(0.5));
            out.push(Point {
                x: 2f64.log10(),
                y: Some(p50),
                tip: tip("p50", p50),
            });
        }
        i += 1;
    }
    let max = hist::us_to_ms(h.max());
    out.push(Point {
        x: last,
        y: Some(max),
        tip: tip("max", max),
    });
    out
}

/// The latency section: the spectrum chart and each server's figures.
pub(super) fn latency(s: &Summary) -> String {
    let mut out = section("latency", "Latency percentile spectrum");
    out.push_str(
        "<p class=\"note\">Ok calls per server over the run (every phase but the baseline), merged from \
         the per-key HDR histograms. x: percentile on a log scale of 1/(1 − q); y: latency.</p>\n",
    );
    let merged = merged(s);
    let mut series = Vec::new();
    let mut rows = Vec::new();
    let mut nines = 1.0f64;
    for (server, color, h) in &merged {
        match h {
            Ok(h) => {
                let l = Latency::of(h);
                rows.push(vec![
                    t(server),
                    n(h.len().to_string()),
                    n(ms(l.p50)),
                    n(ms(l.p90)),
                    n(ms(l.p99)),
                    n(ms(l.p99_9)),
                    n(ms(l.max)),
                ]);
                if !h.is_empty() {
                    nines = nines.max((h.len() as f64).log10() + 0.1);
                    series.push(Series {
                        name: (*server).to_owned(),
                        color,
                        width: 2,
                        markers: true,
                        points: spectrum(server, h),
                    });
                }
            }
            Err(e) => rows.push(vec![
                t(server),
                Cell::Html(format!(
                    "<span class=\"na\">unavailable: {}</span>",
                    escape(e)
                )),
            ]),
        }
    }
    if series.is_empty() {
        out.push_str(&empty("No ok calls: there is no latency to show."));
    } else {
        out.push_str(&charts::render(&LineChart {
            id: "spectrum",
            title: "Latency by percentile, per server".to_owned(),
            x_desc: "percentile",
            y_desc: "latency (ms)",
            x: 0.0..nines,
            x_labels: XLabels::Nines,
            series,
            bands: Vec::new(),
        }));
    }
    if !rows.is_empty() {
        out.push_str(&table(
            &["server", "ok calls", "p50", "p90", "p99", "p99.9", "max"],
            &rows,
        ));
    }
    out.push_str("</section>\n");
    out
}

/// The x range of the charts over time: t = 0 to the run's end (or the last second seen).
fn time_range(s: &Summary) -> std::ops::Range<f64> {
    let last = s
        .timeseries
        .iter()
        .map(|r| r.second + 1)
        .chain(s.process.iter().map(|p| p.second + 1))
        .max()
        .unwrap_or(0);
    0.0..s.duration_s.max(last as f64).max(1.0)
}

/// A fault window as a shaded band: from its actual start (planned if it never switched) to
/// its actual end (planned, or the run's end, when there is none). Windows that never started
/// are left out.
pub(super) fn band(w: &FaultWindow, run_end_s: f64) -> Option<Band> {
    let start = w.actual_start_ms?;
    let end = match (w.planned_end_ms, w.actual_end_ms) {
        (None, _) => start,
        (Some(_), Some(e)) => e,
        (Some(_), None) => run_end_s * 1000.0,
    };
    let what = match &w.tool {
        Some(tool) => format!("{}.{tool}", w.server),
        None => w.server.clone(),
    };
    let planned = match w.planned_end_ms {
        Some(e) => format!("{:.3}–{:.3} s", w.planned_start_ms / 1000.0, e / 1000.0),
        None => format!("{:.3} s", w.planned_start_ms / 1000.0),
    };
    let cut = if w.cut { ", cut at the run's end" } else { "" };
    Some(Band {
        from: start / 1000.0,
        to: end / 1000.0,
        label: format!("#{} {} {what}", w.window, w.kind),
        tip: format!(
            "window {}: {} on {what} {}; planned {planned}, actual {:.3}–{:.3} s{cut}",
            w.window,
            w.kind,
            w.fault_spec,
            start / 1000.0,
            end / 1000.0
        ),
    })
}

fn bands(s: &Summary) -> Vec<Band> {
    let end = time_range(s).end;
    s.windows.iter().filter_map(|w| band(w, end)).collect()
}

/// Per server, its seconds (t ≥ 0) in order.
fn by_server<'a>(s: &'a Summary, server: &str) -> Vec<&'a SecondStats> {
    s.timeseries
        .iter()
        .filter(|r| r.server == server && r.second >= 0)
        .collect()
}

/// A chart over the run's time, with the fault windows shaded.
fn time_chart(
    s: &Summary,
    id: &'static str,
    title: &str,
    y_desc: &'static str,
    series: Vec<Series>,
) -> LineChart {
    LineChart {
        id,
        title: title.to_owned(),
        x_desc: "seconds from t = 0",
        y_desc,
        x: time_range(s),
        x_labels: XLabels::Numbers(12),
        series,
        bands: bands(s),
    }
}

/// Throughput, error rate and p99 over time.
pub(super) fn over_time(s: &Summary) -> String {
    let mut out = section("over-time", "Throughput, errors and p99 over time");
    if s.timeseries.iter().all(|r| r.second < 0) {
        out.push_str(&empty("No calls after t = 0: nothing to plot over time."));
        out.push_str("</section>\n");
        return out;
    }
    out.push_str(
        "<p class=\"note\">Per second of intended start, from t = 0 (the baseline before it is left out). \
         Shaded: fault windows.</p>\n",
    );
    let servers = servers(s);
    type PointOf = fn(&SecondStats) -> Point;
    let charts: [(&'static str, &str, &str, &'static str, PointOf); 3] = [
        (
            "throughput",
            "Throughput (ok calls per second)",
            "Ok calls per second, per server",
            "calls/s",
            throughput_point,
        ),
        (
            "errors",
            "Error rate (every outcome but ok, dropped included)",
            "Error rate per second, per server",
            "errors (%)",
            error_point,
        ),
        (
            "p99",
            "p99 latency of ok calls",
            "p99 latency per second, per server",
            "p99 (ms)",
            p99_point,
        ),
    ];
    for (id, heading, title, y_desc, point) in charts {
        let mut series: Vec<Series> = servers
            .iter()
            .map(|(name, color)| line(name, color, by_server(s, name).into_iter().map(point)))
            .collect();
        if id == "throughput" {
            series.push(offered(s));
        }
        let _ = writeln!(out, "<h3>{}</h3>", escape(heading));
        out.push_str(&charts::render(&time_chart(s, id, title, y_desc, series)));
    }
    out.push_str("</section>\n");
    out
}

fn line(name: &str, color: &'static str, points: impl Iterator<Item = Point>) -> Series {
    Series {
        name: name.to_owned(),
        color,
        width: 2,
        markers: false,
        points: points.collect(),
    }
}

fn x_of(second: i64) -> f64 {
    second as f64 + 0.5
}

fn throughput_point(r: &SecondStats) -> Point {
    let tip = format!(
        "{} at {} s: {} ok of {} offered ({} sent)",
        r.server, r.second, r.ok, r.offered, r.sent
    );
    Point {
        x: x_of(r.second),
        y: Some(r.ok as f64),
        tip: Some(tip),
    }
}

fn error_point(r: &SecondStats) -> Point {
    let failed = r.offered.saturating_sub(r.ok);
    let rate = (r.offered > 0).then(|| failed as f64 * 100.0 / r.offered as f64);
    let detail: Vec<String> = r
        .outcomes
        .iter()
        .filter(|(k, _)| k.as_str() != "ok")
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let tip = format!(
        "{} at {} s: {failed} of {} failed ({:.1}%){}{}",
        r.server,
        r.second,
        r.offered,
        rate.unwrap_or(0.0),
        if detail.is_empty() { "" } else { ": " },
        detail.join(", ")
    );
    Point {
        x: x_of(r.second),
        y: rate,
        tip: Some(tip),
    }
}

fn p99_point(r: &SecondStats) -> Point {
    let tip = format!(
        "{} at {} s: p50 {}, p99 {} ({} ok)",
        r.server,
        r.second,
        ms(r.p50_ms),
        ms(r.p99_ms),
        r.ok
    );
    Point {
        x: x_of(r.second),
        y: r.p99_ms,
        tip: Some(tip),
    }
}

/// The offered load of all servers together, per second.
fn offered(s: &Summary) -> Series {
    let mut per: BTreeMap<i64, u64> = BTreeMap::new();
    for r in s.timeseries.iter().filter(|r| r.second >= 0) {
        *per.entry(r.second).or_default() += r.offered;
    }
    let points = per.into_iter().map(|(second, offered)| Point {
        x: x_of(second),
        y: Some(offered as f64),
        tip: Some(format!("all servers at {second} s: {offered} offered")),
    });
    Series {
        name: "offered, all servers".to_owned(),
        color: GREY,
        width: 1,
        markers: false,
        points: points.collect(),
    }
}

/// Memory and CPU of the processes over time, and the gateway's peaks.
pub(super) fn process(s: &Summary) -> String {
    let mut out = section("process", "Gateway process: memory and CPU");
    let seconds: Vec<&ProcessSecond> = s.process.iter().filter(|p| p.second >= 0).collect();
    if seconds.is_empty() {
        out.push_str(&empty("No process figures were recorded."));
        out.push_str("</section>\n");
        return out;
    }
    out.push_str(&gateway_peaks(&seconds));
    let point = |p: &ProcessSecond, what: &str, unit: &str, v: Option<f64>| Point {
        x: x_of(p.second),
        y: v,
        tip: v.map(|v| format!("{what} at {} s: {v:.1}{unit}", p.second)),
    };
    let mk = |name: &str, color, f: &dyn Fn(&ProcessSecond) -> Option<f64>, unit: &str| {
        line(
            name,
            color,
            seconds.iter().map(|p| point(p, name, unit, f(p))),
        )
    };
    let mut memory = vec![mk("gauntlet RSS", PALETTE[2], &|p| Some(p.rss_mb), " MiB")];
    let mut cpu = vec![
        mk("driver CPU", PALETTE[2], &|p| p.driver_cpu_pct, "%"),
        mk("mocks CPU", PALETTE[4], &|p| p.mocks_cpu_pct, "%"),
    ];
    if seconds.iter().any(|p| p.gateway.is_some()) {
        memory.insert(
            0,
            mk(
                "gateway RSS (with its children)",
                PALETTE[5],
                &|p| p.gateway.map(|g| g.rss_mb),
                " MiB",
            ),
        );
        cpu.insert(
            0,
            mk(
                "gateway CPU (with its children)",
                PALETTE[5],
                &|p| p.gateway.map(|g| g.cpu_pct),
                "%",
            ),
        );
    }
    out.push_str("<h3>Resident memory</h3>\n");
    out.push_str(&charts::render(&time_chart(
        s,
        "memory",
        "Resident memory over time",
        "RSS (MiB)",
        memory,
    )));
    out.push_str("<h3>CPU (percent of one core)</h3>\n");
    out.push_str(&charts::render(&time_chart(
        s,
        "cpu",
        "CPU over time",
        "CPU (%)",
        cpu,
    )));
    out.push_str("</section>\n");
    out
}

fn gateway_peaks(seconds: &[&ProcessSecond]) -> String {
    let g: Vec<_> = seconds.iter().filter_map(|p| p.gateway).collect();
    if g.is_empty() {
        return empty(
            "No launched gateway: its memory and CPU were not measured (only gauntlet's own are shown).",
        );
    }
    let max = |f: &dyn Fn(&crate::metrics::summary::GatewaySecond) -> f64| {
        g.iter().map(f).fold(0.0, f64::max)
    };
    let mut out = String::from("<p>Gateway peaks: ");
    let _ = writeln!(
        out,
        "RSS {:.1} MiB, CPU {:.0}% of a core, processes: {}, stdio backends: {}.</p>",
        max(&|x| x.rss_mb),
        max(&|x| x.cpu_pct),
        max(&|x| x.processes as f64),
        max(&|x| x.backends as f64)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spectrum_runs_from_the_minimum_to_the_maximum() {
        let mut h = hist::new_histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).expect("records");
        }
        let pts = spectrum("s", &h);
        let first = &pts[0];
        assert_eq!((first.x, first.y), (0.0, Some(1.0)));
        assert_eq!(
            first.tip.as_deref(),
            Some("s p0: 1.00ms (of 1000 ok calls)")
        );
        let last = pts.last().expect("points");
        assert_eq!(last.x, 3.0);
        assert!(
            last.y.is_some_and(|y| (999.0..=1001.0).contains(&y)),
            "{last:?}"
        );
        assert!(
            last.tip
                .as_deref()
                .is_some_and(|t| t.starts_with("s max: "))
        );
        let p99 = pts
            .iter()
            .find(|p| p.tip.as_deref().is_some_and(|t| t.starts_with("s p99:")))
            .expect("p99");
        assert_eq!(p99.x, 2.0);
        assert!(
            p99.y.is_some_and(|y| (989.0..=991.0).contains(&y)),
            "{p99:?}"
        );
        assert!(pts.iter().any(|p| {
            p.tip
                .as_deref()
                .is_some_and(|t| t.starts_with("s p50: 500"))
        }));
        assert!(pts.windows(2).all(|w| w[0].y <= w[1].y), "monotonic");
        assert!(spectrum("s", &hist::new_histogram()).is_empty());
    }

    fn window(end: Option<f64>, actual: (Option<f64>, Option<f64>), cut: bool) -> FaultWindow {
        FaultWindow {
            window: 2,
            fault: 0,
            repeat: 0,
            server: "a".into(),
            tool: Some("<t>".into()),
            kind: "outage".into(),
            fault_spec: serde_json::json!({"outage": "refuse"}),
            planned_start_ms: 1000.0,
            planned_end_ms: end,
            actual_start_ms: actual.0,
            actual_end_ms: actual.1,
            cut,
        }
    }

    #[test]
    fn windows_become_bands() {
        let b = band(
            &window(Some(3000.0), (Some(1002.0), Some(3001.0)), false),
            10.0,
        )
        .expect("band");
        assert_eq!((b.from, b.to), (1.002, 3.001));
        assert_eq!(b.label, "#2 outage a.<t>");
        assert!(
            b.tip.contains("{\"outage\":\"refuse\"}") && b.tip.contains("planned 1.000–3.000 s"),
            "{}",
            b.tip
        );
        let cut = band(&window(Some(30_000.0), (Some(1000.0), None), true), 10.0).expect("band");
        assert_eq!(cut.to, 10.0);
        assert!(cut.tip.ends_with("cut at the run's end"));
        let point = band(&window(None, (Some(1500.0), None), false), 10.0).expect("band");
        assert_eq!((point.from, point.to), (1.5, 1.5));
        assert!(band(&window(Some(3000.0), (None, None), false), 10.0).is_none());
    }
}
