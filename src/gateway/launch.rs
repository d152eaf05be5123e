//! Bringing a gateway up for a run: its folder, a free port, the rendered config, argv and env
//! with their placeholders filled, the process started, `setup:` commands once it answers, and
//! the wait until it lists the tools the scenario calls (`ready:`).

use super::config::{self, Backend, Vars};
use super::names::{self, How, Listed, Problem, Wanted};
use super::process::{Gateway, Spawn};
use crate::error::{Error, Result};
use crate::mcp::client::HttpClient;
use crate::mcp::conn::{Conn, open_probe};
use crate::mcp::protocol::ProtocolChoice;
use crate::scenario::{ConfigFormat, Launch, ReadyTools, Scenario};
use http::HeaderMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Each scenario tool, (server, tool), to its name at the gateway.
pub type NameMap = BTreeMap<(String, String), String>;

/// A launch with every placeholder filled.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub url: String,
    /// Per-server URLs (`server_url:`), for gateways that route by path.
    pub server_urls: Option<BTreeMap<String, String>>,
    pub dir: PathBuf,
    pub setup: Vec<Vec<String>>,
}

/// A free loopback port (bound, read, released: the gateway binds it next).
pub fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Run(format!("cannot find a free port for the gateway: {e}")))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| Error::Run(format!("cannot write {}: {e}", path.display())))
}

/// Every word of `words` with its placeholders filled; an unknown placeholder is an error
/// naming where it is.
fn fill_all(words: &[String], vars: &Vars, what: &str) -> Result<Vec<String>> {
    words
        .iter()
        .map(|w| {
            let unknown = config::unknown_placeholders(w, vars);
            if !unknown.is_empty() {
                return Err(Error::Input(format!(
                    "{what}: unknown placeholder {} in `{w}` (known: {{port}}, {{config}}, \
                     {{dir}}, {{servers_json}}, {{url:SERVER}}, {{command:SERVER}}, \
                     {{args_json:SERVER}})",
                    unknown.join(", ")
                )));
            }
            Ok(config::fill(w, vars))
        })
        .collect()
}

/// Writes the gateway's files into `dir` and fills every placeholder.
pub fn prepare(
    s: &Scenario,
    l: &Launch,
    backends: Vec<(String, Backend)>,
    dir: &Path,
) -> Result<Prepared> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Run(format!("cannot create {}: {e}", dir.display())))?;
    let config_path = match &l.config {
        Some(ConfigFormat::McpServersJson) => dir.join("mcp.json"),
        Some(ConfigFormat::Template(t)) => dir.join(t.file_name().unwrap_or_default()),
        None => PathBuf::new(),
    };
    let vars = Vars {
        port: free_port()?,
        dir: dir.display().to_string(),
        config: config_path.display().to_string(),
        servers_json: dir.join("servers.json").display().to_string(),
        backends,
    };
    write(
        Path::new(&vars.servers_json),
        &config::servers_json(&vars.backends).to_string(),
    )?;
    match &l.config {
        Some(ConfigFormat::McpServersJson) => {
            let json = config::mcp_servers_json(&vars.backends);
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            write(&config_path, &text)?;
        }
        Some(ConfigFormat::Template(t)) => {
            let text = std::fs::read_to_string(t).map_err(|e| {
                Error::Input(format!(
                    "cannot read the config template {}: {e}",
                    t.display()
                ))
            })?;
            let unknown = config::unknown_placeholders(&text, &vars);
            if !unknown.is_empty() {
                return Err(Error::Input(format!(
                    "{}: unknown placeholder(s) {}",
                    t.display(),
                    unknown.join(", ")
                )));
            }
            write(&config_path, &config::fill(&text, &vars))?;
        }
        None => {}
    }
    if l.config.is_none() && l.command.iter().any(|w| w.contains("{config}")) {
        return Err(Error::Input(
            "the gateway's command uses {config}, but the gateway section sets no `config:` \
             (mcp-servers-json or { template: FILE })"
                .into(),
        ));
    }
    let argv = fill_all(&l.command, &vars, "gateway command")?;
    let mut env = BTreeMap::new();
    for (k, v) in &l.env {
        let filled = fill_all(std::slice::from_ref(v), &vars, &format!("gateway env {k}"))?;
        env.insert(k.clone(), config::expand_env(&filled[0]));
    }
    let url = fill_all(std::slice::from_ref(&l.endpoint.url), &vars, "gateway url")?.remove(0);
    let server_urls = match &l.endpoint.server_url {
        None => None,
        Some(t) => {
            let mut urls = BTreeMap::new();
            for srv in &s.servers {
                let one = t.replace("{server}", &srv.name);
                let filled = fill_all(&[one], &vars, "gateway server_url")?.remove(0);
                urls.insert(srv.name.clone(), filled);
            }
            Some(urls)
        }
    };
    let setup = l
        .setup
        .iter()
        .map(|argv| fill_all(argv, &vars, "gateway setup"))
        .collect::<Result<_>>()?;
    Ok(Prepared {
        argv,
        env,
        url,
        server_urls,
        dir: dir.to_path_buf(),
        setup,
    })
}

/// Starts the prepared gateway; its output goes to `log`.
pub fn spawn(p: &Prepared, log: &Path) -> Result<Gateway> {
    Gateway::spawn(&Spawn {
        argv: &p.argv,
        env: &p.env,
        dir: &p.dir,
        log,
    })
    .map_err(Error::Run)
}

/// Runs the `setup:` commands in order (no shell); their output is appended to `log`. A
/// failing one is an error with its stderr.
pub fn run_setup(setup: &[Vec<String>], dir: &Path, log: &Path) -> Result<()> {
    use std::io::Write;
    for argv in setup {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::Run(format!("cannot run the setup command `{program}`: {e}")))?;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log)
        {
            let _ = writeln!(f, "--- setup: {}", argv.join(" "));
            let _ = f.write_all(&out.stdout);
            let _ = f.write_all(&out.stderr);
        }
        if !out.status.success() {
            return Err(Error::Run(format!(
                "the setup command `{}` failed ({}):\n{}",
                argv.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim_end()
            )));
        }
    }
    Ok(())
}

/// Where the gateway is reached and what it must list.
pub struct ReadyProbe<'a> {
    pub client: &'a HttpClient,
    pub url: &'a str,
    pub choice: ProtocolChoice,
    pub headers: &'a HeaderMap,
    pub wanted: &'a [Wanted],
    pub tool_names: Option<&'a str>,
}

/// The scenario tools each server of `s` offers that the plan calls, as discovery wants them.
pub fn wanted(s: &Scenario, keys: &[(String, String)], only: Option<&str>) -> Vec<Wanted> {
    let mut out = Vec::new();
    for (server, tool) in keys {
        if only.is_some_and(|o| o != server)
            || out
                .iter()
                .any(|w: &Wanted| &w.server == server && &w.tool.name == tool)
        {
            continue;
        }
        let descriptor = s
            .servers
            .iter()
            .find(|x| &x.name == server)
            .and_then(|x| x.catalog.tools.iter().find(|t| &t.name == tool))
            .map(|t| &t.descriptor);
        let listed = descriptor.and_then(Listed::from_entry).unwrap_or(Listed {
            name: tool.clone(),
            description: None,
            input_schema: None,
        });
        out.push(Wanted {
            server: server.clone(),
            tool: listed,
        });
    }
    out
}

/// The gateway's names for the wanted tools, from its tools/list.
pub fn names_from(
    t: &ReadyProbe<'_>,
    listed: &[Listed],
) -> std::result::Result<(NameMap, How), Vec<Problem>> {
    match t.tool_names {
        Some(template) => {
            let mut out = BTreeMap::new();
            let mut missing = Vec::new();
            for w in t.wanted {
                let name = names::from_template(template, &w.server, &w.tool.name);
                if listed.iter().any(|l| l.name == name) {
                    out.insert((w.server.clone(), w.tool.name.clone()), name);
                } else {
                    missing.push(Problem::Missing {
                        server: w.server.clone(),
                        tool: w.tool.name.clone(),
                    });
                }
            }
            if missing.is_empty() {
                Ok((out, How::Given))
            } else {
                Err(missing)
            }
        }
        None => names::discover(t.wanted, listed).map(|m| (m, How::Discovered)),
    }
}

/// How long one connection attempt may take while waiting for a gateway.
const ATTEMPT: Duration = Duration::from_secs(5);

/// Waits until the gateway answers (connects; runs `setup` once it does) and lists what
/// `ready` asks for, or until `timeout`. `gw`: the process, checked for an early exit.
pub async fn wait_ready(
    t: &ReadyProbe<'_>,
    mut gw: Option<&mut Gateway>,
    ready: ReadyTools,
    timeout: Duration,
    setup: &[Vec<String>],
    dir: &Path,
) -> Result<(NameMap, How)> {
    let deadline = Instant::now() + timeout;
    let tail = |gw: &Option<&mut Gateway>| {
        gw.as_ref()
            .map(|g| format!("\nthe gateway's log ends with:\n{}", g.log_tail(20)))
            .unwrap_or_default()
    };
    let conn = loop {
        if let Some(g) = gw.as_deref_mut()
            && let Some(status) = g.exited()
        {
            return Err(Error::Run(format!(
                "the gateway exited ({status}) before it answered at {}{}",
                t.url,
                tail(&gw)
            )));
        }
        match open_probe(t.client, t.url, t.choice, t.headers, ATTEMPT).await {
            Ok(c) => break c,
            Err(e) if Instant::now() >= deadline => {
                return Err(Error::Run(format!(
                    "the gateway did not answer at {} within {:?} ({e}){}",
                    t.url,
                    timeout,
                    tail(&gw)
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    if let Some(g) = gw.as_deref() {
        run_setup(setup, dir, &g.log)?;
    }
    let r = wait_tools(t, &conn, ready, deadline, timeout).await;
    conn.close().await;
    r.map_err(|e| match e {
        Error::Run(m) => Error::Run(format!("{m}{}", tail(&gw))),
        other => other,
    })
}

async fn wait_tools(
    t: &ReadyProbe<'_>,
    conn: &Conn,
    ready: ReadyTools,
    deadline: Instant,
    timeout: Duration,
) -> Result<(NameMap, How)> {
    loop {
        let listed: Vec<Listed> = conn
            .list_tools()
            .await
            .map_err(|e| Error::Run(format!("tools/list at {}: {e}", t.url)))?
            .iter()
            .filter_map(Listed::from_entry)
            .collect();
        let problems = match names_from(t, &listed) {
            Ok(found) => return Ok(found),
            Err(p) => p,
        };
        let fatal: Vec<String> = problems
            .iter()
            .filter(|p| !matches!(p, Problem::Missing { .. }))
            .map(|p| p.to_string())
            .collect();
        if !fatal.is_empty() {
            return Err(Error::Input(fatal.join("\n")));
        }
        let some_listed = problems.len() < t.wanted.len();
        let settled = match ready {
            ReadyTools::All => false,
            ReadyTools::Any => some_listed,
            ReadyTools::None => true,
        };
        // A lazy gateway may list a server's tools only once it runs: named by a template,
        // they need not be listed yet.
        if settled && let Some(template) = t.tool_names {
            return Ok((unchecked(t.wanted, template), How::Given));
        }
        if settled || Instant::now() >= deadline {
            let missing: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            let why = if settled {
                "the gateway does not expose every tool the scenario calls".to_string()
            } else {
                format!("the gateway was not ready after {timeout:?}")
            };
            return Err(Error::Run(format!("{why}:\n  {}", missing.join("\n  "))));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn unchecked(wanted: &[Wanted], template: &str) -> NameMap {
    wanted
        .iter()
        .map(|w| {
            let key = (w.server.clone(), w.tool.name.clone());
            (key, names::from_template(template, &w.server, &w.tool.name))
        })
        .collect()
}
