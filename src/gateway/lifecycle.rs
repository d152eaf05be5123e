//! A gateway over one run: brought up before the sessions open (launched, or found at its
//! URL), watched while the load runs, torn down after it.

use super::config::{Backend, expand_env};
use super::launch::{self, Prepared};
use super::names::How;
use super::process::{self, Gateway};
use super::targets::{At, Mapped};
use crate::error::{Error, Result};
use crate::mcp::conn::Endpoint;
use crate::metrics::summary::{GatewayInfo, GatewayName};
use crate::scenario::spec::BuiltinSpec;
use crate::scenario::{Gateway as GatewaySection, Launch, ReadyTools, Scenario};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

/// How long a gateway already running gets to answer and list its tools.
const RUNNING_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a gateway gets to exit after SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// A gateway for this run.
pub struct GatewayUnderTest {
    pub process: Option<Gateway>,
    /// The argv it was started with (empty for a gateway already running).
    command: Vec<String>,
    /// Its names for the scenario's tools, once found.
    pub names: Vec<Mapped>,
    url: String,
    server_urls: Option<BTreeMap<String, String>>,
    pub headers: HeaderMap,
    tool_names: Option<String>,
    ready: ReadyTools,
    timeout: Duration,
    setup: Vec<Vec<String>>,
    dir: PathBuf,
    /// The reference gateway (`gateway: builtin`), whose `/status` gauntlet can read.
    pub builtin: bool,
}

/// What tearing down found.
#[derive(Debug, Default)]
pub struct Teardown {
    /// The gateway had exited before the run ended.
    pub exited_during_run: Option<ExitStatus>,
    /// Processes of the gateway's tree still there after SIGTERM and the grace period.
    pub killed: usize,
    /// Processes still below gauntlet after that (orphans that left the gateway's group).
    pub swept: usize,
}

/// The HTTP headers of a gateway section, `${VAR}` expanded.
pub fn headers(h: &BTreeMap<String, String>) -> Result<HeaderMap> {
    let mut out = HeaderMap::new();
    for (k, v) in h {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| Error::Input(format!("`{k}` is not an HTTP header name")))?;
        let value = HeaderValue::from_str(&expand_env(v))
            .map_err(|_| Error::Input(format!("the value of header `{k}` is not valid")))?;
        out.insert(name, value);
    }
    Ok(out)
}

/// How the gateway reaches each mock server.
fn backends(endpoints: &[(String, Endpoint)]) -> Vec<(String, Backend)> {
    endpoints
        .iter()
        .map(|(name, ep)| {
            let b = match ep {
                Endpoint::Http(url) => Backend::Http { url: url.clone() },
                Endpoint::Sse(url) => Backend::Sse { url: url.clone() },
                // The mocks it spawns reach the run through GAUNTLET_RUN in their environment.
                Endpoint::Stdio { argv, env } => Backend::Stdio {
                    command: argv.first().cloned().unwrap_or_default(),
                    args: argv.iter().skip(1).cloned().collect(),
                    env: env.iter().cloned().collect(),
                },
            };
            (name.clone(), b)
        })
        .collect()
}

/// Brings the scenario's gateway up: launched (its files in `out/gateway/`, its output in
/// `out/gateway.log`) or already running. `None` for `gateway: none`.
pub fn bring_up(
    s: &Scenario,
    endpoints: &[(String, Endpoint)],
    out: &Path,
) -> Result<Option<GatewayUnderTest>> {
    match &s.gateway {
        GatewaySection::Launch(l) => launch_one(s, l, endpoints, out).map(Some),
        GatewaySection::Url(e) => Ok(Some(GatewayUnderTest {
            process: None,
            command: Vec::new(),
            names: Vec::new(),
            url: e.url.clone(),
            server_urls: e.server_url.as_ref().map(|t| {
                s.servers
                    .iter()
                    .map(|srv| (srv.name.clone(), t.replace("{server}", &srv.name)))
                    .collect()
            }),
            headers: headers(&e.headers)?,
            tool_names: e.tool_names.clone(),
            ready: ReadyTools::All,
            timeout: RUNNING_READY_TIMEOUT,
            setup: Vec::new(),
            dir: out.to_path_buf(),
            builtin: false,
        })),
        GatewaySection::Builtin(spec) => builtin(s, spec, endpoints, out).map(Some),
        GatewaySection::None => Ok(None),
    }
}

/// How long the reference gateway gets to answer and list the tools.
const BUILTIN_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// `gateway: builtin`: `gauntlet gateway` (this very binary) with a config rendered from the
/// scenario: the mocks as mcpServers, the catalogues' lists (so lazy servers are advertised
/// without being started), the section's settings.
fn builtin(
    s: &Scenario,
    spec: &BuiltinSpec,
    endpoints: &[(String, Endpoint)],
    out: &Path,
) -> Result<GatewayUnderTest> {
    process::become_subreaper();
    let dir = out.join("gateway");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Run(format!("cannot create {}: {e}", dir.display())))?;
    let backends = backends(endpoints);
    let catalogs: Vec<(String, &crate::catalog::Catalog)> = s
        .servers
        .iter()
        .map(|srv| (srv.name.clone(), &*srv.catalog))
        .collect();
    let doc = crate::gateway::builtin::config(&backends, &catalogs, builtin_settings(spec));
    let config = dir.join("mcp.json");
    std::fs::write(
        &config,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    )
    .map_err(|e| Error::Run(format!("cannot write {}: {e}", config.display())))?;
    let port = launch::free_port()?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::Run(format!("cannot find the gauntlet binary: {e}")))?;
    let argv = vec![
        exe.display().to_string(),
        "gateway".into(),
        config.display().to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    let gw = Gateway::spawn(&super::process::Spawn {
        argv: &argv,
        env: &BTreeMap::new(),
        dir: &dir,
        log: &out.join("gateway.log"),
    })
    .map_err(Error::Run)?;
    Ok(GatewayUnderTest {
        process: Some(gw),
        command: argv,
        names: Vec::new(),
        url: format!("http://127.0.0.1:{port}/mcp"),
        server_urls: None,
        headers: HeaderMap::new(),
        tool_names: None,
        ready: ReadyTools::All,
        timeout: BUILTIN_READY_TIMEOUT,
        setup: Vec::new(),
        dir,
        builtin: true,
    })
}

/// The scenario's `builtin:` keys as the gateway's `gauntlet.settings`.
fn builtin_settings(spec: &BuiltinSpec) -> serde_json::Value {
    use crate::units::format_duration;
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        m.insert(k.to_string(), v);
    };
    if let Some(d) = spec.cache_ttl {
        put("cache_ttl", format_duration(d.0).into());
    }
    if let Some(l) = spec.lazy {
        put("lazy", l.into());
    }
    if let Some(d) = spec.idle_timeout {
        put("idle_timeout", format_duration(d.0).into());
    }
    if let Some(d) = spec.timeout {
        put("call_timeout", format_duration(d.0).into());
    }
    if let Some(n) = spec.retries {
        put("retries", serde_json::json!({ "max": n }));
    }
    if let Some(sep) = &spec.separator {
        put("separator", sep.clone().into());
    }
    serde_json::Value::Object(m)
}

fn launch_one(
    s: &Scenario,
    l: &Launch,
    endpoints: &[(String, Endpoint)],
    out: &Path,
) -> Result<GatewayUnderTest> {
    process::become_subreaper();
    let dir = out.join("gateway");
    let p: Prepared = launch::prepare(s, l, backends(endpoints), &dir)?;
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Run(format!("cannot create {}: {e}", out.display())))?;
    let gw = launch::spawn(&p, &out.join("gateway.log"))?;
    Ok(GatewayUnderTest {
        process: Some(gw),
        command: p.argv.clone(),
        names: Vec::new(),
        url: p.url,
        server_urls: p.server_urls,
        headers: headers(&l.endpoint.headers)?,
        tool_names: l.endpoint.tool_names.clone(),
        ready: l.ready_tools,
        timeout: l.ready_timeout,
        setup: p.setup,
        dir: p.dir,
        builtin: false,
    })
}

impl GatewayUnderTest {
    /// Where the driver finds it and how long to wait, beside the process (to watch it).
    pub fn parts(&mut self) -> (At<'_>, Option<&mut Gateway>) {
        let at = At {
            url: &self.url,
            server_urls: self.server_urls.as_ref(),
            headers: &self.headers,
            tool_names: self.tool_names.as_deref(),
            ready: self.ready,
            timeout: self.timeout,
            setup: &self.setup,
            dir: &self.dir,
        };
        (at, self.process.as_mut())
    }

    /// The gateway's MCP URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Gateway::pid)
    }

    /// For results.json.
    pub fn info(&self, t: &Teardown) -> GatewayInfo {
        GatewayInfo {
            kind: if self.process.is_some() {
                "launched"
            } else {
                "running"
            }
            .into(),
            url: self.url.clone(),
            command: self.command.clone(),
            names: self
                .names
                .iter()
                .map(|m| GatewayName {
                    server: m.server.clone(),
                    tool: m.tool.clone(),
                    name: m.name.clone(),
                    how: match m.how {
                        How::Discovered => "discovered",
                        How::Given => "given",
                    }
                    .into(),
                })
                .collect(),
            exited_during_run: t.exited_during_run.map(|s| s.to_string()),
            killed_at_teardown: t.killed as u64,
            swept_at_teardown: t.swept as u64,
        }
    }

    /// Stops a launched gateway and whatever it left behind.
    pub fn tear_down(&mut self) -> Teardown {
        let Some(gw) = self.process.as_mut() else {
            return Teardown::default();
        };
        let exited_during_run = gw.exited();
        let killed = gw.stop(GRACE);
        Teardown {
            exited_during_run,
            killed,
            swept: process::sweep(),
        }
    }
}
