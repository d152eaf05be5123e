//! One live connection to a backend, whatever its transport: a Streamable HTTP session (on the
//! gateway's shared, pooled [`HttpClient`]), a 2024-11-05 HTTP+SSE session, or a spawned stdio
//! process. Forwarding, re-initialization after a 404, the backend's lists, and the
//! notifications it sends (list changes): over stdio and SSE they arrive on the session's own
//! stream; over Streamable HTTP a GET stream is held open beside the session ([`watch_http`]).

use super::config::{Lists, Transport};
use super::trace::Trace;
use crate::mcp::client::{CallFailure, CallResult, HttpClient, HttpSession};
use crate::mcp::client_legacy::LegacySession;
use crate::mcp::client_stdio::{StderrTo, StdioCommand, StdioSession};
use crate::mcp::outcome::{Outcome, TransportError};
use crate::mcp::protocol::{Version, header};
use crate::mcp::sse_parse::SseParser;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Pages of one list read at most.
const MAX_PAGES: usize = 1000;

// One per backend, behind an Arc: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Link {
    Http(HttpSession),
    Legacy(LegacySession),
    Stdio(StdioSession),
}

/// Called with the method of every notification the backend sends.
pub type OnNotification = Arc<dyn Fn(&str) + Send + Sync>;

fn headers_of(pairs: &[(String, String)]) -> Result<HeaderMap, CallFailure> {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) else {
            return Err(CallFailure::new(
                Outcome::ClientError,
                format!("header `{k}` cannot be sent"),
            ));
        };
        h.insert(k, v);
    }
    Ok(h)
}

/// The method of a notification's JSON, if it is one.
fn method_of(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct M {
        method: String,
        #[serde(default)]
        id: Option<serde::de::IgnoredAny>,
    }
    let m: M = serde_json::from_slice(bytes).ok()?;
    m.id.is_none().then_some(m.method)
}

impl Link {
    /// Connects (or spawns) and initializes; each step within `timeout`.
    pub async fn open(
        t: &Transport,
        client: &HttpClient,
        timeout: Duration,
        on: OnNotification,
    ) -> Result<Link, CallFailure> {
        match t {
            Transport::Http { url, headers } => {
                let h = headers_of(headers)?;
                HttpSession::connect(client, url, Version::LATEST_SESSION, h, timeout)
                    .await
                    .map(Link::Http)
            }
            Transport::Sse { url, .. } => {
                let s = LegacySession::connect(client, url, timeout).await?;
                s.on_notification(move |b| {
                    if let Some(m) = method_of(b) {
                        on(&m);
                    }
                });
                Ok(Link::Legacy(s))
            }
            Transport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                let mut cmd = StdioCommand::new(std::iter::once(command).chain(args));
                cmd.env = env.iter().map(|(k, v)| (k.into(), v.into())).collect();
                cmd.cwd = cwd.clone();
                cmd.stderr = StderrTo::Inherit;
                let s = StdioSession::spawn(&cmd, Version::LATEST_SESSION, timeout).await?;
                s.on_notification(move |b| {
                    if let Some(m) = method_of(b) {
                        on(&m);
                    }
                });
                Ok(Link::Stdio(s))
            }
        }
    }

    /// Sends a request with the caller's trace; the result is kept.
    pub async fn forward(
        &self,
        method: &str,
        params: &Value,
        trace: &Trace,
        timeout: Duration,
    ) -> CallResult {
        match self {
            Link::Http(s) => s.forward(method, params, &trace.headers(), timeout).await,
            Link::Legacy(s) => s.forward(method, params, &trace.headers(), timeout).await,
            Link::Stdio(s) => s.forward(method, params, timeout).await,
        }
    }

    /// A Streamable HTTP session the server no longer knows (404).
    pub fn needs_reinit(&self) -> bool {
        matches!(self, Link::Http(s) if s.needs_reinit())
    }

    pub async fn reinit(&self) -> Result<bool, CallFailure> {
        match self {
            Link::Http(s) => s.reinit().await,
            _ => Ok(false),
        }
    }

    /// The session's stream has ended (an SSE stream, or a process's stdout): it is of no
    /// more use.
    pub fn is_closed(&self) -> bool {
        match self {
            Link::Http(_) => false,
            Link::Legacy(s) => s.is_closed(),
            Link::Stdio(s) => s.is_closed(),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Link::Stdio(s) => s.pid(),
            _ => None,
        }
    }

    fn initialize_result(&self) -> Value {
        match self {
            Link::Http(s) => s.initialize_result(),
            Link::Legacy(s) => s.initialize_result().clone(),
            Link::Stdio(s) => s.initialize_result().clone(),
        }
    }

    /// Ends a Streamable HTTP session (DELETE); the others end when the link is dropped (the
    /// stream closes, the process is killed).
    pub async fn close(&self) {
        if let Link::Http(s) = self {
            let _ = s.close().await;
        }
    }

    /// Every tool, resource, resource template and prompt the server lists (those it has the
    /// capability for), each page within `timeout`.
    pub async fn lists(&self, timeout: Duration) -> Result<Lists, CallFailure> {
        let caps = self.initialize_result()["capabilities"].clone();
        let has = |k: &str| caps.get(k).is_some_and(|v| !v.is_null());
        let mut lists = Lists {
            tools: self.list_all("tools/list", "tools", timeout).await?,
            ..Lists::default()
        };
        if has("resources") {
            lists.resources = self
                .list_all("resources/list", "resources", timeout)
                .await?;
            lists.templates = self
                .list_all("resources/templates/list", "resourceTemplates", timeout)
                .await
                .unwrap_or_default();
        }
        if has("prompts") {
            lists.prompts = self.list_all("prompts/list", "prompts", timeout).await?;
        }
        Ok(lists)
    }

    async fn list_all(
        &self,
        method: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<Vec<Value>, CallFailure> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut p = Map::new();
            if let Some(c) = cursor.take() {
                p.insert("cursor".into(), Value::String(c));
            }
            let r = self
                .forward(method, &Value::Object(p), &Trace::default(), timeout)
                .await;
            let page = match (r.outcome, r.result) {
                (Outcome::Ok, Some(v)) => v,
                (o, _) => return Err(CallFailure::new(o, method)),
            };
            if let Some(items) = page.get(key).and_then(Value::as_array) {
                out.extend(items.iter().filter(|i| i.is_object()).cloned());
            }
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return Ok(out),
            }
        }
        Err(CallFailure::new(
            Outcome::Protocol(crate::mcp::outcome::ProtocolError::Unexpected),
            format!("{method}: more than {MAX_PAGES} pages"),
        ))
    }
}

/// Holds the GET stream of a Streamable HTTP session open, for its notifications, until
/// `stop` fires or the link is gone (`owner`: what holds the link, weakly); reopens it (with the session's current id, after a
/// re-initialization) after a pause that grows with failures in a row (up to 5 s), and gives
/// up on a server that offers no stream (405).
pub async fn watch_http<T: AsRef<Link> + Send + Sync>(
    client: HttpClient,
    owner: Weak<T>,
    on: OnNotification,
    stop: CancellationToken,
) {
    let mut failures = 0u64;
    loop {
        let req = {
            let Some(up) = owner.upgrade() else { return };
            let Link::Http(s) = (*up).as_ref() else {
                return;
            };
            match stream_request(s) {
                Some(r) => r,
                None => return,
            }
        };
        let read = read_stream(&client, req, &on);
        let ended = tokio::select! {
            _ = stop.cancelled() => return,
            e = read => e,
        };
        match ended {
            Stream::Refused => return,
            Stream::Ended => failures = 0,
            Stream::Failed => failures += 1,
        }
        let pause = Duration::from_millis((200 * failures.max(1)).min(5000));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

enum Stream {
    /// The server offers no stream.
    Refused,
    /// It was open, then ended.
    Ended,
    Failed,
}

fn stream_request(s: &HttpSession) -> Option<Request<Full<Bytes>>> {
    let sid = HeaderValue::from_str(&s.session_id()?).ok()?;
    let mut req = Request::new(Full::new(Bytes::new()));
    *req.method_mut() = Method::GET;
    *req.uri_mut() = s.url().clone();
    let h = req.headers_mut();
    h.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::SESSION_ID, sid);
    h.insert(
        header::PROTOCOL_VERSION,
        HeaderValue::from_static(s.version().as_str()),
    );
    Some(req)
}

async fn read_stream(
    client: &HttpClient,
    req: Request<Full<Bytes>>,
    on: &OnNotification,
) -> Stream {
    let resp = match client.send(req).await {
        Ok(r) => r,
        Err(_) => return Stream::Failed,
    };
    match resp.status().as_u16() {
        200..=299 => {}
        405 | 406 => return Stream::Refused,
        _ => return Stream::Failed,
    }
    let mut body = resp.into_body();
    let mut parser = SseParser::new();
    loop {
        while let Some(ev) = parser.next_event() {
            if ev.name() == "message"
                && let Some(m) = method_of(ev.data.as_bytes())
            {
                on(&m);
            }
        }
        if parser.pending_bytes() > 1024 * 1024 {
            return Stream::Failed;
        }
        match body.frame().await {
            None => return Stream::Ended,
            Some(Err(_)) => return Stream::Failed,
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    parser.feed(&d);
                }
            }
        }
    }
}

/// Words for an outcome, as the status shows it.
pub fn describe(o: Outcome) -> String {
    match o {
        Outcome::Transport(TransportError::Refused) => "Connection refused".into(),
        Outcome::Transport(TransportError::Reset) => "Connection reset".into(),
        Outcome::Transport(TransportError::Eof) => "Connection closed".into(),
        Outcome::Transport(_) => "Connection failed".into(),
        Outcome::Timeout => "Timed out".into(),
        Outcome::HttpError(s) => format!("HTTP {s}"),
        Outcome::RpcError(c) => format!("JSON-RPC error {c}"),
        Outcome::Protocol(_) => format!("Protocol error ({o})"),
        other => other.to_string(),
    }
}
