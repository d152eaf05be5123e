//! What the HTTP front ends share (Streamable HTTP in both eras, legacy HTTP+SSE): the
//! [`HttpFront`] of a [`Service`], request bodies read within 4 MiB, the header values a
//! request carries into its context, what the client accepts, whether it comes from
//! loopback (Origin and Host), and every response the front ends write (JSON, SSE, errors),
//! each made with room for the next request's headers.

use super::jsonrpc::{self, ErrorObject, Message, code};
use super::protocol::{Version, header_name};
use super::service::{CallContext, Notifier, Service, TransportKind};
use super::session::{Session, SessionTable};
use super::sse;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming as HyperBody};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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

/// What the client accepts.
#[derive(Clone, Copy)]
pub(crate) struct Accept {
    pub(crate) json: bool,
    pub(crate) sse: bool,
    pub(crate) sse_explicit: bool,
}

impl Accept {
    pub(crate) fn of(h: &HeaderMap) -> Accept {
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

pub(crate) fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
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

/// DNS-rebinding protection: a browser page's Origin, or a Host header, that is not loopback
/// is refused.
pub(crate) fn local_origin(h: &HeaderMap) -> bool {
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
}
