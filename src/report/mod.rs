//! Reports (design §9): views of a [`Summary`]. results.json is the source; the others are
//! rebuilt from it.
//!
//! - [`json`]: results.json (atomic write; read back for `gauntlet report` / `compare`).
//! - [`csv`]: summary.csv (phase × server × tool) and timeseries.csv (second × server).
//! - [`html`]: report.html, one self-contained page; [`charts`]: its SVG charts.
//! - [`hlog`]: latency.hlog, the HdrHistogram interval log streamed during the run.
//! - [`rebuild`]: `gauntlet report`, every view from results.json alone.
//! - [`render_table`]: the summary table printed on a terminal at the end of a run.

pub mod charts;
pub mod csv;
pub mod hlog;
pub mod html;
pub mod json;
pub mod rebuild;

use crate::metrics::Summary;
use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

/// Writes every file view of `summary` into `dir` (created if missing), each atomically;
/// returns their paths: results.json, summary.csv, timeseries.csv, recovery.csv, derived.csv,
/// report.html.
pub fn write_all(dir: &Path, summary: &Summary) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let results = dir.join(json::FILE_NAME);
    json::write(&results, summary)?;
    let summary_csv = dir.join(csv::SUMMARY_FILE);
    json::write_atomic(&summary_csv, csv::summary_csv(summary).as_bytes())?;
    let timeseries = dir.join(csv::TIMESERIES_FILE);
    json::write_atomic(&timeseries, csv::timeseries_csv(summary).as_bytes())?;
    let recovery = dir.join(csv::RECOVERY_FILE);
    json::write_atomic(&recovery, csv::recovery_csv(summary).as_bytes())?;
    let derived = dir.join(csv::DERIVED_FILE);
    json::write_atomic(&derived, csv::derived_csv(summary).as_bytes())?;
    let report = dir.join(html::FILE_NAME);
    json::write_atomic(&report, html::render(summary).as_bytes())?;
    Ok(vec![
        results,
        summary_csv,
        timeseries,
        recovery,
        derived,
        report,
    ])
}

const TABLE_HEADER: [&str; 8] = [
    "phase", "server", "tool", "count", "ok", "p50", "p99", "max",
];

/// One line per phase × server × tool — count, share ok, p50, p99 and max of ok latency — in
/// aligned columns, then a line per warning (partial run, saturated generator).
pub fn render_table(s: &Summary) -> String {
    let mut rows: Vec<[String; 8]> = vec![TABLE_HEADER.map(str::to_owned)];
    for c in &s.calls {
        let ok_pct = if c.count == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}%", c.ok as f64 * 100.0 / c.count as f64)
        };
        rows.push([
            c.phase.to_string(),
            c.server.clone(),
            c.tool.clone(),
            c.count.to_string(),
            ok_pct,
            ms(c.latency_ms.p50),
            ms(c.latency_ms.p99),
            ms(c.latency_ms.max),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let sep = if i == 0 { "" } else { "  " };
            // Text columns to the left, numbers to the right.
            let _ = if i < 3 {
                write!(line, "{sep}{cell:<w$}")
            } else {
                write!(line, "{sep}{cell:>w$}")
            };
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&warnings(s));
    out
}

fn warnings(s: &Summary) -> String {
    let mut out = String::new();
    if s.calls.is_empty() {
        out.push_str("no calls were recorded\n");
    }
    if s.partial {
        out.push_str("partial run: the numbers cover what ran before it was cut short\n");
    }
    if s.generator_saturated {
        let (lag, cpu) = saturation_figures(s);
        let _ = writeln!(
            out,
            "generator saturated (send lag p99 {lag}, driver CPU max {cpu}): \
             these numbers describe the load generator's machine, not the gateway"
        );
    }
    out
}

/// The send lag p99 and the driver's busiest CPU second behind `generator_saturated`, for people.
fn saturation_figures(s: &Summary) -> (String, String) {
    let cpu = s.saturation.driver_cpu_pct_max;
    (
        ms(s.saturation.send_lag_p99_ms),
        cpu.map_or("-".to_owned(), |c| format!("{c:.0}%")),
    )
}

/// A latency for people: `0.42ms`, `12.3ms`, `1.25s`; `-` for none.
fn ms(x: Option<f64>) -> String {
    match x {
        None => "-".to_owned(),
        Some(x) if x < 10.0 => format!("{x:.2}ms"),
        Some(x) if x < 1000.0 => format!("{x:.1}ms"),
        Some(x) => format!("{:.2}s", x / 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Recorder, RunMeta};
    use crate::plan::phase::Phase;
    use crate::sample::{Outcome, Sample};
    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime};

    fn summary(partial: bool, lag_ns: i64) -> Summary {
        let keys = vec![
            ("translation".to_owned(), "translate".to_owned()),
            ("freight".to_owned(), "quote".to_owned()),
        ];
        let mut r = Recorder::new(keys, true, Duration::from_secs(5));
        for i in 0..200i64 {
            let outcome = if i % 10 == 0 {
                Outcome::Timeout
            } else {
                Outcome::Ok
            };
            let intended = i * 10_000_000;
            r.add(&Sample {
                call_id: i as u64,
                key: (i % 2) as u32,
                phase: if i < 100 {
                    Phase::Steady
                } else {
                    Phase::Fault(0)
                },
                intended_ns: intended,
                start_ns: intended + lag_ns,
                end_ns: intended + lag_ns + (i + 1) * 100_000,
                outcome,
                service_us: None,
                session: 0,
                args_hash: 0,
                data_version: None,
            });
        }
        r.finish(RunMeta {
            scenario: "s".into(),
            seed: 1,
            gauntlet_version: "0".into(),
            scenario_hash: "h".into(),
            started_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_secs(2),
            partial,
            phase_lengths: BTreeMap::new(),
        })
    }

    #[test]
    fn the_table_has_a_line_per_entry_in_aligned_columns() {
        let table = render_table(&summary(false, 0));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + 4, "{table}");
        assert!(lines[0].starts_with("phase    server"), "{table}");
        assert!(
            lines[1].starts_with("steady   translation  translate"),
            "{table}"
        );
        assert!(lines[1].contains("   50   80.0%"), "{table}");
        assert!(lines[3].starts_with("fault:0  translation"), "{table}");
        assert!(table.contains("ms"));
        assert!(!table.contains("saturated") && !table.contains("partial"));
    }

    #[test]
    fn warnings_follow_the_table() {
        let table = render_table(&summary(true, 20_000_000));
        assert!(table.contains("partial run"), "{table}");
        assert!(
            table.contains("generator saturated (send lag p99 20.0ms"),
            "{table}"
        );
    }

    #[test]
    fn latencies_read_well() {
        assert_eq!(ms(None), "-");
        assert_eq!(ms(Some(0.4242)), "0.42ms");
        assert_eq!(ms(Some(12.34)), "12.3ms");
        assert_eq!(ms(Some(1250.0)), "1.25s");
    }

    #[test]
    fn write_all_writes_every_view() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("run");
        let s = summary(false, 0);
        let paths = write_all(&out, &s).expect("writes");
        let names: Vec<_> = paths.iter().filter_map(|p| p.file_name()).collect();
        let want = [
            "results.json",
            "summary.csv",
            "timeseries.csv",
            "recovery.csv",
            "derived.csv",
            "report.html",
        ];
        assert_eq!(names, want);
        assert_eq!(json::read(&paths[0]).expect("reads back"), s);
    }
}
