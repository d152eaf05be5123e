//! [`Summary`]: what a run measured, exactly as results.json holds it (schema version 1,
//! `reports/results.schema.json`). Every view (CSV, HTML, JUnit, Markdown, `gauntlet report`,
//! `gauntlet compare`) is rebuilt from it.
//!
//! Conventions:
//! - Times are milliseconds (`_ms`) or seconds (`_s`, `second`); event times stay nanoseconds
//!   from t = 0 as the driver recorded them.
//! - `outcomes` maps an outcome class (`ok`, `timeout`, …) to its count — the classes add up to
//!   the entry's `count` — and an outcome with its detail (`rpc_error:-32603`, `http_error:503`,
//!   `transport:refused`, `protocol:wrong_id`) to its count — the details add up to their class.
//!   Zero counts are left out.
//! - `latency_ms` is over ok calls and null where there are none; `histogram` is the ok calls'
//!   histogram (µs), so `latency_ms` can be recomputed from it ([`Summary::rebuild_percentiles`]).

use super::hist::{self, HistogramError, Latency};
use crate::plan::phase::Phase;
use crate::sample::{Event, EventKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The version of the results.json contract.
pub const SCHEMA_VERSION: u32 = 1;
/// A run whose send lag p99 exceeds this is `generator_saturated` (docs/reports.md, "report.html").
pub const SEND_LAG_P99_LIMIT_MS: f64 = 5.0;
/// A run whose driver threads use more than this share of one core in any second is
/// `generator_saturated` (docs/reports.md, "report.html").
pub const DRIVER_CPU_LIMIT_PCT: f64 = 80.0;

/// results.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    pub seed: u64,
    pub gauntlet_version: String,
    pub scenario_hash: String,
    /// RFC 3339, UTC, to the millisecond.
    pub started_at: String,
    pub duration_s: f64,
    /// The run was cut short (interrupted): the numbers cover what ran.
    pub partial: bool,
    /// The load generator, not the gateway, was the bottleneck somewhere (see [`Saturation`]).
    pub generator_saturated: bool,
    pub saturation: Saturation,
    /// One entry per phase × server × tool that had calls.
    pub calls: Vec<CallStats>,
    /// Send lag (actual − intended start) of every sent call, all phases.
    pub send_lag_ms: Latency,
    pub events: Vec<EventEntry>,
    /// One entry per second (of intended start) × server that had calls.
    pub timeseries: Vec<SecondStats>,
    pub process: Vec<ProcessSecond>,
    /// The revision and transport spoken with each target.
    #[serde(default)]
    pub protocols: Vec<ProtocolUsed>,
    /// What each in-process mock server's clients spoke (the driver, or the gateway), with
    /// the requests of each revision and transport.
    #[serde(default)]
    pub served: Vec<ProtocolServed>,
    /// The gateway under test (absent under `gateway: none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayInfo>,
    /// What reached the mocks of what the driver sent, and what came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<Propagation>,
    /// Every fault occurrence of the timeline, planned and actual (empty without faults).
    #[serde(default)]
    pub windows: Vec<FaultWindow>,
    /// The run's phases in time order (t = 0 to the end; the baseline, before t = 0, is not
    /// among them): which second belongs to which phase.
    #[serde(default)]
    pub phases: Vec<PhaseSpan>,
    /// The derived figures (docs/metrics.md).
    #[serde(default)]
    pub derived: super::figures::Derived,
    /// One per budget, in the order written (scenario first, then `--budget`).
    #[serde(default)]
    pub verdicts: Vec<super::figures::Verdict>,
}

/// The gateway under test: how it was reached, its names for the scenario's tools, and how
/// it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayInfo {
    /// `launched` or `running`.
    pub kind: String,
    pub url: String,
    /// The argv it was started with (launched gateways).
    #[serde(default)]
    pub command: Vec<String>,
    pub names: Vec<GatewayName>,
    /// Set when it exited before the run ended: how.
    #[serde(default)]
    pub exited_during_run: Option<String>,
    /// Processes still running after SIGTERM and the grace period, killed.
    #[serde(default)]
    pub killed_at_teardown: u64,
    /// Processes left behind outside its group, killed at the end.
    #[serde(default)]
    pub swept_at_teardown: u64,
}

/// A scenario tool and its name at the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayName {
    pub server: String,
    pub tool: String,
    pub name: String,
    /// `discovered` (matched against tools/list) or `given` (`tool_names:`).
    pub how: String,
}

/// Propagation (docs/scenario.md, "Gateway"): of the tools/call requests the in-process mocks
/// received, how many carried the driver's call id and a traceparent; of the driver's ok calls, how
/// many brought the mock's service time back. Shares are null when there is nothing to divide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Propagation {
    pub backend_calls: u64,
    pub with_call_id: u64,
    pub call_id_share: Option<f64>,
    pub with_traceparent: u64,
    pub traceparent_share: Option<f64>,
    pub ok_calls: u64,
    pub with_service_time: u64,
    pub service_time_share: Option<f64>,
}

impl Propagation {
    pub fn new(
        backend_calls: u64,
        with_call_id: u64,
        with_traceparent: u64,
        ok: (u64, u64),
    ) -> Self {
        let share = |n: u64, of: u64| (of > 0).then(|| super::hist::round3(n as f64 / of as f64));
        Propagation {
            backend_calls,
            with_call_id,
            call_id_share: share(with_call_id, backend_calls),
            with_traceparent,
            traceparent_share: share(with_traceparent, backend_calls),
            ok_calls: ok.0,
            with_service_time: ok.1,
            service_time_share: share(ok.1, ok.0),
        }
    }
}

/// Requests one mock server answered in one revision over one transport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolServed {
    pub server: String,
    pub revision: String,
    pub era: String,
    pub transport: String,
    pub requests: u64,
}

/// What the driver spoke with one target (a mock server, or `gateway`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolUsed {
    pub target: String,
    /// The revision in use: the one the server chose at initialize, or 2026-07-28.
    pub revision: String,
    /// `legacy-sse`, `session` or `stateless`.
    pub era: String,
    /// `streamable-http`, `http+sse` or `stdio`.
    pub transport: String,
    /// Found by `protocol: auto` rather than named by the scenario.
    pub probed: bool,
}

/// One span of the run's phase timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseSpan {
    pub phase: Phase,
    /// Seconds from t = 0.
    pub start_s: f64,
    pub end_s: f64,
}

impl PhaseSpan {
    /// The spans of `phases` within a run of length `run`.
    pub fn of(phases: &crate::plan::phase::Phases, run: std::time::Duration) -> Vec<PhaseSpan> {
        phases
            .within(run)
            .into_iter()
            .map(|(start, end, phase)| PhaseSpan {
                phase,
                start_s: start.as_secs_f64(),
                end_s: end.as_secs_f64(),
            })
            .collect()
    }
}

/// One occurrence of a fault: when the timeline planned it and when the mock really switched
/// it (milliseconds from t = 0). Its `window` is the `i` of phases `fault:i` and `settle:i`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    pub window: usize,
    /// The fault's index in the scenario's `faults:`.
    pub fault: usize,
    /// Which repetition of that fault (`every:`), from 0.
    pub repeat: u32,
    pub server: String,
    pub tool: Option<String>,
    /// The kind's name (`outage`, `latency`, …).
    pub kind: String,
    /// The kind with its setting, as in the scenario (`{"outage": "refuse"}`).
    pub fault_spec: serde_json::Value,
    pub planned_start_ms: f64,
    /// Null for a point event.
    pub planned_end_ms: Option<f64>,
    /// Null when it never started (the run ended first).
    pub actual_start_ms: Option<f64>,
    /// Null for a point event, or when it never ended.
    pub actual_end_ms: Option<f64>,
    /// The window was cut at the run's end (`--duration`).
    pub cut: bool,
}

/// The two figures behind `generator_saturated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Saturation {
    /// Null when no call was sent.
    pub send_lag_p99_ms: Option<f64>,
    /// The driver threads' CPU in the busiest second, percent of one core; null when unmeasured.
    pub driver_cpu_pct_max: Option<f64>,
}

impl Saturation {
    pub fn saturated(&self) -> bool {
        self.send_lag_p99_ms
            .is_some_and(|l| l > SEND_LAG_P99_LIMIT_MS)
            || self
                .driver_cpu_pct_max
                .is_some_and(|c| c > DRIVER_CPU_LIMIT_PCT)
    }
}

/// The calls of one phase to one server's tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallStats {
    pub phase: Phase,
    pub server: String,
    pub tool: String,
    pub count: u64,
    pub ok: u64,
    pub outcomes: BTreeMap<String, u64>,
    /// Calls per second of the phase (offered: every outcome counts); null when the phase's
    /// length is unknown.
    pub rate_per_s: Option<f64>,
    /// Over ok calls.
    pub latency_ms: Latency,
    /// The ok calls' latency histogram (µs), V2 compressed, base64.
    pub histogram: String,
    /// Every call that got an answer or a failure from the target — all outcomes but `dropped`
    /// (never sent) and `client_error` (the driver's own) — with timeouts at the timeout value.
    pub all_outcomes: LatencyHistogram,
    /// Latency by failed outcome class (`dropped` has none), timeouts at the timeout value: fail
    /// fast or hang?
    pub by_outcome: BTreeMap<String, LatencyHistogram>,
}

/// A latency summary with the histogram it was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    pub count: u64,
    pub latency_ms: Latency,
    pub histogram: String,
}

impl LatencyHistogram {
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> LatencyHistogram {
        LatencyHistogram {
            count: h.len(),
            latency_ms: Latency::of(h),
            histogram: hist::encode(h),
        }
    }

    /// Decodes the histogram, checks its count and recomputes `latency_ms`.
    fn rebuild(&mut self, what: impl FnOnce() -> String) -> Result<(), HistogramError> {
        let h = hist::decode(&self.histogram)?;
        if h.len() != self.count {
            return Err(HistogramError::Count {
                what: what(),
                expected: self.count,
                found: h.len(),
            });
        }
        self.latency_ms = Latency::of(&h);
        Ok(())
    }
}

/// One second (by intended start) of one server's calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondStats {
    /// Whole seconds from t = 0 (negative before it: the baseline).
    pub second: i64,
    pub server: String,
    /// Calls whose intended start fell in this second.
    pub offered: u64,
    /// Of those, calls that were sent (all but `dropped`).
    pub sent: u64,
    pub ok: u64,
    /// By outcome class only.
    pub outcomes: BTreeMap<String, u64>,
    /// Of ok calls whose answer arrived before the second was closed (timeout + 2 s after its
    /// end); null when there were none.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// What the processes used in one second of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProcessSecond {
    pub second: i64,
    /// Percent of one core; null when unmeasured.
    pub driver_cpu_pct: Option<f64>,
    pub mocks_cpu_pct: Option<f64>,
    /// Resident memory in MiB.
    pub rss_mb: f64,
    /// A launched gateway and everything it started: CPU (percent of one core), resident
    /// memory (MiB), processes, and of those the stdio backends it spawned. Absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewaySecond>,
}

/// One second of a launched gateway's process tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GatewaySecond {
    pub cpu_pct: f64,
    pub rss_mb: f64,
    pub processes: u64,
    pub backends: u64,
}

/// An [`Event`] as results.json holds it: `{"at_ns": …, "event": "<kind>", …fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEntry {
    pub at_ns: i64,
    #[serde(flatten)]
    pub kind: EventEntryKind,
}

/// Mirrors [`EventKind`] (which only serializes), so that results.json reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventEntryKind {
    SessionInit {
        server: String,
        session: u32,
        took_ns: u64,
        ok: bool,
    },
    Reinit {
        server: String,
        session: u32,
    },
    Fault {
        index: usize,
        server: String,
        kind: String,
        start: bool,
    },
    Process {
        server: String,
        pid: u32,
        what: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calls: Option<u64>,
    },
    Note {
        text: String,
    },
}

impl From<&Event> for EventEntry {
    fn from(e: &Event) -> EventEntry {
        let kind = match &e.kind {
            EventKind::SessionInit {
                server,
                session,
                took_ns,
                ok,
            } => EventEntryKind::SessionInit {
                server: server.clone(),
                session: *session,
                took_ns: *took_ns,
                ok: *ok,
            },
            EventKind::Reinit { server, session } => EventEntryKind::Reinit {
                server: server.clone(),
                session: *session,
            },
            EventKind::Fault {
                index,
                server,
                kind,
                start,
            } => EventEntryKind::Fault {
                index: *index,
                server: server.clone(),
                kind: kind.clone(),
                start: *start,
            },
            EventKind::Process {
                server,
                pid,
                what,
                reason,
                calls,
            } => EventEntryKind::Process {
                server: server.clone(),
                pid: *pid,
                what: what.clone(),
                reason: reason.clone(),
                calls: *calls,
            },
            EventKind::Note { text } => EventEntryKind::Note { text: text.clone() },
        };
        EventEntry {
            at_ns: e.at_ns,
            kind,
        }
    }
}

impl Summary {
    /// Decodes every embedded histogram, checks it against the counts beside it and recomputes
    /// the latency figures from it. On a fresh summary this changes nothing; on one read back
    /// from results.json it shows that the histograms and the numbers agree.
    pub fn rebuild_percentiles(&mut self) -> Result<(), HistogramError> {
        for c in &mut self.calls {
            let name = format!("{}/{}.{}", c.phase, c.server, c.tool);
            let mut ok = LatencyHistogram {
                count: c.ok,
                latency_ms: c.latency_ms,
                histogram: std::mem::take(&mut c.histogram),
            };
            let rebuilt = ok.rebuild(|| format!("{name} ok"));
            c.histogram = ok.histogram;
            rebuilt?;
            c.latency_ms = ok.latency_ms;
            c.all_outcomes.rebuild(|| format!("{name} all outcomes"))?;
            for (class, h) in &mut c.by_outcome {
                h.rebuild(|| format!("{name} {class}"))?;
            }
        }
        Ok(())
    }
}

/// `2026-07-28T09:30:00.123Z`; times before 1970 read as 1970.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |s: u64, ms: u64| UNIX_EPOCH + Duration::from_millis(s * 1000 + ms);
        assert_eq!(rfc3339_utc(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(at(951_782_400, 5)), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            rfc3339_utc(at(1_785_231_000, 123)),
            "2026-07-28T09:30:00.123Z"
        );
        assert_eq!(
            rfc3339_utc(at(4_102_444_799, 999)),
            "2099-12-31T23:59:59.999Z"
        );
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(rfc3339_utc(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn saturation_follows_its_limits() {
        let s = |lag, cpu| Saturation {
            send_lag_p99_ms: lag,
            driver_cpu_pct_max: cpu,
        };
        assert!(!s(None, None).saturated());
        assert!(!s(Some(5.0), Some(80.0)).saturated());
        assert!(s(Some(5.001), None).saturated());
        assert!(s(None, Some(80.5)).saturated());
    }

    #[test]
    fn events_keep_the_sample_contract_shape() {
        let events = [
            EventKind::SessionInit {
                server: "a".into(),
                session: 1,
                took_ns: 5,
                ok: true,
            },
            EventKind::Reinit {
                server: "a".into(),
                session: 2,
            },
            EventKind::Fault {
                index: 0,
                server: "b".into(),
                kind: "outage".into(),
                start: true,
            },
            EventKind::Note { text: "hi".into() },
        ];
        for kind in events {
            let e = Event { at_ns: -7, kind };
            let entry = EventEntry::from(&e);
            let want = serde_json::to_value(&e).expect("serializes");
            assert_eq!(serde_json::to_value(&entry).expect("serializes"), want);
            let back: EventEntry = serde_json::from_value(want).expect("reads back");
            assert_eq!(back, entry);
        }
    }
}
