//! SVG line charts for report.html, drawn with plotters' SVG backend. plotters is built without
//! font files: it estimates text sizes for its layout and leaves the drawing of the text to the
//! browser, so the output is the same bytes on every machine.
//!
//! What plotters does not draw is added on top of its output, at its backend coordinates:
//! shaded bands (fault windows) with their labels, `<title>` tooltips on data points, and an
//! id and class on the root element (`<svg id="chart-…" class="chart" …>`). Only numbers and
//! fixed axis descriptions go through plotters; every string that came with the data is
//! written here, through `html::markup::escape`.

use super::html::markup::escape;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::fmt::Write;
use std::ops::Range;

/// The drawing size in pixels; the page scales it to its column.
pub const WIDTH: u32 = 1040;
pub const HEIGHT: u32 = 300;

/// Series colours: the Okabe–Ito palette (readable with colour blindness) without its yellow.
pub const PALETTE: [&str; 7] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000",
];
/// The colour of a reference series (offered load, totals).
pub const GREY: &str = "#8c8c8c";

/// One data point; `y` null leaves a gap in the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: Option<f64>,
    /// Tooltip text (plain text; escaped when written). No tooltip when `None`.
    pub tip: Option<String>,
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// `#rrggbb`.
    pub color: &'static str,
    pub width: u32,
    /// Draw a dot on each point that has a tooltip.
    pub markers: bool,
    pub points: Vec<Point>,
}

/// A shaded span of x (a fault window); a point event (`from == to`) is a vertical line.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    /// Written above the band.
    pub label: String,
    /// Tooltip of the band.
    pub tip: String,
}

/// How x axis values are labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XLabels {
    /// Numbers, about this many.
    Numbers(usize),
    /// x is the number of nines of a percentile (`log10(1 / (1 − q))`): 0 → `0%`, 1 → `90%`,
    /// 2 → `99%`, 3 → `99.9%`; labels at whole numbers only.
    Nines,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The chart's id in the page is `chart-<id>`.
    pub id: &'static str,
    /// What the chart shows (its accessible name).
    pub title: String,
    pub x_desc: &'static str,
    pub y_desc: &'static str,
    pub x: Range<f64>,
    pub x_labels: XLabels,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
}

impl LineChart {
    /// The y range: from 0 to a little above the highest point (at least `min_top`).
    fn y_range(&self, min_top: f64) -> Range<f64> {
        let top = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.y))
            .fold(min_top, f64::max);
        0.0..top * 1.08
    }
}

/// The chart as an `<svg>` element, followed by its legend (an HTML list); a chart plotters
/// could not draw is a line saying so.
pub fn render(chart: &LineChart) -> String {
    let mut svg = String::new();
    let overlay = match draw(chart, &mut svg) {
        Ok(overlay) => overlay,
        Err(e) => {
            return format!(
                "<p class=\"na\">{}: the chart could not be drawn ({})</p>",
                escape(&chart.title),
                escape(&e)
            );
        }
    };
    let head = format!(
        "<svg id=\"chart-{}\" class=\"chart\" role=\"img\" aria-label=\"{}\" ",
        chart.id,
        escape(&chart.title)
    );
    let svg = svg.replacen("<svg ", &head, 1);
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    let mut out = String::with_capacity(svg.len() + overlay.len() + 256);
    out.push_str(&svg[..end]);
    out.push_str(&overlay);
    out.push_str(&svg[end..]);
    out.push_str(&legend(&chart.series));
    out
}

/// A legend: one swatch and name per series.
pub fn legend(series: &[Series]) -> String {
    let mut out = String::from("<ul class=\"legend\">");
    for s in series {
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
            s.color,
            escape(&s.name)
        );
    }
    out.push_str("</ul>\n");
    out
}

/// Draws the chart with plotters into `svg`; returns the overlay to add on top.
fn draw(chart: &LineChart, svg: &mut String) -> Result<String, String> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let overlay = plot(chart, &root)?;
    root.present().map_err(|e| e.to_string())?;
    Ok(overlay)
}

fn plot(chart: &LineChart, root: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<String, String> {
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let y = chart.y_range(1.0);
    let mut ctx = ChartBuilder::on(root)
        .margin(12)
        .margin_right(36)
        .margin_top(16 + 14 * band_rows(chart) as u32)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(chart.x.clone(), y)
        .map_err(err)?;
    let x_fmt = |x: &f64| match chart.x_labels {
        XLabels::Numbers(_) => axis_number(*x),
        XLabels::Nines => nines_label(*x),
    };
    let x_count = match chart.x_labels {
        XLabels::Numbers(n) => n,
        XLabels::Nines => (chart.x.end - chart.x.start).floor().max(1.0) as usize + 1,
    };
    let y_fmt = |y: &f64| axis_number(*y);
    ctx.configure_mesh()
        .x_labels(x_count)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc(chart.x_desc)
        .y_desc(chart.y_desc)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(err)?;
    for band in &chart.bands {
        let shade = RGBColor(213, 94, 0).mix(0.13).filled();
        let (top, bottom) = (ctx.y_range().end, ctx.y_range().start);
        let to = if band.to > band.from {
            band.to
        } else {
            // A point event: a line two pixels wide.
            band.from + (chart.x.end - chart.x.start) * 2.0 / f64::from(WIDTH)
        };
        ctx.draw_series(std::iter::once(Rectangle::new(
            [(band.from, top), (to, bottom)],
            shade,
        )))
        .map_err(err)?;
    }
    for s in &chart.series {
        let color = rgb(s.color);
        for segment in segments(&s.points) {
            ctx.draw_series(LineSeries::new(segment, color.stroke_width(s.width)))
                .map_err(err)?;
        }
    }
    Ok(overlay(chart, &ctx))
}

type Ctx<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Band labels and tooltips, then point tooltips (on top, so that they get the pointer).
fn overlay(chart: &LineChart, ctx: &Ctx<'_, '_>) -> String {
    let mut out = String::new();
    let (_, ys) = ctx.plotting_area().get_pixel_range();
    let rows = label_rows(chart, ctx);
    for (band, row) in chart.bands.iter().zip(rows) {
        let (x0, _) = ctx.backend_coord(&(band.from, 0.0));
        let (x1, _) = ctx.backend_coord(&(band.to, 0.0));
        let w = (x1 - x0).max(2);
        let _ = writeln!(
            out,
            "<g class=\"band\"><rect x=\"{x0}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"transparent\"><title>{}</title></rect>\
             <text x=\"{x0}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#a33f00\">{}</text></g>",
            ys.start,
            ys.end - ys.start,
            escape(&band.tip),
            ys.start - 6 - 14 * row as i32,
            escape(&band.label),
        );
    }
    for s in &chart.series {
        for p in &s.points {
            let (Some(y), Some(tip)) = (p.y, &p.tip) else {
                continue;
            };
            let (cx, cy) = ctx.backend_coord(&(p.x, y));
            if s.markers {
                let _ = write!(
                    out,
                    "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"3\" fill=\"{}\"/>",
                    s.color
                );
            }
            let _ = writeln!(
                out,
                "<circle class=\"tip\" cx=\"{cx}\" cy=\"{cy}\" r=\"6\" fill=\"transparent\"><title>{}</title></circle>",
                escape(tip)
            );
        }
    }
    out
}

/// Estimated width in pixels of a label at 12 px.
fn label_width(label: &str) -> i32 {
    i32::try_from(label.chars().count()).unwrap_or(i32::MAX / 8) * 7 + 8
}

/// The row (0 = just above the plot) of each band's label, so that labels do not overlap:
/// each goes on the lowest row whose last label ends before it starts.
fn label_rows(chart: &LineChart, ctx: &Ctx<'_, '_>) -> Vec<usize> {
    let starts = chart
        .bands
        .iter()
        .map(|b| ctx.backend_coord(&(b.from, 0.0)).0);
    rows_for(starts.zip(chart.bands.iter().map(|b| label_width(&b.label))))
}

/// How many label rows the bands need, from their x positions as fractions of the width (the
/// plot margins are not known before the chart is built; this errs on the side of more rows).
fn band_rows(chart: &LineChart) -> usize {
    let span = (chart.x.end - chart.x.start).max(f64::MIN_POSITIVE);
    let starts = chart.bands.iter().map(|b| {
        let frac = (b.from - chart.x.start) / span;
        (frac * f64::from(WIDTH - 90)) as i32
    });
    let rows = rows_for(starts.zip(chart.bands.iter().map(|b| label_width(&b.label))));
    rows.into_iter().max().map_or(0, |r| r + 1)
}

/// Greedy row assignment of labels given as (start x, width) in pixels.
fn rows_for(labels: impl Iterator<Item = (i32, i32)>) -> Vec<usize> {
    let mut ends: Vec<i32> = Vec::new();
    labels
        .map(|(x, w)| {
            let row = ends.iter().position(|&end| end <= x).unwrap_or(ends.len());
            if row == ends.len() {
                ends.push(x + w);
            } else {
                ends[row] = x + w;
            }
            row
        })
        .collect()
}

/// The runs of points with a value, as plotters coordinates.
fn segments(points: &[Point]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in points {
        match p.y {
            Some(y) => out.last_mut().into_iter().for_each(|s| s.push((p.x, y))),
            None if out.last().is_some_and(|s| !s.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// `#rrggbb` → a plotters colour (black if malformed: colours are this module's constants).
fn rgb(hex: &str) -> RGBColor {
    if hex.len() != 7 || !hex.starts_with('#') {
        return BLACK;
    }
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    RGBColor(channel(1), channel(3), channel(5))
}

/// An axis number: no trailing zeros, at most two decimals (`0`, `2.5`, `120`, `0.05`).
pub fn axis_number(x: f64) -> String {
    let s = format!("{:.2}", if x.abs() < 0.005 { 0.0 } else { x });
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// The percentile with `nines` nines as an axis label (`0%`, `90%`, `99%`, `99.9%`…); empty
/// between whole numbers.
pub fn nines_label(nines: f64) -> String {
    let n = nines.round();
    if (nines - n).abs() > 1e-6 || n < 0.0 {
        return String::new();
    }
    match n as u32 {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        k => format!("99.{}%", "9".repeat(k as usize - 2)).replace(".%", "%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, y: Option<f64>) -> Point {
        Point { x, y, tip: None }
    }

    #[test]
    fn percentile_axis_labels() {
        let labels: Vec<String> = [0.0, 1.0, 2.0, 3.0, 4.0, 0.5].map(nines_label).to_vec();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", ""]);
    }

    #[test]
    fn axis_numbers_are_short() {
        let cases = [
            (0.0, "0"),
            (2.5, "2.5"),
            (120.0, "120"),
            (0.05, "0.05"),
            (-0.001, "0"),
        ];
        for (x, want) in cases {
            assert_eq!(axis_number(x), want, "{x}");
        }
    }

    #[test]
    fn gaps_split_lines() {
        let pts = [
            point(0.0, None),
            point(1.0, Some(1.0)),
            point(2.0, Some(2.0)),
            point(3.0, None),
            point(4.0, None),
            point(5.0, Some(5.0)),
        ];
        assert_eq!(
            segments(&pts),
            vec![vec![(1.0, 1.0), (2.0, 2.0)], vec![(5.0, 5.0)]]
        );
        assert!(segments(&[point(0.0, None)]).is_empty());
    }

    #[test]
    fn labels_that_would_overlap_go_on_new_rows() {
        let rows = rows_for([(0, 100), (50, 20), (120, 30), (60, 10), (200, 5)].into_iter());
        assert_eq!(rows, [0, 1, 0, 2, 0]);
    }

    #[test]
    fn colours_parse() {
        assert_eq!(rgb("#0072b2"), RGBColor(0, 0x72, 0xb2));
        assert_eq!(rgb("bad"), RGBColor(0, 0, 0));
        assert_eq!(rgb("#zz0000"), RGBColor(0, 0, 0));
    }

    fn chart(name: &str, label: &str) -> LineChart {
        LineChart {
            id: "t",
            title: format!("test {name}"),
            x_desc: "seconds",
            y_desc: "ms",
            x: 0.0..10.0,
            x_labels: XLabels::Numbers(5),
            series: vec![Series {
                name: name.to_owned(),
                color: PALETTE[0],
                width: 2,
                markers: true,
                points: vec![
                    Point {
                        x: 1.0,
                        y: Some(3.0),
                        tip: Some(format!("{name} 3 ms")),
                    },
                    point(2.0, Some(4.0)),
                ],
            }],
            bands: vec![Band {
                from: 4.0,
                to: 6.0,
                label: label.to_owned(),
                tip: format!("{label} tip"),
            }],
        }
    }

    #[test]
    fn a_chart_is_one_svg_with_its_id_tooltips_and_escaped_text() {
        let svg = render(&chart("<b>x</b>", "#0 outage <i>"));
        assert!(
            svg.starts_with("<svg id=\"chart-t\" class=\"chart\""),
            "{svg}"
        );
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("<title>&lt;b&gt;x&lt;/b&gt; 3 ms</title>"));
        assert!(svg.contains(">#0 outage &lt;i&gt;</text>"));
        assert!(svg.contains("<title>#0 outage &lt;i&gt; tip</title>"));
        assert!(!svg.contains("<b>") && !svg.contains("<i>"));
        assert!(svg.contains("<polyline"), "the line is drawn");
        // Deterministic.
        assert_eq!(svg, render(&chart("<b>x</b>", "#0 outage <i>")));
    }
}
