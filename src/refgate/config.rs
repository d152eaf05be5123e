//! The gateway's config file: the standard `mcpServers` JSON that most MCP gateways read, plus
//! an optional `gauntlet` block with the gateway's settings and, per server, the tools,
//! resources and prompts to advertise before the server is started (so that a lazy server
//! costs nothing until it is called).
//!
//! ```json
//! {
//!   "mcpServers": {
//!     "sales":   { "url": "http://127.0.0.1:9101/mcp", "transport": "http" },
//!     "billing": { "url": "http://127.0.0.1:9102/sse", "transport": "sse" },
//!     "fraud":   { "command": "gauntlet", "args": ["mock", "--stdio", "fraud.yaml"] }
//!   },
//!   "gauntlet": {
//!     "settings": { "cache_ttl": "30s", "lazy": true },
//!     "servers": { "fraud": { "tools": [ … ], "cacheable": ["score"] } }
//!   }
//! }
//! ```
//!
//! Entries: `url` (with `transport` or `type`: `http`, `streamable-http`, `streamableHttp`, or
//! `sse`; without either, a URL whose path ends in `/sse` is SSE), optional `headers`; or
//! `command` with `args`, `env` (`${VAR}` expanded), `cwd`. `"disabled": true` skips a server.
//! Other keys (other gateways' own) are ignored; keys of the `gauntlet` block are checked.

use crate::error::{Error, Result};
use crate::units::{Dur, Percent};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole config.
#[derive(Debug, Clone)]
pub struct Config {
    pub servers: Vec<ServerConfig>,
    pub settings: Settings,
}

/// One backend server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub name: String,
    pub transport: Transport,
    /// What to advertise before the server is started; `None`: the server is started at boot
    /// and asked.
    pub lists: Option<Lists>,
    /// Cacheable tools (the backend's names) and their time to live.
    pub cacheable: BTreeMap<String, Duration>,
    /// Started on first use (`true`) or at boot.
    pub lazy: bool,
}

/// How the gateway reaches a server.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// Streamable HTTP (the session era).
    Http {
        url: String,
        headers: Vec<(String, String)>,
    },
    /// 2024-11-05 HTTP+SSE: the SSE URL.
    Sse {
        url: String,
        headers: Vec<(String, String)>,
    },
    /// A process the gateway spawns.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
}

impl Transport {
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Http { .. } => "http",
            Transport::Sse { .. } => "sse",
            Transport::Stdio { .. } => "stdio",
        }
    }
}

/// A server's lists as MCP list entries (the backend's names).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists {
    pub tools: Vec<Value>,
    pub resources: Vec<Value>,
    pub templates: Vec<Value>,
    pub prompts: Vec<Value>,
}

/// The gateway's settings (`gauntlet.settings`), with their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Between a server's name and a tool's or prompt's: `{server}{separator}{tool}`.
    pub separator: String,
    /// Entries per page of the gateway's lists.
    pub page_size: usize,
    /// Start servers on first use; `false` starts every server at boot.
    pub lazy: bool,
    /// Time to live of a cached result, for cacheable tools without their own.
    pub cache_ttl: Duration,
    /// Cached results kept per server.
    pub cache_entries: usize,
    /// A started server unused this long is stopped; `None` never.
    pub idle_timeout: Option<Duration>,
    /// Everything a call may take, its server's start and retries included.
    pub call_timeout: Duration,
    /// How long a server may take to start (spawn or connect, and initialize).
    pub start_timeout: Duration,
    /// Calls that may wait for one server's start; more fail at once.
    pub max_waiting: usize,
    pub retries: RetrySettings,
    pub breaker: BreakerSettings,
    /// Forward the caller's `_meta` and trace (call id, traceparent) to servers; `false`
    /// behaves like a gateway that drops them (to test what gauntlet measures without them).
    pub forward_meta: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrySettings {
    /// Retries of one call at most (cacheable tools only).
    pub max: u32,
    /// Retries as a share of calls, over time (a token bucket).
    pub budget: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the circuit.
    pub failures: u32,
    /// How long it stays open before one probe call is let through.
    pub open_for: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            separator: "__".into(),
            page_size: 100,
            lazy: true,
            cache_ttl: Duration::from_secs(30),
            cache_entries: 10_000,
            idle_timeout: Some(Duration::from_secs(300)),
            call_timeout: Duration::from_secs(30),
            start_timeout: Duration::from_secs(30),
            max_waiting: 1000,
            retries: RetrySettings {
                max: 2,
                budget: 0.1,
            },
            breaker: BreakerSettings {
                failures: 5,
                open_for: Duration::from_secs(5),
            },
            forward_meta: true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The file as written

#[derive(Deserialize)]
struct File {
    #[serde(rename = "mcpServers")]
    mcp_servers: IndexMap<String, Value>,
    #[serde(default)]
    gauntlet: Option<Block>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Block {
    #[serde(default)]
    settings: SettingsSpec,
    #[serde(default)]
    servers: IndexMap<String, ServerSpec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct SettingsSpec {
    separator: Option<String>,
    page_size: Option<usize>,
    lazy: Option<bool>,
    cache_ttl: Option<Dur>,
    cache_entries: Option<usize>,
    idle_timeout: Option<Dur>,
    call_timeout: Option<Dur>,
    start_timeout: Option<Dur>,
    max_waiting: Option<usize>,
    retries: Option<RetrySpec>,
    breaker: Option<BreakerSpec>,
    forward_meta: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetrySpec {
    max: Option<u32>,
    budget: Option<Percent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerSpec {
    failures: Option<u32>,
    open_for: Option<Dur>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ServerSpec {
    tools: Option<Vec<Value>>,
    resources: Option<Vec<Value>>,
    resource_templates: Option<Vec<Value>>,
    prompts: Option<Vec<Value>>,
    cacheable: Option<Cacheable>,
    lazy: Option<bool>,
}

/// `["translate", …]` (the settings' TTL) or `{"translate": "10s", …}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Cacheable {
    Names(Vec<String>),
    Ttls(IndexMap<String, Dur>),
}

// ---------------------------------------------------------------------------------------------
// Reading

/// What is wrong with a config, and where when the JSON itself is wrong (line, column).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((line, col)) => write!(f, "{line}:{col}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<String> for ConfigError {
    fn from(message: String) -> Self {
        ConfigError { at: None, message }
    }
}

impl Config {
    /// Reads and checks the file at `path` (bad input: exit 2).
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| {
            // `FILE:LINE:COL: …` for a JSON mistake, `FILE: …` for the rest.
            let sep = if e.at.is_some() { ":" } else { ": " };
            Error::Input(format!("{}{sep}{e}", path.display()))
        })
    }

    /// Reads and checks a config; the error says what is wrong and, for a mistake in the JSON
    /// itself, where.
    pub fn parse(text: &str) -> std::result::Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Err(ConfigError::from(
                "the file is empty: a config is a JSON object with `mcpServers` \
                 (docs/gateway.md)"
                    .to_string(),
            ));
        }
        let file: File = serde_json::from_str(text).map_err(|e| json_error(&e))?;
        Config::check(file).map_err(ConfigError::from)
    }

    /// Checks a config read as JSON.
    fn check(file: File) -> std::result::Result<Config, String> {
        let block = file.gauntlet.unwrap_or_default();
        let settings = settings(block.settings)?;
        let mut servers = Vec::new();
        for (name, entry) in &file.mcp_servers {
            if name.trim().is_empty() {
                return Err("mcpServers: a server name is empty".into());
            }
            let Some(transport) = transport(name, entry)? else {
                continue;
            };
            servers.push(ServerConfig {
                name: name.clone(),
                transport,
                lists: None,
                cacheable: BTreeMap::new(),
                lazy: settings.lazy,
            });
        }
        for (name, spec) in block.servers {
            let Some(server) = servers.iter_mut().find(|s| s.name == name) else {
                return Err(unknown_server(&name, &file.mcp_servers));
            };
            apply(server, spec, &settings)?;
        }
        Ok(Config { servers, settings })
    }
}

fn unknown_server(name: &str, servers: &IndexMap<String, Value>) -> String {
    let known: Vec<&str> = servers.keys().map(String::as_str).collect();
    format!(
        "gauntlet.servers.{name}: no server `{name}` in mcpServers (or it is disabled); \
         servers: {}",
        known.join(", ")
    )
}

fn settings(s: SettingsSpec) -> std::result::Result<Settings, String> {
    let d = Settings::default();
    let positive = |v: Option<usize>, what: &str, default: usize| match v {
        Some(0) => Err(format!("gauntlet.settings.{what} must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let separator = s.separator.unwrap_or(d.separator);
    if separator.is_empty() {
        return Err("gauntlet.settings.separator must not be empty".into());
    }
    let retries = match s.retries {
        None => d.retries,
        Some(r) => RetrySettings {
            max: r.max.unwrap_or(d.retries.max),
            budget: r.budget.map_or(d.retries.budget, |p| p.0),
        },
    };
    let breaker = match s.breaker {
        None => d.breaker,
        Some(b) => BreakerSettings {
            failures: b.failures.unwrap_or(d.breaker.failures),
            open_for: b.open_for.map_or(d.breaker.open_for, |x| x.0),
        },
    };
    if breaker.failures == 0 {
        return Err("gauntlet.settings.breaker.failures must be at least 1".into());
    }
    let call_timeout = s.call_timeout.map_or(d.call_timeout, |x| x.0);
    let start_timeout = s.start_timeout.map_or(d.start_timeout, |x| x.0);
    if call_timeout.is_zero() || start_timeout.is_zero() {
        return Err("gauntlet.settings: call_timeout and start_timeout must not be 0".into());
    }
    Ok(Settings {
        separator,
        page_size: positive(s.page_size, "page_size", d.page_size)?,
        lazy: s.lazy.unwrap_or(d.lazy),
        cache_ttl: s.cache_ttl.map_or(d.cache_ttl, |x| x.0),
        cache_entries: s.cache_entries.unwrap_or(d.cache_entries),
        idle_timeout: match s.idle_timeout {
            None => d.idle_timeout,
            Some(Dur(z)) if z.is_zero() => None,
            Some(Dur(t)) => Some(t),
        },
        call_timeout,
        start_timeout,
        max_waiting: positive(s.max_waiting, "max_waiting", d.max_waiting)?,
        retries,
        breaker,
        forward_meta: s.forward_meta.unwrap_or(d.forward_meta),
    })
}

/// One `mcpServers` entry; `None` for a disabled one.
/// A JSON mistake, placed.
fn json_error(e: &serde_json::Error) -> ConfigError {
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(w, _)| w);
    let hint = if e.is_syntax() || e.is_eof() {
        " (the config must be JSON: no trailing commas or comments)"
    } else {
        ""
    };
    ConfigError {
        at: (e.line() > 0).then(|| (e.line(), e.column())),
        message: format!("{what}{hint}"),
    }
}

fn transport(name: &str, e: &Value) -> std::result::Result<Option<Transport>, String> {
    let Some(e) = e.as_object() else {
        return Err(format!("mcpServers.{name}: must be an object"));
    };
    if e.get("disabled").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let text = |k: &str| e.get(k).and_then(Value::as_str);
    let kind = text("transport").or_else(|| text("type"));
    if let Some(command) = text("command") {
        if !matches!(kind, None | Some("stdio")) {
            return Err(format!(
                "mcpServers.{name}: `command` is for stdio servers, but the transport says {:?}",
                kind.unwrap_or_default()
            ));
        }
        return Ok(Some(Transport::Stdio {
            command: command.to_string(),
            args: strings(e.get("args"), name, "args")?,
            env: string_map(e.get("env"), name, "env")?
                .into_iter()
                .map(|(k, v)| (k, crate::gateway::config::expand_env(&v)))
                .collect(),
            cwd: text("cwd").map(PathBuf::from),
        }));
    }
    let Some(url) = text("url") else {
        return Err(format!(
            "mcpServers.{name}: needs `url` (an HTTP or SSE server) or `command` (stdio)"
        ));
    };
    if !url.starts_with("http://") {
        return Err(format!(
            "mcpServers.{name}: `{url}`: only http:// URLs are supported"
        ));
    }
    if !crate::net::is_loopback_url(url) {
        return Err(format!(
            "mcpServers.{name}: `{url}` is not a loopback URL: the gateway calls servers on \
             127.0.0.1, localhost or [::1] only"
        ));
    }
    let headers = string_map(e.get("headers"), name, "headers")?
        .into_iter()
        .collect();
    let url = url.to_string();
    let sse_path = url.split('?').next().is_some_and(|p| p.ends_with("/sse"));
    match kind {
        Some("http" | "streamable-http" | "streamableHttp" | "streamable_http") => {
            Ok(Some(Transport::Http { url, headers }))
        }
        Some("sse") => Ok(Some(Transport::Sse { url, headers })),
        None if sse_path => Ok(Some(Transport::Sse { url, headers })),
        None => Ok(Some(Transport::Http { url, headers })),
        Some(other) => Err(format!(
            "mcpServers.{name}: unknown transport `{other}`; write http, sse or stdio"
        )),
    }
}

fn strings(v: Option<&Value>, name: &str, key: &str) -> std::result::Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("mcpServers.{name}.{key}: every entry must be a string"))
            })
            .collect(),
        Some(_) => Err(format!(
            "mcpServers.{name}.{key}: must be a list of strings"
        )),
    }
}

fn string_map(
    v: Option<&Value>,
    name: &str,
    key: &str,
) -> std::result::Result<BTreeMap<String, String>, String> {
    let empty = Map::new();
    let map = match v {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(format!("mcpServers.{name}.{key}: must be an object")),
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(format!("mcpServers.{name}.{key}.{k}: must be a string")),
        })
        .collect()
}

/// Applies a server's `gauntlet.servers` entry.
fn apply(
    server: &mut ServerConfig,
    spec: ServerSpec,
    settings: &Settings,
) -> std::result::Result<(), String> {
    let name = server.name.clone();
    let at = |what: &str| format!("gauntlet.servers.{name}.{what}");
    if let Some(tools) = spec.tools {
        let lists = Lists {
            tools: named(tools, &at("tools"), "name")?,
            resources: named(spec.resources.unwrap_or_default(), &at("resources"), "uri")?,
            templates: named(
                spec.resource_templates.unwrap_or_default(),
                &at("resource_templates"),
                "uriTemplate",
            )?,
            prompts: named(spec.prompts.unwrap_or_default(), &at("prompts"), "name")?,
        };
        server.lists = Some(lists);
    } else if spec.resources.is_some()
        || spec.resource_templates.is_some()
        || spec.prompts.is_some()
    {
        return Err(format!(
            "{}: resources and prompts are advertised only with `tools` (a server without a \
             tool list is started at boot and asked for all of them)",
            at("tools")
        ));
    }
    let cacheable: Vec<(String, Duration)> = match spec.cacheable {
        None => Vec::new(),
        Some(Cacheable::Names(n)) => n.into_iter().map(|t| (t, settings.cache_ttl)).collect(),
        Some(Cacheable::Ttls(m)) => m.into_iter().map(|(t, d)| (t, d.0)).collect(),
    };
    if let Some(lists) = &server.lists {
        for (tool, _) in &cacheable {
            if !lists.tools.iter().any(|t| t["name"] == tool.as_str()) {
                return Err(format!(
                    "{}: `{tool}` is not among the tools",
                    at("cacheable")
                ));
            }
        }
    }
    server.cacheable = cacheable.into_iter().collect();
    server.lazy = spec.lazy.unwrap_or(settings.lazy);
    Ok(())
}

/// List entries: objects with a string `key`.
fn named(items: Vec<Value>, at: &str, key: &str) -> std::result::Result<Vec<Value>, String> {
    for (i, item) in items.iter().enumerate() {
        if item.get(key).and_then(Value::as_str).is_none() {
            return Err(format!(
                "{at}[{i}]: must be an object with a string `{key}`"
            ));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{self, builtin};
    use serde_json::json;

    fn parse(v: Value) -> std::result::Result<Config, String> {
        Config::parse(&v.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_three_transports_and_defaults() {
        // Servers keep the file's order (json! would sort them).
        let c = Config::parse(
            r#"{"mcpServers": {
                "sales": {"url": "http://127.0.0.1:1/mcp", "type": "streamable-http"},
                "billing": {"url": "http://127.0.0.1:2/sse"},
                "fraud": {"command": "gauntlet", "args": ["mock", "--stdio"], "env": {"A": "b"}},
                "off": {"url": "http://127.0.0.1:3/mcp", "disabled": true}
            }}"#,
        )
        .expect("config");
        let kinds: Vec<_> = c.servers.iter().map(|s| s.transport.kind()).collect();
        assert_eq!(kinds, ["http", "sse", "stdio"]);
        assert_eq!(c.settings, Settings::default());
        assert!(c.servers.iter().all(|s| s.lists.is_none() && s.lazy));
        let Transport::Stdio { args, env, .. } = &c.servers[2].transport else {
            panic!("stdio")
        };
        assert_eq!(args, &["mock", "--stdio"]);
        assert_eq!(env["A"], "b");
    }

    #[test]
    fn reads_the_gauntlet_block() {
        let c = parse(json!({
            "mcpServers": {"t": {"url": "http://127.0.0.1:1/mcp", "transport": "http"}},
            "gauntlet": {
                "settings": {"separator": ".", "cache_ttl": "10s", "idle_timeout": 0,
                             "retries": {"max": 1, "budget": "20%"},
                             "breaker": {"failures": 3, "open_for": "500ms"},
                             "forward_meta": false},
                "servers": {"t": {"tools": [{"name": "a"}, {"name": "b"}],
                                  "cacheable": {"a": "1s"}, "lazy": false}},
            },
        }))
        .expect("config");
        let s = &c.settings;
        assert_eq!(s.separator, ".");
        assert_eq!(s.idle_timeout, None);
        assert_eq!(s.retries.max, 1);
        assert!((s.retries.budget - 0.2).abs() < 1e-9);
        assert_eq!(s.breaker.open_for, Duration::from_millis(500));
        assert!(!s.forward_meta && Settings::default().forward_meta);
        let t = &c.servers[0];
        assert_eq!(t.lists.as_ref().map(|l| l.tools.len()), Some(2));
        assert_eq!(t.cacheable["a"], Duration::from_secs(1));
        assert!(!t.lazy);
        let c = parse(json!({
            "mcpServers": {"t": {"url": "http://127.0.0.1:1/mcp"}},
            "gauntlet": {"servers": {"t": {"tools": [{"name": "a"}], "cacheable": ["a"]}}},
        }))
        .expect("config");
        assert_eq!(c.servers[0].cacheable["a"], Duration::from_secs(30));
    }

    #[test]
    fn mistakes_are_named() {
        let e = |v: Value| parse(v).expect_err("an error");
        assert!(e(json!({"mcpServers": {"x": {}}})).contains("needs `url`"));
        let json = |t: &str| Config::parse(t).expect_err("an error").to_string();
        assert_eq!(
            json("{\"mcpServers\": {\"x\": {\"command\": \"y\",}}}"),
            "1:38: trailing comma (the config must be JSON: no trailing commas or comments)"
        );
        assert!(json("{\"mcpServers\": [1]}").starts_with("1:15: invalid type: sequence"));
        assert!(json(" \n").starts_with("the file is empty"));
        assert!(e(json!({"mcpServers": {"x": {"url": "https://a/mcp"}}})).contains("http://"));
        assert!(
            e(json!({"mcpServers": {"x": {"url": "http://10.0.0.1/mcp"}}}))
                .contains("not a loopback URL")
        );
        assert!(
            e(json!({"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp", "transport": "ws"}}}))
                .contains("unknown transport")
        );
        assert!(
            e(
                json!({"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp"}},
                     "gauntlet": {"servers": {"y": {}}}})
            )
            .contains("no server `y`")
        );
        assert!(
            e(
                json!({"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp"}},
                     "gauntlet": {"settings": {"sepparator": "."}}})
            )
            .contains("unknown field")
        );
        assert!(
            e(
                json!({"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp"}},
                     "gauntlet": {"servers": {"x": {"tools": [{"name": "a"}],
                                                     "cacheable": ["b"]}}}})
            )
            .contains("`b` is not among the tools")
        );
        assert!(
            e(
                json!({"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp"}},
                     "gauntlet": {"servers": {"x": {"tools": [{"title": "a"}]}}}})
            )
            .contains("tools[0]")
        );
    }

    #[test]
    fn a_rendered_config_reads_back() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-servers/translation.yaml");
        let c = crate::catalog::Catalog::load(&path).expect("catalogue");
        let backends = vec![(
            "translation".to_string(),
            gateway::config::Backend::Http {
                url: "http://127.0.0.1:9/mcp".into(),
            },
        )];
        let doc = builtin::config(
            &backends,
            &[("translation".into(), &c)],
            serde_json::json!({"cache_ttl": "5s"}),
        );
        let cfg = Config::parse(&doc.to_string()).expect("reads back");
        let s = &cfg.servers[0];
        let lists = s.lists.as_ref().expect("lists");
        assert_eq!(lists.tools.len(), c.tools.len());
        assert_eq!(lists.resources.len(), c.resources.len());
        assert_eq!(lists.prompts.len(), c.prompts.len());
        assert!(s.cacheable.contains_key("translate"));
        assert!(!s.cacheable.contains_key("translate_batch"));
        assert_eq!(s.cacheable["translate"], std::time::Duration::from_secs(5));
    }
}
