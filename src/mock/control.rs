//! `gauntlet mock --control ADDR`: a small HTTP API that switches faults on running mocks, like
//! Toxiproxy's. Loopback addresses only.
//!
//! | request | answer |
//! |---|---|
//! | `GET /servers` | every server: name, URL, tools, the ids of its faults |
//! | `GET /faults` | every fault added and not removed: id, server, tool, kind and setting, times, state |
//! | `POST /faults` | adds a fault — a JSON object shaped like a scenario's `faults:` entry; `at` (default `0s`) counts from now → 201 with the fault; a mistake → 400 with the reason |
//! | `GET /faults/ID` | one fault (404 if unknown) |
//! | `DELETE /faults/ID` | removes it: what it switched on is switched off now → 204 (404 if unknown) |
//! | `POST /reset` | removes every fault → 204 |
//!
//! Answers come once the change is in effect, as with Toxiproxy: after 201 a fault due now is
//! on (a refused port is closed), after 204 it is off (the port listens again). The wait is
//! bounded by [`SETTLE`].
//!
//! Each fault added runs on a runner of its own ([`crate::fault::runner`]); its per-call draws
//! key on its id. `every:` repeats it for up to an hour from when it was added.

use super::Mock;
use crate::fault::Scheduled;
use crate::fault::runner::{Actual, Runner};
use crate::plan::timeline::{Timeline, Window};
use crate::scenario::{Fault, Server, Transport};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How far ahead a repeating fault (`every:`) is laid out.
pub const HORIZON: Duration = Duration::from_secs(3600);
/// Largest request body.
const MAX_BODY: usize = 64 * 1024;
/// Longest wait for a change to take effect before answering anyway (a port another process
/// took cannot be bound again).
pub const SETTLE: Duration = Duration::from_secs(5);

/// The control API's state: the servers and the faults added.
pub struct Control {
    servers: Vec<(Mock, String)>,
    checked: Vec<Server>,
    faults: Mutex<Vec<Added>>,
    next_id: AtomicU64,
    next_window: AtomicUsize,
}

/// A fault added through the API.
struct Added {
    id: u64,
    fault: Fault,
    occurrences: Vec<Scheduled>,
    actual: Arc<Mutex<Vec<Actual>>>,
    stop: CancellationToken,
    /// The runner: it has undone the fault once it ends.
    runner: tokio::task::JoinHandle<()>,
}

type Response = http::Response<Full<Bytes>>;

impl Control {
    /// `servers`: each mock with its URL.
    pub fn new(servers: Vec<(Mock, String)>) -> Arc<Control> {
        let checked = servers
            .iter()
            .map(|(m, _)| Server {
                name: m.name().to_owned(),
                catalog: m.server.catalog.clone(),
                transport: Transport::Http,
                port: None,
                startup: None,
                latency: None,
                errors: None,
            })
            .collect();
        Arc::new(Control {
            servers,
            checked,
            faults: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            next_window: AtomicUsize::new(0),
        })
    }

    fn mock(&self, name: &str) -> Option<&Mock> {
        self.servers
            .iter()
            .find(|(m, _)| m.name() == name)
            .map(|(m, _)| m)
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Vec<Added>> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves the API on `listener` until `shutdown` fires; removes every fault then.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: CancellationToken) {
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = listener.accept() => match a {
                    Ok((s, _)) => s,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let me = self.clone();
            let svc = hyper::service::service_fn(move |req| {
                let me = me.clone();
                async move { Ok::<_, Infallible>(me.handle(req).await) }
            });
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc);
                let _ = conn.await;
            });
        }
        self.reset().await;
    }

    async fn handle(&self, req: http::Request<Incoming>) -> Response {
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let id = path.strip_prefix("/faults/").map(|s| s.parse::<u64>());
        match (req.method().clone(), path.as_str(), id) {
            (Method::GET, "/servers", _) => answer(StatusCode::OK, &self.list_servers()),
            (Method::GET, "/faults", _) => answer(StatusCode::OK, &self.list_faults()),
            (Method::POST, "/faults", _) => match read(req.into_body()).await {
                Ok(body) => self.add(&body).await,
                Err(r) => r,
            },
            (Method::POST, "/reset", _) => {
                self.reset().await;
                empty(StatusCode::NO_CONTENT)
            }
            (Method::GET, _, Some(Ok(id))) => match self.show(id) {
                Some(v) => answer(StatusCode::OK, &v),
                None => not_found(id),
            },
            (Method::DELETE, _, Some(Ok(id))) => {
                if self.remove(id).await {
                    empty(StatusCode::NO_CONTENT)
                } else {
                    not_found(id)
                }
            }
            (_, "/servers" | "/faults" | "/reset", _) | (_, _, Some(Ok(_))) => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: GET /servers, GET|POST /faults, GET|DELETE /faults/ID, POST /reset",
            ),
            _ => error(
                StatusCode::NOT_FOUND,
                "not found: the API has /servers, /faults, /faults/ID and /reset",
            ),
        }
    }

    fn list_servers(&self) -> Value {
        let faults = self.faults();
        let servers: Vec<Value> = self
            .servers
            .iter()
            .map(|(m, url)| {
                let ids: Vec<u64> = faults
                    .iter()
                    .filter(|a| a.fault.server == m.name())
                    .map(|a| a.id)
                    .collect();
                let tools: Vec<&str> = m
                    .server
                    .catalog
                    .tools
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect();
                json!({"name": m.name(), "url": url, "tools": tools, "faults": ids})
            })
            .collect();
        json!({ "servers": servers })
    }

    fn list_faults(&self) -> Value {
        let faults: Vec<Value> = self.faults().iter().map(describe).collect();
        json!({ "faults": faults })
    }

    fn show(&self, id: u64) -> Option<Value> {
        self.faults().iter().find(|a| a.id == id).map(describe)
    }

    /// Checks the body as a fault, lays out its windows from now and starts its runner;
    /// answers once what is due now is in effect.
    async fn add(&self, body: &[u8]) -> Response {
        let fault = match self.check(body) {
            Ok(f) => f,
            Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let occurrences = match self.lay_out(&fault, id) {
            Ok(o) => o,
            Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
        };
        let Some(mock) = self.mock(&fault.server) else {
            return error(StatusCode::BAD_REQUEST, "unknown server");
        };
        let actual = Arc::new(Mutex::new(Vec::new()));
        let mut runner = Runner::new(Arc::new(mock.clone()), occurrences.clone(), actual.clone());
        let ready = runner.ready();
        let stop = CancellationToken::new();
        let runner = tokio::spawn(runner.run(Instant::now(), stop.clone()));
        let _ = tokio::time::timeout(SETTLE, ready).await;
        settle(mock).await;
        let added = Added {
            id,
            fault,
            occurrences,
            actual,
            stop,
            runner,
        };
        let shown = describe(&added);
        self.faults().push(added);
        answer(StatusCode::CREATED, &shown)
    }

    /// The body as a checked fault, or why it is not one.
    fn check(&self, body: &[u8]) -> Result<Fault, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let Value::Object(mut m) = v else {
            return Err(
                "the body must be a JSON object shaped like a scenario's fault, e.g. \
                 {\"server\": \"translation\", \"for\": \"10s\", \"outage\": \"refuse\"}"
                    .into(),
            );
        };
        m.entry("at").or_insert_with(|| json!("0s"));
        let text = Value::Object(m).to_string();
        crate::scenario::validate::fault(&text, &self.checked, Path::new("body"))
            .map_err(|e| e.to_string())
    }

    fn lay_out(&self, f: &Fault, id: u64) -> Result<Vec<Scheduled>, String> {
        let window = Window {
            index: id as usize,
            start: f.at,
            end: f.length.map(|l| f.at + l),
            repeat: f.every,
            kind: f.kind.clone(),
        };
        let (timeline, _) = Timeline::new(vec![window], HORIZON)?;
        Ok(timeline
            .occurrences()
            .iter()
            .map(|o| Scheduled {
                window: self.next_window.fetch_add(1, Ordering::Relaxed),
                fault: id as usize,
                tool: f.tool.clone(),
                start: o.start,
                end: o.end,
                kind: o.kind.clone(),
            })
            .collect())
    }

    /// Removes a fault: its runner stops and closes what it opened; returns once that is in
    /// effect.
    async fn remove(&self, id: u64) -> bool {
        let removed = {
            let mut faults = self.faults();
            let Some(i) = faults.iter().position(|a| a.id == id) else {
                return false;
            };
            faults.remove(i)
        };
        self.undo(vec![removed]).await;
        true
    }

    async fn reset(&self) {
        let all = std::mem::take(&mut *self.faults());
        self.undo(all).await;
    }

    /// Stops the runners of `removed`, waits for them to undo their faults and for the
    /// servers' ports to follow.
    async fn undo(&self, removed: Vec<Added>) {
        for a in &removed {
            a.stop.cancel();
        }
        for a in removed {
            let _ = tokio::time::timeout(SETTLE, a.runner).await;
            if let Some(mock) = self.mock(&a.fault.server) {
                settle(mock).await;
            }
        }
    }
}

/// Waits (at most [`SETTLE`]) until `mock`'s port does what its faults say.
async fn settle(mock: &Mock) {
    let gate = &mock.server.faults.gate;
    if tokio::time::timeout(SETTLE, gate.settled()).await.is_err() {
        tracing::warn!(
            "{}: the port did not follow the fault within {SETTLE:?}",
            mock.name()
        );
    }
}

/// A fault as the API shows it; times in ms from when it was added.
fn describe(a: &Added) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ns_ms = |n: i64| (n as f64 / 1e3).round() / 1e3;
    let actual = a.actual.lock().unwrap_or_else(|p| p.into_inner());
    // The windows that began (the last ten) and the next one due.
    let began = actual.iter().filter(|x| x.start_ns.is_some()).count();
    let shown = began.saturating_sub(10)..(began + 1).min(a.occurrences.len());
    let windows: Vec<Value> = a.occurrences[shown.clone()]
        .iter()
        .zip(actual.get(shown).unwrap_or_default())
        .map(|(o, x)| {
            json!({"start_ms": ms(o.start), "end_ms": o.end.map(ms),
                   "actual_start_ms": x.start_ns.map(ns_ms), "actual_end_ms": x.end_ns.map(ns_ms)})
        })
        .collect();
    let pairs = || a.occurrences.iter().zip(actual.iter());
    let open = pairs().any(|(o, x)| x.start_ns.is_some() && o.end.is_some() && x.end_ns.is_none());
    let done = actual.len() == a.occurrences.len()
        && pairs().all(|(o, x)| x.start_ns.is_some() && (o.end.is_none() || x.end_ns.is_some()));
    let state = if open {
        "active"
    } else if done {
        "ended"
    } else {
        "pending"
    };
    json!({
        "id": a.id,
        "server": a.fault.server,
        "tool": a.fault.tool,
        "kind": a.fault.kind.name(),
        "fault": a.fault.kind,
        "at_ms": ms(a.fault.at),
        "for_ms": a.fault.length.map(ms),
        "every_ms": a.fault.every.map(ms),
        "state": state,
        "occurrences": a.occurrences.len(),
        "windows": windows,
    })
}

async fn read(body: Incoming) -> Result<Bytes, Response> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "the body could not be read (at most 64 KiB)",
        )),
    }
}

fn answer(status: StatusCode, v: &Value) -> Response {
    let mut r = http::Response::new(Full::new(Bytes::from(v.to_string() + "\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, reason: &str) -> Response {
    answer(status, &json!({ "error": reason }))
}

fn not_found(id: u64) -> Response {
    error(StatusCode::NOT_FOUND, &format!("no fault {id}"))
}

fn empty(status: StatusCode) -> Response {
    let mut r = http::Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}
