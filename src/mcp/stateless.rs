//! Streamable HTTP, server side, 2026-07-28 (stateless): each POST is one request, checked on
//! its own ([`modern::check_headers`], [`modern::check_meta`]) and served without a session.
//!
//! | the request | the answer |
//! |---|---|
//! | a header missing or not matching the body | 400, -32020 HeaderMismatch |
//! | `_meta` without the revision or the client capabilities | 400, -32602 |
//! | a revision other than 2026-07-28 in `_meta` | 400, -32022 listing the supported ones |
//! | a method the revision removed (ping, logging/setLevel, initialize…) or an unknown one | 404, -32601 |
//! | `subscriptions/listen` | an SSE stream: the acknowledgement, then the list changes asked for |
//! | anything else | the service's answer with `resultType` and the server's identity in `_meta`; as an SSE stream when the call sends notifications (closing it cancels the call) |
//!
//! No `Mcp-Session-Id` is issued and SSE events carry no ids (streams are not resumable).

use super::http_parts::{
    Accept, HeaderMeta, HttpFront, HttpResponse, http_fault, json, sse_response,
};
use super::jsonrpc::{self, ErrorObject, Message, Request, RequestId, code};
use super::modern::{self, ListenFilter, Rejection};
use super::protocol::{LogLevel, Version};
use super::service::{Deferred, Notifier, Reply, Service};
use super::session::Session;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// Serves one 2026-07-28 request.
pub(crate) async fn request<S: Service>(
    front: &Arc<HttpFront<S>>,
    r: Request,
    headers: &HeaderMap,
    meta: HeaderMeta,
    accept: Accept,
) -> HttpResponse {
    let checked = modern::check_headers(headers, &r).and_then(|()| modern::check_meta(&r));
    let asked = match checked {
        Ok(m) => m,
        Err(rejection) => return rejected(&r.id, rejection),
    };
    if modern::REMOVED.contains(&r.method.as_str()) {
        let e = ErrorObject::new(
            code::METHOD_NOT_FOUND,
            format!("method not found: {} (not part of 2026-07-28)", r.method),
        );
        return answer(&r.id, Err(e));
    }
    if r.method == "subscriptions/listen" {
        return listen(front, r, accept);
    }
    // The stream, and its channel, only for the answers that go out as one.
    let notify = Deferred::new();
    // No notifications/cancelled over HTTP in this revision: nothing to fire a token.
    let ctx = meta.context(
        shared_session(asked.log_level),
        Notifier::Deferred(notify.clone()),
        None,
    );
    let (id, cacheable) = (r.id.clone(), modern::cacheable(&r.method));
    let handled = front.service.request(r, ctx);
    let work = handled.reply;
    if handled.stream && accept.sse {
        let (tx, rx) = mpsc::unbounded_channel();
        notify.settle(Some(Notifier::Stream(tx.clone())));
        let info = front.service.server_info();
        tokio::spawn(async move {
            // Closing the response stream is how a 2026-07-28 client cancels.
            let reply = tokio::select! {
                r = work => r,
                _ = tx.closed() => None,
            };
            let reply = reply.map(|mut reply| {
                if let Ok(v) = &mut reply.result {
                    modern::decorate(cacheable, v, info.as_deref());
                }
                reply
            });
            if let Some(reply) = reply {
                let _ = tx.send(Message::Response(jsonrpc::Response {
                    id: Some(id),
                    result: on_stream(reply),
                }));
            }
        });
        return sse_response(rx, Version::V2026_07_28);
    }
    // A JSON answer has no stream: in this revision its notifications go nowhere.
    notify.settle(None);
    match work.await {
        Some(Reply { http: Some(f), .. }) => http_fault(f),
        Some(Reply { result: Ok(v), .. }) => json(
            StatusCode::OK,
            decorated_bytes(&id, &v, cacheable, front.identity()),
        ),
        Some(Reply { result, .. }) => answer(&id, result),
        // Only the client can cancel, and without a stream it has no way to.
        None => answer(
            &id,
            Err(ErrorObject::new(code::INTERNAL_ERROR, "request cancelled")),
        ),
    }
}

/// A JSON-RPC response whose result is written decorated ([`modern::write_decorated`]).
fn decorated_bytes(
    id: &RequestId,
    result: &Value,
    cacheable: bool,
    info: Option<&RawValue>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    jsonrpc::write_json(&mut out, id);
    out.extend_from_slice(br#","result":"#);
    modern::write_decorated(&mut out, result, cacheable, info);
    out.push(b'}');
    out
}

/// The session a 2026-07-28 request is served in: one per log level, shared (such a request
/// has no session of its own; what a service reads of it is the revision and the log level).
fn shared_session(level: Option<LogLevel>) -> Arc<Session> {
    static SESSIONS: OnceLock<Vec<Arc<Session>>> = OnceLock::new();
    let all = SESSIONS.get_or_init(|| {
        (0..=8u8)
            .map(|i| {
                let s = Session::new(None, Version::V2026_07_28);
                s.set_log_level((i < 8).then(|| LogLevel::from_u8(i)));
                s
            })
            .collect()
    });
    let i = level.map_or(8, |l| l as usize);
    all[i.min(8)].clone()
}

/// A simulated HTTP failure cannot change a stream's status once it is open: it becomes an
/// error response on the stream.
fn on_stream(reply: Reply) -> Result<serde_json::Value, ErrorObject> {
    match reply.http {
        None => reply.result,
        Some(f) => Err(ErrorObject::new(
            code::INTERNAL_ERROR,
            format!("HTTP {} (simulated)", f.status),
        )),
    }
}

/// A JSON answer: 404 for an unknown method (how a client tells it from a legacy server's
/// 404: the JSON-RPC body), 200 otherwise.
fn answer(id: &RequestId, result: Result<serde_json::Value, ErrorObject>) -> HttpResponse {
    let status = match &result {
        Err(e) if e.code == code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    json(status, jsonrpc::response_bytes(Some(id), &result))
}

fn rejected(id: &RequestId, r: Rejection) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    json(status, jsonrpc::response_bytes(Some(id), &Err(r.error)))
}

/// `subscriptions/listen`: a stream that stays open with the notifications asked for.
fn listen<S: Service>(front: &Arc<HttpFront<S>>, r: Request, accept: Accept) -> HttpResponse {
    if !accept.sse {
        let e = ErrorObject::new(
            code::INVALID_REQUEST,
            "subscriptions/listen is answered with an SSE stream: Accept must include \
             text/event-stream",
        );
        return json(
            StatusCode::NOT_ACCEPTABLE,
            jsonrpc::response_bytes(Some(&r.id), &Err(e)),
        );
    }
    let filter = ListenFilter::of(r.params.as_ref());
    sse_response(front.sessions.listen(r.id, filter), Version::V2026_07_28)
}
