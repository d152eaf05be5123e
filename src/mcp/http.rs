//! Streamable HTTP, server side: the session era (2025-03-26, 2025-06-18, 2025-11-25) and,
//! on the same endpoint, the stateless 2026-07-28 era ([`super::stateless`]), chosen per
//! request by what the client sends ([`super::modern::claims_modern`]).
//!
//! One endpoint (`/mcp`): POST carries one message (or a batch) and is answered with JSON or
//! an SSE stream; notifications and responses get 202; `initialize` issues `Mcp-Session-Id`;
//! every later session-era request needs it (400 without, 404 for an unknown one); DELETE
//! ends a session; GET opens the session's standalone SSE stream. GET or DELETE without a
//! session id get 405 (2026-07-28 has neither). Bodies over 4 MiB get 413.

use super::jsonrpc::{self, ErrorObject, Incoming, Message, Request, code};
use super::modern::claims_modern;
use super::protocol::{Version, header, header_name, negotiate};
use super::service::{CallContext, Deferred, Notifier, Reply, Service, TransportKind, cancel_from};
use super::session::{Session, SessionTable, new_session_id};
use super::sse;
use crate::clock;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming as HyperBody};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Largest request body accepted.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub type Body = BoxBody<Bytes, Infallible>;
pub(crate) type HttpResponse = http::Response<Body>;

/// A Streamable HTTP front end for a [`Service`].
pub struct HttpFront<S> {
    pub service: Arc<S>,
    pub sessions: Arc<SessionTable>,
    pub path: String,
    /// The service's [`Service::server_info`] as JSON, written once.
    identity: std::sync::OnceLock<Option<Box<serde_json::value::RawValue>>>,
}

impl<S: Service> HttpFront<S> {
    pub fn new(service: Arc<S>, sessions: Arc<SessionTable>) -> Arc<Self> {
        Arc::new(HttpFront {
            service,
            sessions,
            path: "/mcp".to_string(),
            identity: std::sync::OnceLock::new(),
        })
    }

    /// The server's identity as JSON (a service's identity does not change while it serves).
    pub(crate) fn identity(&self) -> Option<&serde_json::value::RawValue> {
        let raw = self.identity.get_or_init(|| {
            let info = self.service.server_info()?;
            serde_json::value::to_raw_value(&*info).ok()
        });
        raw.as_deref()
    }
}

/// Serves connections from `listener` until `shutdown` fires, then closes every session and
/// waits (briefly) for connections to finish.
pub async fn serve<S: Service>(
    listener: TcpListener,
    front: Arc<HttpFront<S>>,
    shutdown: CancellationToken,
) {
    serve_gated(
        listener,
        front,
        shutdown,
        Arc::new(super::gate::Gate::default()),
    )
    .await;
}

/// [`serve`], following `gate` (connection-level faults, [`super::gate`]): every change of
/// reach drops the open connections; while it refuses, the port is closed, and it is bound
/// again — the same port — when the gate opens.
pub async fn serve_gated<S: Service>(
    listener: TcpListener,
    front: Arc<HttpFront<S>>,
    shutdown: CancellationToken,
    gate: Arc<super::gate::Gate>,
) {
    let addr = listener.local_addr().ok();
    let mut listener = Some(listener);
    let mut state = gate.subscribe();
    let tracker = TaskTracker::new();
    loop {
        let reach = state.borrow_and_update().reach;
        listener = match (reach, listener.take(), addr) {
            (super::gate::Reach::Refuse, _, _) => None,
            (_, Some(l), _) => Some(l),
            (_, None, Some(addr)) => match listen_again(addr, &shutdown).await {
                Some(l) => Some(l),
                None => break,
            },
            (_, None, None) => break,
        };
        gate.served(Some(reach));
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = state.changed() => continue,
            a = accept(listener.as_ref()) => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and similar: wait a moment rather than spin or die.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (front, shutdown, watch) = (front.clone(), shutdown.clone(), state.clone());
        match state.borrow().reach {
            super::gate::Reach::Up => {
                drop(tracker.spawn(connection(stream, front, shutdown, watch)))
            }
            super::gate::Reach::Blackhole => {
                drop(tracker.spawn(blackhole(stream, shutdown, watch)))
            }
            super::gate::Reach::Reset | super::gate::Reach::Refuse => reset(stream),
        }
    }
    gate.served(None);
    front.sessions.clear();
    front.sessions.close_listeners();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(3), tracker.wait()).await;
}

async fn accept(
    listener: Option<&TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Binds the port again after an outage; retries while another socket still holds it.
async fn listen_again(
    addr: std::net::SocketAddr,
    shutdown: &CancellationToken,
) -> Option<TcpListener> {
    let mut warned = false;
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Some(l),
            Err(e) if !warned => {
                tracing::warn!("cannot listen on {addr} again yet: {e}; retrying");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

/// Closes a connection with a reset (RST), not a clean end.
fn reset(stream: tokio::net::TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Reads and discards whatever arrives; never answers. Ends when the peer leaves, the gate
/// changes (reset) or the server stops.
async fn blackhole(
    mut stream: tokio::net::TcpStream,
    shutdown: CancellationToken,
    mut gate: tokio::sync::watch::Receiver<super::gate::GateState>,
) {
    use tokio::io::AsyncReadExt;
    let epoch = gate.borrow().epoch;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            _ = super::gate::dropped(&mut gate, epoch) => return reset(stream),
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn connection<S: Service>(
    stream: tokio::net::TcpStream,
    front: Arc<HttpFront<S>>,
    shutdown: CancellationToken,
    mut gate: tokio::sync::watch::Receiver<super::gate::GateState>,
) {
    let epoch = gate.borrow().epoch;
    let svc = hyper::service::service_fn(move |req| {
        let front = front.clone();
        async move { Ok::<_, Infallible>(super::wire_fault::scoped(handle(&front, req)).await) }
    });
    let mut conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = &mut conn => {}
        _ = shutdown.cancelled() => {
            std::pin::Pin::new(&mut conn).graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
        }
        // An outage began (or ended): calls in flight and idle keep-alive connections alike
        // are reset, so a pooled connection cannot keep a down server reachable.
        _ = super::gate::dropped(&mut gate, epoch) => reset(conn.into_parts().io.into_inner()),
    }
}

/// Answers one HTTP request.
pub async fn handle<S: Service>(
    front: &Arc<HttpFront<S>>,
    req: http::Request<HyperBody>,
) -> HttpResponse {
    let arrival = clock::now_ns();
    if !local_origin(req.headers()) {
        return plain(
            StatusCode::FORBIDDEN,
            "forbidden: Origin and Host must be a loopback address",
        );
    }
    let path = req.uri().path();
    if path != front.path {
        if req.method() == Method::GET
            && let Some(doc) = front.service.http_get(path)
        {
            return json(StatusCode::OK, serde_json::to_vec(&doc).unwrap_or_default());
        }
        // The 2024-11-05 HTTP+SSE transport, beside Streamable HTTP.
        return match (req.method(), path) {
            (&Method::GET, super::legacy::SSE_PATH) => super::legacy::open(front),
            (&Method::POST, super::legacy::MESSAGES_PATH) => {
                super::legacy::post(front, req, arrival).await
            }
            _ => plain(
                StatusCode::NOT_FOUND,
                "not found: MCP is served at /mcp (and at /sse for the 2024-11-05 transport)",
            ),
        };
    }
    match *req.method() {
        Method::POST => post(front, req, arrival).await,
        Method::GET | Method::DELETE if !req.headers().contains_key(&header_name::SESSION_ID) => {
            let mut r = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: without Mcp-Session-Id only POST is served",
            );
            r.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
            r
        }
        Method::GET => get_stream(front, req.headers()),
        Method::DELETE => delete(front, req.headers()),
        _ => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            r.headers_mut().insert(
                http::header::ALLOW,
                HeaderValue::from_static("GET, POST, DELETE"),
            );
            r
        }
    }
}

async fn post<S: Service>(
    front: &Arc<HttpFront<S>>,
    req: http::Request<HyperBody>,
    arrival: u64,
) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let accept = Accept::of(&parts.headers);
    if !accept.json && !accept.sse {
        return rpc_error_status(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "Not Acceptable: Accept must include application/json or text/event-stream",
        );
    }
    if let Some(ct) = parts.headers.get(http::header::CONTENT_TYPE)
        && !ct.as_bytes().starts_with(b"application/json")
    {
        return rpc_error_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::INVALID_REQUEST,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let bytes = match read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let incoming = match jsonrpc::parse(&bytes) {
        Ok(i) => i,
        Err(f) => {
            return json(
                StatusCode::BAD_REQUEST,
                jsonrpc::response_bytes(f.id.as_ref(), &Err(f.error)),
            );
        }
    };
    let meta = HeaderMeta::of(&parts.headers, arrival);
    match incoming {
        Incoming::Single(Message::Request(r)) if claims_modern(&parts.headers, &r) => {
            super::stateless::request(front, r, &parts.headers, meta, accept).await
        }
        Incoming::Single(Message::Request(r)) if r.method == "initialize" => {
            initialize(front, r, meta).await
        }
        // 2026-07-28 defines no client notifications over HTTP; one is accepted and ignored.
        Incoming::Single(Message::Notification(_)) if stateless_notification(&parts.headers) => {
            empty(StatusCode::ACCEPTED)
        }
        Incoming::Single(msg) => {
            let session = match session_of(front, &parts.headers) {
                Ok(s) => s,
                Err(r) => return r,
            };
            match msg {
                Message::Request(r) => request(front, session, r, meta, accept).await,
                other => {
                    deliver(front, other, &session);
                    empty(StatusCode::ACCEPTED)
                }
            }
        }
        Incoming::Batch(items) => batch(front, &parts.headers, items, meta).await,
    }
}

pub(crate) async fn read_body(headers: &HeaderMap, body: HyperBody) -> Result<Bytes, HttpResponse> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(plain(StatusCode::BAD_REQUEST, "could not read the body")),
    }
}

fn too_large() -> HttpResponse {
    rpc_error_status(
        StatusCode::PAYLOAD_TOO_LARGE,
        code::INVALID_REQUEST,
        "Payload Too Large: bodies are limited to 4 MiB",
    )
}

/// Header values a request carries into its [`CallContext`].
pub(crate) struct HeaderMeta {
    arrival: u64,
    traceparent: Option<String>,
    call_id: Option<u64>,
}

impl HeaderMeta {
    pub(crate) fn of(h: &HeaderMap, arrival: u64) -> HeaderMeta {
        HeaderMeta {
            arrival,
            traceparent: h
                .get(&header_name::TRACEPARENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            call_id: h
                .get(&header_name::CALL_ID)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
        }
    }

    pub(crate) fn context(
        &self,
        session: Arc<Session>,
        notify: Notifier,
        cancel: Option<CancellationToken>,
    ) -> CallContext {
        CallContext {
            session,
            transport: TransportKind::Http,
            arrival_ns: self.arrival,
            traceparent: self.traceparent.clone(),
            call_id_header: self.call_id,
            notify,
            cancel,
        }
    }
}

async fn initialize<S: Service>(
    front: &Arc<HttpFront<S>>,
    r: Request,
    meta: HeaderMeta,
) -> HttpResponse {
    let requested = r
        .params
        .as_ref()
        .and_then(|p| p.get("protocolVersion"))
        .and_then(|v| v.as_str());
    let session = Session::new(Some(new_session_id()), negotiate(requested));
    let id = r.id.clone();
    let ctx = meta.context(session.clone(), Notifier::Session(session.clone()), None);
    let handled = front.service.request(r, ctx);
    let Some(reply) = handled.reply.await else {
        return empty(StatusCode::ACCEPTED);
    };
    if let Some(f) = reply.http {
        return http_fault(f);
    }
    let ok = reply.result.is_ok();
    let mut resp = json(
        StatusCode::OK,
        jsonrpc::response_bytes(Some(&id), &reply.result),
    );
    if ok {
        if let Some(v) = session.id().and_then(|s| HeaderValue::from_str(s).ok()) {
            resp.headers_mut().insert(header::SESSION_ID, v);
        }
        front.sessions.insert(session);
    }
    resp
}

async fn request<S: Service>(
    front: &Arc<HttpFront<S>>,
    session: Arc<Session>,
    r: Request,
    meta: HeaderMeta,
    accept: Accept,
) -> HttpResponse {
    // The stream, and its channel, only for the answers that go out as one.
    let notify = Deferred::new();
    let token = CancellationToken::new();
    let ctx = meta.context(
        session.clone(),
        Notifier::Deferred(notify.clone()),
        Some(token.clone()),
    );
    let id = r.id.clone();
    let handled = front.service.request(r, ctx);
    let work = super::service::run_cancellable(session.clone(), id.clone(), token, handled.reply);
    if handled.stream && accept.sse {
        let (tx, rx) = mpsc::unbounded_channel();
        notify.settle(Some(Notifier::Stream(tx.clone())));
        tokio::spawn(async move {
            if let Some(reply) = work.await {
                let result = match reply.http {
                    None => reply.result,
                    Some(f) => Err(ErrorObject::new(
                        code::INTERNAL_ERROR,
                        format!("HTTP {} (simulated)", f.status),
                    )),
                };
                let _ = tx.send(Message::Response(jsonrpc::Response {
                    id: Some(id),
                    result,
                }));
            }
        });
        return sse_response(rx, session.version());
    }
    // Notifications of a call answered as plain JSON go to the session's stream, if open.
    notify.settle(Some(Notifier::Session(session.clone())));
    let reply = work.await;
    match reply {
        None => json(
            StatusCode::OK,
            jsonrpc::response_bytes(
                Some(&id),
                &Err(ErrorObject::new(-32800, "request cancelled")),
            ),
        ),
        Some(Reply { http: Some(f), .. }) => http_fault(f),
        Some(reply) => json(
            StatusCode::OK,
            jsonrpc::response_bytes(Some(&id), &reply.result),
        ),
    }
}

/// A notification or a response from the client.
fn deliver<S: Service>(front: &Arc<HttpFront<S>>, msg: Message, session: &Arc<Session>) {
    match msg {
        Message::Notification(n) => {
            if !cancel_from(&n, session) {
                front.service.notification(n, session);
            }
        }
        Message::Response(r) => front.service.response(r.id, r.result, session),
        Message::Request(_) => {}
    }
}

async fn batch<S: Service>(
    front: &Arc<HttpFront<S>>,
    headers: &HeaderMap,
    items: Vec<Result<Message, jsonrpc::ParseFailure>>,
    meta: HeaderMeta,
) -> HttpResponse {
    let session = match session_of(front, headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut work = Vec::new();
    let mut out: Vec<serde_json::Value> = Vec::new();
    for item in items {
        match item {
            Err(f) => out.push(raw(jsonrpc::response_bytes(f.id.as_ref(), &Err(f.error)))),
            Ok(Message::Request(r)) => {
                let ctx = meta.context(session.clone(), Notifier::Session(session.clone()), None);
                let id = r.id.clone();
                let h = front.service.request(r, ctx);
                work.push(async move { (id, h.reply.await) });
            }
            Ok(other) => deliver(front, other, &session),
        }
    }
    for (id, reply) in futures_util::future::join_all(work).await {
        if let Some(reply) = reply {
            out.push(raw(jsonrpc::response_bytes(Some(&id), &reply.result)));
        }
    }
    if out.is_empty() {
        return empty(StatusCode::ACCEPTED);
    }
    json(StatusCode::OK, serde_json::to_vec(&out).unwrap_or_default())
}

/// A notification without a session that names 2026-07-28 in `MCP-Protocol-Version`.
fn stateless_notification(h: &HeaderMap) -> bool {
    !h.contains_key(&header_name::SESSION_ID)
        && h.get(&header_name::PROTOCOL_VERSION)
            .is_some_and(|v| v.as_bytes() == Version::V2026_07_28.as_str().as_bytes())
}

fn raw(bytes: Vec<u8>) -> serde_json::Value {
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

fn get_stream<S: Service>(front: &Arc<HttpFront<S>>, headers: &HeaderMap) -> HttpResponse {
    if !Accept::of(headers).sse_explicit {
        return rpc_error_status(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "Not Acceptable: GET needs Accept: text/event-stream",
        );
    }
    let session = match session_of(front, headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let version = session.version();
    sse_response(session.open_stream(), version)
}

fn delete<S: Service>(front: &Arc<HttpFront<S>>, headers: &HeaderMap) -> HttpResponse {
    match session_of(front, headers) {
        Ok(s) => {
            if let Some(id) = s.id() {
                front.sessions.remove(id);
            }
            empty(StatusCode::OK)
        }
        Err(r) => r,
    }
}

// The error is the HTTP answer itself; it is built once per failed request.
#[allow(clippy::result_large_err)]
/// The session a request names: 400 without `Mcp-Session-Id`, 404 for an unknown one, 400 for
/// an `MCP-Protocol-Version` this server does not speak.
fn session_of<S: Service>(
    front: &Arc<HttpFront<S>>,
    headers: &HeaderMap,
) -> Result<Arc<Session>, HttpResponse> {
    let Some(id) = headers.get(&header_name::SESSION_ID) else {
        return Err(rpc_error_status(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "Bad Request: Mcp-Session-Id header is required",
        ));
    };
    let session = id.to_str().ok().and_then(|id| front.sessions.get(id));
    let Some(session) = session else {
        return Err(rpc_error_status(
            StatusCode::NOT_FOUND,
            -32001,
            "Session not found",
        ));
    };
    if let Some(v) = headers.get(&header_name::PROTOCOL_VERSION) {
        let known = v
            .to_str()
            .ok()
            .and_then(|v| v.parse::<Version>().ok())
            .is_some_and(|v| v != Version::V2026_07_28);
        if !known {
            return Err(rpc_error_status(
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
                "Bad Request: unsupported MCP-Protocol-Version",
            ));
        }
    }
    Ok(session)
}

/// What the client accepts.
#[derive(Clone, Copy)]
pub(crate) struct Accept {
    json: bool,
    pub(crate) sse: bool,
    sse_explicit: bool,
}

impl Accept {
    fn of(h: &HeaderMap) -> Accept {
        let Some(v) = h.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Accept {
                json: true,
                sse: true,
                sse_explicit: false,
            };
        };
        let any = v.contains("*/*");
        let sse_explicit = v.contains("text/event-stream");
        Accept {
            json: any || v.contains("application/json") || v.contains("application/*"),
            sse: any || sse_explicit,
            sse_explicit: sse_explicit || any,
        }
    }
}

/// DNS-rebinding protection: a browser page's Origin, or a Host header, that is not loopback
/// is refused.
fn local_origin(h: &HeaderMap) -> bool {
    let host_ok = |authority: &str| {
        let host = match authority.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        matches!(host, "localhost" | "127.0.0.1" | "::1")
    };
    let origin_ok = match h.get(http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(o) => host_ok(o.split("://").nth(1).unwrap_or(o)),
    };
    let host_hdr_ok = match h.get(http::header::HOST) {
        None => true,
        Some(v) => v.to_str().map(host_ok).unwrap_or(false),
    };
    origin_ok && host_hdr_ok
}

/// Streams numbered since the server started; event ids are `<stream>-<n>`.
static STREAMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
/// The reconnection delay announced in priming events.
const RETRY_MS: u64 = 1000;

/// An SSE body carrying `rx`'s messages. In 2025-11-25 the stream opens with a priming event
/// (an id and `retry`) and every event has an id, so that a client can resume; 2026-07-28
/// removed resumption, and with it the ids.
pub(crate) fn sse_response(rx: mpsc::UnboundedReceiver<Message>, version: Version) -> HttpResponse {
    let ids = version == Version::V2025_11_25;
    let stream_no = STREAMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let first = ids.then(|| sse::priming(&format!("{stream_no}-0"), RETRY_MS));
    let head = stream::iter(first.map(|b| Ok::<_, Infallible>(Frame::data(b))));
    let events = stream::unfold((rx, 1u64), move |(mut rx, n)| async move {
        let msg = rx.recv().await?;
        let id = ids.then(|| format!("{stream_no}-{n}"));
        let frame = Frame::data(sse::event(id.as_deref(), Some("message"), &msg.to_vec()));
        Some((Ok::<_, Infallible>(frame), (rx, n + 1)))
    });
    let body = StreamBody::new(futures_util::StreamExt::chain(head, events));
    let mut r = event_stream(BodyExt::boxed(body));
    r.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// An SSE response (200, `text/event-stream`, not cached) of `body`.
pub(crate) fn event_stream(body: Body) -> HttpResponse {
    let mut r = response(StatusCode::OK, body, Some("text/event-stream"));
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    r
}

/// Room for the headers of an MCP request: host, content type and length, accept, the
/// revision, the session or the method and name, a user agent, an encoding… (see [`response`]).
const REQUEST_HEADER_ROOM: usize = 12;

/// A response of `status` and `body`. hyper parses a connection's next request into the header
/// map of the response it has just written (emptied), so the map is made with room for a
/// request's headers: the default (6) grows, two allocations and a copy, on every request that
/// carries more (a 2026-07-28 request from a client that sends no more than it must has 7).
pub(crate) fn response(
    status: StatusCode,
    body: Body,
    content_type: Option<&'static str>,
) -> HttpResponse {
    let mut r = http::Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    *h = HeaderMap::with_capacity(REQUEST_HEADER_ROOM);
    if let Some(t) = content_type {
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(t));
    }
    r
}

pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let body = Full::new(Bytes::from(body)).boxed();
    response(status, body, Some("application/json"))
}

pub(crate) fn rpc_error_status(status: StatusCode, code: i32, message: &str) -> HttpResponse {
    json(
        status,
        jsonrpc::response_bytes(None, &Err(ErrorObject::new(code, message))),
    )
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    let body = Full::new(Bytes::from_static(text.as_bytes())).boxed();
    response(status, body, Some("text/plain; charset=utf-8"))
}

pub(crate) fn empty(status: StatusCode) -> HttpResponse {
    response(status, Full::new(Bytes::new()).boxed(), None)
}

pub(crate) fn http_fault(f: super::service::HttpFault) -> HttpResponse {
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = plain(status, "simulated HTTP failure");
    if let Some(s) = f.retry_after_s
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn responses_have_room_for_the_next_request_headers() {
        // hyper parses the connection's next request into this map, emptied.
        for r in [
            json(StatusCode::OK, b"{}".to_vec()),
            empty(StatusCode::ACCEPTED),
            plain(StatusCode::NOT_FOUND, "x"),
            event_stream(Full::new(Bytes::new()).boxed()),
        ] {
            assert!(r.headers().capacity() >= REQUEST_HEADER_ROOM, "{r:?}");
        }
    }

    #[test]
    fn origin_must_be_loopback() {
        assert!(local_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(local_origin(&headers(&[("host", "localhost")])));
        assert!(local_origin(&headers(&[("host", "[::1]:9")])));
        assert!(!local_origin(&headers(&[("host", "evil.example:80")])));
        assert!(!local_origin(&headers(&[
            ("host", "127.0.0.1:1"),
            ("origin", "http://evil.example")
        ])));
        assert!(local_origin(&headers(&[
            ("host", "127.0.0.1:1"),
            ("origin", "http://localhost:3000")
        ])));
    }

    #[test]
    fn accept_rules() {
        let a = Accept::of(&headers(&[("accept", "application/json")]));
        assert!(a.json && !a.sse);
        let a = Accept::of(&headers(&[(
            "accept",
            "application/json, text/event-stream",
        )]));
        assert!(a.json && a.sse);
        let a = Accept::of(&headers(&[("accept", "text/html")]));
        assert!(!a.json && !a.sse);
        let a = Accept::of(&HeaderMap::new());
        assert!(a.json && a.sse && !a.sse_explicit);
    }
}
