//! Streamable HTTP, client side, for the load driver: the session era (2025-03-26, 2025-06-18,
//! 2025-11-25) and the stateless 2026-07-28 revision (no initialize: `server/discover` opens,
//! every request carries the revision and client capabilities in `_meta` and mirrors its method
//! and name in `Mcp-Method` / `Mcp-Name`; a 4xx answer whose JSON body is a JSON-RPC error —
//! -32020, -32021, -32022, -32601… — is that `RpcError`, and a result of `resultType:
//! "input_required"` is `Protocol(Unexpected)`, since the driver declares no client
//! capabilities).
//!
//! [`HttpClient`] is a pooled HTTP/1.1 client (cheap to clone); an [`HttpSession`] is one MCP session
//! over it: [`HttpSession::connect`] does the handshake, [`HttpSession::call`] sends one request and
//! ends in exactly one [`Outcome`] (docs/architecture.md, "The wire layer"). Nothing is retried: a
//! 404 marks the session as lost ([`HttpSession::needs_reinit`]) and the caller decides when to
//! [`HttpSession::reinit`].
//!
//! How an answer is classified, in order:
//!
//! | what happened | outcome |
//! |---|---|
//! | the per-call timeout elapsed first | `Timeout` |
//! | a socket call failed with EMFILE, ENFILE, EADDRNOTAVAIL, EADDRINUSE, ENOBUFS or ENOMEM (the driver's own limits: descriptors, ports, buffers) | `ClientError` |
//! | connection refused | `Transport(Refused)` |
//! | reset, aborted or broken pipe | `Transport(Reset)` |
//! | the peer closed before the answer was complete (EOF, incomplete message or body) | `Transport(Eof)` |
//! | any other socket error | `Transport(Other)` |
//! | an answer that is not HTTP | `Protocol(Unexpected)` |
//! | an HTTP status outside 2xx (the body is not read for meaning) | `HttpError(status)` |
//! | 2xx that is neither `application/json` nor `text/event-stream` (202 to a request, say), or an answer over 64 MiB | `Protocol(Unexpected)` |
//! | a body (or SSE event) that is not JSON, or not a JSON-RPC response; a result that is not an object | `Protocol(MalformedJson)` |
//! | a response whose id is not the request's | `Protocol(WrongId)` |
//! | an SSE stream that ended, or was cut, before the response | `Protocol(BadSse)` |
//! | a JSON-RPC error (also one with `"id": null`: the server could not read the request) | `RpcError(code)` |
//! | a result with `isError: true` | `ToolError` |
//! | a result | `Ok` |
//!
//! On an SSE stream, notifications and server requests are skipped, as are events whose data
//! is empty (priming events) and events whose type is not `message`. A reset of an SSE stream
//! is still `Transport(Reset)`; only its end or truncation is `BadSse`.
//!
//! Every request carries `Accept: application/json, text/event-stream`, `Content-Type:
//! application/json`, the caller's extra headers and, after initialize, `Mcp-Session-Id` (when
//! the server issued one) and `MCP-Protocol-Version`. A measured call also carries its call id
//! (`x-gauntlet-call-id` and `params._meta["dev.gauntlet/call-id"]`) and its W3C `traceparent`
//! (header and `params._meta.traceparent`); its JSON-RPC id is the call id.

use super::outcome::{Outcome, ProtocolError, TransportError};
use super::protocol::{Era, Version, header, meta};
use super::sse_parse::SseParser;
use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::{self, IgnoredAny};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::error::Error as StdError;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest answer read (a JSON body, or one SSE event).
pub const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// JSON-RPC ids of requests that are not measured calls (initialize, tools/list) start here:
/// far above any call id, and below 2^53 so that gateways written in JavaScript keep them exact.
pub const INTERNAL_ID_BASE: u64 = 1 << 52;

/// How long a DELETE may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one tools/list page may take in [`list_tools`].
const LIST_TIMEOUT: Duration = Duration::from_secs(10);
/// [`list_tools`] gives up after this many pages.
const MAX_PAGES: usize = 10_000;
/// What is left of a body after the answer is drained in the background for this long (so that
/// the connection can go back to the pool), then dropped.
const DRAIN_TIME: Duration = Duration::from_secs(1);
const DRAIN_BYTES: usize = 1024 * 1024;
/// The largest error body read for its JSON-RPC error.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const SESSION_ID: HeaderName = HeaderName::from_static(header::SESSION_ID);
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static(header::PROTOCOL_VERSION);
const CALL_ID: HeaderName = HeaderName::from_static(header::CALL_ID);
const TRACEPARENT: HeaderName = HeaderName::from_static(header::TRACEPARENT);
const MCP_METHOD: HeaderName = HeaderName::from_static(super::modern::header::METHOD);
const MCP_NAME: HeaderName = HeaderName::from_static(super::modern::header::NAME);

static NEXT_INTERNAL_ID: AtomicU64 = AtomicU64::new(INTERNAL_ID_BASE);

/// A fresh JSON-RPC id for a request that is not a measured call.
pub fn internal_id() -> u64 {
    NEXT_INTERNAL_ID.fetch_add(1, Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// Results

/// How one call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    pub outcome: Outcome,
    /// The service time the server reported in `result._meta["dev.gauntlet/service-us"]`.
    pub service_us: Option<u64>,
    /// A hash ([`crate::hash::fnv`]) of the data version the result carried in
    /// `_meta["dev.gauntlet/data-version"]`.
    pub data_version: Option<u64>,
    /// The JSON-RPC result, only when it was asked for ([`HttpSession::call_with_result`],
    /// [`HttpSession::request`]) and the call got one (`Ok` or `ToolError`); for `RpcError`, the
    /// error object (code, message, data).
    pub result: Option<Value>,
}

impl CallResult {
    pub fn failed(outcome: Outcome) -> CallResult {
        CallResult {
            outcome,
            service_us: None,
            data_version: None,
            result: None,
        }
    }
}

/// A handshake or helper request that did not succeed: the outcome it ended in, and what was
/// being done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}: {outcome}")]
pub struct CallFailure {
    pub outcome: Outcome,
    pub what: String,
}

impl CallFailure {
    pub fn new(outcome: Outcome, what: impl Into<String>) -> CallFailure {
        CallFailure {
            outcome,
            what: what.into(),
        }
    }
}

/// The identity of a measured call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMeta {
    /// The run's call number: the JSON-RPC id, `x-gauntlet-call-id` and
    /// `_meta["dev.gauntlet/call-id"]`.
    pub call_id: u64,
    /// A W3C traceparent (see [`traceparent`]).
    pub traceparent: String,
}

impl CallMeta {
    /// The call's meta with the traceparent derived from the run seed.
    pub fn new(seed: u64, call_id: u64) -> CallMeta {
        CallMeta {
            call_id,
            traceparent: traceparent(seed, call_id),
        }
    }
}

fn mix(mut z: u64) -> u64 {
    // splitmix64's finalizer.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The W3C traceparent of a call, `00-<32 hex trace id>-<16 hex span id>-01`, a pure function
/// of the run seed and the call id (never the all-zero ids the spec forbids).
pub fn traceparent(seed: u64, call_id: u64) -> String {
    use std::fmt::Write;
    let hi = mix(seed ^ mix(call_id));
    let mut lo = mix(hi ^ call_id);
    let mut span = mix(lo ^ seed.rotate_left(17));
    if hi == 0 && lo == 0 {
        lo = 1;
    }
    if span == 0 {
        span = 1;
    }
    let mut s = String::with_capacity(55);
    let _ = write!(s, "00-{hi:016x}{lo:016x}-{span:016x}-01");
    s
}

// ---------------------------------------------------------------------------------------------
// Encoding requests

/// `_meta` of a request: the caller's entries, then the call id and the traceparent (a
/// measured call), then the 2026-07-28 per-request fields (a stateless request).
struct MetaOut<'a> {
    existing: Option<&'a Map<String, Value>>,
    ids: Option<(u64, &'a str)>,
    modern: Option<Version>,
}

impl Serialize for MetaOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let ours = |k: &str| {
            (self.ids.is_some() && (k == meta::CALL_ID || k == meta::TRACEPARENT))
                || (self.modern.is_some() && k.starts_with("io.modelcontextprotocol/"))
        };
        for (k, v) in self.existing.into_iter().flatten() {
            if !ours(k) {
                m.serialize_entry(k, v)?;
            }
        }
        if let Some((call_id, traceparent)) = self.ids {
            m.serialize_entry(meta::CALL_ID, &call_id)?;
            m.serialize_entry(meta::TRACEPARENT, traceparent)?;
        }
        if let Some(v) = self.modern {
            super::modern::write_client_meta(v, &mut m)?;
        }
        m.end()
    }
}

/// The params with the call's identity merged into `_meta`, written without copying them.
struct ParamsOut<'a> {
    params: &'a Value,
    ids: Option<(u64, &'a str)>,
    modern: Option<Version>,
}

impl ParamsOut<'_> {
    fn adds_meta(&self) -> bool {
        self.ids.is_some() || self.modern.is_some()
    }
}

impl Serialize for ParamsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.adds_meta() {
            return self.params.serialize(s);
        }
        let map = match self.params {
            Value::Object(m) => Some(m),
            Value::Null => None,
            // Not an object: there is nowhere to put `_meta`.
            other => return other.serialize(s),
        };
        let mut m = s.serialize_map(None)?;
        for (k, v) in map.into_iter().flatten() {
            if k != "_meta" {
                m.serialize_entry(k, v)?;
            }
        }
        let meta = MetaOut {
            existing: map.and_then(|m| m.get("_meta")).and_then(Value::as_object),
            ids: self.ids,
            modern: self.modern,
        };
        m.serialize_entry("_meta", &meta)?;
        m.end()
    }
}

struct MessageOut<'a> {
    id: Option<u64>,
    method: &'a str,
    params: ParamsOut<'a>,
}

impl Serialize for MessageOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("jsonrpc", "2.0")?;
        if let Some(id) = self.id {
            m.serialize_entry("id", &id)?;
        }
        m.serialize_entry("method", self.method)?;
        if !self.params.params.is_null() || self.params.adds_meta() {
            m.serialize_entry("params", &self.params)?;
        }
        m.end()
    }
}

/// A request (`id` given) or a notification as JSON bytes; `ids` (call id, traceparent) go
/// into `params._meta`. `None` only if `params` cannot be written as JSON.
pub(crate) fn encode(
    id: Option<u64>,
    method: &str,
    params: &Value,
    ids: Option<(u64, &str)>,
    extra_capacity: usize,
) -> Option<Vec<u8>> {
    encode_as(id, method, params, ids, None, extra_capacity)
}

/// [`encode`], with the 2026-07-28 per-request fields in `_meta` when `modern` names that
/// revision.
pub(crate) fn encode_as(
    id: Option<u64>,
    method: &str,
    params: &Value,
    ids: Option<(u64, &str)>,
    modern: Option<Version>,
    extra_capacity: usize,
) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(192 + method.len() + extra_capacity);
    let msg = MessageOut {
        id,
        method,
        params: ParamsOut {
            params,
            ids,
            modern,
        },
    };
    serde_json::to_writer(&mut out, &msg).ok()?;
    Some(out)
}

/// The params of an initialize request.
pub(crate) fn initialize_params(version: Version) -> Value {
    serde_json::json!({
        "protocolVersion": version.as_str(),
        "capabilities": {},
        "clientInfo": { "name": "gauntlet", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// A `server/discover` result that lists 2026-07-28 (the only stateless revision gauntlet
/// speaks).
pub(crate) fn discovered(result: Option<Value>) -> Result<Value, CallFailure> {
    let result = result.unwrap_or(Value::Null);
    let listed = result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|v| v == Version::V2026_07_28.as_str()));
    if !listed {
        return Err(CallFailure::new(
            Outcome::Protocol(ProtocolError::Unexpected),
            "server/discover: 2026-07-28 is not among the server's supportedVersions",
        ));
    }
    Ok(result)
}

/// The revision an initialize result names (any revision gauntlet knows).
pub(crate) fn negotiated(result: Option<&Value>) -> Result<Version, CallFailure> {
    let named = result
        .and_then(|r| r.get("protocolVersion"))
        .and_then(Value::as_str);
    let Some(named) = named else {
        return Err(CallFailure::new(
            Outcome::Protocol(ProtocolError::MalformedJson),
            "initialize: the result names no protocolVersion",
        ));
    };
    named.parse::<Version>().map_err(|_| {
        CallFailure::new(
            Outcome::Protocol(ProtocolError::Unexpected),
            format!(
                "initialize: the server chose revision `{named}`, which gauntlet does not know"
            ),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Reading answers

/// `jsonrpc` must be the string "2.0" (escaped or not).
struct Is20(bool);

impl<'de> Deserialize<'de> for Is20 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Is20;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Is20, E> {
                Ok(Is20(s == "2.0"))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize)]
struct WireError {
    code: i32,
}

/// The parts of a JSON-RPC message a client looks at; the rest is skipped unparsed.
#[derive(Deserialize)]
struct WireMsg<'a> {
    #[serde(default)]
    jsonrpc: Option<Is20>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<IgnoredAny>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// The id of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RespId {
    /// A non-negative integer.
    Num(u64),
    /// `null` or absent (only for errors: the request could not be read).
    Null,
    /// A string, a fraction, a negative number.
    Other,
}

/// One JSON-RPC message, as a client sees it.
pub(crate) enum Wire<'a> {
    /// A notification or a request from the server: skipped.
    Other,
    Response {
        id: RespId,
        /// The raw result, or the error.
        body: Result<&'a RawValue, RpcErr<'a>>,
    },
    /// Not JSON, or not a JSON-RPC message.
    Malformed,
}

/// A JSON-RPC error as a client reads it: its code, and the error object as it came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RpcErr<'a> {
    pub code: i32,
    pub raw: &'a RawValue,
}

pub(crate) fn read_wire(bytes: &[u8]) -> Wire<'_> {
    let Ok(m) = serde_json::from_slice::<WireMsg<'_>>(bytes) else {
        return Wire::Malformed;
    };
    if !matches!(m.jsonrpc, Some(Is20(true))) {
        return Wire::Malformed;
    }
    if m.method.is_some() {
        return Wire::Other;
    }
    let id = match m.id {
        None => RespId::Null,
        Some(raw) => raw.get().parse::<u64>().map_or(RespId::Other, RespId::Num),
    };
    let body = match (m.result, m.error) {
        (Some(r), None) => Ok(r),
        (None, Some(raw)) => match serde_json::from_str::<WireError>(raw.get()) {
            Ok(e) => Err(RpcErr { code: e.code, raw }),
            Err(_) => return Wire::Malformed,
        },
        _ => return Wire::Malformed,
    };
    if id == RespId::Null && body.is_ok() {
        return Wire::Malformed;
    }
    Wire::Response { id, body }
}

#[derive(Deserialize)]
struct MetaHead {
    /// Read leniently: a number of any form; anything else counts as absent.
    #[serde(rename = "dev.gauntlet/service-us", default)]
    service_us: Option<Value>,
    /// A string (as mocks write it) or any other JSON value, hashed as written.
    #[serde(rename = "dev.gauntlet/data-version", default)]
    data_version: Option<Box<RawValue>>,
}

/// `resultType` (2026-07-28; absent before, meaning `complete`).
#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ResultType {
    Complete,
    InputRequired,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ResultHead {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
    #[serde(rename = "resultType", default)]
    result_type: Option<ResultType>,
    #[serde(rename = "_meta", default)]
    meta: Option<MetaHead>,
}

/// The outcome of a response that is the request's.
pub(crate) fn outcome_of(body: Result<&RawValue, RpcErr<'_>>, keep: bool) -> CallResult {
    let raw = match body {
        Err(e) => {
            return CallResult {
                result: keep
                    .then(|| serde_json::from_str(e.raw.get()).ok())
                    .flatten(),
                ..CallResult::failed(Outcome::RpcError(e.code))
            };
        }
        Ok(raw) => raw,
    };
    let Ok(head) = serde_json::from_str::<ResultHead>(raw.get()) else {
        return CallResult::failed(Outcome::Protocol(ProtocolError::MalformedJson));
    };
    let (service_us, data_version) = match head.meta {
        Some(m) => (m.service_us, m.data_version),
        None => (None, None),
    };
    let service_us =
        service_us.and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)));
    let data_version = data_version.map(|v| crate::hash::fnv(v.get().as_bytes()));
    let outcome = if head.result_type == Some(ResultType::InputRequired) {
        // The driver declares no client capabilities: a server that needs input from it
        // should have refused with -32021 rather than ask.
        Outcome::Protocol(ProtocolError::Unexpected)
    } else if head.is_error == Some(true) {
        Outcome::ToolError
    } else {
        Outcome::Ok
    };
    CallResult {
        outcome,
        service_us,
        data_version,
        result: keep.then(|| serde_json::from_str(raw.get()).ok()).flatten(),
    }
}

/// The outcome of a message that should be the response to request `id`.
fn match_response(wire: Wire<'_>, id: u64, keep: bool) -> CallResult {
    match wire {
        Wire::Response {
            id: RespId::Num(n),
            body,
        } if n == id => outcome_of(body, keep),
        Wire::Response {
            id: RespId::Null,
            body: body @ Err(_),
        } => outcome_of(body, keep),
        Wire::Response { .. } => CallResult::failed(Outcome::Protocol(ProtocolError::WrongId)),
        Wire::Other | Wire::Malformed => {
            CallResult::failed(Outcome::Protocol(ProtocolError::MalformedJson))
        }
    }
}

/// What a socket (or pipe) error means for a call.
pub fn classify_io(e: &std::io::Error) -> Outcome {
    use std::io::ErrorKind as K;
    if let Some(
        libc::EMFILE
        | libc::ENFILE
        | libc::EADDRNOTAVAIL
        | libc::EADDRINUSE
        | libc::ENOBUFS
        | libc::ENOMEM,
    ) = e.raw_os_error()
    {
        return Outcome::ClientError;
    }
    match e.kind() {
        K::ConnectionRefused => Outcome::Transport(TransportError::Refused),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            Outcome::Transport(TransportError::Reset)
        }
        K::UnexpectedEof => Outcome::Transport(TransportError::Eof),
        K::AddrNotAvailable | K::AddrInUse | K::OutOfMemory => Outcome::ClientError,
        _ => Outcome::Transport(TransportError::Other),
    }
}

/// What an HTTP client error means for a call: the first `io::Error` in the chain of sources
/// decides; without one, what hyper says about the failure.
pub fn classify_error(err: &(dyn StdError + 'static)) -> Outcome {
    let mut hint = None;
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return classify_io(io);
        }
        if hint.is_none()
            && let Some(h) = e.downcast_ref::<hyper::Error>()
        {
            hint = Some(
                if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                    Outcome::Transport(TransportError::Eof)
                } else if h.is_parse() || h.is_parse_status() || h.is_parse_too_large() {
                    Outcome::Protocol(ProtocolError::Unexpected)
                } else if h.is_user() {
                    Outcome::ClientError
                } else {
                    Outcome::Transport(TransportError::Other)
                },
            );
        }
        cur = e.source();
    }
    hint.unwrap_or(Outcome::Transport(TransportError::Other))
}

enum Kind {
    Json,
    Sse,
    Other,
}

fn content_kind(h: &HeaderMap) -> Kind {
    let Some(ct) = h.get(CONTENT_TYPE) else {
        return Kind::Other;
    };
    let ct = ct.as_bytes();
    let starts = |p: &[u8]| ct.len() >= p.len() && ct[..p.len()].eq_ignore_ascii_case(p);
    if starts(b"application/json") {
        Kind::Json
    } else if starts(b"text/event-stream") {
        Kind::Sse
    } else {
        Kind::Other
    }
}

/// Reads a whole body (no copy when it arrives in one piece).
async fn collect(body: &mut Incoming, limit: usize) -> Result<Bytes, Outcome> {
    let mut first: Option<Bytes> = None;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify_error(&e))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        match first.take() {
            None if buf.is_empty() => first = Some(data),
            None => buf.extend_from_slice(&data),
            Some(f) => {
                buf.reserve(f.len() + data.len());
                buf.extend_from_slice(&f);
                buf.extend_from_slice(&data);
            }
        }
        if first.as_ref().map_or(buf.len(), Bytes::len) > limit {
            return Err(Outcome::Protocol(ProtocolError::Unexpected));
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(buf)))
}

/// Lets the connection go back to the pool: reads what is left of `body` if it is already
/// there, otherwise drains it in the background for a moment (a server usually ends an SSE
/// stream right after the response), then drops it.
pub(crate) fn finish(mut body: Incoming) {
    for _ in 0..8 {
        if body.is_end_stream() {
            return;
        }
        match body.frame().now_or_never() {
            None => break,
            Some(None | Some(Err(_))) => return,
            Some(Some(Ok(_))) => {}
        }
    }
    if body.is_end_stream() {
        return;
    }
    tokio::spawn(async move {
        let drain = async {
            let mut n = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                n += frame.data_ref().map_or(0, Bytes::len);
                if n > DRAIN_BYTES {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    });
}

/// Reads the answer to request `id` from a response. `errors_in_body` (2026-07-28, whose
/// servers answer 400 and 404 with a JSON-RPC error that says why): a non-2xx answer whose
/// JSON body is a JSON-RPC error is that error's `RpcError`.
async fn read_answer(
    resp: Response<Incoming>,
    id: u64,
    keep: bool,
    errors_in_body: bool,
) -> CallResult {
    let status = resp.status();
    if !status.is_success() {
        let error = if errors_in_body && matches!(content_kind(resp.headers()), Kind::Json) {
            error_in_body(resp.into_body(), keep).await
        } else {
            finish(resp.into_body());
            None
        };
        return error.unwrap_or_else(|| CallResult::failed(Outcome::HttpError(status.as_u16())));
    }
    let kind = content_kind(resp.headers());
    let mut body = resp.into_body();
    if body.size_hint().lower() > MAX_ANSWER as u64 {
        // Declared too large: not worth reading (the connection is closed).
        return CallResult::failed(Outcome::Protocol(ProtocolError::Unexpected));
    }
    match kind {
        Kind::Json => match collect(&mut body, MAX_ANSWER).await {
            Ok(bytes) => match_response(read_wire(&bytes), id, keep),
            Err(outcome) => CallResult::failed(outcome),
        },
        Kind::Sse => read_sse(body, id, keep).await,
        Kind::Other => {
            finish(body);
            CallResult::failed(Outcome::Protocol(ProtocolError::Unexpected))
        }
    }
}

/// The JSON-RPC error a (small) error body holds, as the call's `RpcError`.
async fn error_in_body(mut body: Incoming, keep: bool) -> Option<CallResult> {
    let bytes = collect(&mut body, ERROR_BODY_LIMIT).await.ok()?;
    match read_wire(&bytes) {
        Wire::Response {
            body: body @ Err(_),
            ..
        } => Some(outcome_of(body, keep)),
        _ => None,
    }
}

/// Where the notifications a request's own answer carries go, parsed.
pub type RelaySink = Arc<dyn Fn(Value) + Send + Sync>;

tokio::task_local! {
    static RELAY: RelaySink;
}

/// Runs `fut`; the server notifications (and server requests) that arrive on the SSE answers to
/// the requests it makes over Streamable HTTP go to `sink` instead of being skipped — the
/// reference gateway relays a server's progress and log messages this way.
pub async fn relaying<F: Future>(sink: RelaySink, fut: F) -> F::Output {
    RELAY.scope(sink, fut).await
}

/// The sink set by [`relaying`] for the running task, if any.
pub(crate) fn relay_sink() -> Option<RelaySink> {
    RELAY.try_with(Arc::clone).ok()
}

/// Reads SSE events until the response to request `id`.
async fn read_sse(mut body: Incoming, id: u64, keep: bool) -> CallResult {
    let mut parser = SseParser::new();
    loop {
        let data = match body.frame().await {
            None => return CallResult::failed(Outcome::Protocol(ProtocolError::BadSse)),
            Some(Err(e)) => {
                return CallResult::failed(match classify_error(&e) {
                    Outcome::Transport(TransportError::Eof) => {
                        Outcome::Protocol(ProtocolError::BadSse)
                    }
                    other => other,
                });
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
        };
        parser.feed(&data);
        while let Some(event) = parser.next_event() {
            if event.name() != "message" {
                continue;
            }
            match read_wire(event.data.as_bytes()) {
                Wire::Other => {
                    let _ = RELAY.try_with(|sink| {
                        if let Ok(v) = serde_json::from_str(&event.data) {
                            sink(v);
                        }
                    });
                    continue;
                }
                wire => {
                    let r = match_response(wire, id, keep);
                    finish(body);
                    return r;
                }
            }
        }
        if parser.pending_bytes() > MAX_ANSWER {
            return CallResult::failed(Outcome::Protocol(ProtocolError::Unexpected));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP client

/// A pooled HTTP/1.1 client (TCP_NODELAY, keep-alive, a bounded idle pool). Clones share the
/// pool.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// Idle connections kept per host by [`HttpClient::new`].
    pub const DEFAULT_MAX_IDLE_PER_HOST: usize = 512;
    /// How long an idle connection stays in the pool.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn new() -> HttpClient {
        HttpClient::with_max_idle(Self::DEFAULT_MAX_IDLE_PER_HOST)
    }

    /// A client that keeps at most `max_idle_per_host` idle connections per host.
    pub fn with_max_idle(max_idle_per_host: usize) -> HttpClient {
        HttpClient::with_options(max_idle_per_host, None)
    }

    /// [`HttpClient::with_max_idle`], with connections bound to `local_address` (spreading
    /// clients over 127.0.0.x gives each its own ephemeral ports).
    pub fn with_options(max_idle_per_host: usize, local_address: Option<IpAddr>) -> HttpClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(true);
        connector.set_local_address(local_address);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Self::IDLE_TIMEOUT)
            .pool_max_idle_per_host(max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .build(connector);
        HttpClient { inner }
    }

    pub(crate) async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, Outcome> {
        self.inner
            .request(req)
            .await
            .map_err(|e| classify_error(&e))
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// What one initialize established.
#[derive(Debug)]
struct Epoch {
    id: Option<HeaderValue>,
    version: Version,
    init: Value,
}

const ACTIVE: u8 = 0;
const LOST: u8 = 1;
const REINITIALIZING: u8 = 2;

/// One MCP session over Streamable HTTP (session era). Shared by reference between the tasks
/// that call through it (`&self` everywhere); no lock is held across an await.
pub struct HttpSession {
    client: HttpClient,
    uri: Uri,
    host: HeaderValue,
    requested: Version,
    extra: HeaderMap,
    handshake_timeout: Duration,
    epoch: Mutex<Arc<Epoch>>,
    state: AtomicU8,
}

impl fmt::Debug for HttpSession {
    // Not the extra headers: they may hold credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.current();
        f.debug_struct("HttpSession")
            .field("url", &self.uri)
            .field("version", &e.version)
            .field("session_id", &e.id)
            .field("needs_reinit", &self.needs_reinit())
            .finish_non_exhaustive()
    }
}

fn failure(outcome: Outcome, what: &str) -> CallFailure {
    CallFailure::new(outcome, what)
}

impl HttpSession {
    /// Opens a session at `url` (`http://host:port/path`): POST initialize asking for
    /// `version` (the server may choose another session-era revision; the session keeps the
    /// one it chose), reads `Mcp-Session-Id`, then sends notifications/initialized (2xx
    /// expected). `headers` go on every request. Each of the two steps may take up to
    /// `timeout` (kept for [`HttpSession::reinit`]).
    pub async fn connect(
        client: &HttpClient,
        url: &str,
        version: Version,
        headers: HeaderMap,
        timeout: Duration,
    ) -> Result<HttpSession, CallFailure> {
        if version.era() == Era::LegacySse {
            return Err(failure(
                Outcome::ClientError,
                &format!("{version} is spoken by the HTTP+SSE client (client_legacy), not here"),
            ));
        }
        let uri: Uri = url
            .parse()
            .map_err(|e| failure(Outcome::ClientError, &format!("`{url}` is not a URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(failure(
                Outcome::ClientError,
                &format!("`{url}`: only http:// URLs are supported"),
            ));
        }
        let host = uri
            .host()
            .map(|h| match uri.port_u16() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
            .and_then(|h| HeaderValue::from_str(&h).ok())
            .ok_or_else(|| failure(Outcome::ClientError, &format!("`{url}` names no host")))?;
        let session = HttpSession {
            client: client.clone(),
            uri,
            host,
            requested: version,
            extra: headers,
            handshake_timeout: timeout,
            epoch: Mutex::new(Arc::new(Epoch {
                id: None,
                version,
                init: Value::Null,
            })),
            state: AtomicU8::new(REINITIALIZING),
        };
        let epoch = session.handshake().await?;
        *session.lock_epoch() = Arc::new(epoch);
        session.state.store(ACTIVE, Ordering::Release);
        Ok(session)
    }

    fn lock_epoch(&self) -> std::sync::MutexGuard<'_, Arc<Epoch>> {
        self.epoch.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(&self) -> Arc<Epoch> {
        self.lock_epoch().clone()
    }

    /// The revision the server chose.
    pub fn version(&self) -> Version {
        self.current().version
    }

    /// The `Mcp-Session-Id` the server issued, if any.
    pub fn session_id(&self) -> Option<String> {
        let e = self.current();
        e.id.as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The result of the last initialize (server info, capabilities).
    pub fn initialize_result(&self) -> Value {
        self.current().init.clone()
    }

    pub fn url(&self) -> &Uri {
        &self.uri
    }

    /// The server answered 404 to this session: it must be initialized again (for later
    /// calls; the call that got the 404 is not retried).
    pub fn needs_reinit(&self) -> bool {
        self.state.load(Ordering::Acquire) == LOST
    }

    /// Initializes the session again. `Ok(true)`: done, later calls use the new session;
    /// `Ok(false)`: another task is already doing it. On failure the session stays lost.
    pub async fn reinit(&self) -> Result<bool, CallFailure> {
        let mut seen = self.state.load(Ordering::Acquire);
        loop {
            if seen == REINITIALIZING {
                return Ok(false);
            }
            match self.state.compare_exchange(
                seen,
                REINITIALIZING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
        match self.handshake().await {
            Ok(epoch) => {
                *self.lock_epoch() = Arc::new(epoch);
                self.state.store(ACTIVE, Ordering::Release);
                Ok(true)
            }
            Err(e) => {
                self.state.store(LOST, Ordering::Release);
                Err(e)
            }
        }
    }

    /// A 404 answered to a request sent in `epoch`: the session is lost, unless it has been
    /// initialized again since.
    fn lost(&self, epoch: &Arc<Epoch>) {
        let current = self.lock_epoch();
        if Arc::ptr_eq(&current, epoch) {
            let _ = self
                .state
                .compare_exchange(ACTIVE, LOST, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// A request with the common headers; `epoch`: add the session's headers.
    fn request_to(
        &self,
        method: Method,
        epoch: Option<&Epoch>,
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = self.uri.clone();
        let h = req.headers_mut();
        h.reserve(8 + self.extra.len());
        for (k, v) in &self.extra {
            h.append(k.clone(), v.clone());
        }
        h.insert(HOST, self.host.clone());
        h.insert(ACCEPT, ACCEPT_BOTH);
        h.insert(CONTENT_TYPE, JSON);
        if let Some(e) = epoch {
            if let Some(id) = &e.id {
                h.insert(SESSION_ID, id.clone());
            }
            h.insert(
                PROTOCOL_VERSION,
                HeaderValue::from_static(e.version.as_str()),
            );
        }
        req
    }

    /// What opens a session: initialize + notifications/initialized, or for 2026-07-28
    /// (no handshake) `server/discover`.
    async fn handshake(&self) -> Result<Epoch, CallFailure> {
        if self.requested.era() == Era::Stateless {
            return self.discover().await;
        }
        let id = internal_id();
        let params = initialize_params(self.requested);
        let body = encode(Some(id), "initialize", &params, None, 0)
            .ok_or_else(|| failure(Outcome::ClientError, "initialize: cannot encode"))?;
        let req = self.request_to(Method::POST, None, Bytes::from(body));
        let exchange = async {
            let resp = self.client.send(req).await.map_err(CallResult::failed)?;
            let sid = resp.headers().get(SESSION_ID).cloned();
            let r = read_answer(resp, id, true, false).await;
            if r.outcome == Outcome::Ok {
                Ok((sid, r))
            } else {
                Err(r)
            }
        };
        let (sid, r) = match tokio::time::timeout(self.handshake_timeout, exchange).await {
            Err(_) => return Err(failure(Outcome::Timeout, "initialize")),
            Ok(Err(r)) => return Err(failure(r.outcome, "initialize")),
            Ok(Ok(x)) => x,
        };
        let version = negotiated(r.result.as_ref())?;
        if version.era() != Era::Session {
            return Err(failure(
                Outcome::Protocol(ProtocolError::Unexpected),
                &format!(
                    "initialize: the server chose {version}, which is not a session-era revision"
                ),
            ));
        }
        let epoch = Epoch {
            id: sid,
            version,
            init: r.result.unwrap_or(Value::Null),
        };
        let body = encode(None, "notifications/initialized", &Value::Null, None, 0)
            .ok_or_else(|| failure(Outcome::ClientError, "initialized: cannot encode"))?;
        let req = self.request_to(Method::POST, Some(&epoch), Bytes::from(body));
        let sent = tokio::time::timeout(self.handshake_timeout, self.client.send(req)).await;
        match sent {
            Err(_) => Err(failure(Outcome::Timeout, "notifications/initialized")),
            Ok(Err(o)) => Err(failure(o, "notifications/initialized")),
            Ok(Ok(resp)) => {
                let status = resp.status();
                finish(resp.into_body());
                if status.is_success() {
                    Ok(epoch)
                } else {
                    Err(failure(
                        Outcome::HttpError(status.as_u16()),
                        "notifications/initialized",
                    ))
                }
            }
        }
    }

    /// One measured call: `params` (an object, or `Value::Null` for none) gets the call's
    /// identity in `_meta`; the JSON-RPC id is the call id. The result is not kept.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        let id = meta.call_id;
        self.exchange(method, &params, id, Some(meta), timeout, false)
            .await
    }

    /// [`HttpSession::call`], keeping the result.
    pub async fn call_with_result(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        let id = meta.call_id;
        self.exchange(method, &params, id, Some(meta), timeout, true)
            .await
    }

    /// A request that is not a measured call (tools/list, ping): an internal id, no call id
    /// or traceparent; the result is kept.
    pub async fn request(&self, method: &str, params: Value, timeout: Duration) -> CallResult {
        self.exchange(method, &params, internal_id(), None, timeout, true)
            .await
    }

    /// A request on behalf of another client (the reference gateway forwarding a call): an
    /// internal JSON-RPC id, `params` sent as they are (their `_meta` carries whatever is
    /// forwarded), `headers` added to this request only; the result is kept. A 404 marks the
    /// session lost, as for any request.
    pub async fn forward(
        &self,
        method: &str,
        params: &Value,
        headers: &HeaderMap,
        timeout: Duration,
    ) -> CallResult {
        let epoch = self.current();
        let r = self
            .exchange_in(
                &epoch,
                method,
                params,
                internal_id(),
                None,
                Some(headers),
                timeout,
                true,
            )
            .await;
        if r.outcome == Outcome::HttpError(404) && epoch.version.era() == Era::Session {
            self.lost(&epoch);
        }
        r
    }

    /// 2026-07-28: `server/discover` must answer, listing the revision.
    async fn discover(&self) -> Result<Epoch, CallFailure> {
        let epoch = Epoch {
            id: None,
            version: Version::V2026_07_28,
            init: Value::Null,
        };
        let (id, timeout) = (internal_id(), self.handshake_timeout);
        let r = self
            .exchange_in(
                &epoch,
                "server/discover",
                &Value::Null,
                id,
                None,
                None,
                timeout,
                true,
            )
            .await;
        if r.outcome != Outcome::Ok {
            return Err(failure(r.outcome, "server/discover"));
        }
        Ok(Epoch {
            init: discovered(r.result)?,
            ..epoch
        })
    }

    async fn exchange(
        &self,
        method: &str,
        params: &Value,
        id: u64,
        meta: Option<CallMeta>,
        timeout: Duration,
        keep: bool,
    ) -> CallResult {
        let epoch = self.current();
        let r = self
            .exchange_in(&epoch, method, params, id, meta, None, timeout, keep)
            .await;
        if r.outcome == Outcome::HttpError(404) && epoch.version.era() == Era::Session {
            self.lost(&epoch);
        }
        r
    }

    /// One request in `epoch`. A 2026-07-28 request carries the per-request `_meta` and the
    /// headers that mirror the body (`Mcp-Method`, `Mcp-Name`); `headers` are added to it.
    #[allow(clippy::too_many_arguments)]
    async fn exchange_in(
        &self,
        epoch: &Epoch,
        method: &str,
        params: &Value,
        id: u64,
        meta: Option<CallMeta>,
        headers: Option<&HeaderMap>,
        timeout: Duration,
        keep: bool,
    ) -> CallResult {
        let stateless = epoch.version.era() == Era::Stateless;
        let ids = meta.as_ref().map(|m| (m.call_id, m.traceparent.as_str()));
        let modern = stateless.then_some(epoch.version);
        let Some(body) = encode_as(Some(id), method, params, ids, modern, 0) else {
            return CallResult::failed(Outcome::ClientError);
        };
        let mut req = self.request_to(Method::POST, Some(epoch), Bytes::from(body));
        if stateless && !mirror_headers(req.headers_mut(), method, params) {
            return CallResult::failed(Outcome::ClientError);
        }
        if let Some(extra) = headers {
            let h = req.headers_mut();
            for (k, v) in extra {
                h.insert(k.clone(), v.clone());
            }
        }
        if let Some(m) = meta {
            let h = req.headers_mut();
            h.insert(CALL_ID, HeaderValue::from(m.call_id));
            // The String's buffer becomes the header value: no copy.
            if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(m.traceparent)) {
                h.insert(TRACEPARENT, v);
            }
        }
        let round = async {
            match self.client.send(req).await {
                Ok(resp) => read_answer(resp, id, keep, stateless).await,
                Err(o) => CallResult::failed(o),
            }
        };
        match tokio::time::timeout(timeout, round).await {
            Ok(r) => r,
            Err(_) => CallResult::failed(Outcome::Timeout),
        }
    }

    /// Ends the session: DELETE with its `Mcp-Session-Id` (2xx, 404 — already gone — and
    /// 405 — the server does not allow it — are fine).
    pub async fn close(&self) -> Result<(), CallFailure> {
        let epoch = self.current();
        if epoch.id.is_none() {
            return Ok(());
        }
        let mut req = self.request_to(Method::DELETE, Some(&epoch), Bytes::new());
        req.headers_mut().remove(CONTENT_TYPE);
        match tokio::time::timeout(CLOSE_TIMEOUT, self.client.send(req)).await {
            Err(_) => Err(failure(Outcome::Timeout, "DELETE")),
            Ok(Err(o)) => Err(failure(o, "DELETE")),
            Ok(Ok(resp)) => {
                let status = resp.status();
                finish(resp.into_body());
                if status.is_success() || matches!(status.as_u16(), 404 | 405) {
                    Ok(())
                } else {
                    Err(failure(Outcome::HttpError(status.as_u16()), "DELETE"))
                }
            }
        }
    }
}

/// `Mcp-Method` and, for the methods that name something, `Mcp-Name` (Base64 sentinel when
/// the name is not plain ASCII). `false` if a value cannot be a header.
fn mirror_headers(h: &mut HeaderMap, method: &str, params: &Value) -> bool {
    let Ok(m) = HeaderValue::from_str(method) else {
        return false;
    };
    h.insert(MCP_METHOD, m);
    if let Some(name) = super::modern::name_of(method, params.as_object()) {
        match HeaderValue::from_str(&super::modern::encode_header_value(name)) {
            Ok(v) => {
                h.insert(MCP_NAME, v);
            }
            Err(_) => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Helpers over any transport

/// Sends unmeasured requests (what [`list_tools`] needs), over HTTP or stdio.
pub trait Requester {
    /// A request with an internal id whose result is kept.
    fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> impl Future<Output = CallResult> + Send;
}

impl Requester for HttpSession {
    fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> impl Future<Output = CallResult> + Send {
        HttpSession::request(self, method, params, timeout)
    }
}

/// Every tool the server lists, following `nextCursor` (each page may take 10 s).
pub async fn list_tools<R: Requester + ?Sized>(session: &R) -> Result<Vec<Value>, CallFailure> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut params = Map::new();
        if let Some(c) = &cursor {
            params.insert("cursor".into(), Value::String(c.clone()));
        }
        let r = session
            .request("tools/list", Value::Object(params), LIST_TIMEOUT)
            .await;
        if r.outcome != Outcome::Ok {
            return Err(failure(r.outcome, "tools/list"));
        }
        let malformed = |why: &str| {
            failure(
                Outcome::Protocol(ProtocolError::MalformedJson),
                &format!("tools/list: {why}"),
            )
        };
        let Some(Value::Object(mut result)) = r.result else {
            return Err(malformed("the result is not an object"));
        };
        match result.remove("tools") {
            Some(Value::Array(page)) => tools.extend(page),
            _ => return Err(malformed("the result has no `tools` array")),
        }
        match result.remove("nextCursor") {
            Some(Value::String(next)) if !next.is_empty() => {
                if cursor.as_deref() == Some(next.as_str()) {
                    return Err(malformed("nextCursor repeats the cursor"));
                }
                cursor = Some(next);
            }
            _ => return Ok(tools),
        }
    }
    Err(failure(
        Outcome::Protocol(ProtocolError::Unexpected),
        &format!("tools/list: more than {MAX_PAGES} pages"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire_outcome(s: &str, id: u64) -> Outcome {
        match_response(read_wire(s.as_bytes()), id, false).outcome
    }

    #[test]
    fn classifies_responses() {
        let ok = r#"{"jsonrpc":"2.0","id":7,"result":{"content":[],"_meta":{"dev.gauntlet/service-us":1500}}}"#;
        let r = match_response(read_wire(ok.as_bytes()), 7, true);
        assert_eq!(r.outcome, Outcome::Ok);
        assert_eq!(r.service_us, Some(1500));
        assert_eq!(r.result.unwrap()["content"], json!([]));
        let err = r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"no such tool \"x\"","data":[1]}}"#;
        let r = match_response(read_wire(err.as_bytes()), 7, true);
        assert_eq!(r.outcome, Outcome::RpcError(-32602));
        assert_eq!(
            r.result,
            Some(json!({"code": -32602, "message": "no such tool \"x\"", "data": [1]})),
            "the error kept as it came"
        );
        let r = match_response(read_wire(err.as_bytes()), 7, false);
        assert_eq!(r.result, None, "kept only when asked for");
        assert_eq!(
            wire_outcome(
                r#"{"jsonrpc":"2.0","id":7,"error":{"message":"no code"}}"#,
                7
            ),
            Outcome::Protocol(ProtocolError::MalformedJson)
        );
        assert_eq!(
            wire_outcome(r#"{"jsonrpc":"2.0","id":7,"error":"text"}"#, 7),
            Outcome::Protocol(ProtocolError::MalformedJson)
        );
        assert_eq!(
            wire_outcome(r#"{"jsonrpc":"2.0","id":7,"result":{"isError":true}}"#, 7),
            Outcome::ToolError
        );
        assert_eq!(
            wire_outcome(r#"{"jsonrpc":"2.0","id":7,"result":{"isError":false}}"#, 7),
            Outcome::Ok
        );
        assert_eq!(
            wire_outcome(
                r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"m"}}"#,
                7
            ),
            Outcome::RpcError(-32000)
        );
        assert_eq!(
            wire_outcome(
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}"#,
                7
            ),
            Outcome::RpcError(-32700)
        );
        assert_eq!(
            wire_outcome(r#"{"jsonrpc":"2.0","id":8,"result":{}}"#, 7),
            Outcome::Protocol(ProtocolError::WrongId)
        );
        assert_eq!(
            wire_outcome(r#"{"jsonrpc":"2.0","id":"7","result":{}}"#, 7),
            Outcome::Protocol(ProtocolError::WrongId)
        );
        for bad in [
            "{not json",
            "",
            "[]",
            r#"{"jsonrpc":"1.0","id":7,"result":{}}"#,
            r#"{"id":7,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":7}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":[1]}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":{"isError":"yes"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/message"}"#,
        ] {
            assert_eq!(
                wire_outcome(bad, 7),
                Outcome::Protocol(ProtocolError::MalformedJson),
                "{bad}"
            );
        }
    }

    #[test]
    fn service_time_is_read_leniently() {
        let r = |meta: &str| {
            let s = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"_meta":{meta}}}}}"#);
            match_response(read_wire(s.as_bytes()), 1, false)
        };
        assert_eq!(
            r(r#"{"dev.gauntlet/service-us":12.7}"#).service_us,
            Some(12)
        );
        assert_eq!(r(r#"{"dev.gauntlet/service-us":"x"}"#).service_us, None);
        assert_eq!(r(r#"{"other":1}"#).service_us, None);
        assert_eq!(r("null").outcome, Outcome::Ok);
    }

    #[test]
    fn the_data_version_is_hashed_as_written() {
        let r = |meta: &str| {
            let s = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"_meta":{meta}}}}}"#);
            match_response(read_wire(s.as_bytes()), 1, false).data_version
        };
        let v2 = r(r#"{"dev.gauntlet/data-version":"2"}"#);
        assert_eq!(v2, Some(crate::hash::fnv(br#""2""#)));
        assert_ne!(v2, r(r#"{"dev.gauntlet/data-version":"3"}"#));
        assert_ne!(v2, r(r#"{"dev.gauntlet/data-version":2}"#));
        assert_eq!(r(r#"{"other":1}"#), None);
        assert_eq!(r("null"), None);
    }

    #[test]
    fn encodes_the_call_identity_into_meta() {
        let params = json!({"name": "echo", "arguments": {"text": "hi"},
            "_meta": {"progressToken": "p", "traceparent": "old"}});
        let tp = traceparent(42, 7);
        let bytes = encode(Some(7), "tools/call", &params, Some((7, &tp)), 0).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
                "name": "echo", "arguments": {"text": "hi"},
                "_meta": {"progressToken": "p", "dev.gauntlet/call-id": 7, "traceparent": tp}}})
        );
        let bytes = encode(Some(1), "tools/call", &Value::Null, Some((1, &tp)), 0).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["params"]["_meta"]["dev.gauntlet/call-id"], 1);
        let bytes = encode(None, "notifications/initialized", &Value::Null, None, 0).unwrap();
        assert_eq!(
            bytes,
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        );
        // 2026-07-28: the per-request fields, replacing any the caller set.
        let params = json!({"name": "echo",
            "_meta": {"io.modelcontextprotocol/protocolVersion": "old", "k": 1}});
        let modern = Some(Version::V2026_07_28);
        let bytes = encode_as(Some(2), "tools/call", &params, None, modern, 0).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v["params"]["_meta"],
            json!({"k": 1,
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo":
                    {"name": "gauntlet", "version": env!("CARGO_PKG_VERSION")}})
        );
    }

    #[test]
    fn traceparents_are_w3c_and_deterministic() {
        let a = traceparent(1, 2);
        assert_eq!(a, traceparent(1, 2));
        assert_ne!(a, traceparent(1, 3));
        assert_ne!(a, traceparent(2, 2));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.len(), 4, "{a}");
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 16);
        assert_eq!(parts[3], "01");
        assert!(parts[1..3].iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }));
        assert_ne!(parts[1], "0".repeat(32));
        assert_eq!(CallMeta::new(1, 2).traceparent, a);
    }

    #[test]
    fn io_errors() {
        use std::io::{Error, ErrorKind};
        let t = Outcome::Transport;
        assert_eq!(
            classify_io(&Error::from(ErrorKind::ConnectionRefused)),
            t(TransportError::Refused)
        );
        assert_eq!(
            classify_io(&Error::from(ErrorKind::ConnectionReset)),
            t(TransportError::Reset)
        );
        assert_eq!(
            classify_io(&Error::from(ErrorKind::UnexpectedEof)),
            t(TransportError::Eof)
        );
        assert_eq!(
            classify_io(&Error::from(ErrorKind::PermissionDenied)),
            t(TransportError::Other)
        );
        for errno in [libc::EMFILE, libc::ENFILE, libc::EADDRNOTAVAIL] {
            assert_eq!(
                classify_io(&Error::from_raw_os_error(errno)),
                Outcome::ClientError
            );
        }
        // Wrapped: the io::Error deep in the chain decides.
        #[derive(Debug)]
        struct Wrap(Error);
        impl fmt::Display for Wrap {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrap {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let w = Wrap(Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(classify_error(&w), t(TransportError::Refused));
    }

    #[test]
    fn content_types() {
        let kind = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_static(v));
            content_kind(&h)
        };
        assert!(matches!(kind("application/json"), Kind::Json));
        assert!(matches!(
            kind("Application/JSON; charset=utf-8"),
            Kind::Json
        ));
        assert!(matches!(kind("text/event-stream"), Kind::Sse));
        assert!(matches!(kind("text/html"), Kind::Other));
        assert!(matches!(content_kind(&HeaderMap::new()), Kind::Other));
    }
}
