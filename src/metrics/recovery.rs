//! Recovery and blast radius per fault window (docs/architecture.md, "Recovery and blast radius"),
//! with memory flat in run length.
//!
//! Which calls count: every call of the run proper (not `baseline`, not `warmup`) that the
//! target answered or failed. `dropped` (never sent) and `client_error` (the driver's own
//! failure) are left out of numerator and denominator alike; every other outcome but `ok` is an
//! error. Latency is the recorder's: from the intended start (open model) or the actual start
//! (closed model), timeouts at the timeout. Times are intended starts, ns from t = 0.
//!
//! **Before window i** ("steady"): a server's `steady` calls intended before window i starts —
//! the steady segments between the windows 0..=i merged — less those still in flight when the
//! next window started (they may have met its fault). Recovery compares with its non-hit
//! calls (cache hits left out), blast radius with all of them (what clients saw).
//!
//! **Recovery** of window i on server A, from its end (a point fault such as a crash: from the
//! event), over A's non-hit calls:
//! - during: calls intended inside the window, their error rate, and the p50/p99 latency of the
//!   failed ones (fail fast or hang?);
//! - first success: from the end to the end of the first ok call intended after it;
//! - recovery: calls after the end are put in 1 s buckets (`[end + k s, end + (k+1) s)`); a
//!   bucket with fewer than [`MIN_CALLS`] calls is merged with the next (counts added,
//!   histograms merged). A bucket is healthy when its error rate ≤ the before error rate +
//!   1 pp and its p99 (ok calls) ≤ 2 × the before p99. Recovery is the start of the first of
//!   [`HEALTHY_RUN`] healthy buckets in a row; `never` (with the seconds observed) when none by
//!   the run's end. The scan covers the rest of the run, later windows included, for at most
//!   [`MAX_SCAN_S`] seconds.
//!
//! **Blast radius** of window i on server A: for each other server, its error rate during the
//! window minus its steady error rate before it, in percentage points, and its p99 during over
//! its p99 before (ok calls; cache hits included). The largest of each is the figure. A window
//! that overlaps another fault, or a point fault, gets none.
//!
//! Quality: `exact` when every ok call was known to be a hit or not; `estimated` when some
//! were unknown (the backends' ledgers could not say: they count as non-hits) or when calls
//! arrived after their time span had been judged; `unavailable` without steady calls before the
//! window or calls after it.
//!
//! Memory: cumulative steady figures per server (a few HDR histograms), the segments and
//! windows still open (a call ends at most the timeout after it was sent: a span of time is
//! judged once calls have ended [`MARGIN_NS`] past that), and per window that has not recovered
//! yet the few seconds not judged yet plus one merged bucket. What is judged is kept as
//! numbers.

use super::classified::{Call, DeriveSetup, WindowSpec};
use super::figures::{BlastOther, BlastRadius, During, Quality, Recovery};
use super::hist::{self, HIGHEST_US, LOWEST_US, us_to_ms};
use super::recorder::LatencyRule;
use super::summary::Summary;
use crate::mcp::outcome::Outcome;
use crate::plan::phase::Phase;
use hdrhistogram::Histogram;
use std::collections::VecDeque;

const NS_PER_S: i64 = 1_000_000_000;
/// Calls a recovery bucket needs; a thinner second is merged with the next.
pub const MIN_CALLS: u64 = 10;
/// Healthy buckets in a row that make a recovery.
pub const HEALTHY_RUN: u32 = 3;
/// How far above the before error rate a healthy bucket may be (a fraction: 1 pp).
pub const ERROR_ALLOWANCE: f64 = 0.01;
/// How many times the before p99 a healthy bucket's p99 may be.
pub const P99_FACTOR: f64 = 2.0;
/// The longest scan after a window, seconds.
pub const MAX_SCAN_S: i64 = 300;
/// Past the call timeout, how long after a span of time its calls are taken as all in.
pub const MARGIN_NS: i64 = 2 * NS_PER_S;
/// Significant digits of the per-window and per-second histograms.
const SMALL_SIGFIG: u8 = 2;

/// One call as the windows see it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    server: usize,
    intended: i64,
    end: i64,
    steady: bool,
    error: bool,
    hit: bool,
    /// Ok, and whether it was a cache hit is unknown.
    unknown: bool,
    latency_us: u64,
}

impl Seen {
    fn ok_us(&self) -> Option<u64> {
        (!self.error).then_some(self.latency_us)
    }
}

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, sigfig)
        .unwrap_or_else(|_| hist::new_histogram())
}

/// Counts and ok latencies of some calls.
#[derive(Debug, Clone)]
struct Tally {
    calls: u64,
    errors: u64,
    unknown: u64,
    ok: Option<Histogram<u64>>,
    sigfig: u8,
}

impl Tally {
    fn new(sigfig: u8) -> Tally {
        Tally {
            calls: 0,
            errors: 0,
            unknown: 0,
            ok: None,
            sigfig,
        }
    }

    fn add(&mut self, c: &Seen) {
        self.calls += 1;
        self.errors += u64::from(c.error);
        self.unknown += u64::from(c.unknown);
        if let Some(us) = c.ok_us() {
            let sigfig = self.sigfig;
            self.ok
                .get_or_insert_with(|| histogram(sigfig))
                .saturating_record(us);
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.unknown += other.unknown;
        if let Some(h) = &other.ok {
            match &mut self.ok {
                // Same bounds: adding cannot fail.
                Some(mine) => {
                    let _ = mine.add(h);
                }
                None => self.ok = Some(h.clone()),
            }
        }
    }

    fn rate(&self) -> Rate {
        Rate {
            calls: self.calls,
            errors: self.errors,
            unknown: self.unknown,
            p99_us: p99_us(self.ok.as_ref()),
        }
    }
}

fn p99_us(h: Option<&Histogram<u64>>) -> Option<u64> {
    h.filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(0.99))
}

/// What a tally comes to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Rate {
    calls: u64,
    errors: u64,
    unknown: u64,
    /// p99 of the ok calls.
    p99_us: Option<u64>,
}

impl Rate {
    fn error_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.errors as f64 / self.calls as f64)
    }
}

/// A server's steady calls before a window: (non-hit calls, all calls).
type Before = (Rate, Rate);

/// The steady calls, per server, between window starts; merged as the run passes each start.
struct Baselines {
    /// Window starts in time order, with their window.
    starts: Vec<(i64, usize)>,
    /// Segments merged into `cum`: segment j holds the calls between starts j-1 and j.
    closed: usize,
    /// Per server: (non-hit, all).
    cum: Vec<(Tally, Tally)>,
    /// Segments `closed..`, not merged yet.
    open: VecDeque<Vec<(Tally, Tally)>>,
    /// Per window: every server's figures before it, once known.
    before: Vec<Option<Vec<Before>>>,
}

fn fresh(servers: usize) -> Vec<(Tally, Tally)> {
    let t = || Tally::new(hist::SIGFIG);
    (0..servers).map(|_| (t(), t())).collect()
}

impl Baselines {
    fn new(starts: Vec<(i64, usize)>, servers: usize) -> Baselines {
        Baselines {
            before: vec![None; starts.len()],
            starts,
            closed: 0,
            cum: fresh(servers),
            open: VecDeque::new(),
        }
    }

    fn add(&mut self, c: &Seen) {
        let seg = self.starts.partition_point(|&(s, _)| s <= c.intended);
        // After the last window's start no window compares with it; a call still in flight
        // when the next window started may have met the fault.
        match self.starts.get(seg) {
            Some(&(next_start, _)) if c.end < next_start => {}
            _ => return,
        }
        let pair = if seg < self.closed {
            &mut self.cum[c.server]
        } else {
            let i = seg - self.closed;
            while self.open.len() <= i {
                self.open.push_back(fresh(self.cum.len()));
            }
            &mut self.open[i][c.server]
        };
        if !c.hit {
            pair.0.add(c);
        }
        pair.1.add(c);
    }

    /// Merges the segments whose calls are all in; `all`: every segment (the run is over).
    fn advance(&mut self, latest_end: i64, slack: i64, all: bool) {
        while let Some(&(start, window)) = self.starts.get(self.closed) {
            if !all && latest_end < start.saturating_add(slack) {
                break;
            }
            if let Some(seg) = self.open.pop_front() {
                for (mine, theirs) in self.cum.iter_mut().zip(&seg) {
                    mine.0.merge(&theirs.0);
                    mine.1.merge(&theirs.1);
                }
            }
            let figures = self.cum.iter().map(|(n, a)| (n.rate(), a.rate()));
            self.before[window] = Some(figures.collect());
            self.closed += 1;
        }
    }
}

/// The calls of every server during one window.
struct DuringAcc {
    /// Per server, all calls.
    servers: Vec<Tally>,
    /// The window's server, non-hit calls.
    target: Tally,
    failures: Option<Histogram<u64>>,
}

/// What a window's during-calls come to.
#[derive(Debug, Clone, Default)]
struct DuringOut {
    servers: Vec<Rate>,
    target: Rate,
    failure_p50_us: Option<u64>,
    failure_p99_us: Option<u64>,
}

impl DuringAcc {
    fn new(servers: usize) -> DuringAcc {
        DuringAcc {
            servers: (0..servers).map(|_| Tally::new(SMALL_SIGFIG)).collect(),
            target: Tally::new(SMALL_SIGFIG),
            failures: None,
        }
    }

    fn add(&mut self, c: &Seen, target: usize) {
        self.servers[c.server].add(c);
        if c.server == target && !c.hit {
            self.target.add(c);
            if c.error {
                self.failures
                    .get_or_insert_with(|| histogram(SMALL_SIGFIG))
                    .saturating_record(c.latency_us);
            }
        }
    }

    fn out(&self) -> DuringOut {
        let q = |q: f64| {
            let h = self.failures.as_ref().filter(|h| !h.is_empty());
            h.map(|h| h.value_at_quantile(q))
        };
        DuringOut {
            servers: self.servers.iter().map(Tally::rate).collect(),
            target: self.target.rate(),
            failure_p50_us: q(0.5),
            failure_p99_us: q(0.99),
        }
    }
}

/// The recovery scan after one window: its server's non-hit calls in 1 s buckets.
struct Scan {
    /// Where second 0 starts.
    base: i64,
    /// The first second not judged yet; `seconds[k]` is second `next + k`.
    next: i64,
    seconds: VecDeque<Tally>,
    /// Seconds judged but too thin so far, from second `pending_from`.
    pending: Tally,
    pending_from: i64,
    /// Healthy buckets in a row, the first from second `run_from`.
    healthy: u32,
    run_from: i64,
    recovered: Option<i64>,
    /// No more seconds are judged (recovered, capped, or no baseline).
    done: bool,
    capped: bool,
    /// Non-hit calls after `base`, and the ones whose hit status was unknown.
    after: u64,
    unknown: u64,
    /// Calls that came in after their second had been judged.
    late: u64,
    first_ok_end: Option<i64>,
}

impl Scan {
    fn new(base: i64) -> Scan {
        Scan {
            base,
            next: 0,
            seconds: VecDeque::new(),
            pending: Tally::new(SMALL_SIGFIG),
            pending_from: 0,
            healthy: 0,
            run_from: 0,
            recovered: None,
            done: false,
            capped: false,
            after: 0,
            unknown: 0,
            late: 0,
            first_ok_end: None,
        }
    }

    fn add(&mut self, c: &Seen) {
        self.after += 1;
        self.unknown += u64::from(c.unknown);
        if !c.error {
            self.first_ok_end = Some(self.first_ok_end.map_or(c.end, |e| e.min(c.end)));
        }
        if self.done {
            return;
        }
        let sec = (c.intended - self.base) / NS_PER_S;
        if sec < self.next {
            self.late += 1;
            return;
        }
        if sec >= MAX_SCAN_S {
            return;
        }
        let i = usize::try_from(sec - self.next).unwrap_or(usize::MAX);
        while self.seconds.len() <= i {
            self.seconds.push_back(Tally::new(SMALL_SIGFIG));
        }
        self.seconds[i].add(c);
    }

    /// Judges the seconds whose calls are all in against `before` (the non-hit steady figures);
    /// `all`: every second with calls (the run is over).
    fn advance(&mut self, latest_end: i64, slack: i64, before: Option<Rate>, all: bool) {
        let Some(before) = before else {
            return;
        };
        if before.calls == 0 {
            self.stop();
        }
        while !self.done {
            let second_end = self.base.saturating_add((self.next + 1) * NS_PER_S);
            let complete = latest_end >= second_end.saturating_add(slack);
            if !(complete || all && !self.seconds.is_empty()) {
                break;
            }
            self.judge_next(&before);
        }
    }

    fn judge_next(&mut self, before: &Rate) {
        let second = self.seconds.pop_front();
        if let Some(s) = &second {
            self.pending.merge(s);
        }
        if self.pending.calls >= MIN_CALLS {
            if healthy(&self.pending.rate(), before) {
                if self.healthy == 0 {
                    self.run_from = self.pending_from;
                }
                self.healthy += 1;
            } else {
                self.healthy = 0;
            }
            self.pending = Tally::new(SMALL_SIGFIG);
            self.pending_from = self.next + 1;
        }
        self.next += 1;
        if self.healthy >= HEALTHY_RUN {
            self.recovered = Some(self.run_from);
            self.stop();
        } else if self.next >= MAX_SCAN_S {
            self.capped = true;
            self.stop();
        }
    }

    fn stop(&mut self) {
        self.done = true;
        self.seconds = VecDeque::new();
        self.pending = Tally::new(SMALL_SIGFIG);
    }
}

/// Whether a bucket is as good as the steady calls before the window.
fn healthy(bucket: &Rate, before: &Rate) -> bool {
    let (Some(rate), Some(base)) = (bucket.error_rate(), before.error_rate()) else {
        return false;
    };
    let latency = match (bucket.p99_us, before.p99_us) {
        (Some(p99), Some(base)) => p99 as f64 <= P99_FACTOR * base as f64,
        (None, Some(_)) => false,
        (_, None) => true,
    };
    rate <= base + ERROR_ALLOWANCE + 1e-12 && latency
}

/// One window's state.
struct Win {
    /// Its server's index, `None` when the server is not the scenario's.
    target: Option<usize>,
    start: i64,
    end: Option<i64>,
    during: Option<DuringAcc>,
    during_out: DuringOut,
    /// Calls inside the window that came in after it had been judged.
    late: u64,
    scan: Scan,
}

impl Win {
    fn new(spec: &WindowSpec, target: Option<usize>, servers: usize) -> Win {
        let base = spec.end_ns.unwrap_or(spec.start_ns);
        Win {
            target,
            start: spec.start_ns,
            end: spec.end_ns,
            during: spec.end_ns.map(|_| DuringAcc::new(servers)),
            during_out: DuringOut {
                servers: vec![Rate::default(); servers],
                ..DuringOut::default()
            },
            late: 0,
            scan: Scan::new(base),
        }
    }

    fn add(&mut self, c: &Seen) {
        let Some(target) = self.target else {
            return;
        };
        if let Some(end) = self.end
            && self.start <= c.intended
            && c.intended < end
        {
            match &mut self.during {
                Some(d) => d.add(c, target),
                None => self.late += 1,
            }
        }
        if c.server == target && !c.hit && c.intended >= self.scan.base {
            self.scan.add(c);
        }
    }

    fn advance(&mut self, latest_end: i64, slack: i64, before: Option<&[Before]>, all: bool) {
        let closes = self.end.unwrap_or(self.start).saturating_add(slack);
        if (all || latest_end >= closes)
            && let Some(d) = self.during.take()
        {
            self.during_out = d.out();
        }
        let before = match (before, self.target) {
            (Some(b), Some(t)) => b.get(t).map(|b| b.0),
            (Some(_), None) => Some(Rate::default()),
            _ => None,
        };
        self.scan.advance(latest_end, slack, before, all);
    }

    fn finished(&self) -> bool {
        self.during.is_none() && self.scan.done
    }
}

/// Recovery and blast radius per fault window: see the module doc.
pub struct WindowsAcc {
    /// The server index (into [`DeriveSetup::servers`]) of each key.
    key_server: Vec<Option<usize>>,
    model_open: bool,
    timeout_us: u64,
    /// How long after a time its calls are all in: the timeout plus [`MARGIN_NS`].
    slack_ns: i64,
    latest_end: i64,
    baselines: Baselines,
    wins: Vec<Win>,
    /// Windows in start order; those from `next` on have not started yet.
    by_start: Vec<usize>,
    next: usize,
    /// Windows started and not finished.
    live: Vec<usize>,
}

impl WindowsAcc {
    /// An accumulator for the windows of `setup` (its servers, keys, model and timeout).
    pub fn new(setup: &DeriveSetup) -> WindowsAcc {
        let index = |name: &str| setup.servers.iter().position(|s| s == name);
        let n = setup.servers.len();
        let wins: Vec<Win> = setup
            .windows
            .iter()
            .map(|w| Win::new(w, index(&w.server), n))
            .collect();
        let mut by_start: Vec<usize> = (0..wins.len()).collect();
        by_start.sort_by_key(|&i| (wins[i].start, i));
        let starts = by_start.iter().map(|&i| (wins[i].start, i)).collect();
        let timeout_ns = i64::try_from(setup.timeout.as_nanos()).unwrap_or(i64::MAX);
        WindowsAcc {
            key_server: setup.keys.iter().map(|(s, _)| index(s)).collect(),
            model_open: setup.model_open,
            timeout_us: u64::try_from(setup.timeout.as_micros()).unwrap_or(u64::MAX),
            slack_ns: timeout_ns.saturating_add(MARGIN_NS),
            latest_end: i64::MIN,
            baselines: Baselines::new(starts, n),
            wins,
            by_start,
            next: 0,
            live: Vec::new(),
        }
    }

    /// One classified call: O(windows live now).
    pub fn add(&mut self, c: &Call) {
        let Some(seen) = self.seen(c) else {
            return;
        };
        self.latest_end = self.latest_end.max(seen.end);
        while let Some(&w) = self.by_start.get(self.next) {
            if self.wins[w].start > self.latest_end {
                break;
            }
            self.live.push(w);
            self.next += 1;
        }
        if seen.steady {
            self.baselines.add(&seen);
        }
        for &w in &self.live {
            self.wins[w].add(&seen);
        }
        self.advance(false);
    }

    fn seen(&self, c: &Call) -> Option<Seen> {
        let s = c.sample;
        if matches!(s.outcome, Outcome::Dropped | Outcome::ClientError)
            || matches!(s.phase, Phase::Baseline | Phase::Warmup)
            || s.intended_ns < 0
        {
            return None;
        }
        let server = (*self.key_server.get(s.key as usize)?)?;
        let ok = s.outcome.is_ok();
        Some(Seen {
            server,
            intended: s.intended_ns,
            end: s.end_ns,
            steady: s.phase == Phase::Steady,
            error: !ok,
            hit: c.hit == Some(true),
            unknown: ok && c.hit.is_none(),
            latency_us: LatencyRule {
                model_open: self.model_open,
                timeout_us: self.timeout_us,
            }
            .of(s)?,
        })
    }

    fn advance(&mut self, all: bool) {
        let (latest, slack) = (self.latest_end, self.slack_ns);
        self.baselines.advance(latest, slack, all);
        let wins = &mut self.wins;
        let before = &self.baselines.before;
        let windows = if all {
            (0..wins.len()).collect()
        } else {
            std::mem::take(&mut self.live)
        };
        self.live = windows
            .into_iter()
            .filter(|&w| {
                wins[w].advance(latest, slack, before[w].as_deref(), all);
                !wins[w].finished()
            })
            .collect();
    }

    /// Recovery and blast radius of every window, in window order.
    pub fn finish(
        &mut self,
        setup: &DeriveSetup,
        summary: &Summary,
    ) -> (Vec<Recovery>, Vec<BlastRadius>) {
        let run_end = (summary.duration_s * 1e9) as i64;
        self.results(setup, run_end)
    }

    /// [`WindowsAcc::finish`] for a run that ended at `run_end` ns.
    fn results(&mut self, setup: &DeriveSetup, run_end: i64) -> (Vec<Recovery>, Vec<BlastRadius>) {
        self.advance(true);
        let mut recoveries = Vec::with_capacity(self.wins.len());
        let mut blasts = Vec::with_capacity(self.wins.len());
        for (i, (spec, w)) in setup.windows.iter().zip(&self.wins).enumerate() {
            let before = self.baselines.before[i].as_deref();
            recoveries.push(recovery(spec, w, before, run_end));
            let overlap = overlapping(&setup.windows, i);
            blasts.push(blast(spec, w, before, overlap, &setup.servers));
        }
        (recoveries, blasts)
    }
}

/// Another window that overlaps window `i` (for a window: any time in common; a point fault
/// inside it counts).
fn overlapping(windows: &[WindowSpec], i: usize) -> Option<&WindowSpec> {
    let span = |w: &WindowSpec| (w.start_ns, w.end_ns.unwrap_or(w.start_ns));
    let (s, e) = span(&windows[i]);
    windows.iter().enumerate().find_map(|(j, w)| {
        let (ws, we) = span(w);
        let meets = if ws == we {
            s <= ws && ws < e
        } else {
            ws < e && s < we
        };
        (j != i && meets).then_some(w)
    })
}

fn ms_from(ns: i64) -> f64 {
    round(ns as f64 / 1e6, 3)
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn rate_of(r: &Rate) -> Option<f64> {
    r.error_rate().map(|x| round(x, 6))
}

fn ms_of(us: Option<u64>) -> Option<f64> {
    us.map(us_to_ms)
}

/// Window `spec`'s recovery from its state `w` and the figures `before` it.
fn recovery(spec: &WindowSpec, w: &Win, before: Option<&[Before]>, run_end: i64) -> Recovery {
    let d = &w.during_out;
    let base = w.scan.base;
    let mut r = Recovery {
        window: spec.window,
        server: spec.server.clone(),
        kind: spec.kind.clone(),
        start_ms: ms_from(spec.start_ns),
        end_ms: ms_from(base),
        during: During {
            calls: d.target.calls,
            errors: d.target.errors,
            error_rate: rate_of(&d.target),
            failure_p50_ms: ms_of(d.failure_p50_us),
            failure_p99_ms: ms_of(d.failure_p99_us),
        },
        observed_s: round((run_end - base) as f64 / 1e9, 3).clamp(0.0, MAX_SCAN_S as f64),
        ..Recovery::default()
    };
    let Some(target) = w.target else {
        r.reason = Some(format!("`{}` is not a server of the scenario", spec.server));
        return r;
    };
    let b = before.and_then(|b| b.get(target)).map(|b| b.0);
    let b = b.unwrap_or_default();
    r.before_error_rate = rate_of(&b);
    r.before_p99_ms = ms_of(b.p99_us);
    r.first_success_ms = w.scan.first_ok_end.map(|e| ms_from(e - base));
    if b.calls == 0 {
        r.reason = Some(format!(
            "no steady calls to `{}` before the window: nothing to compare with",
            spec.server
        ));
        return r;
    }
    if w.scan.after == 0 {
        r.reason = Some(format!("no calls to `{}` after the window", spec.server));
        return r;
    }
    r.recovery_ms = w.scan.recovered.map(|s| (s * 1000) as f64);
    r.never = r.recovery_ms.is_none();
    let (quality, reason) = recovery_quality(&spec.server, w, &b);
    r.quality = quality;
    r.reason = reason;
    r
}

fn recovery_quality(server: &str, w: &Win, before: &Rate) -> (Quality, Option<String>) {
    let mut reasons = Vec::new();
    let unknown = before.unknown + w.during_out.target.unknown + w.scan.unknown;
    if unknown > 0 {
        reasons.push(format!(
            "{unknown} ok calls to `{server}` could not be told apart from cache hits (the \
             backends' ledgers cannot say): counted as non-hits"
        ));
    }
    let late = w.late + w.scan.late;
    if late > 0 {
        reasons.push(format!(
            "{late} calls came in after their time had been judged: left out"
        ));
    }
    let quality = if reasons.is_empty() {
        Quality::Exact
    } else {
        Quality::Estimated
    };
    if w.scan.capped && w.scan.recovered.is_none() {
        reasons.push(format!(
            "scanned for at most {MAX_SCAN_S} s after the window"
        ));
    }
    let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    (quality, reason)
}

/// Window `spec`'s blast radius, unless it overlaps `overlap`.
fn blast(
    spec: &WindowSpec,
    w: &Win,
    before: Option<&[Before]>,
    overlap: Option<&WindowSpec>,
    servers: &[String],
) -> BlastRadius {
    let mut b = BlastRadius {
        window: spec.window,
        server: spec.server.clone(),
        ..BlastRadius::default()
    };
    let why = if w.end.is_none() {
        Some("a point fault has no window to measure during".to_owned())
    } else if let Some(o) = overlap {
        Some(format!(
            "the window overlaps window {} ({} on `{}`): whose effect is whose cannot be told",
            o.window, o.kind, o.server
        ))
    } else if w.target.is_none() {
        Some(format!("`{}` is not a server of the scenario", spec.server))
    } else {
        None
    };
    if why.is_some() {
        b.reason = why;
        return b;
    }
    let others = servers
        .iter()
        .enumerate()
        .filter(|&(i, _)| Some(i) != w.target);
    b.others = others
        .map(|(i, name)| {
            let before = before.and_then(|b| b.get(i)).map(|b| b.1);
            other(name, &before.unwrap_or_default(), &w.during_out.servers[i])
        })
        .collect();
    // The first of equals: servers in the scenario's order.
    let worst = b
        .others
        .iter()
        .filter_map(|o| o.points.map(|p| (p, &o.server)))
        .fold(None, |best: Option<(f64, &String)>, x| match best {
            Some(b) if b.0 >= x.0 => Some(b),
            _ => Some(x),
        });
    let Some((points, worst)) = worst else {
        b.reason = Some("no other server had calls both before and during the window".into());
        return b;
    };
    b.points = Some(points);
    b.worst = Some(worst.clone());
    b.p99_ratio = b.others.iter().filter_map(|o| o.p99_ratio).reduce(f64::max);
    b.quality = Quality::Exact;
    if w.late > 0 {
        b.quality = Quality::Estimated;
        b.reason = Some(format!(
            "{} calls came in after the window had been judged: left out",
            w.late
        ));
    }
    b
}

fn other(server: &str, before: &Rate, during: &Rate) -> BlastOther {
    let (br, dr) = (before.error_rate(), during.error_rate());
    let ratio = match (during.p99_us, before.p99_us) {
        (Some(d), Some(b)) if b > 0 => Some(round(d as f64 / b as f64, 3)),
        _ => None,
    };
    BlastOther {
        server: server.to_owned(),
        calls: during.calls,
        before_error_rate: rate_of(before),
        during_error_rate: rate_of(during),
        points: br.zip(dr).map(|(b, d)| round((d - b) * 100.0, 3)),
        before_p99_ms: ms_of(before.p99_us),
        during_p99_ms: ms_of(during.p99_us),
        p99_ratio: ratio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::outcome::TransportError;
    use crate::plan::phase::Phases;
    use crate::sample::Sample;
    use std::time::Duration;

    const MS: i64 = 1_000_000;
    const S: i64 = 1_000 * MS;
    const REFUSED: Outcome = Outcome::Transport(TransportError::Refused);

    /// Servers a, b, c (keys 0, 1, 2); `windows` as (server, start s, end s or a point).
    fn setup(windows: &[(&str, i64, Option<i64>)]) -> DeriveSetup {
        let windows = windows
            .iter()
            .enumerate()
            .map(|(i, &(server, start, end))| WindowSpec {
                window: i,
                fault: i,
                server: server.into(),
                tool: None,
                kind: if end.is_some() { "outage" } else { "crash" }.into(),
                start_ns: start * S,
                end_ns: end.map(|e| e * S),
            })
            .collect();
        DeriveSetup {
            keys: ["a", "b", "c"].map(|s| (s.into(), "t".into())).to_vec(),
            servers: ["a", "b", "c"].map(String::from).to_vec(),
            windows,
            settle: Duration::from_secs(2),
            model_open: true,
            timeout: Duration::from_secs(1),
            ..DeriveSetup::default()
        }
    }

    /// What a call did: outcome, latency (ms), hit.
    type Did = (Outcome, i64, Option<bool>);

    fn says(reason: &Option<String>, text: &str) -> bool {
        reason.as_deref().is_some_and(|r| r.contains(text))
    }

    fn ok(ms: i64) -> Did {
        (Outcome::Ok, ms, Some(false))
    }

    fn refused() -> Did {
        (REFUSED, 1, Some(false))
    }

    /// Calls to `key` every `1/per_s` s from `from` to `to` ms (half-open); `did(t ms)`.
    fn traffic(
        key: u32,
        from: i64,
        to: i64,
        per_s: i64,
        did: impl Fn(i64) -> Did,
    ) -> Vec<(u32, i64, Did)> {
        let step = 1000 / per_s;
        (0..)
            .map(|k| from + k * step)
            .take_while(|&t| t < to)
            .map(|t| (key, t, did(t)))
            .collect()
    }

    /// Every call of `calls` fed in end order; the figures of a run ending at `run_end_s`.
    fn run(
        setup: &DeriveSetup,
        calls: &[(u32, i64, Did)],
        run_end_s: i64,
    ) -> (Vec<Recovery>, Vec<BlastRadius>) {
        let mut acc = feed(setup, calls);
        acc.results(setup, run_end_s * S)
    }

    fn feed(setup: &DeriveSetup, calls: &[(u32, i64, Did)]) -> WindowsAcc {
        let mut acc = WindowsAcc::new(setup);
        for (s, hit) in &samples(setup, calls) {
            acc.add(&call(setup, s, *hit));
        }
        acc
    }

    /// `calls` as samples with their phases, in end order.
    fn samples(setup: &DeriveSetup, calls: &[(u32, i64, Did)]) -> Vec<(Sample, Option<bool>)> {
        let d = |ns: i64| Duration::from_nanos(ns as u64);
        let spans: Vec<(Duration, Duration)> = setup
            .windows
            .iter()
            .map(|w| (d(w.start_ns), d(w.end_ns.unwrap_or(w.start_ns))))
            .collect();
        let phases = Phases::new(Duration::ZERO, &spans, setup.settle);
        let mut samples: Vec<(Sample, Option<bool>)> = calls
            .iter()
            .enumerate()
            .map(|(id, &(key, at, (outcome, ms, hit)))| {
                let intended = at * MS;
                let sample = Sample {
                    call_id: id as u64,
                    key,
                    phase: phases.phase_at(d(intended)),
                    intended_ns: intended,
                    start_ns: intended,
                    end_ns: intended + ms * MS,
                    outcome,
                    service_us: None,
                    session: 0,
                    args_hash: 0,
                    data_version: None,
                };
                (sample, hit)
            })
            .collect();
        samples.sort_by_key(|(s, _)| s.end_ns);
        samples
    }

    fn call<'a>(setup: &'a DeriveSetup, s: &'a Sample, hit: Option<bool>) -> Call<'a> {
        Call {
            sample: s,
            server: &setup.keys[s.key as usize].0,
            tool: "t",
            hit,
            wrong_server: false,
            data_version: None,
        }
    }

    /// a: ok at 20 ms before 10 s, refused in [10 s, 15 s), then `after(ms since 15 s)` to
    /// `end` s; b and c: ok at 20 ms throughout; 20 calls/s each.
    fn outage(after: impl Fn(i64) -> Did, end: i64) -> Vec<(u32, i64, Did)> {
        let mut calls = traffic(0, 0, 15_000, 20, |t| {
            if t < 10_000 { ok(20) } else { refused() }
        });
        calls.extend(traffic(0, 15_000, end * 1000, 20, |t| after(t - 15_000)));
        for key in [1, 2] {
            calls.extend(traffic(key, 0, end * 1000, 20, |_| ok(20)));
        }
        calls
    }

    #[test]
    fn recovery_is_the_first_of_three_healthy_seconds() {
        type After = fn(i64) -> Did;
        let table: [(&str, After, Option<f64>, f64); 5] = [
            ("clean at once", |_| ok(20), Some(0.0), 20.0),
            (
                "refused for 2 s",
                |t| if t < 2000 { refused() } else { ok(20) },
                Some(2000.0),
                2020.0,
            ),
            (
                "slow (3 × p99) for 4 s",
                |t| ok(if t < 4000 { 60 } else { 20 }),
                Some(4000.0),
                60.0,
            ),
            (
                "one healthy second alone does not count",
                |t| {
                    if t < 2000 || (3000..4000).contains(&t) {
                        refused()
                    } else {
                        ok(20)
                    }
                },
                Some(4000.0),
                2020.0,
            ),
            ("refused to the end", |_| refused(), None, f64::NAN),
        ];
        for (name, after, want, first) in table {
            let s = setup(&[("a", 10, Some(15))]);
            let (rec, _) = run(&s, &outage(after, 30), 30);
            let r = &rec[0];
            assert_eq!(r.recovery_ms, want, "{name}: {r:?}");
            assert_eq!(r.never, want.is_none(), "{name}");
            assert_eq!(r.quality, Quality::Exact, "{name}: {r:?}");
            assert_eq!(r.observed_s, 15.0, "{name}");
            assert_eq!((r.start_ms, r.end_ms), (10_000.0, 15_000.0), "{name}");
            assert_eq!(r.before_error_rate, Some(0.0), "{name}");
            assert!(
                r.before_p99_ms.is_some_and(|p| (20.0..20.1).contains(&p)),
                "{name}: {r:?}"
            );
            match r.first_success_ms {
                Some(f) => assert_eq!(f, first, "{name}"),
                None => assert!(first.is_nan(), "{name}: {r:?}"),
            }
            assert_eq!((r.during.calls, r.during.errors), (100, 100), "{name}");
            assert_eq!(r.during.error_rate, Some(1.0), "{name}");
            assert!(
                r.during.failure_p99_ms.is_some_and(|p| p < 1.1),
                "fails fast: {r:?}"
            );
        }
    }

    #[test]
    fn first_success_and_recovery_leave_cache_hits_out() {
        let s = setup(&[("a", 10, Some(15))]);
        let mut calls = outage(|t| if t < 1000 { refused() } else { ok(20) }, 30);
        // Hits answered at once during the window and the first second after it.
        calls.extend(traffic(0, 14_000, 16_000, 20, |_| {
            (Outcome::Ok, 1, Some(true))
        }));
        let (rec, _) = run(&s, &calls, 30);
        let r = &rec[0];
        assert_eq!(r.first_success_ms, Some(1020.0), "{r:?}");
        assert_eq!(r.recovery_ms, Some(1000.0), "{r:?}");
        assert_eq!((r.during.calls, r.during.errors), (100, 100), "{r:?}");
        assert_eq!(r.quality, Quality::Exact);
    }

    #[test]
    fn unknown_hits_count_as_calls_and_make_the_figure_estimated() {
        let s = setup(&[("a", 10, Some(15))]);
        let mut calls = outage(|t| if t < 1000 { refused() } else { ok(20) }, 30);
        calls.extend(traffic(0, 15_500, 15_600, 20, |_| (Outcome::Ok, 1, None)));
        let (rec, _) = run(&s, &calls, 30);
        let r = &rec[0];
        assert_eq!(r.quality, Quality::Estimated);
        assert_eq!(
            r.first_success_ms,
            Some(1.0 + 500.0),
            "the unknown call counts: {r:?}"
        );
        assert!(says(&r.reason, "counted as non-hits"), "{r:?}");
    }

    #[test]
    fn thin_seconds_are_merged_with_the_next() {
        // After the window a is refused for 1 s, then ok. At 5 calls/s seconds merge in pairs:
        // the bucket [0 s, 2 s) is half errors; [2, 4), [4, 6), [6, 8) are healthy. At 10
        // calls/s every second stands alone.
        for (per_s, want) in [(5, 2000.0), (10, 1000.0)] {
            let s = setup(&[("a", 10, Some(15))]);
            let mut calls = traffic(0, 0, 15_000, 20, |t| {
                if t < 10_000 { ok(20) } else { refused() }
            });
            calls.extend(traffic(0, 15_000, 30_000, per_s, |t| {
                if t < 16_000 { refused() } else { ok(20) }
            }));
            let (rec, _) = run(&s, &calls, 30);
            assert_eq!(rec[0].recovery_ms, Some(want), "{per_s}/s: {:?}", rec[0]);
        }
    }

    #[test]
    fn a_point_fault_is_measured_from_the_event() {
        let s = setup(&[("a", 10, None)]);
        let mut calls = traffic(0, 0, 30_000, 20, |t| match t {
            10_000..12_000 => refused(),
            _ => ok(20),
        });
        calls.extend(traffic(1, 0, 30_000, 20, |_| ok(20)));
        let (rec, blast) = run(&s, &calls, 30);
        let r = &rec[0];
        assert_eq!((r.start_ms, r.end_ms), (10_000.0, 10_000.0));
        assert_eq!(r.recovery_ms, Some(2000.0), "{r:?}");
        assert_eq!(r.first_success_ms, Some(2020.0));
        assert_eq!(r.observed_s, 20.0);
        assert_eq!(r.during.calls, 0);
        assert_eq!(blast[0].quality, Quality::Unavailable);
        assert!(says(&blast[0].reason, "point fault"));
    }

    #[test]
    fn blast_radius_is_the_worst_other_server() {
        let s = setup(&[("a", 10, Some(15))]);
        let mut calls = traffic(0, 0, 30_000, 20, |t| match t {
            10_000..15_000 => refused(),
            _ => ok(20),
        });
        // b: 2 % errors before (every 50th call), 5 % and twice as slow during.
        calls.extend(traffic(1, 0, 30_000, 20, |t| {
            let n = t / 50;
            match t {
                10_000..15_000 if n % 20 == 0 => refused(),
                10_000..15_000 => ok(40),
                _ if n % 50 == 0 => refused(),
                _ => ok(20),
            }
        }));
        calls.extend(traffic(2, 0, 30_000, 20, |_| ok(20)));
        let (_, blast) = run(&s, &calls, 30);
        let b = &blast[0];
        assert_eq!(b.quality, Quality::Exact, "{b:?}");
        assert_eq!(b.points, Some(3.0), "{b:?}");
        assert_eq!(b.worst.as_deref(), Some("b"));
        assert!(
            b.p99_ratio.is_some_and(|r| (1.98..2.03).contains(&r)),
            "{b:?}"
        );
        let names: Vec<&str> = b.others.iter().map(|o| o.server.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        let (ob, oc) = (&b.others[0], &b.others[1]);
        assert_eq!(
            (ob.before_error_rate, ob.during_error_rate),
            (Some(0.02), Some(0.05))
        );
        assert_eq!(ob.calls, 100);
        assert_eq!(oc.points, Some(0.0));
        assert!(
            oc.p99_ratio.is_some_and(|r| (0.99..1.01).contains(&r)),
            "{oc:?}"
        );
    }

    #[test]
    fn overlapping_windows_get_no_blast_radius() {
        type Windows<'a> = &'a [(&'a str, i64, Option<i64>)];
        let table: [(Windows, [bool; 2]); 4] = [
            (&[("a", 10, Some(15)), ("b", 12, Some(20))], [false, false]),
            (&[("a", 10, Some(15)), ("b", 15, Some(20))], [true, true]),
            (&[("a", 10, Some(15)), ("b", 11, None)], [false, false]),
            (&[("a", 10, Some(15)), ("b", 16, None)], [true, false]),
        ];
        for (windows, want) in table {
            let s = setup(windows);
            let calls: Vec<_> = (0..3)
                .flat_map(|k| traffic(k, 0, 30_000, 20, |_| ok(20)))
                .collect();
            let (_, blast) = run(&s, &calls, 30);
            for (b, want) in blast.iter().zip(want) {
                assert_eq!(b.points.is_some(), want, "{windows:?}: {b:?}");
                if !want && windows[b.window].2.is_some() {
                    assert!(says(&b.reason, "overlaps"), "{b:?}");
                    assert!(b.others.is_empty());
                }
                if want {
                    // Every other server at 0 points: the first of them.
                    let first = if b.server == "a" { "b" } else { "a" };
                    assert_eq!(b.worst.as_deref(), Some(first), "{b:?}");
                }
            }
        }
    }

    #[test]
    fn calls_in_flight_when_a_window_opens_are_not_steady() {
        let s = setup(&[("a", 10, Some(15))]);
        let mut calls = outage(|_| ok(20), 30);
        calls.push((0, 9_990, (REFUSED, 100, Some(false))));
        let (rec, blast) = run(&s, &calls, 30);
        assert_eq!(rec[0].before_error_rate, Some(0.0), "{:?}", rec[0]);
        calls.push((1, 9_995, (REFUSED, 10, Some(false))));
        let (_, blast_too) = run(&s, &calls, 30);
        assert_eq!(blast, blast_too, "in flight at 10 s: left out");
        calls.push((1, 9_960, (REFUSED, 5, Some(false))));
        let (_, blast) = run(&s, &calls, 30);
        let before = blast[0].others[0].before_error_rate;
        assert!(
            before.is_some_and(|e| e > 0.0),
            "ended before 10 s: {before:?}"
        );
    }

    #[test]
    fn no_baseline_no_figure() {
        let s = setup(&[("a", 0, Some(5))]);
        let calls: Vec<_> = (0..3)
            .flat_map(|k| {
                traffic(k, 0, 20_000, 20, move |t| {
                    if k == 0 && t < 5000 {
                        refused()
                    } else {
                        ok(20)
                    }
                })
            })
            .collect();
        let (rec, blast) = run(&s, &calls, 20);
        assert_eq!(rec[0].quality, Quality::Unavailable);
        assert!(says(&rec[0].reason, "no steady calls"), "{:?}", rec[0]);
        assert_eq!((rec[0].recovery_ms, rec[0].never), (None, false));
        assert_eq!(
            rec[0].during.errors, 100,
            "the window's own figures are still there"
        );
        assert_eq!(blast[0].quality, Quality::Unavailable);
        assert_eq!(blast[0].points, None);
        // A window that lasts to the run's end: no calls after it.
        let s = setup(&[("a", 5, Some(20))]);
        let (rec, _) = run(&s, &calls, 20);
        assert_eq!(rec[0].quality, Quality::Unavailable);
        assert!(says(&rec[0].reason, "after the window"), "{:?}", rec[0]);
    }

    #[test]
    fn the_scan_keeps_a_few_seconds_and_stops_after_its_cap() {
        let s = setup(&[("a", 10, Some(15))]);
        let calls = outage(|_| refused(), 1000);
        let mut acc = WindowsAcc::new(&s);
        let samples = samples(&s, &calls);
        let mut peak = 0;
        for (sample, hit) in &samples {
            acc.add(&call(&s, sample, *hit));
            peak = peak.max(acc.wins[0].scan.seconds.len());
            assert!(acc.baselines.open.len() <= 1);
        }
        assert!(peak <= 5, "seconds held at once: {peak}");
        assert!(
            acc.wins[0].scan.done && acc.live.is_empty(),
            "the scan stopped at its cap"
        );
        let (rec, _) = acc.results(&s, 1000 * S);
        let r = &rec[0];
        assert!(r.never && r.observed_s == MAX_SCAN_S as f64, "{r:?}");
        assert!(says(&r.reason, "at most 300 s"), "{r:?}");
    }
}
