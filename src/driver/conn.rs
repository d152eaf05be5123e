//! A driver session of either transport, and opening them before t = 0 (each measured as
//! `session_init`).

use super::engine::{Record, Target};
use super::mocks::Endpoint;
use crate::mcp::client::{CallFailure, CallMeta, CallResult, HttpClient, Session, list_tools};
use crate::mcp::client_legacy::LegacySession;
use crate::mcp::client_stdio::{StderrTo, StdioCommand, StdioSession};
use crate::mcp::protocol::Version;
use crate::mcp::outcome::Outcome;
use crate::sample::{Event, EventKind};
use crate::scenario::ProtocolChoice;
use futures_util::future::join_all;
use http::HeaderMap;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a session may take to initialize.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(30);

// Sessions live behind an Arc for the whole run; the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    Http(Session),
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
enum Want {
    /// `protocol: auto`: probe.
    Auto,
    /// A revision the scenario names.
    Fixed(Version),
    /// What the probe found for the target's first session: the URL is taken as it is.
    Found(Version),
}

async fn open_one(
    client: &HttpClient,
    endpoint: &Endpoint,
    want: Want,
    headers: &HeaderMap,
) -> Result<Conn, CallFailure> {
    open_within(client, endpoint, want, headers, INIT_TIMEOUT).await
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
    open_within(client, &endpoint, want, headers, timeout).await
}

async fn open_within(
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
        Endpoint::Http(url) => Session::connect(client, url, version, headers.clone(), timeout)
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
    let connect = |v| Session::connect(client, url, v, headers.clone(), timeout);
    let modern = match connect(Version::V2026_07_28).await {
        Ok(s) => return Ok(Conn::Http(s)),
        Err(e) => e,
    };
    match modern.outcome {
        Outcome::RpcError(c) if crate::mcp::modern::code::is_modern(c) => return Err(modern),
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

/// One session's initialization, for a `session_init` event once t = 0 is known.
pub struct InitRecord {
    pub server: String,
    pub session: u32,
    pub started: Instant,
    pub took: Duration,
    pub ok: bool,
}

impl InitRecord {
    /// The event, timed from `t0` (negative: before the first intended call).
    pub fn event(&self, t0: Instant) -> Record {
        let at_ns = -(t0.saturating_duration_since(self.started).as_nanos() as i64);
        Record::Event(Event {
            at_ns,
            kind: EventKind::SessionInit {
                server: self.server.clone(),
                session: self.session,
                took_ns: self.took.as_nanos() as u64,
                ok: self.ok,
            },
        })
    }
}

/// Opens `n` sessions to `endpoint` concurrently. The first failure is returned with the
/// server's name.
pub async fn open_sessions(
    client: &HttpClient,
    server: &str,
    endpoint: &Endpoint,
    n: u32,
    choice: ProtocolChoice,
    headers: &HeaderMap,
    inits: &mut Vec<InitRecord>,
) -> Result<Target, String> {
    let open = |i: u32, want| async move {
        let started = Instant::now();
        let r = open_one(client, endpoint, want, headers).await;
        (i, started, started.elapsed(), r)
    };
    // `auto` probes once per target (the era is the server's, not a session's); the other
    // sessions open with what it found.
    let mut opened = Vec::new();
    match choice {
        ProtocolChoice::Auto if n > 0 => {
            let first = open(0, Want::Auto).await;
            let found = first
                .3
                .as_ref()
                .ok()
                .map(|c| Want::Found(c.reached().version));
            opened.push(first);
            if let Some(found) = found {
                opened.extend(join_all((1..n).map(|i| open(i, found))).await);
            }
        }
        ProtocolChoice::Auto => {}
        ProtocolChoice::Fixed(v) => {
            opened.extend(join_all((0..n).map(|i| open(i, Want::Fixed(v)))).await);
        }
    }
    let mut sessions = Vec::new();
    let mut first_error = None;
    for (i, started, took, r) in opened {
        inits.push(InitRecord {
            server: server.to_string(),
            session: i,
            started,
            took,
            ok: r.is_ok(),
        });
        match r {
            Ok(c) => sessions.push(Arc::new(c)),
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(_) => {}
        }
    }
    if let Some(e) = first_error {
        return Err(format!("cannot open a session with `{server}`: {e}"));
    }
    let reached = sessions.first().map(|c| c.reached());
    Ok(Target {
        server: server.to_string(),
        sessions,
        reached,
        probed: choice == ProtocolChoice::Auto,
    })
}

/// Sessions straight to every mock (`gateway: none`, and the baseline), and each key's route.
pub async fn open_mock_targets(
    keys: &[(String, String)],
    mocks: &super::mocks::Mocks,
    client: &HttpClient,
    sessions: u32,
    choice: ProtocolChoice,
    inits: &mut Vec<InitRecord>,
) -> crate::error::Result<(Vec<Target>, Vec<(usize, String)>)> {
    let mut targets = Vec::new();
    for (name, ep) in &mocks.endpoints {
        let t = open_sessions(client, name, ep, sessions, choice, &HeaderMap::new(), inits)
            .await
            .map_err(crate::error::Error::Run)?;
        targets.push(t);
    }
    let routes = keys
        .iter()
        .map(|(server, tool)| {
            let i = targets
                .iter()
                .position(|t| &t.server == server)
                .unwrap_or(0);
            (i, tool.clone())
        })
        .collect();
    Ok((targets, routes))
}
