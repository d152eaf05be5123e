//! Protocol revisions, header names, `_meta` keys and version negotiation.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An MCP protocol revision. The order is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Version {
    #[serde(rename = "2024-11-05")]
    V2024_11_05,
    #[serde(rename = "2025-03-26")]
    V2025_03_26,
    #[serde(rename = "2025-06-18")]
    V2025_06_18,
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

/// The transport and handshake family a revision belongs to (docs/scenario.md, "Protocol").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Era {
    /// 2024-11-05: HTTP+SSE (GET /sse, POST to the endpoint event's URI).
    LegacySse,
    /// 2025-03-26 … 2025-11-25: Streamable HTTP with `Mcp-Session-Id`.
    Session,
    /// 2026-07-28: Streamable HTTP, stateless.
    Stateless,
}

impl Version {
    pub const ALL: [Version; 5] = [
        Version::V2024_11_05,
        Version::V2025_03_26,
        Version::V2025_06_18,
        Version::V2025_11_25,
        Version::V2026_07_28,
    ];
    /// The newest revision with initialize and sessions.
    pub const LATEST_SESSION: Version = Version::V2025_11_25;

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2024_11_05 => "2024-11-05",
            Version::V2025_03_26 => "2025-03-26",
            Version::V2025_06_18 => "2025-06-18",
            Version::V2025_11_25 => "2025-11-25",
            Version::V2026_07_28 => "2026-07-28",
        }
    }

    /// The revision named `s`, if it is one.
    pub fn known(s: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn era(self) -> Era {
        match self {
            Version::V2024_11_05 => Era::LegacySse,
            Version::V2026_07_28 => Era::Stateless,
            _ => Era::Session,
        }
    }

    /// Batches (JSON arrays of messages) were allowed by 2025-03-26 only.
    pub fn allows_batches(self) -> bool {
        self == Version::V2025_03_26
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::known(s).ok_or_else(|| {
            let known: Vec<_> = Version::ALL.iter().map(|v| v.as_str()).collect();
            format!(
                "unknown protocol revision `{s}`; known: {}",
                known.join(", ")
            )
        })
    }
}

/// What a server answers to an initialize that asks for `requested`: the same revision when it
/// speaks it (and it has an initialize), otherwise the newest session-era revision it speaks.
pub fn negotiate(requested: Option<&str>) -> Version {
    match requested.and_then(|s| s.parse::<Version>().ok()) {
        Some(v) if v != Version::V2026_07_28 => v,
        _ => Version::LATEST_SESSION,
    }
}

/// What a client speaks: a revision it names, or `auto` (probe the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolChoice {
    Auto,
    Fixed(Version),
}

/// HTTP header names (lower case, as hyper stores them).
pub mod header {
    pub const SESSION_ID: &str = "mcp-session-id";
    pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
    pub const LAST_EVENT_ID: &str = "last-event-id";
    pub const TRACEPARENT: &str = "traceparent";
    /// The call id, also sent as a header so that it survives gateways that drop `_meta`.
    pub const CALL_ID: &str = "x-gauntlet-call-id";
}

/// The same names as [`http::HeaderName`]s, for look-ups on a server's request path (a `&str`
/// name is parsed again on every look-up).
pub mod header_name {
    use http::HeaderName;
    pub static SESSION_ID: HeaderName = HeaderName::from_static(super::header::SESSION_ID);
    pub static PROTOCOL_VERSION: HeaderName =
        HeaderName::from_static(super::header::PROTOCOL_VERSION);
    pub static TRACEPARENT: HeaderName = HeaderName::from_static(super::header::TRACEPARENT);
    pub static CALL_ID: HeaderName = HeaderName::from_static(super::header::CALL_ID);
}

/// `_meta` keys the 2026-07-28 revision reserves.
pub mod modern_key {
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
}

/// `_meta` keys.
pub mod meta {
    pub const CALL_ID: &str = "dev.gauntlet/call-id";
    pub const SERVICE_US: &str = "dev.gauntlet/service-us";
    pub const TRACEPARENT: &str = "traceparent";
    pub const PROGRESS_TOKEN: &str = "progressToken";
}

/// Logging levels (RFC 5424 order) used by logging/setLevel and notifications/message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl LogLevel {
    pub fn from_u8(n: u8) -> LogLevel {
        match n {
            0 => LogLevel::Debug,
            1 => LogLevel::Info,
            2 => LogLevel::Notice,
            3 => LogLevel::Warning,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            6 => LogLevel::Alert,
            _ => LogLevel::Emergency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_session_revisions() {
        assert_eq!(negotiate(Some("2025-03-26")), Version::V2025_03_26);
        assert_eq!(negotiate(Some("2024-11-05")), Version::V2024_11_05);
        assert_eq!(negotiate(Some("2099-01-01")), Version::LATEST_SESSION);
        assert_eq!(negotiate(Some("2026-07-28")), Version::LATEST_SESSION);
        assert_eq!(negotiate(None), Version::LATEST_SESSION);
    }

    #[test]
    fn versions_parse_and_order() {
        for v in Version::ALL {
            assert_eq!(v.as_str().parse::<Version>(), Ok(v));
        }
        assert!(Version::V2025_03_26 < Version::V2025_11_25);
        assert!("2025-13-01".parse::<Version>().is_err());
    }
}
