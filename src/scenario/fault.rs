//! A fault kind with its settings, as a scenario's `faults:` entry names it (docs/scenario.md,
//! "Faults"). What each kind does to a server lives in `fault::<kind>`, one file each.

use super::spec::{
    CrashSpec, DataChangeSpec, LatencyFaultSpec, ListChangeSpec, MalformedSpec, OutageMode,
};
use crate::catalog::ErrorMix;
use serde::{Serialize, Serializer};
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DurationDist;
    use crate::units::Dur;

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
