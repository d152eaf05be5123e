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
//! | [`runner`] | walks one server's occurrences on the run's clock and records when each really started and ended |
//! | [`served`] | what the stdio mocks served, per server: call ids seen once and twice, calls without an id |
//!
//! Kinds are the variants of one serde-tagged enum, [`FaultKind`] (no registry): the scenario
//! reader builds them, a `match` dispatches them. Whether a fault fires for a call is a pure
//! function of (seed, fault index, call key) — [`draw`] — never a shared random stream, so the
//! same seed gives the same faults call for call however calls interleave.

pub mod backchannel;
pub mod crash;
pub mod data_change;
pub mod errors;
pub mod flapping;
pub mod latency;
pub mod list_change;
pub mod live;
pub mod malformed;
pub mod outage;
pub mod runner;
pub mod served;
pub mod session_loss;
pub mod slow_start;

use crate::catalog::ErrorMix;
use crate::dist::{mix, unit};
use crate::scenario::spec::{
    CrashSpec, DataChangeSpec, LatencyFaultSpec, ListChangeSpec, MalformedSpec, OutageMode,
};
use serde::{Serialize, Serializer};
use std::time::Duration;

pub use live::Live;

/// A fault kind with its settings, as in a scenario's `faults:` entry (serialized the same way:
/// `{"outage": "refuse"}`, `{"latency": {"fixed": "300ms"}}`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Latency(LatencyFaultSpec),
    Errors(Vec<ErrorMix>),
    Outage(OutageMode),
    Crash(CrashSpec),
    SlowStart(#[serde(serialize_with = "duration")] Duration),
    Flapping {
        #[serde(serialize_with = "duration")]
        period: Duration,
        #[serde(serialize_with = "percent")]
        duty: f64,
    },
    Malformed(MalformedSpec),
    #[serde(serialize_with = "always")]
    SessionLoss,
    ListChange(ListChangeSpec),
    DataChange(DataChangeSpec),
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency(_) => "latency",
            FaultKind::Errors(_) => "errors",
            FaultKind::Outage(_) => "outage",
            FaultKind::Crash(_) => "crash",
            FaultKind::SlowStart(_) => "slow_start",
            FaultKind::Flapping { .. } => "flapping",
            FaultKind::Malformed(_) => "malformed",
            FaultKind::SessionLoss => "session_loss",
            FaultKind::ListChange(_) => "list_change",
            FaultKind::DataChange(_) => "data_change",
        }
    }

    /// Whether the kind acts on requests as they arrive (rather than on connections, sessions
    /// or lists at its edges).
    pub fn in_band(&self) -> bool {
        matches!(
            self,
            FaultKind::Latency(_)
                | FaultKind::Errors(_)
                | FaultKind::Malformed(_)
                | FaultKind::SlowStart(_)
        )
    }

    /// Whether the kind can act on a stdio server (one session, no port, no HTTP answers).
    pub fn acts_on_stdio(&self) -> bool {
        !matches!(
            self,
            FaultKind::Outage(_)
                | FaultKind::Flapping { .. }
                | FaultKind::Malformed(_)
                | FaultKind::SessionLoss
        )
    }

    /// The kind with its setting, as a scenario writes it: `outage: refuse`,
    /// `errors: {rate: 20%, rpc: {code: -32603, message: Internal error}}`.
    pub fn describe(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => {
                m.iter().map(|(k, v)| format!("{k}: {}", flow(v))).collect()
            }
            _ => self.name().to_string(),
        }
    }
}

/// A JSON value in YAML flow style, without quotes.
fn flow(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let entries: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {}", flow(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

pub(crate) fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::units::format_duration(*d))
}

pub(crate) fn percent<S: Serializer>(f: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}%", (f * 1e6).round() / 1e4))
}

fn always<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(true)
}

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
    use crate::dist::DurationDist;
    use crate::units::Dur;

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

    #[test]
    fn kinds_serialize_in_the_scenario_shape() {
        let cases: Vec<(FaultKind, &str)> = vec![
            (
                FaultKind::Outage(OutageMode::Refuse),
                r#"{"outage":"refuse"}"#,
            ),
            (
                FaultKind::Latency(LatencyFaultSpec::Stall),
                r#"{"latency":"stall"}"#,
            ),
            (
                FaultKind::Latency(LatencyFaultSpec::Add(DurationDist::Fixed(Dur(
                    Duration::from_millis(300),
                )))),
                r#"{"latency":"300ms"}"#,
            ),
            (FaultKind::SessionLoss, r#"{"session_loss":true}"#),
            (
                FaultKind::SlowStart(Duration::from_millis(800)),
                r#"{"slow_start":"800ms"}"#,
            ),
            (
                FaultKind::Flapping {
                    period: Duration::from_secs(2),
                    duty: 0.25,
                },
                r#"{"flapping":{"period":"2s","duty":"25%"}}"#,
            ),
            (
                FaultKind::Malformed(MalformedSpec::CutSse),
                r#"{"malformed":"cut_sse"}"#,
            ),
            (
                FaultKind::Malformed(MalformedSpec::Drip(Dur(Duration::from_secs(5)))),
                r#"{"malformed":{"drip":"5s"}}"#,
            ),
            (
                FaultKind::Crash(CrashSpec::AfterCalls(3)),
                r#"{"crash":{"after_calls":3}}"#,
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                want,
                "{}",
                kind.name()
            );
        }
        assert_eq!(
            FaultKind::Outage(OutageMode::Kill).describe(),
            "outage: kill"
        );
    }
}
