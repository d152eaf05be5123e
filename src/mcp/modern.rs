//! The 2026-07-28 revision's rules, shared by the servers and the driver's client: no
//! initialize, every request carrying its revision and the client's capabilities in `_meta`,
//! the `Mcp-Method` / `Mcp-Name` headers mirroring the body (checked: -32020 HeaderMismatch),
//! `resultType` on every result, `server/discover`, `subscriptions/listen` for list changes,
//! and no `ping`, `logging/setLevel` or `resources/subscribe`.
//!
//! A server decides per request which era it is in ([`claims_modern`]): a request that names
//! its revision in `_meta` (or an `MCP-Protocol-Version` that is not a session-era revision)
//! and carries no `Mcp-Session-Id` is served statelessly; `initialize` opens a session as
//! before. Both eras are served on one endpoint.

use super::era_fields::Revision;
use super::jsonrpc::{ErrorObject, Notification, Request, RequestId, code as rpc, write_json};
use super::protocol::{LogLevel, Version, modern_key as key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

/// Error codes the revision defines.
pub mod code {
    pub const HEADER_MISMATCH: i32 = -32020;
    pub const MISSING_CLIENT_CAPABILITY: i32 = -32021;
    pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;

    /// Whether `code` is one of them: a server that answers with one speaks the revision.
    pub fn is_modern(code: i32) -> bool {
        (UNSUPPORTED_PROTOCOL_VERSION..=HEADER_MISMATCH).contains(&code)
    }
}

/// Header names (lower case).
pub mod header {
    pub const METHOD: &str = "mcp-method";
    pub const NAME: &str = "mcp-name";
    pub static METHOD_NAME: http::HeaderName = http::HeaderName::from_static(METHOD);
    pub static NAME_NAME: http::HeaderName = http::HeaderName::from_static(NAME);
}

/// Methods of earlier revisions that 2026-07-28 removed.
pub const REMOVED: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Methods whose results are cacheable (`ttlMs`, `cacheScope`).
const CACHEABLE: &[&str] = &[
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/templates/list",
];

/// Whether `method`'s results carry `ttlMs` and `cacheScope`.
pub fn cacheable(method: &str) -> bool {
    CACHEABLE.contains(&method)
}

/// Every revision a dual-era server speaks, newest first (`supportedVersions`, and the
/// `supported` list of -32022).
pub fn supported_versions() -> Vec<&'static str> {
    Version::ALL.iter().rev().map(|v| v.as_str()).collect()
}

/// Whether a request (not initialize, no session id) is of the 2026-07-28 era.
pub fn claims_modern(headers: &HeaderMap, req: &Request) -> bool {
    if req.method == "initialize" || headers.contains_key(&super::protocol::header_name::SESSION_ID)
    {
        return false;
    }
    if req.era.protocol_version.is_some() {
        return true;
    }
    let named = headers
        .get(&super::protocol::header_name::PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok());
    named.is_some_and(|v| Version::known(v).is_none_or(|v| v == Version::V2026_07_28))
}

/// What a request told the server about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    /// `None`: the request names no log level, so no notifications/message may be sent.
    pub log_level: Option<LogLevel>,
}

/// A request refused before it is served: the HTTP status and the JSON-RPC error.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub error: ErrorObject,
}

fn reject(status: u16, code: i32, message: String) -> Rejection {
    Rejection {
        status,
        error: ErrorObject::new(code, message),
    }
}

/// The per-request fields: the revision (2026-07-28, else -32022 listing the supported ones),
/// the client capabilities (required: -32602), the log level.
pub fn check_meta(req: &Request) -> Result<RequestMeta, Rejection> {
    let era = &req.era;
    let Some(version) = era.protocol_version.as_ref().and_then(Revision::as_str) else {
        return Err(reject(
            400,
            rpc::INVALID_PARAMS,
            format!("params._meta[\"{}\"] is required", key::PROTOCOL_VERSION),
        ));
    };
    if version != Version::V2026_07_28.as_str() {
        let mut r = reject(
            400,
            code::UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version {version:?} without initialize"),
        );
        r.error.data = Some(json!({"supported": ["2026-07-28"], "requested": version}));
        return Err(r);
    }
    if !era
        .client_capabilities
        .as_ref()
        .is_some_and(Value::is_object)
    {
        return Err(reject(
            400,
            rpc::INVALID_PARAMS,
            format!(
                "params._meta[\"{}\"] is required (an object)",
                key::CLIENT_CAPABILITIES
            ),
        ));
    }
    let log_level = era
        .log_level
        .as_ref()
        .and_then(|v| LogLevel::deserialize(v).ok());
    Ok(RequestMeta { log_level })
}

/// The value `Mcp-Name` mirrors: `params.name` or `params.uri`, for the methods that have one.
pub fn name_of<'a>(method: &str, params: Option<&'a Map<String, Value>>) -> Option<&'a str> {
    let field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    Some(
        params
            .and_then(|p| p.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// The HTTP headers against the body: `MCP-Protocol-Version`, `Mcp-Method` and, where the
/// method has one, `Mcp-Name` (Base64 sentinel decoded). Any missing or different → -32020.
pub fn check_headers(headers: &HeaderMap, req: &Request) -> Result<(), Rejection> {
    let mismatch = |what: String| {
        reject(
            400,
            code::HEADER_MISMATCH,
            format!("Header mismatch: {what}"),
        )
    };
    let get = |name: &HeaderName| headers.get(name).map(|v| v.to_str().ok());
    let body_version = (req.era.protocol_version.as_ref())
        .and_then(Revision::as_str)
        .unwrap_or_default();
    match get(&super::protocol::header_name::PROTOCOL_VERSION) {
        None => {
            return Err(mismatch(
                "the MCP-Protocol-Version header is missing".into(),
            ));
        }
        Some(v) if v != Some(body_version) => {
            return Err(mismatch(format!(
                "MCP-Protocol-Version {:?} does not match the body's {body_version:?}",
                v.unwrap_or("(not ASCII)")
            )));
        }
        Some(_) => {}
    }
    match get(&header::METHOD_NAME) {
        None => return Err(mismatch("the Mcp-Method header is missing".into())),
        Some(v) if v != Some(req.method.as_str()) => {
            return Err(mismatch(format!(
                "Mcp-Method {:?} does not match the body's method {:?}",
                v.unwrap_or("(not ASCII)"),
                req.method
            )));
        }
        Some(_) => {}
    }
    let Some(body_name) = name_of(&req.method, req.params.as_ref()) else {
        return Ok(());
    };
    let Some(sent) = get(&header::NAME_NAME) else {
        return Err(mismatch("the Mcp-Name header is missing".into()));
    };
    // The plain form (the usual one) is compared without decoding.
    if sent == Some(body_name) && !body_name.starts_with(SENTINEL_START) {
        return Ok(());
    }
    match sent.and_then(decode_header_value) {
        Some(name) if name == body_name => Ok(()),
        Some(name) => Err(mismatch(format!(
            "Mcp-Name {name:?} does not match the body's {body_name:?}"
        ))),
        None => Err(mismatch("the Mcp-Name header is not a valid value".into())),
    }
}

const SENTINEL_START: &str = "=?base64?";
const SENTINEL_END: &str = "?=";

/// A header value for `v`: as is when it is plain visible ASCII (spaces inside allowed),
/// else the Base64 sentinel `=?base64?…?=`.
pub fn encode_header_value(v: &str) -> std::borrow::Cow<'_, str> {
    let visible = v
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b));
    let padded = v.starts_with([' ', '\t']) || v.ends_with([' ', '\t']);
    let looks_encoded = v.starts_with(SENTINEL_START) && v.ends_with(SENTINEL_END);
    let plain = visible && !padded && !looks_encoded;
    if plain {
        std::borrow::Cow::Borrowed(v)
    } else {
        std::borrow::Cow::Owned(format!(
            "{SENTINEL_START}{}{SENTINEL_END}",
            STANDARD.encode(v)
        ))
    }
}

/// A header value decoded (the Base64 sentinel undone); `None` if the sentinel holds no
/// valid Base64 of UTF-8.
pub fn decode_header_value(v: &str) -> Option<String> {
    match v
        .strip_prefix(SENTINEL_START)
        .and_then(|r| r.strip_suffix(SENTINEL_END))
    {
        Some(b64) => String::from_utf8(STANDARD.decode(b64).ok()?).ok(),
        None => Some(v.to_owned()),
    }
}

/// Adds what every 2026-07-28 result carries: `resultType`, the server's identity in
/// `_meta`, and a freshness hint on cacheable results (none of them overwritten if the
/// service set them).
pub fn decorate(cacheable: bool, result: &mut Value, server_info: Option<&Value>) {
    let Value::Object(m) = result else {
        return;
    };
    m.entry("resultType").or_insert_with(|| json!("complete"));
    if let Some(info) = server_info {
        let meta = m.entry("_meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.entry(key::SERVER_INFO).or_insert_with(|| info.clone());
        }
    }
    if cacheable {
        // The mocks' lists can change at any moment (list-change faults): never fresh.
        m.entry("ttlMs").or_insert_with(|| json!(0));
        m.entry("cacheScope").or_insert_with(|| json!("private"));
    }
}

/// Writes `result` as [`decorate`] would leave it, without changing (or copying) it: for
/// answers that go out as JSON at once. What the revision adds goes in as prepared bytes.
pub fn write_decorated(
    out: &mut Vec<u8>,
    result: &Value,
    cacheable: bool,
    server_info: Option<&RawValue>,
) {
    let Value::Object(m) = result else {
        write_json(out, result);
        return;
    };
    let mut fields = Fields::open(out);
    for (k, v) in m.iter().filter(|(k, _)| *k != "_meta") {
        fields.entry(k, v);
    }
    if !m.contains_key("resultType") {
        fields.raw(br#""resultType":"complete""#);
    }
    if cacheable {
        if !m.contains_key("ttlMs") {
            fields.raw(br#""ttlMs":0"#);
        }
        if !m.contains_key("cacheScope") {
            fields.raw(br#""cacheScope":"private""#);
        }
    }
    // The identity joins a `_meta` that is missing or an object without one.
    let meta = m.get("_meta");
    let own = meta.and_then(Value::as_object);
    let identity =
        server_info.filter(|_| own.map_or(meta.is_none(), |o| !o.contains_key(key::SERVER_INFO)));
    match (meta, identity) {
        (_, Some(info)) => {
            fields.raw(br#""_meta":"#);
            let mut inner = Fields::open(fields.out);
            for (k, v) in own.into_iter().flatten() {
                inner.entry(k, v);
            }
            inner.identity(info);
            inner.close();
        }
        (Some(meta), None) => fields.entry("_meta", meta),
        (None, None) => {}
    }
    fields.close();
}

/// A JSON object being written field by field.
struct Fields<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Fields<'a> {
    fn open(out: &'a mut Vec<u8>) -> Fields<'a> {
        out.push(b'{');
        Fields { out, first: true }
    }

    /// A field already written as JSON (`"key":value`).
    fn raw(&mut self, field: &[u8]) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        self.out.extend_from_slice(field);
    }

    fn entry(&mut self, k: &str, v: &Value) {
        self.raw(b"");
        write_json(self.out, k);
        self.out.push(b':');
        write_json(self.out, v);
    }

    fn identity(&mut self, info: &RawValue) {
        self.raw(b"\"io.modelcontextprotocol/serverInfo\":");
        self.out.extend_from_slice(info.get().as_bytes());
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// What a `subscriptions/listen` asked for (what a server that only changes its tool list
/// honours: `toolsListChanged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListenFilter {
    pub tools_list_changed: bool,
}

impl ListenFilter {
    pub fn of(params: Option<&Map<String, Value>>) -> ListenFilter {
        let asked = params
            .and_then(|p| p.get("notifications"))
            .and_then(|n| n.get("toolsListChanged"))
            .and_then(Value::as_bool);
        ListenFilter {
            tools_list_changed: asked == Some(true),
        }
    }

    /// Whether a notification is one the subscriber opted in to.
    pub fn wants(&self, method: &str) -> bool {
        method == "notifications/tools/list_changed" && self.tools_list_changed
    }
}

/// `notifications/subscriptions/acknowledged`: the first message of a listen stream.
pub fn acknowledged(id: &RequestId, filter: ListenFilter) -> Notification {
    let mut agreed = Map::new();
    if filter.tools_list_changed {
        agreed.insert("toolsListChanged".into(), json!(true));
    }
    Notification::new(
        "notifications/subscriptions/acknowledged",
        json!({"_meta": {key::SUBSCRIPTION_ID: id}, "notifications": agreed}),
    )
}

/// A notification tagged with the subscription it belongs to.
pub fn tagged(n: &Notification, id: &RequestId) -> Notification {
    let mut n = n.clone();
    let params = n.params.get_or_insert_with(Map::new);
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.insert(key::SUBSCRIPTION_ID.into(), json!(id));
    }
    n
}

/// The `_meta` entries a 2026-07-28 client puts on every request (the revision, the client's
/// capabilities — none — and its identity), written into `m` without building values.
pub fn write_client_meta<M: serde::ser::SerializeMap>(
    version: Version,
    m: &mut M,
) -> Result<(), M::Error> {
    #[derive(serde::Serialize)]
    struct Identity {
        name: &'static str,
        version: &'static str,
    }
    m.serialize_entry(key::PROTOCOL_VERSION, version.as_str())?;
    m.serialize_entry(key::CLIENT_CAPABILITIES, &Map::new())?;
    m.serialize_entry(
        key::CLIENT_INFO,
        &Identity {
            name: "gauntlet",
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn req(method: &str, params: Value) -> Request {
        Request::new(
            RequestId::Number(1.into()),
            method,
            params.as_object().cloned(),
        )
    }

    fn modern_params(extra: Value) -> Value {
        let mut p = json!({"_meta": {
            key::PROTOCOL_VERSION: "2026-07-28",
            key::CLIENT_CAPABILITIES: {},
        }});
        if let (Value::Object(p), Value::Object(e)) = (&mut p, extra) {
            p.extend(e);
        }
        p
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("a header value"));
        }
        h
    }

    #[test]
    fn era_is_chosen_by_what_the_client_sends() {
        let modern = req("tools/list", modern_params(json!({})));
        assert!(claims_modern(&HeaderMap::new(), &modern));
        assert!(!claims_modern(
            &headers(&[("mcp-session-id", "abc")]),
            &modern
        ));
        let plain = req("tools/list", json!({}));
        assert!(!claims_modern(&HeaderMap::new(), &plain));
        assert!(!claims_modern(
            &headers(&[("mcp-protocol-version", "2025-11-25")]),
            &plain
        ));
        assert!(claims_modern(
            &headers(&[("mcp-protocol-version", "2026-07-28")]),
            &plain
        ));
        assert!(!claims_modern(
            &HeaderMap::new(),
            &req("initialize", modern_params(json!({})))
        ));
    }

    #[test]
    fn meta_rules() {
        let ok = req("tools/list", modern_params(json!({})));
        assert_eq!(check_meta(&ok).map(|m| m.log_level), Ok(None));
        let missing = req(
            "tools/list",
            json!({"_meta": {key::PROTOCOL_VERSION: "2026-07-28"}}),
        );
        assert_eq!(check_meta(&missing).map_err(|r| r.error.code), Err(-32602));
        let old = req(
            "tools/list",
            json!({"_meta": {key::PROTOCOL_VERSION: "2025-11-25", key::CLIENT_CAPABILITIES: {}}}),
        );
        let r = check_meta(&old).expect_err("unsupported");
        assert_eq!((r.status, r.error.code), (400, -32022));
        assert_eq!(
            r.error.data.as_ref().map(|d| &d["requested"]),
            Some(&json!("2025-11-25"))
        );
        let mut with_level = modern_params(json!({}));
        with_level["_meta"][key::LOG_LEVEL] = json!("warning");
        let m = check_meta(&req("tools/list", with_level)).expect("ok");
        assert_eq!(m.log_level, Some(LogLevel::Warning));
    }

    #[test]
    fn headers_must_mirror_the_body() {
        let call = req("tools/call", modern_params(json!({"name": "héllo"})));
        let encoded = encode_header_value("héllo");
        assert!(encoded.starts_with("=?base64?"));
        let good = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", &*encoded),
        ];
        assert_eq!(check_headers(&headers(&good), &call), Ok(()));
        for (i, bad) in [
            [good[0], ("mcp-method", "tools/list"), good[2]],
            [good[0], good[1], ("mcp-name", "other")],
            [("mcp-protocol-version", "2025-11-25"), good[1], good[2]],
        ]
        .iter()
        .enumerate()
        {
            let r = check_headers(&headers(bad), &call).expect_err("mismatch");
            assert_eq!((r.status, r.error.code), (400, -32020), "case {i}");
        }
        let r = check_headers(&headers(&good[..2]), &call).expect_err("no name");
        assert!(r.error.message.contains("Mcp-Name"));
        let list = req("tools/list", modern_params(json!({})));
        assert_eq!(
            check_headers(&headers(&good[..1]), &list).map_err(|r| r.error.code),
            Err(-32020)
        );
    }

    #[test]
    fn header_value_encoding() {
        for (v, plain) in [
            ("us-west1", true),
            ("file:///a b.txt", true),
            (" padded ", false),
            ("line1\nline2", false),
            ("Hello, 世界", false),
            ("=?base64?literal?=", false),
        ] {
            let e = encode_header_value(v);
            assert_eq!(e == v, plain, "{v:?} → {e:?}");
            assert_eq!(decode_header_value(&e).as_deref(), Some(v));
            assert_eq!(matches!(e, std::borrow::Cow::Borrowed(_)), plain);
        }
        assert_eq!(decode_header_value("=?base64?***?="), None);
        assert_eq!(
            encode_header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
    }

    #[test]
    fn results_are_decorated_without_overwriting() {
        let info = json!({"name": "m", "version": "1"});
        let mut r = json!({"tools": []});
        decorate(cacheable("tools/list"), &mut r, Some(&info));
        assert_eq!(r["resultType"], "complete");
        assert_eq!(r["ttlMs"], 0);
        assert_eq!(r["_meta"][key::SERVER_INFO], info);
        let mut r = json!({"content": [], "resultType": "input_required", "_meta": {"x": 1}});
        decorate(cacheable("tools/call"), &mut r, Some(&info));
        assert_eq!(r["resultType"], "input_required");
        assert_eq!(r["_meta"]["x"], 1);
        assert!(r.get("ttlMs").is_none());
    }

    #[test]
    fn decorated_writes_what_decorate_makes() {
        let info = json!({"name": "m", "version": "1"});
        for (method, r) in [
            ("tools/list", json!({"tools": [], "_meta": {"x": 1}})),
            (
                "tools/call",
                json!({"content": [], "resultType": "input_required"}),
            ),
            (
                "tools/call",
                json!({"content": [], "_meta": {key::SERVER_INFO: "own"}}),
            ),
            ("ping", json!("not an object")),
            (
                "tools/call",
                json!({"content": [], "_meta": "not an object"}),
            ),
            (
                "resources/read",
                json!({"contents": [], "ttlMs": 5, "_meta": {}}),
            ),
            ("tools/call", json!({})),
        ] {
            let mut expected = r.clone();
            decorate(cacheable(method), &mut expected, Some(&info));
            let raw = serde_json::value::to_raw_value(&info).expect("raw");
            let mut bytes = Vec::new();
            write_decorated(&mut bytes, &r, cacheable(method), Some(&raw));
            let written: Value = serde_json::from_slice(&bytes).expect("JSON");
            assert_eq!(written, expected, "{method}");
            let mut expected = r.clone();
            decorate(cacheable(method), &mut expected, None);
            bytes.clear();
            write_decorated(&mut bytes, &r, cacheable(method), None);
            let written: Value = serde_json::from_slice(&bytes).expect("JSON");
            assert_eq!(written, expected, "{method}, no identity");
        }
    }

    #[test]
    fn listen_filter_and_tags() {
        let f = ListenFilter::of(Some(
            json!({"notifications": {"toolsListChanged": true}})
                .as_object()
                .expect("object"),
        ));
        assert!(f.wants("notifications/tools/list_changed"));
        assert!(!f.wants("notifications/prompts/list_changed"));
        let id = RequestId::Number(7.into());
        let ack = acknowledged(&id, f);
        let p = ack.params.expect("params");
        assert_eq!(p["_meta"][key::SUBSCRIPTION_ID], 7);
        assert_eq!(p["notifications"]["toolsListChanged"], true);
        let n = tagged(
            &Notification::new("notifications/tools/list_changed", Value::Null),
            &id,
        );
        assert_eq!(n.params.expect("params")["_meta"][key::SUBSCRIPTION_ID], 7);
        assert!(code::is_modern(-32021) && !code::is_modern(-32001));
    }
}
