//! The progress line on a terminal: the last second's calls, p99 and errors.

use crate::plan::build::Plan;
use crate::plan::schedule::Schedule;
use crate::sample::Sample;
use std::time::Duration;

/// The figures of the progress line, for the last second.
#[derive(Default)]
pub struct Progress {
    calls: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

impl Progress {
    pub fn add(&mut self, s: &Sample) {
        self.calls += 1;
        if s.outcome.is_ok() {
            if self.latencies_us.len() < 100_000 {
                self.latencies_us
                    .push((s.latency_from_intended_ns().max(0) / 1000) as u64);
            }
        } else {
            self.errors += 1;
        }
    }

    pub fn print(&mut self, elapsed: Duration, plan: &Plan) {
        self.latencies_us.sort_unstable();
        let p99 = self
            .latencies_us
            .get(
                (self.latencies_us.len() * 99 / 100).min(self.latencies_us.len().saturating_sub(1)),
            )
            .map_or("-".to_string(), |us| {
                format!("{:.1}ms", *us as f64 / 1000.0)
            });
        let errors = if self.calls == 0 {
            0.0
        } else {
            100.0 * self.errors as f64 / self.calls as f64
        };
        let total = match &plan.schedule {
            Schedule::Open(o) => o.end(),
            Schedule::Closed { duration, .. } => *duration,
        };
        eprint!(
            "\r{:>5.0}s/{:.0}s  {:<9} {:>7} calls/s  p99 {:>8}  errors {:>5.1}%   ",
            elapsed.as_secs_f64(),
            total.as_secs_f64(),
            plan.phase_at(elapsed).to_string(),
            self.calls,
            p99,
            errors
        );
        *self = Progress::default();
    }
}
