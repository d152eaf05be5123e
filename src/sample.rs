//! The contract between the driver and the metrics: one [`Sample`] per call, one [`Event`] per
//! thing that happened to the run (docs/architecture.md, "A run"). Times are nanoseconds from t = 0
//! (the first intended call), negative before it (session initialization, the baseline phase).

use crate::plan::phase::Phase;
use serde::Serialize;
use std::fmt;

/// How a transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportError {
    /// Connection refused.
    Refused,
    /// Connection reset by the peer.
    Reset,
    /// The peer closed the connection before the answer was complete.
    Eof,
    /// Any other socket failure.
    Other,
}

/// What was wrong with an answer that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolError {
    /// The body is not JSON, or not a JSON-RPC message.
    MalformedJson,
    /// A response whose id is not the request's.
    WrongId,
    /// An SSE stream that ended (or broke) before the response.
    BadSse,
    /// A content type or status the protocol does not allow.
    Unexpected,
}

/// Every call gets exactly one outcome (docs/architecture.md, "A run").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    /// A result with `isError: true`.
    ToolError,
    /// A JSON-RPC error, with its code.
    RpcError(i32),
    /// An HTTP status other than success, with the status.
    HttpError(u16),
    Transport(TransportError),
    Timeout,
    Protocol(ProtocolError),
    /// Never sent: over `max_in_flight`.
    Dropped,
    /// The driver's own failure (out of file descriptors, a local bind error).
    ClientError,
}

impl Outcome {
    /// The outcome class as in results.json: `ok`, `tool_error`, `rpc_error`, `http_error`,
    /// `transport`, `timeout`, `protocol`, `dropped`, `client_error`.
    pub fn class(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool_error",
            Outcome::RpcError(_) => "rpc_error",
            Outcome::HttpError(_) => "http_error",
            Outcome::Transport(_) => "transport",
            Outcome::Timeout => "timeout",
            Outcome::Protocol(_) => "protocol",
            Outcome::Dropped => "dropped",
            Outcome::ClientError => "client_error",
        }
    }

    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }
}

impl fmt::Display for Outcome {
    /// The class with its detail: `rpc_error:-32603`, `http_error:503`, `transport:refused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::RpcError(c) => write!(f, "rpc_error:{c}"),
            Outcome::HttpError(s) => write!(f, "http_error:{s}"),
            Outcome::Transport(t) => write!(f, "transport:{}", serde_plain(t)),
            Outcome::Protocol(p) => write!(f, "protocol:{}", serde_plain(p)),
            other => f.write_str(other.class()),
        }
    }
}

fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_print_class_and_detail() {
        assert_eq!(Outcome::RpcError(-32603).to_string(), "rpc_error:-32603");
        assert_eq!(Outcome::HttpError(503).to_string(), "http_error:503");
        assert_eq!(
            Outcome::Transport(TransportError::Refused).to_string(),
            "transport:refused"
        );
        assert_eq!(
            Outcome::Protocol(ProtocolError::WrongId).to_string(),
            "protocol:wrong_id"
        );
        assert_eq!(Outcome::Dropped.to_string(), "dropped");
        assert_eq!(Outcome::Timeout.class(), "timeout");
    }
}
