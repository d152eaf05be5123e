//! `gauntlet report RESULTS.json [--out DIR]`: every view rebuilt from results.json alone
//! (docs/reports.md), the table printed.

use crate::cli::ReportArgs;
use crate::error::Result;
use crate::report::{rebuild, render_table};
use std::io::Write;

pub fn run(args: &ReportArgs) -> Result<()> {
    let (summary, files) = rebuild::rebuild(&args.results, args.out.as_deref())?;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(render_table(&summary).as_bytes());
    for f in files {
        let _ = writeln!(stdout, "wrote {}", f.display());
    }
    Ok(())
}
