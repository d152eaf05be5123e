//! `gauntlet compare BASE.json NEW.json [--max-regression 25%] [--html FILE]` (docs/reports.md):
//! the comparison printed, the overlay page written, exit 1 on a regression.

use crate::cli::CompareArgs;
use crate::compare::{self, Change};
use crate::error::{Error, Result};
use crate::report::html::compare_page;
use crate::report::json::write_atomic;
use crate::report::rebuild::read_checked;
use crate::units::parse_percent;

pub fn run(args: &CompareArgs) -> Result<()> {
    let threshold = parse_percent(&args.max_regression)
        .map_err(|e| Error::Input(format!("--max-regression: {e}")))?;
    let base = read_checked(&args.base)?;
    let new = read_checked(&args.new)?;
    if base.scenario_hash != new.scenario_hash {
        eprintln!(
            "warning: the runs come from different scenarios ({} and {}): keys are matched by name",
            base.scenario, new.scenario
        );
    }
    let rows = compare::compare(&base, &new, threshold)?;
    print!("{}", compare::render(&rows, threshold));
    if let Some(path) = &args.html {
        let page = compare_page(&base, &new, &rows);
        write_atomic(path, page.as_bytes())
            .map_err(|e| Error::Run(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    let regressions: Vec<String> = rows
        .iter()
        .filter(|r| r.verdict == Change::Regression)
        .map(|r| format!("{} {}", r.key, r.metric))
        .collect();
    if regressions.is_empty() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "{} regression(s): {}",
        regressions.len(),
        regressions.join(", ")
    )))
}
