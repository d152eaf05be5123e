//! The gateway as an MCP server: initialize (and 2026-07-28's server/discover) with the
//! gateway's own identity, the aggregated lists (paginated), and the requests routed to a
//! server: tools/call (through the cache), resources/read, prompts/get, completion/complete.
//! An unknown tool is -32602; a server that cannot answer gives a JSON-RPC error that names it.

use super::Gateway;
use super::backend::Fail;
use super::cache;
use super::link::describe;
use super::trace::{Trace, backend_params};
use crate::mcp::jsonrpc::{ErrorObject, Notification, Request, code};
use crate::mcp::outcome::Outcome;
use crate::mcp::paging::page;
use crate::mcp::protocol::{LogLevel, Version, meta};
use crate::mcp::service::{CallContext, Handled, Reply, Service};
use crate::mcp::session::Session;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::time::Instant;

/// `_meta` key set on results served from the cache.
pub const CACHE_META: &str = "dev.gauntlet/cache";
/// The error code of a call that ran out of time (as the MCP SDKs use it).
pub const TIMEOUT_CODE: i32 = -32001;

/// The gateway behind the HTTP front end.
pub struct Front(pub Arc<Gateway>);

type Params = Option<Map<String, Value>>;

fn info() -> Value {
    json!({"name": "gauntlet-gateway", "title": "gauntlet reference gateway",
           "version": env!("CARGO_PKG_VERSION")})
}

fn capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "resources": {"listChanged": true},
        "prompts": {"listChanged": true},
        "completions": {},
        "logging": {},
    })
}

impl Service for Front {
    fn request(&self, req: Request, ctx: CallContext) -> Handled {
        let gw = &self.0;
        let d = gw.directory();
        let size = gw.settings.page_size;
        let p = req.params.as_ref();
        let result = match req.method.as_str() {
            "initialize" => Ok(initialize(gw, ctx.session.version())),
            "server/discover" => Ok(json!({
                "supportedVersions": crate::mcp::modern::supported_versions(),
                "capabilities": capabilities(),
                "_meta": {crate::mcp::protocol::modern_key::SERVER_INFO: info()},
            })),
            "ping" | "resources/subscribe" | "resources/unsubscribe" => Ok(json!({})),
            "tools/list" => page(p, &d.tools, size, "tools", Value::clone),
            "resources/list" => page(p, &d.resources, size, "resources", Value::clone),
            "resources/templates/list" => {
                page(p, &d.templates, size, "resourceTemplates", Value::clone)
            }
            "prompts/list" => page(p, &d.prompts, size, "prompts", Value::clone),
            "logging/setLevel" => set_level(&ctx.session, p),
            "tools/call" | "resources/read" | "prompts/get" | "completion/complete" => {
                let mut trace = Trace::of(p, ctx.traceparent.as_deref(), ctx.call_id_header);
                let mut params = req.params;
                if !gw.settings.forward_meta {
                    trace = Trace::default();
                    if let Some(p) = params.as_mut() {
                        p.remove("_meta");
                    }
                }
                let version = ctx.session.version();
                // A caller that asked for progress gets an SSE answer, so that the server's
                // progress (and log messages) reach it before the result.
                let stream = params
                    .as_ref()
                    .and_then(|p| p.get("_meta"))
                    .and_then(|m| m.get(meta::PROGRESS_TOKEN))
                    .is_some();
                let sink = relay_to(ctx.notify, ctx.session);
                let work = routed(gw.clone(), req.method, params, trace, version);
                let work = crate::mcp::client::relaying(sink, work);
                return Handled {
                    stream,
                    reply: Box::pin(async move { Some(work.await) }),
                };
            }
            other => Err(ErrorObject::method_not_found(other)),
        };
        Handled::now(match result {
            Ok(v) => Reply::ok(v),
            Err(e) => Reply::err(e),
        })
    }

    fn notification(&self, _n: Notification, _session: &Arc<Session>) {
        // notifications/initialized, roots/list_changed: nothing to do.
    }

    fn server_info(&self) -> Option<std::sync::Arc<Value>> {
        static INFO: std::sync::OnceLock<std::sync::Arc<Value>> = std::sync::OnceLock::new();
        Some(INFO.get_or_init(|| std::sync::Arc::new(info())).clone())
    }

    fn http_get(&self, path: &str) -> Option<Value> {
        (path == "/status").then(|| super::status::document(&self.0))
    }
}

fn initialize(gw: &Gateway, version: Version) -> Value {
    json!({
        "protocolVersion": version.as_str(),
        "capabilities": capabilities(),
        "serverInfo": info(),
        "instructions": format!(
            "The tools of {} MCP servers, each named {{server}}{}{{tool}}.",
            gw.backends.len(), gw.settings.separator
        ),
    })
}

fn set_level(session: &Session, p: Option<&Map<String, Value>>) -> Result<Value, ErrorObject> {
    let level = p
        .and_then(|p| p.get("level"))
        .cloned()
        .and_then(|v| serde_json::from_value::<LogLevel>(v).ok())
        .ok_or_else(|| ErrorObject::invalid_params("`level` must be a logging level"))?;
    session.set_log_level(Some(level));
    Ok(json!({}))
}

/// Where a server's notifications about a call go: its progress, and its log messages at or
/// above the caller's level, to the caller; anything else is dropped.
fn relay_to(
    notify: crate::mcp::service::Notifier,
    session: Arc<Session>,
) -> crate::mcp::client::RelaySink {
    Arc::new(move |v: Value| {
        let Value::Object(mut m) = v else {
            return;
        };
        let (Some(Value::String(method)), Some(Value::Object(params))) =
            (m.remove("method"), m.remove("params"))
        else {
            return;
        };
        let wanted = match method.as_str() {
            "notifications/progress" => true,
            "notifications/message" => {
                let level = params
                    .get("level")
                    .and_then(|l| LogLevel::deserialize(l).ok());
                match (level, session.log_level()) {
                    (Some(l), Some(min)) => l >= min,
                    (Some(_), None) => true,
                    (None, _) => false,
                }
            }
            _ => false,
        };
        if wanted {
            notify.send(Notification::new(method, Value::Object(params)));
        }
    })
}

/// A request that goes to a server.
async fn routed(
    gw: Arc<Gateway>,
    method: String,
    params: Params,
    trace: Trace,
    version: Version,
) -> Reply {
    let r = match method.as_str() {
        "tools/call" => call_tool(&gw, params, &trace).await,
        "resources/read" => read_resource(&gw, params, &trace, version).await,
        "prompts/get" => get_prompt(&gw, params, &trace).await,
        _ => complete(&gw, params, &trace).await,
    };
    match r {
        Ok(v) => Reply::ok(v),
        Err(e) => Reply::err(e),
    }
}

fn str_param<'a>(p: &'a Params, name: &str) -> Result<&'a str, ErrorObject> {
    p.as_ref()
        .and_then(|p| p.get(name))
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params(format!("missing string parameter `{name}`")))
}

async fn call_tool(gw: &Arc<Gateway>, params: Params, trace: &Trace) -> Result<Value, ErrorObject> {
    let name = str_param(&params, "name")?;
    let d = gw.directory();
    let Some(route) = d.tool(name) else {
        return Err(ErrorObject::invalid_params(format!("Unknown tool: {name}")));
    };
    let b = &gw.backends[route.server];
    b.stats
        .calls
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let args = params.as_ref().and_then(|p| p.get("arguments"));
    let key = route.ttl.map(|ttl| (cache::key(&route.name, args), ttl));
    if let Some((k, _)) = &key
        && let Some(hit) = b.cache.get(k, Instant::now())
    {
        b.stats
            .cache_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(server = b.name(), tool = name, call_id = ?trace.call_id, "cache hit");
        return Ok(from_cache(&hit));
    }
    tracing::debug!(server = b.name(), tool = name, call_id = ?trace.call_id, "forward");
    let body = backend_params(params, Some(&route.name), trace);
    let deadline = Instant::now() + gw.settings.call_timeout;
    match b
        .request("tools/call", &body, trace, deadline, key.is_some())
        .await
    {
        Ok(v) => {
            if let Some((k, ttl)) = key
                && v.get("isError") != Some(&Value::Bool(true))
            {
                b.cache.put(k, v.clone(), ttl, Instant::now());
            }
            Ok(v)
        }
        Err(f) => {
            b.stats
                .errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(server = b.name(), call_id = ?trace.call_id, "failed: {f:?}");
            Err(error_of(&f, b.name()))
        }
    }
}

/// A cached result as served: marked as a cache hit, without the service time (the server
/// did no work for it).
fn from_cache(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        let m = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(m) = m.as_object_mut() {
            m.remove(meta::SERVICE_US);
            m.insert(CACHE_META.into(), json!("hit"));
        }
    }
    v
}

async fn read_resource(
    gw: &Arc<Gateway>,
    params: Params,
    trace: &Trace,
    version: Version,
) -> Result<Value, ErrorObject> {
    let uri = str_param(&params, "uri")?;
    let Some(i) = gw.directory().resource(uri) else {
        let code = if version >= Version::V2026_07_28 {
            code::INVALID_PARAMS
        } else {
            code::RESOURCE_NOT_FOUND
        };
        let mut e = ErrorObject::new(code, format!("Resource not found: {uri}"));
        e.data = Some(json!({"uri": uri}));
        return Err(e);
    };
    forward(
        gw,
        i,
        "resources/read",
        backend_params(params, None, trace),
        trace,
    )
    .await
}

async fn get_prompt(
    gw: &Arc<Gateway>,
    params: Params,
    trace: &Trace,
) -> Result<Value, ErrorObject> {
    let name = str_param(&params, "name")?;
    let Some(route) = gw.directory().prompt(name).cloned() else {
        return Err(ErrorObject::invalid_params(format!(
            "Unknown prompt: {name}"
        )));
    };
    let body = backend_params(params, Some(&route.name), trace);
    forward(gw, route.server, "prompts/get", body, trace).await
}

/// completion/complete for a prompt's argument (by the prompt's gateway name) or a resource
/// template's (by URI).
async fn complete(gw: &Arc<Gateway>, params: Params, trace: &Trace) -> Result<Value, ErrorObject> {
    let r = params
        .as_ref()
        .and_then(|p| p.get("ref"))
        .cloned()
        .unwrap_or_default();
    let d = gw.directory();
    let (server, own) = match r.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
            let route = d
                .prompt(name)
                .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown prompt: {name}")))?;
            (route.server, Some(route.name.clone()))
        }
        Some("ref/resource") => {
            let uri = r.get("uri").and_then(Value::as_str).unwrap_or_default();
            let i = d
                .resource(uri)
                .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown resource: {uri}")))?;
            (i, None)
        }
        _ => {
            return Err(ErrorObject::invalid_params(
                "`ref` must be a ref/prompt or ref/resource",
            ));
        }
    };
    let mut body = backend_params(params, None, trace);
    if let Some(own) = own {
        body["ref"]["name"] = Value::String(own);
    }
    forward(gw, server, "completion/complete", body, trace).await
}

async fn forward(
    gw: &Arc<Gateway>,
    server: usize,
    method: &str,
    body: Value,
    trace: &Trace,
) -> Result<Value, ErrorObject> {
    let b = &gw.backends[server];
    let deadline = Instant::now() + gw.settings.call_timeout;
    b.request(method, &body, trace, deadline, false)
        .await
        .map_err(|f| error_of(&f, b.name()))
}

/// The JSON-RPC error a client gets for a failure; it names the server.
pub fn error_of(f: &Fail, server: &str) -> ErrorObject {
    let (code, reason, message) = match f {
        Fail::Open => (
            code::INTERNAL_ERROR,
            "circuit_open",
            format!("server `{server}` is unavailable (circuit open after repeated failures)"),
        ),
        Fail::Busy => (
            code::INTERNAL_ERROR,
            "busy",
            format!("server `{server}` is starting and too many calls are waiting for it"),
        ),
        Fail::Timeout | Fail::Call(Outcome::Timeout) => (
            TIMEOUT_CODE,
            "timeout",
            format!("server `{server}` did not answer in time"),
        ),
        Fail::Start(e) => (
            code::INTERNAL_ERROR,
            "start_failed",
            format!("server `{server}` could not be started: {e}"),
        ),
        Fail::Call(o) => (
            code::INTERNAL_ERROR,
            "unavailable",
            format!("server `{server}` is unavailable: {}", describe(*o)),
        ),
        Fail::Rpc { code, error } => return server_error(*code, error.as_ref(), server),
        Fail::Closing => (
            code::INTERNAL_ERROR,
            "closing",
            "the gateway is stopping".to_string(),
        ),
    };
    let mut e = ErrorObject::new(code, message);
    e.data = Some(json!({"server": server, "reason": reason}));
    e
}

/// A server's own JSON-RPC error, passed on: its code, its message after the server's name, and
/// its `data` under `data.data`.
fn server_error(code: i32, error: Option<&Value>, server: &str) -> ErrorObject {
    let said = error.and_then(|e| e.get("message")).and_then(Value::as_str);
    let message = match said {
        Some(m) => format!("server `{server}` answered with error {code}: {m}"),
        None => format!("server `{server}` answered with error {code}"),
    };
    let mut data = json!({"server": server, "reason": "server_error"});
    if let Some(d) = error.and_then(|e| e.get("data")) {
        data["data"] = d.clone();
    }
    let mut e = ErrorObject::new(code, message);
    e.data = Some(data);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_hits_are_marked_and_carry_no_service_time() {
        let v = json!({"content": [], "_meta": {"dev.gauntlet/service-us": 12, "x": 1}});
        let hit = from_cache(&v);
        assert_eq!(hit["_meta"], json!({"x": 1, "dev.gauntlet/cache": "hit"}));
        assert_eq!(from_cache(&json!({}))["_meta"][CACHE_META], "hit");
    }

    #[test]
    fn errors_name_the_server() {
        let e = error_of(&Fail::Open, "billing");
        assert_eq!(e.code, code::INTERNAL_ERROR);
        assert!(e.message.contains("`billing`"));
        assert_eq!(
            e.data,
            Some(json!({"server": "billing", "reason": "circuit_open"}))
        );
        let rpc = |error| Fail::Rpc {
            code: -32602,
            error,
        };
        let e = error_of(&rpc(None), "x");
        assert_eq!(
            (e.code, e.message.as_str()),
            (-32602, "server `x` answered with error -32602")
        );
        let said = json!({"code": -32602, "message": "Unknown tool: y", "data": {"tool": "y"}});
        let e = error_of(&rpc(Some(said)), "x");
        assert_eq!(
            e.message, "server `x` answered with error -32602: Unknown tool: y",
            "the server's message kept"
        );
        assert_eq!(
            e.data,
            Some(json!({"server": "x", "reason": "server_error", "data": {"tool": "y"}}))
        );
        assert_eq!(error_of(&Fail::Timeout, "x").code, TIMEOUT_CODE);
        let e = error_of(
            &Fail::Call(Outcome::Transport(
                crate::mcp::outcome::TransportError::Refused,
            )),
            "b",
        );
        assert!(e.message.ends_with("Connection refused"), "{}", e.message);
    }
}
