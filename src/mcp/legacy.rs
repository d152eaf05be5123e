//! The 2024-11-05 HTTP+SSE transport, server side: `GET /sse` opens the session's stream, whose
//! first event (`endpoint`) names the URI to POST messages to; every POST is answered 202 and
//! the responses (and the calls' notifications) travel as `message` events on the stream. The
//! session ends when the stream closes.

use super::http_parts::{Body, HeaderMeta, HttpFront, empty, read_body, rpc_error_status};
use super::jsonrpc::{self, ErrorObject, Incoming, Message, Request, code};
use super::protocol::{Version, negotiate};
use super::service::{Notifier, Service, cancel_from, run_cancellable};
use super::session::{Session, new_session_id};
use super::sse;
use futures_util::stream;
use http::StatusCode;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming as HyperBody};
use std::convert::Infallible;
use std::sync::Arc;

/// Where clients open the legacy stream.
pub const SSE_PATH: &str = "/sse";
/// Where clients POST their messages (`?session_id=…`).
pub const MESSAGES_PATH: &str = "/messages";

/// Removes the session from the table when its stream's body is dropped (client gone).
struct EndOnDrop<S: Service> {
    front: Arc<HttpFront<S>>,
    id: String,
}

impl<S: Service> Drop for EndOnDrop<S> {
    fn drop(&mut self) {
        self.front.sessions.remove(&self.id);
    }
}

/// `GET /sse`: a new session and its stream, opened with the `endpoint` event.
pub fn open<S: Service>(front: &Arc<HttpFront<S>>) -> http::Response<Body> {
    let id = new_session_id();
    let session = Session::new(Some(id.clone()), Version::V2024_11_05);
    let rx = session.open_stream();
    front.sessions.insert(session);
    let endpoint = format!("{MESSAGES_PATH}?session_id={id}");
    let head = stream::iter([Ok::<_, Infallible>(Frame::data(sse::event(
        None,
        Some("endpoint"),
        endpoint.as_bytes(),
    )))]);
    let guard = EndOnDrop {
        front: front.clone(),
        id,
    };
    let events = stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let msg = rx.recv().await?;
        let frame = Frame::data(sse::event(None, Some("message"), &msg.to_vec()));
        Some((Ok::<_, Infallible>(frame), (rx, guard)))
    });
    let body = StreamBody::new(futures_util::StreamExt::chain(head, events));
    super::http_parts::event_stream(BodyExt::boxed(body))
}

fn session_id(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("session_id="))
        .filter(|v| !v.is_empty())
}

/// `POST /messages?session_id=…`: 202 at once; the answer goes on the session's stream.
pub async fn post<S: Service>(
    front: &Arc<HttpFront<S>>,
    req: http::Request<HyperBody>,
    arrival: u64,
) -> http::Response<Body> {
    let (parts, body) = req.into_parts();
    let Some(id) = session_id(parts.uri.query()) else {
        return rpc_error_status(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "Bad Request: session_id is required",
        );
    };
    let Some(session) = front.sessions.get(id) else {
        return rpc_error_status(StatusCode::NOT_FOUND, -32001, "Session not found");
    };
    let bytes = match read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let meta = HeaderMeta::of(&parts.headers, arrival);
    match jsonrpc::parse(&bytes) {
        Err(f) => {
            let resp = jsonrpc::response_bytes(f.id.as_ref(), &Err(f.error));
            return super::http_parts::json(StatusCode::BAD_REQUEST, resp);
        }
        Ok(Incoming::Single(m)) => deliver(front, &session, m, &meta),
        Ok(Incoming::Batch(items)) => {
            for m in items.into_iter().flatten() {
                deliver(front, &session, m, &meta);
            }
        }
    }
    empty(StatusCode::ACCEPTED)
}

fn deliver<S: Service>(
    front: &Arc<HttpFront<S>>,
    session: &Arc<Session>,
    msg: Message,
    meta: &HeaderMeta,
) {
    match msg {
        Message::Request(r) => request(front, session, r, meta),
        Message::Notification(n) => {
            if !cancel_from(&n, session) {
                front.service.notification(n, session);
            }
        }
        Message::Response(r) => front.service.response(r.id, r.result, session),
    }
}

/// A request's work runs in its own task; the response is pushed on the stream.
fn request<S: Service>(
    front: &Arc<HttpFront<S>>,
    session: &Arc<Session>,
    r: Request,
    meta: &HeaderMeta,
) {
    if r.method == "initialize" {
        let requested = r
            .params
            .as_ref()
            .and_then(|p| p.get("protocolVersion"))
            .and_then(|v| v.as_str());
        session.set_version(negotiate(requested));
    }
    let token = tokio_util::sync::CancellationToken::new();
    let mut ctx = meta.context(
        session.clone(),
        Notifier::Session(session.clone()),
        Some(token.clone()),
    );
    ctx.transport = super::service::TransportKind::HttpSse;
    let id = r.id.clone();
    let handled = front.service.request(r, ctx);
    let session = session.clone();
    tokio::spawn(async move {
        let work = run_cancellable(session.clone(), id.clone(), token, handled.reply);
        if let Some(reply) = work.await {
            let result = match reply.http {
                None => reply.result,
                Some(f) => Err(ErrorObject::new(
                    code::INTERNAL_ERROR,
                    format!("HTTP {} (simulated)", f.status),
                )),
            };
            session.push(Message::Response(jsonrpc::Response {
                id: Some(id),
                result,
            }));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_session_id_from_the_query() {
        assert_eq!(session_id(Some("session_id=abc")), Some("abc"));
        assert_eq!(session_id(Some("x=1&session_id=abc")), Some("abc"));
        assert_eq!(session_id(Some("session_id=")), None);
        assert_eq!(session_id(None), None);
    }
}
