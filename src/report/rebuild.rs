//! What `gauntlet report RESULTS.json [--out DIR]` does: every view rebuilt from results.json alone
//! (docs/reports.md). The histograms embedded in it are decoded and checked against the figures
//! beside them first, so a damaged file is refused rather than reported.
//!
//! latency.hlog is streamed during a run and holds one interval per second; results.json keeps
//! only each key's final histogram, so a rebuilt log (written only where none exists) holds one
//! interval per key spanning the run.

use super::hlog::{self, HlogStream};
use crate::error::{Error, Result};
use crate::metrics::{Summary, hist};
use crate::plan::phase::Phase;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Every view of `results` rebuilt into `out` (default: the folder results.json is in): the
/// summary read back, and the files written.
pub fn rebuild(results: &Path, out: Option<&Path>) -> Result<(Summary, Vec<PathBuf>)> {
    let summary = read_checked(results)?;
    let out = out.map_or_else(|| folder_of(results), Path::to_path_buf);
    let fail = |e: std::io::Error| Error::Run(format!("cannot write to {}: {e}", out.display()));
    let mut files = super::write_all(&out, &summary).map_err(fail)?;
    let log = out.join(hlog::FILE_NAME);
    if !log.exists() {
        write_hlog(&log, &summary).map_err(fail)?;
        files.push(log);
    }
    Ok((summary, files))
}

/// results.json read back, its histograms checked: bad input (exit 2) otherwise.
pub fn read_checked(path: &Path) -> Result<Summary> {
    let mut s = super::json::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => Error::Input(e.to_string()),
        _ => Error::Input(format!("cannot read {}: {e}", path.display())),
    })?;
    s.rebuild_percentiles()
        .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
    Ok(s)
}

fn folder_of(results: &Path) -> PathBuf {
    match results.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// One interval per `server.tool` over the whole run, from the final histograms (the
/// baseline left out, as in a streamed log).
fn write_hlog(path: &Path, s: &Summary) -> std::io::Result<()> {
    let mut merged: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
    for c in s
        .calls
        .iter()
        .filter(|c| c.phase != Phase::Baseline && c.ok > 0)
    {
        let h = hist::decode(&c.histogram).map_err(|e| std::io::Error::other(e.to_string()))?;
        let into = merged
            .entry(hlog::tag(&c.server, &c.tool))
            .or_insert_with(hist::new_histogram);
        into.add(&h)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    }
    let stream = HlogStream::create(path, SystemTime::UNIX_EPOCH, &s.scenario)?;
    let length = Duration::from_secs_f64(s.duration_s.max(0.0));
    stream.write(merged.into_iter().collect(), Duration::ZERO, length);
    stream.finish()
}
