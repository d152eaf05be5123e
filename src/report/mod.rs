//! Reports (docs/reports.md): views of a [`Summary`]. results.json is the source; the others are
//! rebuilt from it.
//!
//! - [`json`]: results.json (atomic write; read back for `gauntlet report` / `compare`).
//! - [`csv`]: summary.csv (phase × server × tool) and timeseries.csv (second × server).
//! - [`html`]: report.html, one self-contained page; [`charts`]: its SVG charts.
//! - [`hlog`]: latency.hlog, the HdrHistogram interval log streamed during the run.
//! - [`rebuild`]: `gauntlet report`, every view from results.json alone.
//! - [`junit`]: junit.xml, one test case per budget.
//! - [`markdown`]: summary.md, for a CI job summary.
//! - [`render_table`]: the summary table printed on a terminal at the end of a run, then the
//!   budgets' verdicts.

pub mod charts;
pub mod csv;
pub mod hlog;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod rebuild;

use crate::metrics::Summary;
use crate::metrics::figures::{Quality, Verdict};
use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

/// Writes every file view of `summary` into `dir` (created if missing), each atomically;
/// returns their paths: results.json, summary.csv, timeseries.csv, recovery.csv, derived.csv,
/// summary.md, report.html, and junit.xml when there are budgets.
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
    let md = dir.join(markdown::FILE_NAME);
    json::write_atomic(&md, markdown::summary_md(summary).as_bytes())?;
    let report = dir.join(html::FILE_NAME);
    json::write_atomic(&report, html::render(summary).as_bytes())?;
    let mut files = vec![
        results,
        summary_csv,
        timeseries,
        recovery,
        derived,
        md,
        report,
    ];
    if !summary.verdicts.is_empty() {
        let path = dir.join(junit::FILE_NAME);
        write_junit(&path, summary)?;
        files.push(path);
    }
    Ok(files)
}

/// Writes junit.xml of the summary's verdicts to `path` (atomically).
pub fn write_junit(path: &Path, summary: &Summary) -> io::Result<()> {
    json::write_atomic(path, junit::junit_xml(summary)?.as_bytes())
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
    out.push_str(&verdicts(s));
    out.push_str(&warnings(s));
    out
}

/// One line per budget: `FAIL  p99(freight.quote@steady)  183ms  < 150ms  (reason)`.
fn verdicts(s: &Summary) -> String {
    if s.verdicts.is_empty() {
        return String::new();
    }
    let width = |f: fn(&Verdict) -> &str| s.verdicts.iter().map(|v| f(v).chars().count()).max();
    let wb = width(|v| &v.budget).unwrap_or(0);
    let wm = width(|v| &v.measured_text).unwrap_or(0);
    let mut out = String::from("\nbudgets\n");
    for v in &s.verdicts {
        let status = if v.passed { "PASS" } else { "FAIL" };
        let mut notes: Vec<&str> = Vec::new();
        if v.quality == Quality::Estimated {
            notes.push("estimated");
        }
        if let Some(r) = &v.reason {
            notes.push(r);
        }
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        let line = format!(
            "  {status}  {:<wb$}  {:>wm$}  {}{note}",
            v.budget, v.measured_text, v.limit_text
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failed = s.verdicts.iter().filter(|v| !v.passed).count();
    let _ = match failed {
        0 => writeln!(out, "all {} budget(s) held", s.verdicts.len()),
        f => writeln!(out, "{f} of {} budget(s) failed", s.verdicts.len()),
    };
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
pub(crate) fn ms(x: Option<f64>) -> String {
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
    use crate::mcp::outcome::Outcome;
    use crate::metrics::{Recorder, RunMeta};
    use crate::plan::phase::Phase;
    use crate::sample::Sample;
    use std::time::Duration;

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
            partial,
            ..crate::metrics::testkit::run_meta(2)
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
    fn write_all_writes_every_view_and_junit_only_with_budgets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("run");
        let mut s = summary(false, 0);
        let paths = write_all(&out, &s).expect("writes");
        let names: Vec<_> = paths.iter().filter_map(|p| p.file_name()).collect();
        let want = [
            "results.json",
            "summary.csv",
            "timeseries.csv",
            "recovery.csv",
            "derived.csv",
            "summary.md",
            "report.html",
        ];
        assert_eq!(names, want);
        assert_eq!(json::read(&paths[0]).expect("reads back"), s);
        // --junit FILE without budgets: an empty suite.
        let asked = dir.path().join("asked.xml");
        write_junit(&asked, &s).expect("writes");
        let xml = std::fs::read_to_string(&asked).expect("junit");
        assert!(
            xml.contains(r#"<testsuite name="budgets" tests="0""#),
            "{xml}"
        );
        s.verdicts = with_budgets();
        let paths = write_all(&out, &s).expect("writes");
        assert_eq!(paths.len(), 8);
        let xml = std::fs::read_to_string(&paths[7]).expect("junit.xml");
        assert!(
            xml.contains(r#"<testsuite name="budgets" tests="2""#),
            "{xml}"
        );
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(
            xml.contains(r#"<failure message="measured 183ms, limit &lt; 150ms" type="budget"/>"#),
            "{xml}"
        );
        assert_eq!(
            json::read(&paths[0]).expect("reads back").verdicts,
            s.verdicts
        );
    }

    fn with_budgets() -> Vec<Verdict> {
        let pass = Verdict {
            budget: "error_rate(all) < 5%".into(),
            passed: true,
            measured: Some(0.01),
            measured_text: "1%".into(),
            limit_text: "< 5%".into(),
            quality: Quality::Estimated,
            reason: None,
        };
        vec![pass, junit::tests::failing()]
    }

    #[test]
    fn verdicts_follow_the_table_and_summary_md_has_them() {
        let mut s = summary(true, 0);
        s.verdicts = with_budgets();
        let table = render_table(&s);
        assert!(
            table.contains(&format!(
                "  PASS  error_rate(all) < 5%{}1%  < 5%  (estimated)\n",
                " ".repeat(18)
            )),
            "{table}"
        );
        assert!(
            table.contains("  FAIL  p99(freight.quote@steady) < 150ms  183ms  < 150ms\n"),
            "{table}"
        );
        assert!(table.contains("1 of 2 budget(s) failed"), "{table}");
        let md = markdown::summary_md(&s);
        assert!(md.contains("**FAILED**: 1 of 2 budget(s) failed."), "{md}");
        assert!(md.contains("**Partial run**"), "{md}");
        assert!(
            md.contains("| ❌ FAIL | `p99(freight.quote@steady) < 150ms` | 183ms | < 150ms |  |"),
            "{md}"
        );
        assert!(
            md.contains("| ✅ PASS | `error_rate(all) < 5%` | 1% | < 5% | estimated |"),
            "{md}"
        );
        // 100 steady calls, 10 timeouts.
        assert!(md.contains("| 100 | 90 | 10.00% |"), "{md}");
    }
}
