//! The outcome of one call as the client sees it: exactly one per call, transport failures,
//! JSON-RPC errors and tool errors kept apart (docs/architecture.md, "A run").

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
