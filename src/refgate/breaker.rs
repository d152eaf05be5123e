//! A circuit breaker per backend: closed (calls pass, consecutive failures counted) → open
//! after `failures` in a row (calls fail at once) → after `open_for`, half-open: one probe call
//! passes → closed if it succeeds, open again if it fails.
//!
//! Pure: the time is passed in, so the states are tested without sleeping. What counts as a
//! failure is the caller's decision (the server did not answer: refused, reset, timeout, an
//! HTTP error); a JSON-RPC error or a tool error is an answer, hence a success.

use super::config::BreakerSettings;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// Whether a call may go to the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Closed: go.
    Pass,
    /// Half-open: this call is the probe.
    Probe,
    /// Open (or a probe is already out): fail fast.
    Reject,
}

#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    consecutive: u32,
    /// Open: when the probe may go. Half-open: when the probe went.
    since: Instant,
    /// How long a probe may stay out before another one is let through (a probe whose call was
    /// abandoned must not keep the circuit half-open forever).
    probe_limit: Duration,
    /// Times the circuit opened.
    pub opened: u64,
}

impl Breaker {
    pub fn new(settings: BreakerSettings, probe_limit: Duration, now: Instant) -> Breaker {
        Breaker {
            settings,
            state: State::Closed,
            consecutive: 0,
            since: now,
            probe_limit,
            opened: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Consecutive failures so far (closed).
    pub fn failures(&self) -> u32 {
        self.consecutive
    }

    pub fn admit(&mut self, now: Instant) -> Admit {
        match self.state {
            State::Closed => Admit::Pass,
            State::Open if now >= self.since => {
                self.state = State::HalfOpen;
                self.since = now;
                Admit::Probe
            }
            State::Open => Admit::Reject,
            State::HalfOpen if now >= self.since + self.probe_limit => {
                self.since = now;
                Admit::Probe
            }
            State::HalfOpen => Admit::Reject,
        }
    }

    pub fn success(&mut self) {
        self.state = State::Closed;
        self.consecutive = 0;
    }

    pub fn failure(&mut self, now: Instant) {
        match self.state {
            State::Closed => {
                self.consecutive += 1;
                if self.consecutive >= self.settings.failures {
                    self.open(now);
                }
            }
            // The probe failed (or a call admitted before the circuit opened).
            State::HalfOpen => self.open(now),
            State::Open => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.state = State::Open;
        self.since = now + self.settings.open_for;
        self.opened += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(now: Instant) -> Breaker {
        let s = BreakerSettings {
            failures: 3,
            open_for: Duration::from_secs(5),
        };
        Breaker::new(s, Duration::from_secs(30), now)
    }

    #[tokio::test(start_paused = true)]
    async fn opens_probes_and_closes() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Admit::Pass);
            b.failure(t0);
        }
        b.success();
        assert_eq!(b.failures(), 0);
        for _ in 0..3 {
            b.failure(t0);
        }
        assert_eq!((b.state(), b.opened), (State::Open, 1));
        assert_eq!(b.admit(t0 + Duration::from_secs(4)), Admit::Reject);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.admit(t1), Admit::Probe);
        assert_eq!(b.admit(t1), Admit::Reject, "one probe at a time");
        b.failure(t1);
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.admit(t1 + Duration::from_secs(1)), Admit::Reject);
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!(b.admit(t2), Admit::Probe);
        b.success();
        assert_eq!((b.state(), b.admit(t2)), (State::Closed, Admit::Pass));
        assert_eq!(b.opened, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_probe_does_not_stick() {
        let t0 = Instant::now();
        let mut b = breaker(t0);
        for _ in 0..3 {
            b.failure(t0);
        }
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.admit(t1), Admit::Probe);
        assert_eq!(b.admit(t1 + Duration::from_secs(29)), Admit::Reject);
        assert_eq!(b.admit(t1 + Duration::from_secs(30)), Admit::Probe);
    }
}
