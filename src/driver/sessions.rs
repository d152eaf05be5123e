//! Opening a run's sessions before t = 0, each measured as `session_init`: every session of a
//! target concurrently, `protocol: auto` probed once per target.

use super::engine::{Record, SessionPool};
use crate::mcp::client::{CallFailure, HttpClient};
use crate::mcp::conn::{self, Conn, Endpoint, INIT_TIMEOUT, Want};
use crate::mcp::protocol::ProtocolChoice;
use crate::sample::{Event, EventKind};
use futures_util::future::join_all;
use http::HeaderMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

async fn open_one(
    client: &HttpClient,
    endpoint: &Endpoint,
    want: Want,
    headers: &HeaderMap,
) -> Result<Conn, CallFailure> {
    conn::open(client, endpoint, want, headers, INIT_TIMEOUT).await
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
) -> Result<SessionPool, String> {
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
    Ok(SessionPool {
        server: server.to_string(),
        sessions,
        reached,
        probed: choice == ProtocolChoice::Auto,
    })
}

/// Sessions straight to every mock (`gateway: none`, and the baseline), and each key's route.
pub async fn open_mock_targets(
    keys: &[(String, String)],
    endpoints: &[(String, Endpoint)],
    client: &HttpClient,
    sessions: u32,
    choice: ProtocolChoice,
    inits: &mut Vec<InitRecord>,
) -> crate::error::Result<(Vec<SessionPool>, Vec<(usize, String)>)> {
    let mut targets = Vec::new();
    for (name, ep) in endpoints {
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
