//! The per-second series (docs/reports.md, `timeseries.csv`): per second of *intended* start ×
//! server, the calls offered, sent, ok and by outcome class, and the p50 / p99 of ok latency.
//!
//! Samples arrive in completion order, up to a timeout after their intended second. A second
//! stays open — with one small histogram per server that had ok calls — until the latest time
//! seen (the largest end or intended start of any sample) passes its end by the horizon
//! (timeout + 2 s, at most 5 min). Closing keeps only the second's counts and two percentiles and
//! returns its histograms to a pool. So memory holds: the closed seconds' summaries (a few dozen
//! bytes each), at most horizon + 2 open seconds, and their histograms.
//!
//! A sample for a second already closed (a send lag beyond the grace) still counts; only its
//! latency misses that second's percentiles ([`SeriesState::late_latencies`]).

use super::hist::{HIGHEST_US, LOWEST_US};
use super::{CLASS_COUNT, OK};
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::time::Duration;

const NS: i64 = 1_000_000_000;
/// The per-second histograms only give p50 and p99: 2 significant digits (1%) suffice.
const SECOND_SIGFIG: u8 = 2;
/// Grace after the timeout before a second closes.
const GRACE: Duration = Duration::from_secs(2);
/// The longest a second stays open, whatever the timeout.
const MAX_HORIZON: Duration = Duration::from_secs(300);

/// Calls of one second × server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub offered: u32,
    pub sent: u32,
    /// By [`OUTCOME_CLASSES`](super::OUTCOME_CLASSES) index.
    pub classes: [u32; CLASS_COUNT],
}

impl Counts {
    fn add(&mut self, class: usize, sent: bool) {
        self.offered = self.offered.saturating_add(1);
        self.sent = self.sent.saturating_add(u32::from(sent));
        if let Some(n) = self.classes.get_mut(class) {
            *n = n.saturating_add(1);
        }
    }

    pub fn ok(&self) -> u32 {
        self.classes[OK]
    }
}

/// A closed second of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondRow {
    pub second: i64,
    /// Index into the recorder's servers.
    pub server: u32,
    pub counts: Counts,
    pub p50_us: Option<u32>,
    pub p99_us: Option<u32>,
}

/// What the series holds now (to check that memory stays flat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesState {
    pub open_seconds: usize,
    /// Per-second histograms alive: in open seconds and in the pool.
    pub histograms: usize,
    pub closed_rows: usize,
    /// Ok samples that arrived after their second closed.
    pub late_latencies: u64,
}

#[derive(Default)]
struct Slot {
    counts: Counts,
    hist: Option<Histogram<u32>>,
}

/// See the module doc.
pub struct Series {
    horizon_ns: i64,
    /// The latest time seen, ns from t = 0.
    now_ns: i64,
    /// The second of `open[0]`.
    lo: i64,
    /// Open seconds `lo..lo + len`, each with a slot per server index.
    open: VecDeque<Vec<Slot>>,
    /// Closed seconds, sorted by (second, server).
    rows: Vec<SecondRow>,
    pool: Vec<Histogram<u32>>,
    template: Histogram<u32>,
    late_latencies: u64,
}

impl Series {
    /// `timeout`: the calls' timeout; seconds close `timeout` + 2 s after their end.
    pub fn new(timeout: Duration) -> Series {
        let horizon = timeout.saturating_add(GRACE).min(MAX_HORIZON);
        Series {
            horizon_ns: i64::try_from(horizon.as_nanos()).unwrap_or(i64::MAX),
            now_ns: i64::MIN,
            lo: 0,
            open: VecDeque::new(),
            rows: Vec::new(),
            pool: Vec::new(),
            template: Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SECOND_SIGFIG)
                .expect("constant bounds are valid"),
            late_latencies: 0,
        }
    }

    /// One call of `server` with outcome class `class`; `ok_latency_us` for ok calls.
    pub fn add(
        &mut self,
        intended_ns: i64,
        end_ns: i64,
        server: u32,
        class: usize,
        ok_latency_us: Option<u64>,
    ) {
        let second = intended_ns.div_euclid(NS);
        let sent = class != super::class_index(crate::mcp::outcome::Outcome::Dropped);
        self.now_ns = self.now_ns.max(end_ns).max(intended_ns);
        self.advance();
        if second < self.closed_before() {
            self.add_late(second, server, class, sent, ok_latency_us.is_some());
            return;
        }
        let i = self.open_index(second, server);
        let slot = &mut self.open[i][server as usize];
        slot.counts.add(class, sent);
        if let Some(us) = ok_latency_us {
            let (pool, template) = (&mut self.pool, &self.template);
            slot.hist
                .get_or_insert_with(|| pool.pop().unwrap_or_else(|| Histogram::new_from(template)))
                .saturating_record(us);
        }
    }

    /// Closes every open second; the rows sorted by (second, server).
    pub fn finish(mut self) -> Vec<SecondRow> {
        while !self.open.is_empty() {
            self.close_front();
        }
        self.rows
    }

    pub fn state(&self) -> SeriesState {
        let open_hists = self.open.iter().flatten().filter(|s| s.hist.is_some());
        SeriesState {
            open_seconds: self.open.len(),
            histograms: open_hists.count() + self.pool.len(),
            closed_rows: self.rows.len(),
            late_latencies: self.late_latencies,
        }
    }

    /// The first second that is still open (every earlier one is closed).
    fn closed_before(&self) -> i64 {
        self.now_ns.saturating_sub(self.horizon_ns).div_euclid(NS)
    }

    fn advance(&mut self) {
        let closed_before = self.closed_before();
        while !self.open.is_empty() && self.lo < closed_before {
            self.close_front();
        }
    }

    /// The index in `open` of `second` (≥ `closed_before`), with a slot for `server`. The deque
    /// spans at most `closed_before ..= now`, horizon + 2 seconds.
    fn open_index(&mut self, second: i64, server: u32) -> usize {
        if self.open.is_empty() {
            self.lo = second;
        }
        while second < self.lo {
            self.open.push_front(Vec::new());
            self.lo -= 1;
        }
        let i = usize::try_from(second - self.lo).unwrap_or(usize::MAX);
        while self.open.len() <= i {
            self.open.push_back(Vec::new());
        }
        let slots = &mut self.open[i];
        if slots.len() <= server as usize {
            slots.resize_with(server as usize + 1, Slot::default);
        }
        i
    }

    fn close_front(&mut self) {
        let Some(slots) = self.open.pop_front() else {
            return;
        };
        let second = self.lo;
        self.lo += 1;
        for (server, slot) in (0u32..).zip(slots) {
            if slot.counts.offered == 0 {
                continue;
            }
            let (mut p50_us, mut p99_us) = (None, None);
            if let Some(mut h) = slot.hist {
                if !h.is_empty() {
                    let q = |q| Some(u32::try_from(h.value_at_quantile(q)).unwrap_or(u32::MAX));
                    (p50_us, p99_us) = (q(0.5), q(0.99));
                }
                h.reset();
                self.pool.push(h);
            }
            self.rows.push(SecondRow {
                second,
                server,
                counts: slot.counts,
                p50_us,
                p99_us,
            });
        }
    }

    fn add_late(&mut self, second: i64, server: u32, class: usize, sent: bool, ok: bool) {
        let key = (second, server);
        match self
            .rows
            .binary_search_by(|r| (r.second, r.server).cmp(&key))
        {
            Ok(i) => self.rows[i].counts.add(class, sent),
            Err(i) => {
                let mut counts = Counts::default();
                counts.add(class, sent);
                let row = SecondRow {
                    second,
                    server,
                    counts,
                    p50_us: None,
                    p99_us: None,
                };
                self.rows.insert(i, row);
            }
        }
        self.late_latencies += u64::from(ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::outcome::Outcome;
    use crate::metrics::class_index;

    const S: i64 = NS;
    const TIMEOUT: Duration = Duration::from_secs(5);

    fn ok(series: &mut Series, intended: i64, latency_us: u64, server: u32) {
        let end = intended + latency_us as i64 * 1000;
        series.add(intended, end, server, OK, Some(latency_us));
    }

    #[test]
    fn seconds_close_after_the_horizon_and_keep_only_summaries() {
        let mut series = Series::new(TIMEOUT);
        for ms in 0..1000 {
            ok(&mut series, ms * 1_000_000, 1000 + ms as u64, 0);
        }
        assert_eq!(series.state().open_seconds, 1);
        assert_eq!(series.state().histograms, 1);
        // 7 s later (timeout 5 s + grace 2 s past the second's end) second 0 closes.
        ok(&mut series, 8 * S, 10, 1);
        let state = series.state();
        assert_eq!((state.open_seconds, state.closed_rows), (1, 1));
        assert_eq!(state.histograms, 1, "second 0's histogram was reused");
        let rows = series.finish();
        assert_eq!(rows.len(), 2);
        let r = rows[0];
        assert_eq!(
            (r.second, r.server, r.counts.offered, r.counts.ok()),
            (0, 0, 1000, 1000)
        );
        assert!(
            r.p50_us.is_some_and(|p| (1490..=1510).contains(&p)),
            "{r:?}"
        );
        assert!(
            r.p99_us.is_some_and(|p| (1970..=2010).contains(&p)),
            "{r:?}"
        );
        assert_eq!((rows[1].second, rows[1].server), (8, 1));
    }

    #[test]
    fn outcomes_are_bucketed_by_intended_start() {
        let mut series = Series::new(TIMEOUT);
        let dropped = class_index(Outcome::Dropped);
        let timeout = class_index(Outcome::Timeout);
        series.add(S / 2, S / 2, 0, dropped, None);
        series.add(S - 1, 6 * S, 0, timeout, None);
        series.add(-S, -S / 2, 0, OK, Some(500_000)); // baseline, before t = 0
        let rows = series.finish();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].second, -1);
        let r = rows[1];
        assert_eq!((r.second, r.counts.offered, r.counts.sent), (0, 2, 1));
        assert_eq!(
            (r.counts.classes[dropped], r.counts.classes[timeout]),
            (1, 1)
        );
        assert_eq!((r.p50_us, r.p99_us), (None, None));
    }

    #[test]
    fn late_samples_still_count() {
        let mut series = Series::new(TIMEOUT);
        ok(&mut series, 0, 10, 0);
        ok(&mut series, 20 * S, 10, 0); // closes second 0
        ok(&mut series, 0, 1_000_000, 0); // a call of second 0 answered very late
        series.add(3 * S, 30 * S, 2, OK, Some(27_000_000)); // second 3 never opened
        assert_eq!(series.state().late_latencies, 2);
        let rows = series.finish();
        let seconds: Vec<_> = rows.iter().map(|r| (r.second, r.server)).collect();
        assert_eq!(seconds, [(0, 0), (3, 2), (20, 0)]);
        assert_eq!(rows[0].counts.ok(), 2);
        assert_eq!(
            rows[0].p50_us,
            Some(10),
            "the late latency is not in the percentiles"
        );
        assert_eq!(rows[1].p50_us, None);
    }

    #[test]
    fn out_of_order_seconds_within_the_horizon_share_the_window() {
        let mut series = Series::new(TIMEOUT);
        ok(&mut series, 4 * S, 10, 0);
        ok(&mut series, 2 * S, 10, 0); // earlier, still open: pushed in front
        ok(&mut series, 3 * S, 10, 1);
        assert_eq!(series.state().open_seconds, 3);
        let rows = series.finish();
        let seconds: Vec<_> = rows.iter().map(|r| (r.second, r.server)).collect();
        assert_eq!(seconds, [(2, 0), (3, 1), (4, 0)]);
    }

    #[test]
    fn extreme_times_do_not_panic_or_allocate_a_gap() {
        let mut series = Series::new(Duration::MAX);
        series.add(i64::MIN, i64::MAX, 0, OK, Some(u64::MAX));
        series.add(i64::MAX, i64::MIN, 0, OK, Some(1));
        series.add(0, 0, 0, OK, Some(1));
        assert!(series.state().open_seconds <= 2 + MAX_HORIZON.as_secs() as usize);
        let rows = series.finish();
        assert_eq!(rows.iter().map(|r| r.counts.offered).sum::<u32>(), 3);
    }
}
