//! summary.md (docs/reports.md): the run for a CI job summary — the verdict, a table of budgets
//! with what was measured against each limit, and the headline numbers of the steady calls. Written
//! for every run, with or without budgets.

use super::ms;
use crate::metrics::Summary;
use crate::metrics::figures::Quality;
use crate::verdict::steady_headline;
use std::fmt::Write;

/// The file's name in the run folder.
pub const FILE_NAME: &str = "summary.md";

/// A table cell: pipes escaped, lines joined.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown summary of a run.
pub fn summary_md(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# gauntlet: {}\n", cell(&s.scenario));
    let failed = s.verdicts.iter().filter(|v| !v.passed).count();
    let total = s.verdicts.len();
    let verdict = match (total, failed) {
        (0, _) => "No budgets were set.".to_string(),
        (n, 0) => format!("**PASSED**: all {n} budget(s) held."),
        (n, f) => format!("**FAILED**: {f} of {n} budget(s) failed."),
    };
    let _ = writeln!(o, "{verdict}\n");
    if s.partial {
        o.push_str("> **Partial run**: it was cut short; the numbers cover what ran.\n\n");
    }
    if s.generator_saturated {
        o.push_str(
            "> **Generator saturated**: the load generator was the bottleneck; these numbers \
             describe its machine, not the gateway.\n\n",
        );
    }
    if total > 0 {
        o.push_str("| | budget | measured | limit | note |\n|---|---|---|---|---|\n");
        for v in &s.verdicts {
            let status = if v.passed { "✅ PASS" } else { "❌ FAIL" };
            let mut note = v.reason.clone().unwrap_or_default();
            if v.quality == Quality::Estimated {
                note = if note.is_empty() {
                    "estimated".into()
                } else {
                    format!("estimated; {note}")
                };
            }
            let _ = writeln!(
                o,
                "| {status} | `{}` | {} | {} | {} |",
                v.budget.replace('`', "'"),
                cell(&v.measured_text),
                cell(&v.limit_text),
                cell(&note)
            );
        }
        o.push('\n');
    }
    let h = steady_headline(s);
    let errors = h
        .error_rate
        .map_or("-".to_string(), |e| format!("{:.2}%", e * 100.0));
    let _ = writeln!(
        o,
        "Steady calls ({:.1} s run):\n\n| calls | ok | error rate | p50 | p99 |\n|---:|---:|---:|---:|---:|\n| {} | {} | {errors} | {} | {} |",
        s.duration_s,
        h.calls,
        h.ok,
        ms(h.p50_ms),
        ms(h.p99_ms)
    );
    o
}
