//! The contract between the driver and the metrics: one [`Sample`] per call, one [`Event`] per
//! thing that happened to the run (docs/architecture.md, "A run"). Times are nanoseconds from t = 0
//! (the first intended call), negative before it (session initialization, the baseline phase).

use crate::mcp::outcome::Outcome;
use crate::plan::phase::Phase;
use serde::Serialize;

/// One call, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The call id (`dev.gauntlet/call-id`): the run's dense sequence.
    pub call_id: u64,
    /// Index of the call's (server, tool) in the run's key table.
    pub key: u32,
    /// The phase of the intended start.
    pub phase: Phase,
    /// When the schedule wanted the call sent.
    pub intended_ns: i64,
    /// When it was sent (equal to `intended_ns` plus the send lag); for `dropped`, never sent:
    /// equal to `intended_ns`.
    pub start_ns: i64,
    /// When the answer was parsed (or the failure known).
    pub end_ns: i64,
    pub outcome: Outcome,
    /// The service time the mock reported in the result's `_meta`, if it came back.
    pub service_us: Option<u64>,
    /// Which session carried it.
    pub session: u32,
    /// A hash of the call's arguments ([`crate::hash::args_hash`]), to match backend
    /// calls to driver calls when call ids do not propagate.
    pub args_hash: u64,
    /// A hash of the data version the result carried (`_meta["dev.gauntlet/data-version"]`).
    pub data_version: Option<u64>,
}

impl Sample {
    /// Latency from the intended start (open model: a stalled target cannot hide its stall).
    pub fn latency_from_intended_ns(&self) -> i64 {
        self.end_ns - self.intended_ns
    }

    /// Latency from the actual start (closed model).
    pub fn latency_from_start_ns(&self) -> i64 {
        self.end_ns - self.start_ns
    }

    /// Send lag: actual − intended start.
    pub fn send_lag_ns(&self) -> i64 {
        self.start_ns - self.intended_ns
    }
}

/// Something that happened to the run besides calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub at_ns: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A session was initialized (before t = 0: `session_init`), with how long it took.
    SessionInit {
        server: String,
        session: u32,
        took_ns: u64,
        ok: bool,
    },
    /// A session got 404 and was initialized again for later calls.
    Reinit { server: String, session: u32 },
    /// A fault window opened or closed.
    Fault {
        index: usize,
        server: String,
        kind: String,
        start: bool,
    },
    /// A stdio server's process, as it reported over the back-channel: `spawn`, `ready` or
    /// `exit` (with why, and how many calls it served).
    Process {
        server: String,
        pid: u32,
        what: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        calls: Option<u64>,
    },
    /// Anything else worth a line in the report.
    Note { text: String },
}
