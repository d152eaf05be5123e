//! The 2024-11-05 HTTP+SSE transport, client side: `GET /sse` opens the session's stream,
//! whose first `endpoint` event names the URI to POST messages to (resolved against the SSE
//! URL; an absolute URI must have the same origin); every POST is answered 202 and the
//! responses come back as `message` events on the stream.
//!
//! One reader task owns the stream and routes each response by id to the call waiting for it
//! (a map of oneshot senders, as in [`super::client_stdio`]). Outcomes:
//!
//! - the per-call timeout elapsed first: `Timeout`;
//! - the POST failed: classified as in [`super::client`] (`Transport(..)`, `ClientError`);
//!   a status outside 2xx: `HttpError(status)`;
//! - the response on the stream: `Ok`, `ToolError` or `RpcError(code)` (a result that is not
//!   an object: `Protocol(MalformedJson)`);
//! - the stream ended: every call in flight, and every later call, ends in `Transport(Eof)`
//!   (a reset stream: the socket error's outcome; an event over 64 MiB:
//!   `Protocol(Unexpected)`);
//! - events that are not JSON-RPC messages, and responses no call waits for, fail no call:
//!   they are counted ([`LegacySession::malformed_events`], [`LegacySession::stray_responses`]).

use super::client::{
    CallFailure, CallMeta, CallResult, HttpClient, MAX_ANSWER, Requester, classify_error, encode,
    finish, initialize_params, internal_id, negotiated,
};
use super::outcome::{Outcome, ProtocolError, TransportError};
use super::pending::Pending;
use super::protocol::{Era, Version, header};
use super::sse_parse::SseParser;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const CALL_ID: HeaderName = HeaderName::from_static(header::CALL_ID);
const TRACEPARENT: HeaderName = HeaderName::from_static(header::TRACEPARENT);

/// One MCP session over the 2024-11-05 HTTP+SSE transport. Shared by reference between the
/// tasks that call through it; no lock is held across an await.
pub struct LegacySession {
    client: HttpClient,
    endpoint: Uri,
    host: HeaderValue,
    shared: Arc<Pending>,
    reader: JoinHandle<()>,
    version: Version,
    init: Value,
}

impl std::fmt::Debug for LegacySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacySession")
            .field("endpoint", &self.endpoint)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Drop for LegacySession {
    fn drop(&mut self) {
        // Dropping the stream's body closes its connection: the server ends the session.
        self.reader.abort();
    }
}

fn fail(outcome: Outcome, what: impl Into<String>) -> CallFailure {
    CallFailure::new(outcome, what)
}

/// The URI to POST to: `endpoint` (the `endpoint` event's data) resolved against `sse`.
/// `None` for an empty one, another origin, or one that is not a URI.
pub fn resolve_endpoint(sse: &Uri, endpoint: &str) -> Option<Uri> {
    let e = endpoint.trim();
    if e.is_empty() || e.starts_with("//") {
        return None;
    }
    if e.contains("://") {
        let u: Uri = e.parse().ok()?;
        let same = u.scheme() == sse.scheme() && u.authority() == sse.authority();
        return same.then_some(u);
    }
    let path = if e.starts_with('/') {
        e.to_string()
    } else {
        let base = sse.path();
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        if dir.is_empty() {
            format!("/{e}")
        } else {
            format!("{dir}{e}")
        }
    };
    Uri::builder()
        .scheme(sse.scheme()?.clone())
        .authority(sse.authority()?.clone())
        .path_and_query(path)
        .build()
        .ok()
}

impl LegacySession {
    /// Opens a session: GET `sse_url` (`http://host:port/sse`), reads the `endpoint` event,
    /// starts the reader, then initialize (asking for 2024-11-05; its response is read from
    /// the stream) and notifications/initialized (2xx expected). Each step may take up to
    /// `timeout`.
    pub async fn connect(
        client: &HttpClient,
        sse_url: &str,
        timeout: Duration,
    ) -> Result<LegacySession, CallFailure> {
        let uri: Uri = sse_url.parse().map_err(|e| {
            fail(
                Outcome::ClientError,
                format!("`{sse_url}` is not a URL: {e}"),
            )
        })?;
        if uri.scheme_str() != Some("http") {
            return Err(fail(
                Outcome::ClientError,
                format!("`{sse_url}`: only http:// URLs are supported"),
            ));
        }
        let host = uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            .ok_or_else(|| fail(Outcome::ClientError, format!("`{sse_url}` names no host")))?;
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = uri.clone();
        req.headers_mut().insert(HOST, host.clone());
        req.headers_mut().insert(ACCEPT, EVENT_STREAM);
        let open = async {
            let resp = client.send(req).await.map_err(|o| fail(o, "GET"))?;
            let status = resp.status();
            if !status.is_success() {
                finish(resp.into_body());
                return Err(fail(Outcome::HttpError(status.as_u16()), "GET"));
            }
            let sse = resp.headers().get(CONTENT_TYPE).is_some_and(|v| {
                let v = v.as_bytes();
                v.len() >= 17 && v[..17].eq_ignore_ascii_case(b"text/event-stream")
            });
            if !sse {
                finish(resp.into_body());
                return Err(fail(
                    Outcome::Protocol(ProtocolError::Unexpected),
                    "GET: the answer is not text/event-stream",
                ));
            }
            let mut body = resp.into_body();
            let mut parser = SseParser::new();
            loop {
                while let Some(ev) = parser.next_event() {
                    if ev.name() == "endpoint" {
                        return Ok((body, parser, ev.data));
                    }
                }
                if parser.pending_bytes() > MAX_ANSWER {
                    return Err(fail(Outcome::Protocol(ProtocolError::Unexpected), "GET"));
                }
                match body.frame().await {
                    None => {
                        return Err(fail(
                            Outcome::Protocol(ProtocolError::BadSse),
                            "GET: the stream ended before the endpoint event",
                        ));
                    }
                    Some(Err(e)) => return Err(fail(classify_error(&e), "GET")),
                    Some(Ok(frame)) => {
                        if let Ok(d) = frame.into_data() {
                            parser.feed(&d);
                        }
                    }
                }
            }
        };
        let (body, parser, data) = tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| fail(Outcome::Timeout, "GET"))??;
        let endpoint = resolve_endpoint(&uri, &data).ok_or_else(|| {
            fail(
                Outcome::Protocol(ProtocolError::Unexpected),
                format!("endpoint event: `{data}` is not a URI of the server's origin"),
            )
        })?;
        let shared = Arc::new(Pending::new());
        let mut s = LegacySession {
            client: client.clone(),
            endpoint,
            host,
            reader: tokio::spawn(read_loop(body, parser, shared.clone())),
            shared,
            version: Version::V2024_11_05,
            init: Value::Null,
        };
        s.initialize(timeout).await?;
        Ok(s)
    }

    async fn initialize(&mut self, timeout: Duration) -> Result<(), CallFailure> {
        let params = initialize_params(Version::V2024_11_05);
        let r = self
            .exchange("initialize", &params, internal_id(), None, timeout, true)
            .await;
        if r.outcome != Outcome::Ok {
            return Err(fail(r.outcome, "initialize"));
        }
        let chosen = negotiated(r.result.as_ref())?;
        if chosen.era() != Era::LegacySse {
            return Err(fail(
                Outcome::Protocol(ProtocolError::Unexpected),
                format!("initialize: the server chose {chosen}, which is not 2024-11-05"),
            ));
        }
        let body = encode(None, "notifications/initialized", &Value::Null, None, 0)
            .ok_or_else(|| fail(Outcome::ClientError, "initialized: cannot encode"))?;
        let req = self.post_request(Bytes::from(body));
        match tokio::time::timeout(timeout, self.client.send(req)).await {
            Err(_) => return Err(fail(Outcome::Timeout, "notifications/initialized")),
            Ok(Err(o)) => return Err(fail(o, "notifications/initialized")),
            Ok(Ok(resp)) => {
                let status = resp.status();
                finish(resp.into_body());
                if !status.is_success() {
                    return Err(fail(
                        Outcome::HttpError(status.as_u16()),
                        "notifications/initialized",
                    ));
                }
            }
        }
        self.version = chosen;
        self.init = r.result.unwrap_or(Value::Null);
        Ok(())
    }

    /// The revision the server chose (2024-11-05).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The initialize result (server info, capabilities).
    pub fn initialize_result(&self) -> &Value {
        &self.init
    }

    /// Where messages are POSTed (from the `endpoint` event).
    pub fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// Whether the stream has ended (every later call ends in `Transport(Eof)`).
    pub fn is_closed(&self) -> bool {
        self.shared.is_ended()
    }

    /// `message` events that were not JSON-RPC messages (no call was failed for them).
    pub fn malformed_events(&self) -> u64 {
        self.shared.malformed()
    }

    /// Responses no call was waiting for (late after a timeout, a wrong or null id).
    pub fn stray_responses(&self) -> u64 {
        self.shared.stray()
    }

    /// One measured call: the call id and traceparent go into `params._meta` and the
    /// `x-gauntlet-call-id` and `traceparent` headers; the JSON-RPC id is the call id, which
    /// must not be in flight already (`ClientError`). The result is not kept.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        self.exchange(method, &params, meta.call_id, Some(&meta), timeout, false)
            .await
    }

    /// [`LegacySession::call`], keeping the result.
    pub async fn call_with_result(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        self.exchange(method, &params, meta.call_id, Some(&meta), timeout, true)
            .await
    }

    /// A request that is not a measured call: an internal id, the result kept.
    pub async fn request(&self, method: &str, params: Value, timeout: Duration) -> CallResult {
        self.exchange(method, &params, internal_id(), None, timeout, true)
            .await
    }

    /// A request on behalf of another client (the reference gateway forwarding a call): an
    /// internal JSON-RPC id, `params` sent as they are (their `_meta` carries whatever is
    /// forwarded; a progress token is swapped for one of this client's own when the caller
    /// relays progress, [`super::pending::relay_progress`]), `headers` added to the POST; the result is kept.
    pub async fn forward(
        &self,
        method: &str,
        params: &Value,
        headers: &HeaderMap,
        timeout: Duration,
    ) -> CallResult {
        let relayed = super::pending::relay_progress(&self.shared, params);
        let params = relayed.as_ref().map_or(params, |(p, _)| p);
        self.exchange_with(method, params, internal_id(), None, headers, timeout, true)
            .await
    }

    /// Calls `f` with every notification the server sends (its JSON bytes), on the reader
    /// task: keep it short. Only the first handler set is kept.
    pub fn on_notification(&self, f: impl Fn(&[u8]) + Send + Sync + 'static) {
        self.shared.on_notification(Box::new(f));
    }

    fn post_request(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.endpoint.clone();
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        h.insert(ACCEPT, ACCEPT_BOTH);
        h.insert(CONTENT_TYPE, JSON);
        req
    }

    async fn exchange(
        &self,
        method: &str,
        params: &Value,
        id: u64,
        meta: Option<&CallMeta>,
        timeout: Duration,
        keep: bool,
    ) -> CallResult {
        let none = HeaderMap::new();
        self.exchange_with(method, params, id, meta, &none, timeout, keep)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange_with(
        &self,
        method: &str,
        params: &Value,
        id: u64,
        meta: Option<&CallMeta>,
        headers: &HeaderMap,
        timeout: Duration,
        keep: bool,
    ) -> CallResult {
        let ids = meta.map(|m| (m.call_id, m.traceparent.as_str()));
        let Some(body) = encode(Some(id), method, params, ids, 0) else {
            return CallResult::failed(Outcome::ClientError);
        };
        let mut req = self.post_request(Bytes::from(body));
        for (k, v) in headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        if let Some(m) = meta {
            let h = req.headers_mut();
            h.insert(CALL_ID, HeaderValue::from(m.call_id));
            if let Ok(v) = HeaderValue::from_str(&m.traceparent) {
                h.insert(TRACEPARENT, v);
            }
        }
        let (_reg, rx) = match self.shared.register(id, keep) {
            Ok(r) => r,
            Err(o) => return CallResult::failed(o),
        };
        let round = async {
            let resp = match self.client.send(req).await {
                Ok(r) => r,
                Err(o) => return CallResult::failed(o),
            };
            let status = resp.status();
            finish(resp.into_body());
            if !status.is_success() {
                return CallResult::failed(Outcome::HttpError(status.as_u16()));
            }
            match rx.await {
                Ok(r) => r,
                // The reader is gone without answering (the session is being dropped).
                Err(_) => CallResult::failed(Outcome::Transport(TransportError::Eof)),
            }
        };
        match tokio::time::timeout(timeout, round).await {
            Ok(r) => r,
            Err(_) => CallResult::failed(Outcome::Timeout),
        }
    }

    /// Ends the session: stops the reader and closes the stream (the server ends the session
    /// when its stream closes). Calls in flight end in `Transport(Eof)`.
    pub async fn close(self) {
        self.reader.abort();
        self.shared.end(Outcome::Transport(TransportError::Eof));
    }
}

impl Requester for LegacySession {
    fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> impl Future<Output = CallResult> + Send {
        LegacySession::request(self, method, params, timeout)
    }
}

async fn read_loop(mut body: Incoming, mut parser: SseParser, shared: Arc<Pending>) {
    let end = loop {
        while let Some(ev) = parser.next_event() {
            if ev.name() == "message" && !ev.data.is_empty() {
                shared.deliver(ev.data.as_bytes());
            }
        }
        if parser.pending_bytes() > MAX_ANSWER {
            break Outcome::Protocol(ProtocolError::Unexpected);
        }
        match body.frame().await {
            None => break Outcome::Transport(TransportError::Eof),
            Some(Err(e)) => break classify_error(&e),
            Some(Ok(frame)) => {
                if let Ok(d) = frame.into_data() {
                    parser.feed(&d);
                }
            }
        }
    };
    shared.end(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_endpoint_against_the_sse_url() {
        let sse: Uri = "http://127.0.0.1:8080/sse".parse().unwrap();
        let r = |e: &str| resolve_endpoint(&sse, e).map(|u| u.to_string());
        assert_eq!(
            r("/messages?session_id=abc").as_deref(),
            Some("http://127.0.0.1:8080/messages?session_id=abc")
        );
        assert_eq!(
            r("messages?x=1").as_deref(),
            Some("http://127.0.0.1:8080/messages?x=1")
        );
        assert_eq!(
            r("http://127.0.0.1:8080/m").as_deref(),
            Some("http://127.0.0.1:8080/m")
        );
        assert_eq!(r("http://evil.example/m"), None);
        assert_eq!(r("//evil.example/m"), None);
        assert_eq!(r(""), None);
        let nested: Uri = "http://h:1/a/sse".parse().unwrap();
        assert_eq!(
            resolve_endpoint(&nested, "messages").map(|u| u.to_string()),
            Some("http://h:1/a/messages".into())
        );
    }
}
