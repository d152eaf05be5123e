//! A driver session of either transport, and opening them before t = 0 (each measured as
//! `session_init`).

use super::engine::{Record, Target};
use super::mocks::Endpoint;
use crate::mcp::client::{CallFailure, CallMeta, CallResult, HttpClient, Session};
use crate::mcp::client_legacy::LegacySession;
use crate::mcp::client_stdio::{StderrTo, StdioCommand, StdioSession};
use crate::mcp::protocol::Version;
use crate::sample::{Event, EventKind};
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

async fn open_one(
    client: &HttpClient,
    endpoint: &Endpoint,
    version: Version,
    headers: &HeaderMap,
) -> Result<Conn, CallFailure> {
    match endpoint {
        // The 2024-11-05 transport: the mocks serve it at /sse beside /mcp; a gateway's URL is
        // taken as its SSE endpoint.
        Endpoint::Http(url) if version == Version::V2024_11_05 => {
            let sse = match url.strip_suffix("/mcp") {
                Some(base) => format!("{base}/sse"),
                None => url.clone(),
            };
            LegacySession::connect(client, &sse, INIT_TIMEOUT)
                .await
                .map(Conn::Legacy)
        }
        Endpoint::Http(url) => {
            Session::connect(client, url, version, headers.clone(), INIT_TIMEOUT)
                .await
                .map(Conn::Http)
        }
        Endpoint::Stdio { argv, env } => {
            // The mock's own lines (its request count at exit) would only clutter the run's output.
            let mut cmd = StdioCommand::new(argv.iter().cloned());
            cmd.env = env.iter().map(|(k, v)| (k.into(), v.into())).collect();
            cmd.stderr = StderrTo::Null;
            StdioSession::spawn(&cmd, version, INIT_TIMEOUT)
                .await
                .map(Conn::Stdio)
        }
    }
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
    version: Version,
    headers: &HeaderMap,
    inits: &mut Vec<InitRecord>,
) -> Result<Target, String> {
    let opens = (0..n).map(|i| async move {
        let started = Instant::now();
        let r = open_one(client, endpoint, version, headers).await;
        (i, started, started.elapsed(), r)
    });
    let mut sessions = Vec::new();
    let mut first_error = None;
    for (i, started, took, r) in futures_util::future::join_all(opens).await {
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
    Ok(Target {
        server: server.to_string(),
        sessions,
    })
}
