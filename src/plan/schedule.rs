//! The arrival schedule: one pacer for both load models, in the style of vegeta's `Pacer`.
//!
//! [`Schedule::pace`] answers, for the next call, how long to wait and whether the run is over.
//! It is a pure function of (elapsed time, calls sent): no clock, no state.
//!
//! - **Open model.** A rate profile (calls per second, piecewise linear in time: a constant
//!   rate, ramps between stages, a stepped ramp) defines the expected count
//!   N(t) = ∫₀ᵗ rate. Call k sits at position cₖ in "count space" and is due at tₖ = N⁻¹(cₖ):
//!   with [`Spacing::Uniform`] cₖ = k (exactly evenly spaced at a constant rate); with
//!   [`Spacing::Poisson`] cₖ is the sum of k exponential gaps of mean 1, each a pure function
//!   of (seed, index) — so the arrivals form a (non-homogeneous) Poisson process and the same
//!   seed gives the same schedule. Call 0 is due at t = 0 (docs/scenario.md: t = 0 is the first
//!   intended call); a call exists when cₖ < N(end) (the run is the half-open `[0, end)`).
//! - **Closed model.** `sessions` workers, each sending back to back: each worker owns a pacer
//!   (its own `sent`), waits `think` between a response and its next call, and stops when the
//!   next call would start at or after `duration`.

use crate::dist::{mix, unit};
use crate::scenario::{Stage, Steps};
use crate::units::{Rate, format_duration};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Calls per checkpoint of the Poisson positions (memory is 8 bytes per block).
const BLOCK: u64 = 128;
/// The most calls a Poisson schedule may hold (its checkpoint table is then 16 MiB).
pub const MAX_POISSON_CALLS: f64 = (1u64 << 28) as f64;
/// Keeps schedule draws apart from other users of the same seed.
const SALT: u64 = 0x5c4e_d01e_a221_7a15;
/// The most steps a stepped ramp may have.
const MAX_STEPS: u64 = 10_000;

/// What the pacer says about the next call: wait this long from `elapsed`, or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub wait: Duration,
    pub stop: bool,
}

impl Pace {
    /// The schedule is over: no more calls.
    pub const STOP: Pace = Pace {
        wait: Duration::ZERO,
        stop: true,
    };

    fn after(wait: Duration) -> Pace {
        Pace { wait, stop: false }
    }
}

/// How calls are spaced within the rate profile (open model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spacing {
    /// tₖ = N⁻¹(k): evenly spaced at a constant rate.
    Uniform,
    /// Exponential gaps (Poisson arrivals), drawn from the seed.
    Poisson { seed: u64 },
}

/// What part of the scenario a segment of the profile comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `rate:`.
    Rate,
    /// `stages[i]`.
    Stage(usize),
    /// Step i of `steps:` (0-based).
    Step(usize),
    /// The final rate held until the run's end ([`Profile::held_to`]).
    Tail,
}

/// A piece of the rate profile: the rate goes linearly from `from` to `to` over `len`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub part: Part,
    pub start: Duration,
    pub len: Duration,
    pub from: f64,
    pub to: f64,
}

impl Segment {
    fn end(&self) -> Duration {
        self.start + self.len
    }

    /// The rate `tau` seconds into the segment.
    fn rate_in(&self, tau: f64) -> f64 {
        let len = self.len.as_secs_f64();
        if len <= 0.0 {
            return self.to;
        }
        let tau = tau.clamp(0.0, len);
        self.from + (self.to - self.from) * tau / len
    }

    /// Expected calls in the first `tau` seconds (the trapezoid is exact for a linear rate).
    fn count_in(&self, tau: f64) -> f64 {
        let tau = tau.clamp(0.0, self.len.as_secs_f64());
        tau * (self.from + self.rate_in(tau)) / 2.0
    }

    /// The inverse of [`Segment::count_in`]: seconds into the segment where `c` calls are due.
    fn time_in(&self, c: f64) -> f64 {
        let len = self.len.as_secs_f64();
        if c <= 0.0 || len <= 0.0 {
            return 0.0;
        }
        let slope = (self.to - self.from) / len;
        // r0·τ + slope·τ²/2 = c, solved in the form that stays stable as slope → 0.
        let disc = (self.from * self.from + 2.0 * slope * c).max(0.0);
        let denom = self.from + disc.sqrt();
        if denom <= 0.0 {
            return 0.0;
        }
        (2.0 * c / denom).clamp(0.0, len)
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Rate => f.write_str("rate"),
            Part::Stage(i) => write!(f, "stages[{i}]"),
            Part::Step(i) => write!(f, "step {i}"),
            Part::Tail => f.write_str("final rate"),
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, start) = (format_duration(self.len), format_duration(self.start));
        if self.from == self.to {
            write!(
                f,
                "{} ({} for {len} from {start})",
                self.part,
                Rate(self.to)
            )
        } else {
            let (a, b) = (Rate(self.from), Rate(self.to));
            write!(f, "{} ({a} to {b} over {len} from {start})", self.part)
        }
    }
}

/// A rate profile: segments back to back from t = 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    segments: Vec<Segment>,
}

fn check_rate(what: &str, r: f64) -> Result<f64, String> {
    if r.is_finite() && r >= 0.0 {
        Ok(r)
    } else {
        Err(format!("{what} must be a rate of 0/s or more (got {r})"))
    }
}

impl Profile {
    /// `rate: R` for `over`.
    pub fn constant(rate: f64, over: Duration) -> Result<Profile, String> {
        let r = check_rate("`rate`", rate)?;
        let mut p = Profile::default();
        p.push(Part::Rate, over, r, r);
        Ok(p)
    }

    /// `stages:` — each ramp starts from the rate the previous stage ended at (`start` for
    /// the first); a hold keeps the current rate. A ramp `over: 0` jumps.
    pub fn stages(start: f64, stages: &[Stage]) -> Result<Profile, String> {
        let mut rate = check_rate("the starting rate", start)?;
        let mut p = Profile::default();
        for (i, stage) in stages.iter().enumerate() {
            match *stage {
                Stage::Ramp { to, over } => {
                    let to = check_rate(&format!("`stages[{i}].to`"), to)?;
                    p.push(Part::Stage(i), over, rate, to);
                    rate = to;
                }
                Stage::Hold(over) => p.push(Part::Stage(i), over, rate, rate),
            }
        }
        Ok(p)
    }

    /// `steps:` — `from`, `from + by`, … while at most `max` (`max` is a ceiling: a step that
    /// would overshoot it is not added), each held `hold`.
    pub fn steps(s: Steps) -> Result<Profile, String> {
        let from = check_rate("`steps.from`", s.from)?;
        let max = check_rate("`steps.max`", s.max)?;
        if !(s.by.is_finite() && s.by > 0.0) {
            return Err(format!("`steps.by` must be above 0/s (got {})", s.by));
        }
        if s.hold.is_zero() {
            return Err("`steps.hold` must be above 0".into());
        }
        if max < from {
            return Err(format!(
                "`steps.max` ({}) is below `steps.from` ({})",
                Rate(max),
                Rate(from)
            ));
        }
        // A little slack so that 0.1 + 0.1 + 0.1 still reaches a max of 0.3.
        let n = ((max - from) / s.by + 1e-9).floor() + 1.0;
        if n > MAX_STEPS as f64 {
            return Err(format!(
                "`steps` makes {n} steps; at most {MAX_STEPS} are allowed (raise `by`)"
            ));
        }
        let mut p = Profile::default();
        for i in 0..n as usize {
            let r = (from + s.by * i as f64).min(max);
            p.push(Part::Step(i), s.hold, r, r);
        }
        Ok(p)
    }

    /// The profile extended to `duration` by holding its final rate (unchanged if it is
    /// already that long; cutting a longer one is [`Schedule::truncated`]'s job).
    pub fn held_to(mut self, duration: Duration) -> Profile {
        let end = self.duration();
        if duration > end {
            let r = self.segments.last().map_or(0.0, |s| s.to);
            self.push(Part::Tail, duration - end, r, r);
        }
        self
    }

    /// The total length of the segments.
    pub fn duration(&self) -> Duration {
        self.segments.last().map_or(Duration::ZERO, Segment::end)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    fn push(&mut self, part: Part, len: Duration, from: f64, to: f64) {
        let start = self.duration();
        self.segments.push(Segment {
            part,
            start,
            len,
            from,
            to,
        });
    }
}

/// Seconds to a duration, never panicking: negative or NaN is 0, too large saturates.
fn to_duration(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

/// The k-th exponential gap (mean 1) in count space.
fn gap(key: u64, k: u64) -> f64 {
    -(1.0 - unit(key, k)).ln()
}

/// The position of call `BLOCK·b` for every block b, until positions reach `limit`.
fn poisson_checkpoints(key: u64, limit: f64) -> Vec<f64> {
    let mut table = Vec::new();
    let (mut c, mut k) = (0.0, 0u64);
    loop {
        if k.is_multiple_of(BLOCK) {
            table.push(c);
        }
        if c >= limit {
            return table;
        }
        c += gap(key, k);
        k += 1;
    }
}

/// An open-model schedule: a rate profile, its spacing, and the run's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    segments: Vec<Segment>,
    /// N at each segment's start, and at the end (one more entry than `segments`).
    counts: Vec<f64>,
    spacing: Spacing,
    /// Poisson only: positions of every `BLOCK`-th call.
    checkpoints: Arc<[f64]>,
}

impl Open {
    /// Builds the schedule, refusing a Poisson one too large for its checkpoint table.
    fn build(segments: Vec<Segment>, spacing: Spacing) -> Result<Open, String> {
        let total: f64 = segments
            .iter()
            .map(|s| s.count_in(s.len.as_secs_f64()))
            .sum();
        if matches!(spacing, Spacing::Poisson { .. }) && total > MAX_POISSON_CALLS {
            return Err(format!(
                "the schedule offers {total:.0} calls; Poisson spacing supports at most \
                 {MAX_POISSON_CALLS:.0} (use spacing: uniform, a lower rate or a shorter run)"
            ));
        }
        Ok(Open::build_unchecked(segments, spacing))
    }

    /// Builds the schedule; a cut of a schedule that [`Open::build`] accepted never fails.
    fn build_unchecked(segments: Vec<Segment>, spacing: Spacing) -> Open {
        let mut counts = Vec::with_capacity(segments.len() + 1);
        let mut n = 0.0;
        counts.push(n);
        for s in &segments {
            n += s.count_in(s.len.as_secs_f64());
            counts.push(n);
        }
        let mut open = Open {
            segments,
            counts,
            spacing,
            checkpoints: Arc::from(Vec::new()),
        };
        if let Spacing::Poisson { seed } = spacing {
            open.checkpoints = Arc::from(poisson_checkpoints(key(seed), open.limit()));
        }
        open
    }

    /// The run's end (the profile's length).
    pub fn end(&self) -> Duration {
        self.segments.last().map_or(Duration::ZERO, Segment::end)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn spacing(&self) -> Spacing {
        self.spacing
    }

    /// N(end): the expected number of calls.
    fn total(&self) -> f64 {
        self.counts.last().copied().unwrap_or(0.0)
    }

    /// Positions below this are calls; the slack absorbs rounding so that 100/s for 10 s
    /// makes 1,000 calls, not 1,001.
    fn limit(&self) -> f64 {
        let n = self.total();
        n - 1e-9 * n.max(1.0)
    }

    /// N(t), the expected number of calls due before `t` (clamped to the run).
    fn count_at(&self, t: Duration) -> f64 {
        let i = self.segments.partition_point(|s| s.end() <= t);
        match self.segments.get(i) {
            None => self.total(),
            Some(s) => self.counts[i] + s.count_in((t - s.start).as_secs_f64()),
        }
    }

    /// N⁻¹(c): when the expected count reaches `c`.
    fn time_of(&self, c: f64) -> Duration {
        let i = self.counts[1..].partition_point(|&n| n <= c);
        match self.segments.get(i) {
            None => self.end(),
            Some(s) => s.start + to_duration(s.time_in(c - self.counts[i])),
        }
    }

    /// Call k's position in count space, or `None` past the end.
    fn position(&self, k: u64) -> Option<f64> {
        let c = match self.spacing {
            Spacing::Uniform => k as f64,
            Spacing::Poisson { seed } => {
                let block = k / BLOCK;
                let base = *self.checkpoints.get(usize::try_from(block).ok()?)?;
                let key = key(seed);
                base + (block * BLOCK..k).map(|j| gap(key, j)).sum::<f64>()
            }
        };
        (c < self.limit()).then_some(c)
    }

    /// The intended start of call `k` (0-based), `None` past the end.
    pub fn intended(&self, k: u64) -> Option<Duration> {
        let t = self.time_of(self.position(k)?);
        // Rounding must not push a call onto the end of the half-open run.
        Some(t.min(self.end().saturating_sub(Duration::from_nanos(1))))
    }

    /// How long to wait from `elapsed` until call `sent` is due; stop past the end. A driver
    /// behind schedule gets a zero wait (it sends late, and the send lag shows it).
    pub fn pace(&self, elapsed: Duration, sent: u64) -> Pace {
        match self.intended(sent) {
            None => Pace::STOP,
            Some(t) => Pace::after(t.saturating_sub(elapsed)),
        }
    }

    /// Expected calls with an intended start in `[from, to)`.
    pub fn offered(&self, from: Duration, to: Duration) -> f64 {
        (self.count_at(to) - self.count_at(from)).max(0.0)
    }

    /// The rate at `t` (0 outside the run).
    pub fn rate_at(&self, t: Duration) -> f64 {
        let i = self.segments.partition_point(|s| s.end() <= t);
        self.segments
            .get(i)
            .map_or(0.0, |s| s.rate_in((t - s.start).as_secs_f64()))
    }

    /// The highest rate anywhere in the run.
    pub fn peak_rate(&self) -> f64 {
        self.segments
            .iter()
            .filter(|s| !s.len.is_zero())
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }

    /// How many calls the schedule holds (exact, for sizing call-id ranges).
    pub fn calls(&self) -> u64 {
        let (mut lo, mut hi) = (0u64, self.total().ceil() as u64 + 1);
        if let Spacing::Poisson { .. } = self.spacing {
            hi = self.checkpoints.len() as u64 * BLOCK;
        }
        // The first k that is not a call: positions grow with k.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.position(mid).is_some() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn scaled(&self, factor: f64) -> Result<Open, String> {
        let segments = self
            .segments
            .iter()
            .map(|s| Segment {
                from: s.from * factor,
                to: s.to * factor,
                ..*s
            })
            .collect();
        Open::build(segments, self.spacing)
    }

    fn truncated(&self, at: Duration) -> (Open, Vec<Segment>) {
        if at >= self.end() {
            return (self.clone(), Vec::new());
        }
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for s in &self.segments {
            if s.start >= at {
                if s.part != Part::Tail {
                    dropped.push(*s);
                }
            } else if s.end() > at {
                let len = at - s.start;
                let to = s.rate_in(len.as_secs_f64());
                kept.push(Segment { len, to, ..*s });
            } else {
                kept.push(*s);
            }
        }
        (Open::build_unchecked(kept, self.spacing), dropped)
    }
}

fn key(seed: u64) -> u64 {
    mix(seed ^ SALT)
}

/// The arrival schedule of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Arrivals at a rate; latency runs from the intended start.
    Open(Open),
    /// `sessions` workers, each with its own pacer: call, wait for the answer, think, repeat.
    Closed {
        sessions: u32,
        think: Duration,
        duration: Duration,
    },
}

impl Schedule {
    /// An open-model schedule over the whole profile (its length is the run's length).
    pub fn open(profile: Profile, spacing: Spacing) -> Result<Schedule, String> {
        Open::build(profile.segments, spacing).map(Schedule::Open)
    }

    /// A closed-model schedule; `sessions` must be at least 1.
    pub fn closed(sessions: u32, think: Duration, duration: Duration) -> Result<Schedule, String> {
        if sessions == 0 {
            return Err("the closed model needs `sessions` of at least 1".into());
        }
        Ok(Schedule::Closed {
            sessions,
            think,
            duration,
        })
    }

    /// The run's length.
    pub fn duration(&self) -> Duration {
        match self {
            Schedule::Open(o) => o.end(),
            Schedule::Closed { duration, .. } => *duration,
        }
    }

    /// How many independent pacers run: 1 (open) or one per session (closed).
    pub fn pacers(&self) -> u32 {
        match self {
            Schedule::Open(_) => 1,
            Schedule::Closed { sessions, .. } => *sessions,
        }
    }

    /// How long to wait from `elapsed` (time since t = 0) before call number `sent` (0-based:
    /// the next call) of this pacer, and whether the schedule is over. Closed model: `sent`
    /// and `elapsed` are the worker's own (its calls so far, the time its last answer came).
    pub fn pace(&self, elapsed: Duration, sent: u64) -> Pace {
        match self {
            Schedule::Open(o) => o.pace(elapsed, sent),
            Schedule::Closed {
                think, duration, ..
            } => {
                let due = if sent == 0 {
                    Duration::ZERO
                } else {
                    elapsed.saturating_add(*think)
                };
                if due.max(elapsed) >= *duration {
                    Pace::STOP
                } else {
                    Pace::after(due.saturating_sub(elapsed))
                }
            }
        }
    }

    /// The intended start of call `k`: `None` past the end, and always `None` in the closed
    /// model (its calls start when the previous one ends; latency is from the actual start).
    pub fn intended(&self, k: u64) -> Option<Duration> {
        match self {
            Schedule::Open(o) => o.intended(k),
            Schedule::Closed { .. } => None,
        }
    }

    /// Expected calls in `[from, to)`; `None` in the closed model, which offers no rate (it
    /// sends as fast as the gateway answers).
    pub fn offered(&self, from: Duration, to: Duration) -> Option<f64> {
        match self {
            Schedule::Open(o) => Some(o.offered(from, to)),
            Schedule::Closed { .. } => None,
        }
    }

    /// The highest offered rate; `None` in the closed model.
    pub fn peak_rate(&self) -> Option<f64> {
        match self {
            Schedule::Open(o) => Some(o.peak_rate()),
            Schedule::Closed { .. } => None,
        }
    }

    /// How many calls the schedule holds; `None` in the closed model.
    pub fn calls(&self) -> Option<u64> {
        match self {
            Schedule::Open(o) => Some(o.calls()),
            Schedule::Closed { .. } => None,
        }
    }

    /// `--rate-scale F`: every rate times F (open), or the sessions times F, rounded, at
    /// least 1 (closed).
    pub fn scaled(&self, factor: f64) -> Result<Schedule, String> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(format!(
                "the rate scale must be a number above 0 (got {factor})"
            ));
        }
        match self {
            Schedule::Open(o) => o.scaled(factor).map(Schedule::Open),
            Schedule::Closed {
                sessions,
                think,
                duration,
            } => Ok(Schedule::Closed {
                sessions: (f64::from(*sessions) * factor)
                    .round()
                    .clamp(1.0, f64::from(u32::MAX)) as u32,
                think: *think,
                duration: *duration,
            }),
        }
    }

    /// `--duration D`: the schedule cut at `at` (never extended), and the stages or steps
    /// that would have started at or after it (for a warning; the one running at `at` is cut,
    /// not listed).
    pub fn truncated(&self, at: Duration) -> (Schedule, Vec<Segment>) {
        match self {
            Schedule::Open(o) => {
                let (o, dropped) = o.truncated(at);
                (Schedule::Open(o), dropped)
            }
            Schedule::Closed {
                sessions,
                think,
                duration,
            } => (
                Schedule::Closed {
                    sessions: *sessions,
                    think: *think,
                    duration: (*duration).min(at),
                },
                Vec::new(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    fn open(p: Profile, spacing: Spacing) -> Open {
        match Schedule::open(p, spacing).unwrap() {
            Schedule::Open(o) => o,
            Schedule::Closed { .. } => unreachable!(),
        }
    }

    fn starts(o: &Open) -> Vec<Duration> {
        (0..).map_while(|k| o.intended(k)).collect()
    }

    #[test]
    fn constant_rate_uniform_is_exact_and_even() {
        let o = open(Profile::constant(100.0, s(10.0)).unwrap(), Spacing::Uniform);
        let t = starts(&o);
        assert_eq!(t.len(), 1000);
        assert_eq!(o.calls(), 1000);
        assert_eq!(t[0], Duration::ZERO);
        for (k, w) in t.windows(2).enumerate() {
            let gap = (w[1] - w[0]).as_nanos() as i128;
            assert!((gap - 10_000_000).abs() <= 1, "gap {k}: {gap}");
        }
        assert!(t[999] < s(10.0));
    }

    #[test]
    fn poisson_has_the_right_mean_gap_and_is_seeded() {
        // 100/s for 10 s over 20 seeds: 20,000 gaps, so the pooled mean is good to ~0.7%.
        let p = Profile::constant(100.0, s(10.0)).unwrap();
        let mut gaps = Vec::new();
        let mut calls = 0;
        for seed in 0..20 {
            let o = open(p.clone(), Spacing::Poisson { seed });
            let t = starts(&o);
            assert_eq!(t.len() as u64, o.calls());
            assert_eq!(t[0], Duration::ZERO);
            assert!(t.windows(2).all(|w| w[0] <= w[1]) && t[t.len() - 1] < s(10.0));
            calls += t.len();
            gaps.extend(t.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()));
        }
        let per_run = calls as f64 / 20.0;
        assert!((per_run - 1000.0).abs() < 30.0, "{per_run} calls per run");
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!((mean - 0.01).abs() < 0.0003, "mean gap {mean}");
        // Exponential gaps: the standard deviation equals the mean.
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        assert!(
            (var.sqrt() / mean - 1.0).abs() < 0.03,
            "cv {}",
            var.sqrt() / mean
        );
        let seeded = |seed| starts(&open(p.clone(), Spacing::Poisson { seed }));
        assert_eq!(seeded(7), seeded(7));
        assert_ne!(seeded(7), seeded(8));
    }

    #[test]
    fn poisson_mean_gap_over_a_long_run() {
        let o = open(
            Profile::constant(1000.0, s(100.0)).unwrap(),
            Spacing::Poisson { seed: 42 },
        );
        let n = o.calls();
        assert!((n as f64 - 100_000.0).abs() < 1500.0, "{n}");
        let last = o.intended(n - 1).unwrap().as_secs_f64();
        let mean = last / (n - 1) as f64;
        assert!((mean - 0.001).abs() < 0.00002, "mean gap {mean}");
        assert_eq!(o.intended(n), None);
    }

    #[test]
    fn profiles_integrate_right() {
        let ramp = |to, over| Stage::Ramp { to, over: s(over) };
        let cases: Vec<(&str, Profile, f64)> = vec![
            (
                "constant",
                Profile::constant(100.0, s(10.0)).unwrap(),
                1000.0,
            ),
            (
                "ramp 0→100/10s",
                Profile::stages(0.0, &[ramp(100.0, 10.0)]).unwrap(),
                500.0,
            ),
            (
                "ramp then hold",
                Profile::stages(0.0, &[ramp(500.0, 30.0), Stage::Hold(s(30.0))]).unwrap(),
                7500.0 + 15000.0,
            ),
            (
                "from 50, up and down",
                Profile::stages(50.0, &[ramp(150.0, 10.0), ramp(0.0, 10.0)]).unwrap(),
                1000.0 + 750.0,
            ),
            (
                "jump then hold",
                Profile::stages(0.0, &[ramp(80.0, 0.0), Stage::Hold(s(5.0))]).unwrap(),
                400.0,
            ),
            (
                "steps 100..500 by 100, 20s",
                Profile::steps(Steps {
                    from: 100.0,
                    by: 100.0,
                    hold: s(20.0),
                    max: 500.0,
                })
                .unwrap(),
                (100.0 + 200.0 + 300.0 + 400.0 + 500.0) * 20.0,
            ),
            (
                "steps stop below max",
                Profile::steps(Steps {
                    from: 10.0,
                    by: 40.0,
                    hold: s(1.0),
                    max: 100.0,
                })
                .unwrap(),
                10.0 + 50.0 + 90.0,
            ),
        ];
        for (name, p, want) in cases {
            let end = p.duration();
            let o = open(p, Spacing::Uniform);
            assert!(
                (o.offered(Duration::ZERO, end) - want).abs() < 1e-6,
                "{name}"
            );
            let got = starts(&o).len() as f64;
            assert!(
                (got - want).abs() <= 1.0,
                "{name}: {got} calls, want {want}"
            );
            assert_eq!(got as u64, o.calls(), "{name}");
        }
    }

    #[test]
    fn ramp_places_calls_where_the_integral_says() {
        // 0 → 100/s over 10 s: N(t) = 5t², so call k is due at √(k/5).
        let o = open(
            Profile::stages(
                0.0,
                &[Stage::Ramp {
                    to: 100.0,
                    over: s(10.0),
                }],
            )
            .unwrap(),
            Spacing::Uniform,
        );
        for k in [0u64, 1, 5, 125, 320, 499] {
            let want = (k as f64 / 5.0).sqrt();
            let got = o.intended(k).unwrap().as_secs_f64();
            assert!((got - want).abs() < 1e-6, "call {k}: {got} vs {want}");
        }
        assert_eq!(o.intended(500), None);
        assert!((o.rate_at(s(2.5)) - 25.0).abs() < 1e-9);
        assert!((o.offered(s(0.0), s(1.0)) - 5.0).abs() < 1e-9);
        assert!((o.offered(s(9.0), s(20.0)) - 95.0).abs() < 1e-9);
        assert_eq!(o.peak_rate(), 100.0);
    }

    #[test]
    fn steps_are_held_at_each_rate() {
        let p = Profile::steps(Steps {
            from: 100.0,
            by: 100.0,
            hold: s(20.0),
            max: 2000.0,
        })
        .unwrap();
        assert_eq!(p.segments().len(), 20);
        assert_eq!(p.duration(), s(400.0));
        let o = open(p, Spacing::Uniform);
        for (t, want) in [(0.0, 100.0), (19.9, 100.0), (20.0, 200.0), (399.0, 2000.0)] {
            assert_eq!(o.rate_at(s(t)), want, "t = {t}");
        }
        assert_eq!(o.peak_rate(), 2000.0);
        assert!((o.offered(s(20.0), s(40.0)) - 4000.0).abs() < 1e-6);
    }

    #[test]
    fn pace_waits_until_due_and_stops_exactly_at_the_end() {
        let sched =
            Schedule::open(Profile::constant(10.0, s(1.0)).unwrap(), Spacing::Uniform).unwrap();
        let cases = [
            // (elapsed, sent) → (wait, stop)
            (0.0, 0, 0.0, false),
            (0.0, 1, 0.1, false),
            (0.05, 1, 0.05, false),
            (0.5, 1, 0.0, false), // behind schedule: send now, never a negative wait
            (0.95, 9, 0.0, false),
            (0.85, 9, 0.05, false),
            (0.9, 10, 0.0, true),
            (5.0, 10, 0.0, true),
        ];
        for (elapsed, sent, wait, stop) in cases {
            let p = sched.pace(s(elapsed), sent);
            assert_eq!(p.stop, stop, "({elapsed}, {sent})");
            assert!(
                (p.wait.as_secs_f64() - wait).abs() < 1e-6,
                "({elapsed}, {sent}): {p:?}"
            );
        }
    }

    #[test]
    fn pace_never_goes_backwards_with_poisson() {
        let sched = Schedule::open(
            Profile::stages(
                0.0,
                &[Stage::Ramp {
                    to: 300.0,
                    over: s(5.0),
                }],
            )
            .unwrap(),
            Spacing::Poisson { seed: 3 },
        )
        .unwrap();
        let mut now = Duration::ZERO;
        let mut sent = 0;
        loop {
            let p = sched.pace(now, sent);
            if p.stop {
                break;
            }
            now += p.wait;
            assert_eq!(Some(now), sched.intended(sent));
            sent += 1;
        }
        assert!(now < s(5.0));
        assert_eq!(Some(sent), sched.calls());
    }

    #[test]
    fn closed_model_paces_per_worker() {
        let sched = Schedule::closed(4, Duration::from_millis(10), s(1.0)).unwrap();
        let cases = [
            (0.0, 0, 0.0, false),
            (0.3, 0, 0.0, false), // a worker that starts late goes at once
            (0.2, 5, 0.01, false),
            (0.989, 9, 0.01, false),
            (0.99, 9, 0.0, true), // the next call would start at the end
            (1.0, 0, 0.0, true),
        ];
        for (elapsed, sent, wait, stop) in cases {
            let p = sched.pace(s(elapsed), sent);
            assert_eq!(p.stop, stop, "({elapsed}, {sent})");
            assert!(
                (p.wait.as_secs_f64() - wait).abs() < 1e-9,
                "({elapsed}, {sent})"
            );
        }
        assert_eq!(sched.pacers(), 4);
        assert_eq!(sched.intended(0), None);
        assert_eq!(sched.offered(s(0.0), s(1.0)), None);
        assert!(Schedule::closed(0, Duration::ZERO, s(1.0)).is_err());
    }

    #[test]
    fn scaling_multiplies_rates_or_sessions() {
        let sched =
            Schedule::open(Profile::constant(100.0, s(10.0)).unwrap(), Spacing::Uniform).unwrap();
        let half = sched.scaled(0.5).unwrap();
        assert_eq!(half.calls(), Some(500));
        assert_eq!(half.peak_rate(), Some(50.0));
        let poisson = Schedule::open(
            Profile::constant(100.0, s(10.0)).unwrap(),
            Spacing::Poisson { seed: 1 },
        )
        .unwrap();
        let more = poisson.scaled(3.0).unwrap().calls().unwrap();
        assert!((more as f64 - 3000.0).abs() < 200.0, "{more}");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(sched.scaled(bad).is_err());
        }
        let closed = Schedule::closed(50, Duration::ZERO, s(1.0)).unwrap();
        assert_eq!(closed.scaled(0.1).unwrap().pacers(), 5);
        assert_eq!(closed.scaled(0.001).unwrap().pacers(), 1);
    }

    #[test]
    fn truncation_cuts_and_reports_what_it_dropped() {
        let ramp = |to, over| Stage::Ramp { to, over: s(over) };
        let stages = [ramp(100.0, 10.0), Stage::Hold(s(10.0)), ramp(0.0, 10.0)];
        let sched =
            Schedule::open(Profile::stages(0.0, &stages).unwrap(), Spacing::Uniform).unwrap();
        let cases: [(f64, &[Part], f64); 5] = [
            (30.0, &[], 2000.0),
            (40.0, &[], 2000.0), // never extended
            (20.0, &[Part::Stage(2)], 1500.0),
            (15.0, &[Part::Stage(2)], 500.0 + 500.0),
            (5.0, &[Part::Stage(1), Part::Stage(2)], 125.0),
        ];
        for (at, want_dropped, want_calls) in cases {
            let (cut, dropped) = sched.truncated(s(at));
            let parts: Vec<Part> = dropped.iter().map(|d| d.part).collect();
            assert_eq!(parts, want_dropped, "at {at}");
            assert_eq!(cut.duration(), s(at.min(30.0)), "at {at}");
            assert_eq!(cut.calls(), Some(want_calls as u64), "at {at}");
        }
        let (_, dropped) = sched.truncated(s(15.0));
        assert_eq!(
            dropped[0].to_string(),
            "stages[2] (100/s to 0/s over 10s from 20s)"
        );
        let closed = Schedule::closed(2, Duration::ZERO, s(60.0)).unwrap();
        assert_eq!(closed.truncated(s(5.0)).0.duration(), s(5.0));
    }

    #[test]
    fn a_held_tail_is_extended_and_not_reported() {
        let p = Profile::stages(
            0.0,
            &[Stage::Ramp {
                to: 10.0,
                over: s(2.0),
            }],
        )
        .unwrap()
        .held_to(s(5.0));
        assert_eq!(p.duration(), s(5.0));
        assert_eq!(p.segments()[1].part, Part::Tail);
        let sched = Schedule::open(p, Spacing::Uniform).unwrap();
        assert_eq!(sched.calls(), Some(10 + 30));
        let (_, dropped) = sched.truncated(s(1.0));
        assert!(dropped.is_empty());
    }

    #[test]
    fn bad_profiles_say_what_to_fix() {
        let cases: [(Result<Profile, String>, &str); 5] = [
            (Profile::constant(-1.0, s(1.0)), "`rate`"),
            (
                Profile::stages(
                    0.0,
                    &[Stage::Ramp {
                        to: f64::NAN,
                        over: s(1.0),
                    }],
                ),
                "stages[0].to",
            ),
            (
                Profile::steps(Steps {
                    from: 1.0,
                    by: 0.0,
                    hold: s(1.0),
                    max: 5.0,
                }),
                "steps.by",
            ),
            (
                Profile::steps(Steps {
                    from: 9.0,
                    by: 1.0,
                    hold: s(1.0),
                    max: 5.0,
                }),
                "steps.max",
            ),
            (
                Profile::steps(Steps {
                    from: 0.0,
                    by: 1e-3,
                    hold: s(1.0),
                    max: 1e3,
                }),
                "at most",
            ),
        ];
        for (got, want) in cases {
            let e = got.unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let huge = Profile::constant(1e7, s(3600.0)).unwrap();
        assert!(Schedule::open(huge, Spacing::Poisson { seed: 0 }).is_err());
    }

    #[test]
    fn empty_and_zero_rate_schedules_stop_at_once() {
        for p in [Profile::default(), Profile::constant(0.0, s(10.0)).unwrap()] {
            let sched = Schedule::open(p, Spacing::Poisson { seed: 1 }).unwrap();
            assert_eq!(sched.pace(Duration::ZERO, 0), Pace::STOP);
            assert_eq!(sched.calls(), Some(0));
        }
    }
}
