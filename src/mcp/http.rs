//! Streamable HTTP, server side: the session era (2025-03-26, 2025-06-18, 2025-11-25) and,
//! on the same endpoint, the stateless 2026-07-28 era ([`super::stateless`]), chosen per
//! request by what the client sends ([`super::modern::claims_modern`]).
//!
//! One endpoint (`/mcp`): POST carries one message (or a batch) and is answered with JSON or
//! an SSE stream; notifications and responses get 202; `initialize` issues `Mcp-Session-Id`;
//! every later session-era request needs it (400 without, 404 for an unknown one); DELETE
//! ends a session; GET opens the session's standalone SSE stream. GET or DELETE without a
//! session id get 405 (2026-07-28 has neither). Bodies over 4 MiB get 413.

use super::http_parts::{
    Accept, HeaderMeta, HttpFront, HttpResponse, empty, http_fault, json, local_origin, plain,
    read_body, rpc_error_status, sse_response,
};
use super::jsonrpc::{self, ErrorObject, Incoming, Message, Request, code};
use super::modern::claims_modern;
use super::protocol::{Version, header, header_name, negotiate};
use super::service::{Deferred, Notifier, Reply, Service, cancel_from};
use super::session::{Session, new_session_id};
use crate::clock;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use hyper::body::Incoming as HyperBody;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
