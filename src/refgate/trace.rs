//! Trace context and call identity, forwarded to the backend: the caller's W3C `traceparent`
//! and gauntlet's call id (`_meta["dev.gauntlet/call-id"]`), read from the request's `_meta` or,
//! failing that, from its HTTP headers, go to the backend in both places (`_meta` always;
//! the `traceparent` and `x-gauntlet-call-id` headers over HTTP). The backend's result
//! `_meta` (its service time) comes back untouched.

use crate::mcp::protocol::{header, meta};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// What identifies a call across the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub call_id: Option<u64>,
    pub traceparent: Option<String>,
}

impl Trace {
    /// From the request's `_meta`, else the headers.
    pub fn of(
        params: Option<&Map<String, Value>>,
        header_traceparent: Option<&str>,
        header_call_id: Option<u64>,
    ) -> Trace {
        let m = params
            .and_then(|p| p.get("_meta"))
            .and_then(Value::as_object);
        Trace {
            call_id: m
                .and_then(|m| m.get(meta::CALL_ID))
                .and_then(Value::as_u64)
                .or(header_call_id),
            traceparent: m
                .and_then(|m| m.get(meta::TRACEPARENT))
                .and_then(Value::as_str)
                .or(header_traceparent)
                .map(str::to_owned),
        }
    }

    /// The HTTP headers that carry it.
    pub fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(id) = self.call_id {
            h.insert(
                HeaderName::from_static(header::CALL_ID),
                HeaderValue::from(id),
            );
        }
        if let Some(v) = self
            .traceparent
            .as_deref()
            .and_then(|t| HeaderValue::from_str(t).ok())
        {
            h.insert(HeaderName::from_static(header::TRACEPARENT), v);
        }
        h
    }
}

/// The params sent to the backend: the caller's, with `name` (a tool's or prompt's) set to the
/// backend's own when given, and `_meta` carrying the trace. The caller's 2026-07-28
/// per-request fields (`io.modelcontextprotocol/…`) stay behind: the gateway speaks to its
/// backends in a session of its own.
pub fn backend_params(params: Option<Map<String, Value>>, name: Option<&str>, t: &Trace) -> Value {
    let mut p = params.unwrap_or_default();
    if let Some(n) = name {
        p.insert("name".into(), Value::String(n.to_string()));
    }
    let mut m = match p.remove("_meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.retain(|k, _| !k.starts_with("io.modelcontextprotocol/"));
    if let Some(id) = t.call_id {
        m.insert(meta::CALL_ID.into(), Value::from(id));
    }
    if let Some(tp) = &t.traceparent {
        m.insert(meta::TRACEPARENT.into(), Value::String(tp.clone()));
    }
    if !m.is_empty() {
        p.insert("_meta".into(), Value::Object(m));
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn meta_first_then_headers() {
        let p = map(json!({"_meta": {"dev.gauntlet/call-id": 7, "traceparent": "00-a-b-01"}}));
        let t = Trace::of(Some(&p), Some("00-h-h-01"), Some(9));
        assert_eq!(t.call_id, Some(7));
        assert_eq!(t.traceparent.as_deref(), Some("00-a-b-01"));
        let t = Trace::of(None, Some("00-h-h-01"), Some(9));
        assert_eq!(
            (t.call_id, t.traceparent.as_deref()),
            (Some(9), Some("00-h-h-01"))
        );
        let h = t.headers();
        assert_eq!(h["x-gauntlet-call-id"], "9");
        assert_eq!(h["traceparent"], "00-h-h-01");
        assert!(Trace::default().headers().is_empty());
    }

    #[test]
    fn params_carry_the_trace_and_the_backend_name() {
        let p = map(json!({"name": "sales__quote", "arguments": {"a": 1},
                           "_meta": {"progressToken": 3,
                                     "io.modelcontextprotocol/protocolVersion": "2026-07-28"}}));
        let t = Trace {
            call_id: Some(5),
            traceparent: Some("00-x-y-01".into()),
        };
        let out = backend_params(Some(p), Some("quote"), &t);
        assert_eq!(
            out,
            json!({"name": "quote", "arguments": {"a": 1},
                   "_meta": {"progressToken": 3, "dev.gauntlet/call-id": 5,
                             "traceparent": "00-x-y-01"}})
        );
        assert_eq!(backend_params(None, None, &Trace::default()), json!({}));
    }
}
