//! What a launched gateway is told about the scenario's servers: the rendered config
//! (`mcp-servers-json`, or a user's template), `servers.json`, and the placeholders of its
//! argv, env and setup commands.
//!
//! | placeholder | value |
//! |---|---|
//! | `{port}` | the port gauntlet picked for the gateway |
//! | `{dir}` | the run's gateway folder (config files, the gateway's working directory) |
//! | `{config}` | the rendered config (`{dir}/mcp.json` for `mcp-servers-json`) |
//! | `{servers_json}` | `{dir}/servers.json`: every server with its transport and URL or command |
//! | `{url:NAME}` | server NAME's URL (HTTP or SSE servers) — in templates |
//! | `{command:NAME}`, `{args_json:NAME}` | a stdio server's program, and its arguments as a JSON array — in templates |
//!
//! Only these are replaced; other braces (JSON in a template) are left alone. A value is
//! always one argv word: nothing goes through a shell.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How a gateway reaches one server.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// Streamable HTTP.
    Http { url: String },
    /// 2024-11-05 HTTP+SSE: the SSE URL.
    Sse { url: String },
    /// The gateway spawns it.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
    },
}

/// The values of the placeholders.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub port: u16,
    pub dir: String,
    pub config: String,
    pub servers_json: String,
    pub backends: Vec<(String, Backend)>,
}

impl Vars {
    fn backend(&self, name: &str) -> Option<&Backend> {
        self.backends
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    /// The value of `{key}`, or `None` when it is not a placeholder this module knows.
    fn value(&self, key: &str) -> Option<String> {
        match key {
            "port" => return Some(self.port.to_string()),
            "dir" => return Some(self.dir.clone()),
            "config" => return Some(self.config.clone()),
            "servers_json" => return Some(self.servers_json.clone()),
            _ => {}
        }
        let (kind, name) = key.split_once(':')?;
        match (kind, self.backend(name)?) {
            ("url", Backend::Http { url } | Backend::Sse { url }) => Some(url.clone()),
            ("command", Backend::Stdio { command, .. }) => Some(command.clone()),
            ("args_json", Backend::Stdio { args, .. }) => Some(json!(args).to_string()),
            _ => None,
        }
    }
}

/// `text` with every known placeholder replaced.
pub fn fill(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        // `${VAR}` is the environment's, expanded later.
        let env = rest[..open].ends_with('$');
        let value = after
            .find('}')
            .filter(|_| !env)
            .and_then(|close| Some((close, vars.value(&after[..close])?)));
        match value {
            Some((close, v)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `{…}` in `text` that looks like a placeholder but is not one (for a clear error: a
/// typo such as `{prot}`, or `{url:NAME}` of a server that does not exist).
pub fn unknown_placeholders(text: &str, vars: &Vars) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let key = &after[..close];
        let looks = !rest[..open].ends_with('$')
            && !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'));
        if looks && vars.value(key).is_none() {
            out.push(format!("{{{key}}}"));
        }
        rest = &after[close + 1..];
    }
    out
}

/// The standard `{"mcpServers": {…}}`. HTTP and SSE servers carry both `transport` and `type`
/// (gateways read one or the other); stdio servers `command`, `args` and `env`.
pub fn mcp_servers_json(backends: &[(String, Backend)]) -> Value {
    let mut servers = Map::new();
    for (name, b) in backends {
        let entry = match b {
            Backend::Http { url } => json!({
                "url": url, "transport": "http", "type": "streamable-http",
            }),
            Backend::Sse { url } => json!({"url": url, "transport": "sse", "type": "sse"}),
            Backend::Stdio { command, args, env } => json!({
                "command": command, "args": args, "env": env, "transport": "stdio", "type": "stdio",
            }),
        };
        servers.insert(name.clone(), entry);
    }
    json!({ "mcpServers": servers })
}

/// `servers.json`: the servers in the scenario's order, for gateways configured by a script.
pub fn servers_json(backends: &[(String, Backend)]) -> Value {
    let list: Vec<Value> = backends
        .iter()
        .map(|(name, b)| match b {
            Backend::Http { url } => json!({"name": name, "transport": "http", "url": url}),
            Backend::Sse { url } => json!({"name": name, "transport": "sse", "url": url}),
            Backend::Stdio { command, args, env } => json!({
                "name": name, "transport": "stdio", "command": command, "args": args, "env": env,
            }),
        })
        .collect();
    json!({ "servers": list })
}

/// `${VAR}` from gauntlet's environment (empty when unset).
pub fn expand_env(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find('}') {
            Some(j) => {
                out.push_str(&std::env::var(&rest[i + 2..i + 2 + j]).unwrap_or_default());
                rest = &rest[i + 3 + j..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            port: 4100,
            dir: "/run/gw".into(),
            config: "/run/gw/mcp.json".into(),
            servers_json: "/run/gw/servers.json".into(),
            backends: vec![
                (
                    "translation".into(),
                    Backend::Http {
                        url: "http://127.0.0.1:9/mcp".into(),
                    },
                ),
                (
                    "fraud".into(),
                    Backend::Stdio {
                        command: "/bin/gauntlet".into(),
                        args: vec!["mock".into(), "--stdio".into()],
                        env: BTreeMap::from([("GAUNTLET_RUN".into(), "127.0.0.1:5".into())]),
                    },
                ),
            ],
        }
    }

    #[test]
    fn placeholders_are_filled_and_json_left_alone() {
        let v = vars();
        assert_eq!(fill("--port={port}", &v), "--port=4100");
        assert_eq!(fill("{config}", &v), "/run/gw/mcp.json");
        let t = r#"{"a": {"url": "{url:translation}", "cmd": "{command:fraud}", "args": {args_json:fraud}}}"#;
        let filled: Value = serde_json::from_str(&fill(t, &v)).expect("JSON");
        assert_eq!(filled["a"]["url"], "http://127.0.0.1:9/mcp");
        assert_eq!(filled["a"]["args"], json!(["mock", "--stdio"]));
        assert_eq!(fill("{ {x} {", &v), "{ {x} {");
        assert_eq!(fill("$(rm -rf {dir}); echo", &v), "$(rm -rf /run/gw); echo");
    }

    #[test]
    fn unknown_placeholders_are_reported() {
        let v = vars();
        assert_eq!(fill("${HOME}/{port}", &v), "${HOME}/4100");
        assert_eq!(
            unknown_placeholders("{prot} {port} {url:nope} {\"json\": 1} ${HOME}", &v),
            ["{prot}", "{url:nope}"]
        );
    }

    #[test]
    fn the_standard_config() {
        let c = mcp_servers_json(&vars().backends);
        assert_eq!(
            c["mcpServers"]["translation"]["url"],
            "http://127.0.0.1:9/mcp"
        );
        assert_eq!(c["mcpServers"]["fraud"]["command"], "/bin/gauntlet");
        assert_eq!(
            c["mcpServers"]["fraud"]["env"]["GAUNTLET_RUN"],
            "127.0.0.1:5"
        );
        let s = servers_json(&vars().backends);
        assert_eq!(s["servers"][1]["name"], "fraud");
    }
}
