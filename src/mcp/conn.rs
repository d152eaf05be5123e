//! A client session of any transport ([`Conn`]: Streamable HTTP, 2024-11-05 HTTP+SSE, stdio),
//! opened as a revision says or as `protocol: auto` finds (the backward-compatibility probe of
//! the 2026-07-28 revision).

use super::client::{CallFailure, CallMeta, CallResult, HttpClient, HttpSession, list_tools};
use super::client_legacy::LegacySession;
use super::client_stdio::{StderrTo, StdioCommand, StdioSession};
use super::outcome::Outcome;
use super::protocol::{ProtocolChoice, Version};
use http::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// How a client reaches one server.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Http(String),
    /// The 2024-11-05 HTTP+SSE transport: the URL of the SSE stream (`transport: sse`).
    Sse(String),
    /// A `gauntlet mock --stdio` process (one per session): its argv, and what it adds to the
    /// environment (`GAUNTLET_RUN`: the back-channel to the run).
    Stdio {
        argv: Vec<String>,
        env: Vec<(String, String)>,
    },
}

/// How long a session may take to initialize.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(30);

// Sessions live behind an Arc for the whole run; the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    Http(HttpSession),
    /// 2024-11-05 HTTP+SSE.
    Legacy(LegacySession),
    Stdio(StdioSession),
}

impl Conn {
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        match self {
            Conn::Http(s) => s.call(method, params, meta, timeout).await,
            Conn::Legacy(s) => s.call(method, params, meta, timeout).await,
            Conn::Stdio(s) => s.call(method, params, meta, timeout).await,
        }
    }

    pub fn needs_reinit(&self) -> bool {
        match self {
            Conn::Http(s) => s.needs_reinit(),
            Conn::Legacy(_) | Conn::Stdio(_) => false,
        }
    }

    /// `Ok(true)` when this call re-initialized the session.
    pub async fn reinit(&self) -> Result<bool, CallFailure> {
        match self {
            Conn::Http(s) => s.reinit().await,
            Conn::Legacy(_) | Conn::Stdio(_) => Ok(false),
        }
    }

    pub async fn close(self) {
        match self {
            Conn::Http(s) => {
                let _ = s.close().await;
            }
            Conn::Legacy(s) => s.close().await,
            Conn::Stdio(s) => {
                let _ = s.close(Duration::from_secs(2)).await;
            }
        }
    }
}

/// How a target was reached: the revision and the transport (results.json `protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    pub version: Version,
    pub transport: Transport,
}

/// The wire a session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    StreamableHttp,
    HttpSse,
    Stdio,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::StreamableHttp => "streamable-http",
            Transport::HttpSse => "http+sse",
            Transport::Stdio => "stdio",
        }
    }
}

impl Conn {
    /// Every tool the server lists (all pages).
    pub async fn list_tools(&self) -> Result<Vec<Value>, CallFailure> {
        match self {
            Conn::Http(s) => list_tools(s).await,
            Conn::Legacy(s) => list_tools(s).await,
            Conn::Stdio(s) => list_tools(s).await,
        }
    }

    pub fn reached(&self) -> Reached {
        let (version, transport) = match self {
            Conn::Http(s) => (s.version(), Transport::StreamableHttp),
            Conn::Legacy(s) => (s.version(), Transport::HttpSse),
            Conn::Stdio(s) => (s.version(), Transport::Stdio),
        };
        Reached { version, transport }
    }
}

/// How long the stdio `server/discover` probe waits before taking the server for one of the
/// session era (a server of that era may not answer a request before initialize at all).
const STDIO_PROBE: Duration = Duration::from_secs(5);

/// What a session is opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// `protocol: auto`: probe.
    Auto,
    /// A revision the scenario names.
    Fixed(Version),
    /// What the probe found for the target's first session: the URL is taken as it is.
    Found(Version),
}

/// One session to `url` as `choice` says, each step within `timeout` (waiting for a gateway:
/// short attempts, repeated).
pub async fn open_probe(
    client: &HttpClient,
    url: &str,
    choice: ProtocolChoice,
    headers: &HeaderMap,
    timeout: Duration,
) -> Result<Conn, CallFailure> {
    let want = match choice {
        ProtocolChoice::Auto => Want::Auto,
        ProtocolChoice::Fixed(v) => Want::Fixed(v),
    };
    let endpoint = Endpoint::Http(url.to_string());
    open(client, &endpoint, want, headers, timeout).await
}

pub async fn open(
    client: &HttpClient,
    endpoint: &Endpoint,
    want: Want,
    headers: &HeaderMap,
    timeout: Duration,
) -> Result<Conn, CallFailure> {
    let version = match want {
        Want::Fixed(v) | Want::Found(v) => v,
        Want::Auto if !matches!(endpoint, Endpoint::Sse(_)) => {
            return open_auto(client, endpoint, headers, timeout).await;
        }
        Want::Auto => Version::V2024_11_05,
    };
    match endpoint {
        // A server that speaks only 2024-11-05 (`transport: sse`), whatever the scenario's
        // protocol.
        Endpoint::Sse(url) => LegacySession::connect(client, url, timeout)
            .await
            .map(Conn::Legacy),
        // The 2024-11-05 transport: the mocks serve it at /sse beside /mcp; a gateway's URL is
        // taken as its SSE endpoint.
        Endpoint::Http(url) if version == Version::V2024_11_05 => {
            let sse = match url.strip_suffix("/mcp") {
                Some(base) if want == Want::Fixed(version) => format!("{base}/sse"),
                _ => url.clone(),
            };
            LegacySession::connect(client, &sse, timeout)
                .await
                .map(Conn::Legacy)
        }
        Endpoint::Http(url) => HttpSession::connect(client, url, version, headers.clone(), timeout)
            .await
            .map(Conn::Http),
        Endpoint::Stdio { argv, env } => {
            StdioSession::spawn(&stdio_command(argv, env), version, timeout)
                .await
                .map(Conn::Stdio)
        }
    }
}

fn stdio_command(argv: &[String], env: &[(String, String)]) -> StdioCommand {
    // The mock's own lines (its request count at exit) would only clutter the run's output.
    let mut cmd = StdioCommand::new(argv.iter().cloned());
    cmd.env = env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    cmd.stderr = StderrTo::Null;
    cmd
}

/// `protocol: auto`, the backward-compatibility probe of the 2026-07-28 revision: a modern
/// request first (`server/discover`); a 2026-07-28 error code means the server speaks it and
/// refused (no fallback); any other refusal falls back to initialize; an initialize answered
/// 400, 404 or 405 falls back to the 2024-11-05 transport (GET on the same URL, then the
/// `endpoint` event). A server that cannot be reached is not probed further.
async fn open_auto(
    client: &HttpClient,
    endpoint: &Endpoint,
    headers: &HeaderMap,
    timeout: Duration,
) -> Result<Conn, CallFailure> {
    let url = match endpoint {
        Endpoint::Http(url) | Endpoint::Sse(url) => url,
        Endpoint::Stdio { argv, env } => {
            return StdioSession::spawn_auto(&stdio_command(argv, env), STDIO_PROBE, timeout)
                .await
                .map(Conn::Stdio);
        }
    };
    let connect = |v| HttpSession::connect(client, url, v, headers.clone(), timeout);
    let modern = match connect(Version::V2026_07_28).await {
        Ok(s) => return Ok(Conn::Http(s)),
        Err(e) => e,
    };
    match modern.outcome {
        Outcome::RpcError(c) if super::modern::code::is_modern(c) => return Err(modern),
        Outcome::Transport(_) | Outcome::Timeout | Outcome::ClientError => return Err(modern),
        _ => {}
    }
    let session = match connect(Version::LATEST_SESSION).await {
        Ok(s) => return Ok(Conn::Http(s)),
        Err(e) => e,
    };
    if !matches!(session.outcome, Outcome::HttpError(400 | 404 | 405)) {
        return Err(session);
    }
    LegacySession::connect(client, url, timeout)
        .await
        .map(Conn::Legacy)
        .map_err(|legacy| {
            CallFailure::new(
                legacy.outcome,
                format!(
                    "protocol auto found no era: 2026-07-28 ({modern}), session era ({session}), \
                     2024-11-05 ({legacy})"
                ),
            )
        })
}
