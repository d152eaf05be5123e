//! The pieces every page is made of: escaping, the style sheet, tables and their cells,
//! sections, and numbers as the pages print them.

use crate::metrics::figures::Quality;
use std::fmt::Write;

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

pub(crate) const STYLE: &str = "
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
    crate::report::ms(x)
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
