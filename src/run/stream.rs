//! latency.hlog written while the run goes, one interval per second.

use crate::error::{Error, Result};
use crate::report::hlog::{self, HlogStream, Intervals};
use crate::scenario::Scenario;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The views written while the run goes: latency.hlog, flushed every second.
pub struct Stream {
    hlog: HlogStream,
    pub intervals: Intervals,
    t0: Instant,
    flushed: Duration,
}

impl Stream {
    pub fn open(
        out: &Path,
        t0: Instant,
        s: &Scenario,
        keys: &[(String, String)],
        open_model: bool,
    ) -> Result<Stream> {
        let path = out.join(hlog::FILE_NAME);
        let fail = |e: std::io::Error| Error::Run(format!("cannot write {}: {e}", path.display()));
        std::fs::create_dir_all(out).map_err(fail)?;
        let at_t0 = SystemTime::now() + t0.saturating_duration_since(Instant::now());
        Ok(Stream {
            hlog: HlogStream::create(&path, at_t0, &s.name).map_err(fail)?,
            intervals: Intervals::new(keys, open_model),
            t0,
            flushed: Duration::ZERO,
        })
    }

    pub fn flush(&mut self) {
        let now = self.t0.elapsed();
        self.hlog.write(self.intervals.take(), self.flushed, now);
        self.flushed = now;
    }

    pub fn finish(mut self) {
        self.flush();
        if let Err(e) = self.hlog.finish() {
            eprintln!("warning: {} is incomplete: {e}", hlog::FILE_NAME);
        }
    }
}
