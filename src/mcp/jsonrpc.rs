//! JSON-RPC 2.0 messages, as MCP uses them, and the classification of incoming bytes.
//!
//! Parsing never panics: any input is either one of the four message kinds or a
//! [`ParseFailure`] that carries the spec's error answer (-32700 for bytes that are not JSON,
//! -32600 for JSON that is not a message).

use super::era_fields::{self, Body, EraFields};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Standard JSON-RPC error codes.
pub mod code {
    pub const PARSE_ERROR: i32 = -32700;
    pub const INVALID_REQUEST: i32 = -32600;
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL_ERROR: i32 = -32603;
    /// MCP: resource not found.
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
}

/// A request id: a string or a number, kept exactly as the peer sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(serde_json::Number),
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<u64> for RequestId {
    fn from(n: u64) -> Self {
        RequestId::Number(n.into())
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub method: String,
    /// Without the 2026-07-28 per-request fields, which are in `era`.
    pub params: Option<Map<String, Value>>,
    /// The 2026-07-28 per-request fields, taken out of `params._meta` ([`super::era_fields`]).
    pub era: EraFields,
}

impl Request {
    /// A request built from values, its era fields taken out of `params._meta` as a parsed
    /// one's are.
    pub fn new(
        id: RequestId,
        method: impl Into<String>,
        mut params: Option<Map<String, Value>>,
    ) -> Request {
        let era = params
            .as_mut()
            .map(EraFields::take_from)
            .unwrap_or_default();
        Request {
            id,
            method: method.into(),
            params,
            era,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub method: String,
    pub params: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// `None` only for an error about a request whose id could not be read (`"id": null`).
    pub id: Option<RequestId>,
    pub result: Result<Value, ErrorObject>,
}

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
}

/// Why bytes are not a message: the error to answer with, and the id if one could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseFailure {
    pub id: Option<RequestId>,
    pub error: ErrorObject,
}

/// What a body holds: one message, or a batch (JSON-RPC arrays; allowed by 2025-03-26 only).
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Single(Message),
    Batch(Vec<Result<Message, ParseFailure>>),
}

fn invalid(id: Option<RequestId>, why: &str) -> ParseFailure {
    ParseFailure {
        id,
        error: ErrorObject::new(code::INVALID_REQUEST, format!("invalid request: {why}")),
    }
}

/// Classifies a body. The 2026-07-28 per-request fields of `params._meta` are read into
/// [`Request::era`] (and dropped from notifications, which have no use for them).
pub fn parse(bytes: &[u8]) -> Result<Incoming, ParseFailure> {
    let body = era_fields::read(bytes).map_err(|e| ParseFailure {
        id: None,
        error: ErrorObject::new(code::PARSE_ERROR, format!("parse error: {e}")),
    })?;
    match body {
        Body::Batch(items) if items.is_empty() => Err(invalid(None, "empty batch")),
        Body::Batch(items) => Ok(Incoming::Batch(
            items.into_iter().map(message_from_body).collect(),
        )),
        other => message_from_body(other).map(Incoming::Single),
    }
}

fn message_from_body(body: Body) -> Result<Message, ParseFailure> {
    match body {
        Body::Object(obj, era) => message_from_object(obj, era),
        _ => Err(invalid(None, "a message is a JSON object")),
    }
}

fn message_from_object(
    mut obj: Map<String, Value>,
    era: EraFields,
) -> Result<Message, ParseFailure> {
    let (id, null_id) = match obj.remove("id") {
        None => (None, false),
        Some(Value::Null) => (None, true),
        Some(Value::Number(n)) => (Some(RequestId::Number(n)), false),
        Some(Value::String(s)) => (Some(RequestId::String(s)), false),
        Some(_) => return Err(invalid(None, "`id` must be a string or a number")),
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, "`jsonrpc` must be \"2.0\""));
    }
    match obj.remove("method") {
        Some(Value::String(_)) if null_id => Err(invalid(None, "`id` must not be null")),
        Some(Value::String(method)) => {
            let params = match obj.remove("params") {
                None | Some(Value::Null) => None,
                Some(Value::Object(m)) => Some(m),
                Some(_) => return Err(invalid(id, "`params` must be an object")),
            };
            Ok(match id {
                Some(id) => Message::Request(Request {
                    id,
                    method,
                    params,
                    era,
                }),
                None => Message::Notification(Notification { method, params }),
            })
        }
        Some(_) => Err(invalid(id, "`method` must be a string")),
        None if null_id => null_id_error(obj),
        None => response_from_object(id, obj),
    }
}

/// `{"id": null, "error": …}`: a peer's answer to bytes it could not read.
fn null_id_error(mut obj: Map<String, Value>) -> Result<Message, ParseFailure> {
    match (obj.remove("result"), obj.remove("error")) {
        (None, Some(e)) => serde_json::from_value::<ErrorObject>(e)
            .map(|e| {
                Message::Response(Response {
                    id: None,
                    result: Err(e),
                })
            })
            .map_err(|_| invalid(None, "malformed `error` object")),
        _ => Err(invalid(None, "only an error response may have a null id")),
    }
}

fn response_from_object(
    id: Option<RequestId>,
    mut obj: Map<String, Value>,
) -> Result<Message, ParseFailure> {
    let Some(id) = id else {
        return Err(invalid(None, "a message needs `method` or `id`"));
    };
    let result = match (obj.remove("result"), obj.remove("error")) {
        (Some(r), None) => Ok(r),
        (None, Some(e)) => Err(serde_json::from_value::<ErrorObject>(e)
            .map_err(|_| invalid(Some(id.clone()), "malformed `error` object"))?),
        _ => {
            return Err(invalid(
                Some(id),
                "a response has exactly one of `result` and `error`",
            ));
        }
    };
    Ok(Message::Response(Response {
        id: Some(id),
        result,
    }))
}

#[derive(Serialize)]
struct WireRequest<'a> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
struct WireNotification<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
struct WireResponse<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

impl Message {
    /// The message as compact JSON bytes (no trailing newline).
    pub fn to_vec(&self) -> Vec<u8> {
        let out = match self {
            Message::Request(r) => serde_json::to_vec(&WireRequest {
                jsonrpc: "2.0",
                id: &r.id,
                method: &r.method,
                params: r.params.as_ref(),
            }),
            Message::Notification(n) => serde_json::to_vec(&WireNotification {
                jsonrpc: "2.0",
                method: &n.method,
                params: n.params.as_ref(),
            }),
            Message::Response(r) => return response_bytes(r.id.as_ref(), &r.result),
        };
        // Serializing these types cannot fail: keys are strings and values are JSON.
        out.unwrap_or_default()
    }
}

/// Bytes of a response; `id` is None only for errors about unreadable requests.
pub fn response_bytes(id: Option<&RequestId>, result: &Result<Value, ErrorObject>) -> Vec<u8> {
    let wire = match result {
        Ok(v) => WireResponse {
            jsonrpc: "2.0",
            id,
            result: Some(v),
            error: None,
        },
        Err(e) => WireResponse {
            jsonrpc: "2.0",
            id,
            result: None,
            error: Some(e),
        },
    };
    json_bytes(&wire)
}

/// `v` as JSON onto `out` (writing keys that are strings and values that are JSON into a
/// buffer cannot fail).
pub(crate) fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(out, v);
}

/// `v` as JSON bytes, in a buffer sized for a typical answer (no regrowth on the way).
pub(crate) fn json_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    match serde_json::to_writer(&mut out, v) {
        Ok(()) => out,
        // Writing these types cannot fail: keys are strings and values are JSON.
        Err(_) => Vec::new(),
    }
}

impl Notification {
    pub fn new(method: impl Into<String>, params: Value) -> Self {
        let params = match params {
            Value::Object(m) => Some(m),
            _ => None,
        };
        Notification {
            method: method.into(),
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(bytes: &str) -> i32 {
        parse(bytes.as_bytes())
            .err()
            .map(|f| f.error.code)
            .unwrap_or(0)
    }

    #[test]
    fn classifies_bad_input() {
        assert_eq!(code_of("{not json"), code::PARSE_ERROR);
        assert_eq!(code_of(""), code::PARSE_ERROR);
        assert_eq!(code_of("42"), code::INVALID_REQUEST);
        assert_eq!(code_of("[]"), code::INVALID_REQUEST);
        assert_eq!(
            code_of(r#"{"id":1,"method":"ping"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1}"#),
            code::INVALID_REQUEST
        );
    }

    #[test]
    fn keeps_the_id_of_an_invalid_request() {
        let f = parse(br#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#).unwrap_err();
        assert_eq!(f.id, Some(RequestId::String("a".into())));
    }

    #[test]
    fn reads_each_kind() {
        let m = parse(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}"#).unwrap();
        assert!(matches!(m, Incoming::Single(Message::Request(ref r)) if r.method == "tools/list"));
        let m = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(m, Incoming::Single(Message::Notification(_))));
        let m = parse(br#"{"jsonrpc":"2.0","id":"x","result":{}}"#).unwrap();
        assert!(matches!(m, Incoming::Single(Message::Response(_))));
        let m = parse(br#"{"jsonrpc":"2.0","id":"x","error":{"code":1,"message":"m"}}"#).unwrap();
        assert!(matches!(
            m,
            Incoming::Single(Message::Response(Response { result: Err(_), .. }))
        ));
        let m = parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 3]"#).unwrap();
        assert!(matches!(m, Incoming::Batch(ref v) if v.len() == 2 && v[1].is_err()));
    }

    #[test]
    fn round_trips() {
        let msgs = [
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"a"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":{"a":1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"m"}}"#,
        ];
        for s in msgs {
            let Ok(Incoming::Single(m)) = parse(s.as_bytes()) else {
                panic!("{s}")
            };
            assert_eq!(String::from_utf8(m.to_vec()).unwrap(), s);
        }
    }
}
