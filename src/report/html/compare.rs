//! `gauntlet compare --html FILE`: both runs' latency percentile spectra overlaid per server
//! (the base run thin, the new one thick, one colour per server), and the comparison's rows.

use super::figures::{merged, spectrum};
use super::markup::{STYLE, escape};
use crate::compare::{Change, Row};
use crate::metrics::Summary;
use crate::report::charts::{self, LineChart, Series, XLabels};
use std::fmt::Write;

/// The whole comparison page: pure, every name escaped.
pub fn compare_page(base: &Summary, new: &Summary, rows: &[Row]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>gauntlet compare: {} vs {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <main>\n<h1>{} → {}</h1>\n<p class=\"meta\"><span>base: {}</span><span>new: {}</span></p>\n",
        escape(&base.scenario),
        escape(&new.scenario),
        escape(&base.scenario),
        escape(&new.scenario),
        escape(&base.started_at),
        escape(&new.started_at),
    );
    let regressions = rows
        .iter()
        .filter(|r| r.verdict == Change::Regression)
        .count();
    let (class, word) = if regressions == 0 {
        ("pass", "NO REGRESSION")
    } else {
        ("fail", "REGRESSION")
    };
    let _ = writeln!(
        out,
        "<div class=\"banner {class}\"><span class=\"big\">{word}</span>{regressions} of {} \
         rows regressed</div>",
        rows.len()
    );
    out.push_str(&spectra(base, new));
    out.push_str(&table(rows));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn spectra(base: &Summary, new: &Summary) -> String {
    let mut series = Vec::new();
    let mut nines = 1.0f64;
    let news = merged(new);
    for (server, color, h) in merged(base) {
        let other = news.iter().find(|(n, _, _)| *n == server);
        for (label, width, h) in [("base", 1, Some(&h)), ("new", 3, other.map(|o| &o.2))] {
            let Some(Ok(h)) = h else { continue };
            if h.is_empty() {
                continue;
            }
            nines = nines.max((h.len() as f64).log10() + 0.1);
            series.push(Series {
                name: format!("{server} ({label})"),
                color,
                width,
                markers: width > 1,
                points: spectrum(&format!("{server} ({label})"), h),
            });
        }
    }
    if series.is_empty() {
        return "<p class=\"empty\">No ok calls in either run.</p>\n".to_owned();
    }
    let chart = charts::render(&LineChart {
        id: "spectrum",
        title: "Latency by percentile: base (thin) and new (thick)".to_owned(),
        x_desc: "percentile",
        y_desc: "latency (ms)",
        x: 0.0..nines,
        x_labels: XLabels::Nines,
        series,
        bands: Vec::new(),
    });
    format!("<section id=\"latency\"><h2>Latency percentile spectra</h2>\n{chart}</section>\n")
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "<section id=\"rows\"><h2>Every key</h2>\n<table><tr><th>key</th><th>metric</th>\
         <th>base</th><th>new</th><th>p</th><th>verdict</th></tr>\n",
    );
    let num = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.4}"));
    for r in rows {
        let verdict = match &r.verdict {
            Change::Regression => "<span class=\"bad\">REGRESSION</span>".to_owned(),
            Change::Improvement => "<span class=\"ok\">improved</span>".to_owned(),
            Change::Unchanged => "~".to_owned(),
            Change::Untested(why) => format!("untested: {}", escape(why)),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{verdict}</td></tr>",
            escape(&r.key),
            escape(r.metric),
            num(r.base),
            num(r.new),
            r.p.map_or("-".to_owned(), |p| format!("{p:.2e}")),
        );
    }
    out.push_str("</table>\n</section>\n");
    out
}
