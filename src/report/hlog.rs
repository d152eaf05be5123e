//! latency.hlog (docs/reports.md, "latency.hlog"): an HdrHistogram interval log, V2 compressed
//! histograms, one tag per `server.tool`, streamed during the run so that HdrHistogram's own tools
//! (HistogramLogAnalyzer, `hdrhistogram`'s log reader) can read it.
//!
//! [`Intervals`] collects ok latencies per key (µs, from the intended start in the open model,
//! the actual start in the closed one, as results.json does) since the last flush; each flush
//! hands one histogram per key that had calls to [`HlogStream`], whose thread owns the file.
//! Baseline calls (before t = 0) are left out, so that the log's counts add up to the run's ok
//! calls in results.json.

use crate::mcp::outcome::Outcome;
use crate::metrics::hist;
use crate::plan::phase::Phase;
use crate::sample::Sample;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The file's name in the run folder.
pub const FILE_NAME: &str = "latency.hlog";

/// One interval of one key.
struct Interval {
    tag: String,
    start: Duration,
    length: Duration,
    hist: Histogram<u64>,
}

/// The log file, written by its own thread as intervals arrive.
pub struct HlogStream {
    tx: mpsc::Sender<Interval>,
    thread: JoinHandle<io::Result<()>>,
}

impl HlogStream {
    /// Creates `path` and starts its writer; `started` is the wall-clock time of t = 0.
    pub fn create(path: &Path, started: SystemTime, scenario: &str) -> io::Result<HlogStream> {
        let file = std::fs::File::create(path)?;
        let (tx, rx) = mpsc::channel::<Interval>();
        let comment = format!("gauntlet latency log of `{scenario}`: ok calls, microseconds");
        let thread = std::thread::Builder::new()
            .name("gauntlet-hlog".into())
            .spawn(move || write_log(BufWriter::new(file), &rx, started, &comment))?;
        Ok(HlogStream { tx, thread })
    }

    /// Sends one flush of [`Intervals`] to the file.
    pub fn write(&self, intervals: Vec<(String, Histogram<u64>)>, start: Duration, end: Duration) {
        let length = end.saturating_sub(start);
        for (tag, hist) in intervals {
            let _ = self.tx.send(Interval {
                tag,
                start,
                length,
                hist,
            });
        }
    }

    /// Closes the file once everything sent is written.
    pub fn finish(self) -> io::Result<()> {
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the latency log's writer panicked"))?
    }
}

fn write_log(
    mut out: BufWriter<std::fs::File>,
    rx: &mpsc::Receiver<Interval>,
    started: SystemTime,
    comment: &str,
) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment(comment)
        .with_start_time(started)
        .with_base_time(started)
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut out, &mut serializer)?;
    while let Ok(i) = rx.recv() {
        log.write_histogram(&i.hist, i.start, i.length, Tag::new(&i.tag))
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
    }
    drop(log);
    out.flush()
}

/// A tag the log format accepts: `server.tool` with spaces and commas replaced by `_`.
pub fn tag(server: &str, tool: &str) -> String {
    format!("{server}.{tool}")
        .chars()
        .map(|c| match c {
            ' ' | ',' | '\r' | '\n' => '_',
            c => c,
        })
        .collect()
}

/// Ok latencies per key since the last flush.
pub struct Intervals {
    tags: Vec<String>,
    hists: Vec<Option<Histogram<u64>>>,
    model_open: bool,
}

impl Intervals {
    /// `keys[i]` is the (server, tool) of sample key `i`.
    pub fn new(keys: &[(String, String)], model_open: bool) -> Intervals {
        Intervals {
            tags: keys.iter().map(|(s, t)| tag(s, t)).collect(),
            hists: keys.iter().map(|_| None).collect(),
            model_open,
        }
    }

    /// One call: ok calls of the run (not the baseline) are kept.
    pub fn add(&mut self, s: &Sample) {
        if s.outcome != Outcome::Ok || s.phase == Phase::Baseline {
            return;
        }
        let Some(slot) = self.hists.get_mut(s.key as usize) else {
            return;
        };
        let from = if self.model_open {
            s.intended_ns
        } else {
            s.start_ns
        };
        slot.get_or_insert_with(hist::new_histogram)
            .saturating_record(hist::ns_to_us(s.end_ns.saturating_sub(from)));
    }

    /// The histograms collected since the last flush, by tag; empty keys are left out.
    pub fn take(&mut self) -> Vec<(String, Histogram<u64>)> {
        self.tags
            .iter()
            .zip(&mut self.hists)
            .filter_map(|(tag, h)| Some((tag.clone(), h.take()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    fn ok(key: u32, end_ms: i64, phase: Phase) -> Sample {
        Sample {
            call_id: 0,
            key,
            phase,
            intended_ns: 0,
            start_ns: 0,
            end_ns: end_ms * 1_000_000,
            outcome: Outcome::Ok,
            service_us: None,
            session: 0,
            args_hash: 0,
            data_version: None,
        }
    }

    #[test]
    fn the_log_reads_back_with_the_same_counts_per_tag() {
        let dir = std::env::temp_dir().join(format!("gauntlet-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(FILE_NAME);
        let keys = vec![
            ("a b".to_owned(), "t,1".to_owned()),
            ("c".into(), "u".into()),
        ];
        let mut iv = Intervals::new(&keys, true);
        let stream = HlogStream::create(&path, SystemTime::now(), "x").expect("creates");
        for i in 0..30 {
            iv.add(&ok(i % 2, 5 + i64::from(i), Phase::Steady));
        }
        iv.add(&ok(0, 5, Phase::Baseline));
        let mut failed = ok(1, 5, Phase::Steady);
        failed.outcome = Outcome::Timeout;
        iv.add(&failed);
        stream.write(iv.take(), Duration::ZERO, Duration::from_secs(1));
        iv.add(&ok(1, 7, Phase::Steady));
        stream.write(iv.take(), Duration::from_secs(1), Duration::from_secs(2));
        assert!(iv.take().is_empty());
        stream.finish().expect("written");
        let bytes = std::fs::read(&path).expect("read");
        let mut counts = std::collections::BTreeMap::new();
        let mut de = Deserializer::new();
        for entry in IntervalLogIterator::new(&bytes) {
            if let LogEntry::Interval(h) = entry.expect("parses") {
                let raw = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    h.encoded_histogram(),
                )
                .expect("base64");
                let hist: Histogram<u64> =
                    de.deserialize(&mut raw.as_slice()).expect("a V2 histogram");
                let tag = h.tag().map(|t| t.as_str().to_owned()).expect("tagged");
                *counts.entry(tag).or_insert(0) += hist.len();
            }
        }
        assert_eq!(counts.get("a_b.t_1"), Some(&15));
        assert_eq!(counts.get("c.u"), Some(&16));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
