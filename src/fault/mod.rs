//! Faults (docs/scenario.md, "Faults"): what each kind does to a mock server, and the runner that
//! switches them on and off on the run's clock.
//!
//! | file | what |
//! |---|---|
//! | [`latency`] | delay added to every request (fixed, uniform, normal, lognormal, pareto), or `stall`: held until the window ends |
//! | [`errors`] | a JSON-RPC error, an `isError` result or an HTTP status, drawn per call at a rate |
//! | [`outage`] | the port refuses, resets or swallows connections; `kill` also forgets every session |
//! | [`flapping`] | down and up in turn within a window, by period and duty cycle |
//! | [`malformed`] | answers broken on the wire: invalid JSON, wrong id, cut SSE, dripped |
//! | [`session_loss`] | every session forgotten: 404 for the old `Mcp-Session-Id` |
//! | [`list_change`] | tools added and removed; `notifications/tools/list_changed` |
//! | [`data_change`] | tool results carry a data version, which changes |
//! | [`slow_start`] | the first initialize (first request, 2026-07-28) answered after a delay |
//! | [`crash`] | a stdio server's process exits, at a time or after N calls |
//! | [`backchannel`] | `GAUNTLET_RUN`: stdio mocks get their faults from the run and report spawn, ready, exit and the calls they served |
//! | [`live`] | one server's faults at this moment: the request path asks it what to do to a request |
//! | [`hold`] | the waiting a request does before its work starts (added latency, stalls, a cold start) |
//! | [`target`] | [`target::FaultTarget`]: what a fault acts on, a mock server in process or over stdio |
//! | [`runner`] | walks one server's occurrences on the run's clock and records when each really started and ended |
//! | [`served`] | what the stdio mocks served, per server: call ids seen once and twice, calls without an id |
//!
//! Kinds are the variants of one serde-tagged enum, [`FaultKind`] (no registry), which the
//! scenario owns (`scenario::fault`): the scenario reader builds them, a `match` here
//! dispatches them. Whether a fault fires for a call is a pure function of (seed, fault index,
//! call key) — [`draw`] — never a shared random stream, so the same seed gives the same faults
//! call for call however calls interleave.

pub mod backchannel;
pub mod crash;
pub mod data_change;
pub mod errors;
pub mod flapping;
pub mod hold;
pub mod latency;
pub mod list_change;
pub mod live;
pub mod malformed;
pub mod outage;
pub mod runner;
pub mod served;
pub mod session_loss;
pub mod slow_start;
pub mod target;

use crate::dist::{mix, unit};
use crate::scenario::FaultKind;
use std::time::Duration;

pub use live::Live;

/// One occurrence of a fault on one server, as the mock runs it. Times count from t = 0.
#[derive(Debug, Clone)]
pub struct Scheduled {
    /// Its number in the run's timeline: the `i` of phases `fault:i` and `settle:i`.
    pub window: usize,
    /// Its index in the scenario's `faults:`: what the per-call draws key on.
    pub fault: usize,
    pub tool: Option<String>,
    pub start: Duration,
    /// `None` for a point event.
    pub end: Option<Duration>,
    pub kind: FaultKind,
}

/// Salt of the fault draws (keeps them apart from the catalogue's own per-call draws).
const SALT: u64 = 0x6661_756c_745f_6472;

/// A uniform draw in [0, 1): a pure function of the seed, the fault's index, the call's key
/// and which of a fault's draws it is (`stream`).
pub fn draw(seed: u64, fault: usize, key: u64, stream: u64) -> f64 {
    unit(mix(seed ^ SALT) ^ mix((fault as u64) << 8 | stream), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_pure_and_apart_by_seed_fault_key_and_stream() {
        assert_eq!(draw(1, 2, 3, 0), draw(1, 2, 3, 0));
        let base = draw(1, 2, 3, 0);
        for other in [
            draw(9, 2, 3, 0),
            draw(1, 5, 3, 0),
            draw(1, 2, 4, 0),
            draw(1, 2, 3, 1),
        ] {
            assert_ne!(base, other);
        }
        let n = 20_000;
        let under = (0..n).filter(|&k| draw(7, 0, mix(k), 0) < 0.2).count();
        let share = under as f64 / n as f64;
        assert!((share - 0.2).abs() < 0.01, "{share}");
    }
}
