//! Checks a [`ScenarioSpec`] against what serde cannot see and builds the typed [`Scenario`].
//! Mistakes are collected (not only the first), each at its place, each saying what to write.

use super::spec::{self, ConfigSpec, GatewaySpec, LoadSpec, ModelSpec, ScenarioSpec, SpacingSpec};
use super::*;
use crate::catalog::{check_total, error_entry};
use crate::diag::{SourceError, did_you_mean};
use crate::error::Error;
use crate::scenario::budget::{expr, scope};
use serde_saphyr::{Location, Spanned};
use std::path::Path;

/// Default length of the `settle:i` phase after each fault window.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(10);
const DEFAULT_SESSIONS: u32 = 16;
const DEFAULT_MAX_IN_FLIGHT: u32 = 2000;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

pub fn load(path: &Path) -> Result<Scenario, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Input(format!("{}: cannot read the scenario: {e}", path.display())))?;
    let src = crate::diag::utf8(bytes, path).map_err(Error::Source)?;
    parse(&src, path)
}

/// Checks a scenario held in memory; `path` names it in errors and anchors relative paths.
pub fn parse(src: &str, path: &Path) -> Result<Scenario, Error> {
    crate::diag::not_empty(
        src,
        path,
        "a scenario needs at least `name`, `duration`, `servers` and `load`",
    )
    .map_err(Error::Source)?;
    let opts = serde_saphyr::options! { with_snippet: false };
    let spec: ScenarioSpec = serde_saphyr::from_str_with_options(src, opts)
        .map_err(|e| Error::Source(SourceError::from_yaml(path, &e, src)))?;
    let mut c = Checker {
        failed: Vec::new(),
        path,
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        src,
        errors: Vec::new(),
    };
    let scenario = c.scenario(spec, src);
    match scenario {
        Some(s) if c.errors.is_empty() => Ok(s),
        _ => Err(Error::Sources(c.errors)),
    }
}

/// Checks one fault as written — an entry of a scenario's `faults:`, or a JSON object (JSON is
/// YAML) — against `servers`. `source` names the text in messages (`body:1:42: …`). Times are
/// not checked against a run's length.
pub fn fault(src: &str, servers: &[Server], source: &Path) -> Result<Fault, Error> {
    let opts = serde_saphyr::options! { with_snippet: false };
    let spec: Spanned<spec::FaultSpec> = serde_saphyr::from_str_with_options(src, opts)
        .map_err(|e| Error::Source(SourceError::from_yaml(source, &e, src)))?;
    let mut c = Checker {
        failed: Vec::new(),
        path: source,
        dir: PathBuf::from("."),
        src,
        errors: Vec::new(),
    };
    match c.fault(&spec, servers, Duration::ZERO) {
        Some(f) if c.errors.is_empty() => Ok(f),
        _ => Err(Error::Sources(c.errors)),
    }
}

struct Checker<'a> {
    /// Servers declared but unusable (their catalogue failed): no further errors about them.
    failed: Vec<String>,
    path: &'a Path,
    dir: PathBuf,
    src: &'a str,
    errors: Vec<SourceError>,
}

impl Checker<'_> {
    fn err(&mut self, loc: Location, msg: impl Into<String>) {
        self.errors.push(SourceError::at(self.path, loc, msg));
    }

    /// Resolves a path written in the scenario against the scenario's folder (`..` folded,
    /// so that messages show a path a person can read).
    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        };
        let mut out = PathBuf::new();
        for c in joined.components() {
            match c {
                std::path::Component::ParentDir if out.file_name().is_some() => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }

    fn scenario(&mut self, s: ScenarioSpec, src: &str) -> Option<Scenario> {
        let name = s.name.value.clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            self.err(s.name.referenced, format!("name `{name}` may use letters, digits, `_`, `.` and `-` (it names the report folder)"));
        }
        let duration = s.duration.value.0;
        if duration.is_zero() {
            self.err(
                s.duration.referenced,
                "`duration` must be above 0, e.g. 60s",
            );
        }
        let warmup = s.warmup.as_ref().map_or(Duration::ZERO, |w| w.value.0);
        if let Some(w) = &s.warmup
            && w.value.0 >= duration
            && !duration.is_zero()
        {
            self.err(
                w.referenced,
                format!(
                    "`warmup` ({}) must be shorter than `duration` ({}), which includes it",
                    show(w.value.0),
                    show(duration)
                ),
            );
        }
        let settle = s.settle.as_ref().map_or(DEFAULT_SETTLE, |x| x.value.0);
        let protocol = self.protocol(s.protocol.as_ref());
        let servers = self.servers(&s.servers);
        let (gateway, baseline) = self.gateway(s.gateway.as_ref());
        let load = self.load(&s.load, &servers);
        let faults = self.faults(&s.faults, &servers, duration);
        let known = scope::Known::new(&servers, &faults, duration, warmup, baseline.is_some());
        let budgets = self.budgets(&s.budgets, &known);
        if matches!(gateway, Gateway::None)
            && let (Some(b), Some(g)) = (baseline, s.gateway.as_ref())
        {
            let _ = b;
            self.err(g.referenced, "`baseline` compares a gateway with direct calls; with `gateway: none` there is nothing to compare");
        }
        Some(Scenario {
            path: self.path.to_path_buf(),
            hash: format!("{:016x}", crate::hash::fnv(src.as_bytes())),
            name,
            description: s.description,
            seed: s.seed.unwrap_or(0),
            duration,
            warmup,
            settle,
            protocol,
            servers,
            gateway,
            baseline,
            load: load?,
            faults,
            budgets,
        })
    }

    fn protocol(&mut self, p: Option<&Spanned<String>>) -> ProtocolChoice {
        let Some(p) = p else {
            return ProtocolChoice::Fixed(Version::LATEST_SESSION);
        };
        if p.value == "auto" {
            return ProtocolChoice::Auto;
        }
        match p.value.parse::<Version>() {
            Ok(v) => ProtocolChoice::Fixed(v),
            Err(m) => {
                self.err(p.referenced, format!("{m}, or auto"));
                ProtocolChoice::Auto
            }
        }
    }

    fn servers(
        &mut self,
        spec: &Spanned<indexmap::IndexMap<String, Spanned<spec::ServerSpec>>>,
    ) -> Vec<Server> {
        if spec.value.is_empty() {
            self.err(
                spec.referenced,
                "`servers` is empty: name at least one mock server with its `catalog`",
            );
        }
        let mut out: Vec<Server> = Vec::new();
        for (name, s) in &spec.value {
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
                || name.is_empty()
            {
                self.err(
                    s.referenced,
                    format!("server name `{name}` must be lower-case letters, digits, `_` or `-`"),
                );
            }
            let server = self.server(name, s);
            if server.is_none() {
                self.failed.push(name.clone());
            }
            if let Some(server) = server {
                if let (Some(p), Some(other)) = (
                    server.port,
                    out.iter()
                        .find(|o| o.port.is_some() && o.port == server.port),
                ) {
                    let loc = s.value.port.as_ref().map_or(s.referenced, |x| x.referenced);
                    self.err(loc, format!("port {p} is also given to `{}`", other.name));
                }
                out.push(server);
            }
        }
        out
    }

    fn server(&mut self, name: &str, s: &Spanned<spec::ServerSpec>) -> Option<Server> {
        let v = &s.value;
        let file = self.resolve(&v.catalog.value);
        if !file.is_file() {
            self.err(v.catalog.referenced, format!("catalogue `{}` not found (looked for {}; paths are relative to the scenario file)", v.catalog.value, file.display()));
            return None;
        }
        let catalog = match Catalog::load(&file) {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        if let Some(p) = &v.port
            && p.value == 0
        {
            self.err(
                p.referenced,
                "port 0 means any port: omit `port` to let gauntlet pick one",
            );
        }
        if let Some(l) = &v.latency
            && let Err(m) = l.value.validate()
        {
            self.err(l.referenced, m);
        }
        let errors = v
            .errors
            .as_ref()
            .map(|e| self.error_mix(&e.value.0, e.referenced));
        Some(Server {
            name: name.to_string(),
            catalog: Arc::new(catalog),
            transport: v.transport.unwrap_or(Transport::Http),
            port: v.port.as_ref().map(|p| p.value),
            startup: v.startup.map(|d| d.0),
            latency: v.latency.as_ref().map(|l| l.value),
            errors,
        })
    }

    fn error_mix(&mut self, list: &[spec::ErrorSpec], loc: Location) -> Vec<ErrorMix> {
        let mut out = Vec::new();
        for e in list {
            match error_entry(e) {
                Ok(m) => out.push(m),
                Err(m) => self.err(loc, m),
            }
        }
        if let Err(m) = check_total(&out) {
            self.err(loc, m);
        }
        out
    }

    fn gateway(&mut self, g: Option<&Spanned<GatewaySpec>>) -> (Gateway, Option<Duration>) {
        let Some(g) = g else {
            return (Gateway::Builtin(spec::BuiltinSpec::default()), None);
        };
        match &g.value {
            GatewaySpec::Word(w) if w == "none" => (Gateway::None, None),
            GatewaySpec::Word(w) if w == "builtin" => {
                (Gateway::Builtin(spec::BuiltinSpec::default()), None)
            }
            GatewaySpec::Word(w) => {
                self.err(g.referenced, format!("unknown gateway `{w}`; write `none`, `builtin`, or a map with `builtin`, `command` or `url`"));
                (Gateway::None, None)
            }
            GatewaySpec::Map(m) => {
                let baseline = m.baseline.as_ref().map(|b| {
                    if b.value.0.is_zero() {
                        self.err(b.referenced, "`baseline` must be above 0, e.g. 10s");
                    }
                    b.value.0
                });
                (self.gateway_map(m, g.referenced), baseline)
            }
        }
    }

    fn gateway_map(&mut self, m: &spec::GatewayMap, loc: Location) -> Gateway {
        let endpoint = |url: String| GatewayAtUrl {
            url,
            headers: m.headers.clone(),
            server_url: m.server_url.as_ref().map(|s| s.value.clone()),
            tool_names: m.tool_names.as_ref().map(|s| s.value.clone()),
        };
        if let Some(b) = &m.builtin {
            if m.command.is_some() || m.url.is_some() {
                self.err(
                    loc,
                    "`builtin` is the embedded gateway: it takes no `command` or `url`",
                );
            }
            return Gateway::Builtin(b.clone());
        }
        if let Some(t) = &m.tool_names
            && !(t.value.contains("{tool}"))
        {
            self.err(t.referenced, "`tool_names` must contain `{tool}` (and usually `{server}`), e.g. \"{server}__{tool}\"");
        }
        let Some(cmd) = &m.command else {
            let Some(url) = &m.url else {
                self.err(loc, "`gateway` needs one of `builtin`, `command` (launch one) or `url` (one already running)");
                return Gateway::None;
            };
            if m.config.is_some() || !m.setup.is_empty() || m.ready.is_some() || !m.env.is_empty() {
                self.err(loc, "`config`, `env`, `setup` and `ready` go with `command`; a gateway given by `url` alone is already running");
            }
            self.check_url(url, false);
            return Gateway::Url(Box::new(endpoint(url.value.clone())));
        };
        if cmd.value.first().is_none_or(|a| a.trim().is_empty()) {
            self.err(cmd.referenced, "the gateway `command` is empty: write the program and its arguments, e.g. [fastmcp, run, \"{config}\", --port, \"{port}\"]");
        }
        let url = match &m.url {
            Some(u) => {
                self.check_url(u, true);
                u.value.clone()
            }
            None => {
                self.err(cmd.referenced, "a launched gateway needs `url:` of its MCP endpoint, e.g. \"http://127.0.0.1:{port}/mcp\"");
                String::new()
            }
        };
        let config = m.config.as_ref().and_then(|c| match &c.value {
            ConfigSpec::Word(w) if w == "mcp-servers-json" => Some(ConfigFormat::McpServersJson),
            ConfigSpec::Word(w) => {
                self.err(c.referenced, format!("unknown config format `{w}`; write `mcp-servers-json` or `{{ template: FILE }}`"));
                None
            }
            ConfigSpec::Template(f) => {
                let p = self.resolve(f);
                if !p.is_file() {
                    self.err(c.referenced, format!("config template `{f}` not found (looked for {})", p.display()));
                }
                Some(ConfigFormat::Template(p))
            }
        });
        for s in &m.setup {
            if s.value.first().is_none_or(|a| a.trim().is_empty()) {
                self.err(
                    s.referenced,
                    "an empty `setup` command: write the program and its arguments",
                );
            }
        }
        let ready = m.ready.clone().unwrap_or(spec::ReadySpec {
            tools: None,
            timeout: None,
        });
        Gateway::Launch(Box::new(Launch {
            command: cmd.value.clone(),
            config,
            env: m.env.clone(),
            setup: m.setup.iter().map(|s| s.value.clone()).collect(),
            endpoint: endpoint(url),
            ready_tools: ready.tools.unwrap_or(ReadyTools::All),
            ready_timeout: ready.timeout.map_or(DEFAULT_READY_TIMEOUT, |d| d.0),
        }))
    }

    /// Load goes to loopback only.
    fn check_url(&mut self, u: &Spanned<String>, placeholders: bool) {
        let url = if placeholders {
            u.value.replace("{port}", "1")
        } else {
            u.value.clone()
        };
        let loopback = crate::net::is_loopback_url(&url);
        if !loopback {
            self.err(u.referenced, format!("`{}` is not a loopback http URL: gauntlet sends load to 127.0.0.1, localhost or [::1] only", u.value));
        }
    }

    fn load(&mut self, l: &Spanned<LoadSpec>, servers: &[Server]) -> Option<Load> {
        let v = &l.value;
        let model = match v.model.unwrap_or(ModelSpec::Open) {
            ModelSpec::Open => self.open_model(v, l.referenced)?,
            ModelSpec::Closed => {
                if v.rate.is_some()
                    || v.stages.is_some()
                    || v.steps.is_some()
                    || v.spacing.is_some()
                {
                    self.err(l.referenced, "the closed model has no `rate`, `stages`, `steps` or `spacing`: each session sends its next call when the last one ends, after `think`");
                }
                Model::Closed {
                    think: v.think.map_or(Duration::ZERO, |d| d.0),
                }
            }
        };
        if v.think.is_some() && matches!(model, Model::Open { .. }) {
            self.err(
                l.referenced,
                "`think` belongs to the closed model (model: closed)",
            );
        }
        let positive = |c: &mut Self, x: &Option<Spanned<u32>>, what: &str, default: u32| match x {
            Some(s) if s.value == 0 => {
                c.err(s.referenced, format!("`{what}` must be at least 1"));
                default
            }
            Some(s) => s.value,
            None => default,
        };
        let sessions = positive(self, &v.sessions, "sessions", DEFAULT_SESSIONS);
        let max_in_flight = positive(
            self,
            &v.max_in_flight,
            "max_in_flight",
            DEFAULT_MAX_IN_FLIGHT,
        );
        let timeout = match &v.timeout {
            Some(t) if t.value.0.is_zero() => {
                self.err(t.referenced, "`timeout` must be above 0, e.g. 5s");
                DEFAULT_TIMEOUT
            }
            Some(t) => t.value.0,
            None => DEFAULT_TIMEOUT,
        };
        let mix = self.mix(&v.mix, servers);
        Some(Load {
            model,
            sessions,
            max_in_flight,
            timeout,
            p99_max: v.p99_max.as_ref().map(|p| p.value.0),
            mix,
        })
    }

    fn open_model(&mut self, v: &LoadSpec, loc: Location) -> Option<Model> {
        let spacing = match v.spacing.unwrap_or(SpacingSpec::Uniform) {
            SpacingSpec::Uniform => Spacing::Uniform,
            SpacingSpec::Poisson => Spacing::Poisson,
        };
        let profile = match (&v.rate, &v.stages, &v.steps) {
            (Some(r), None, None) => {
                if r.value.0 <= 0.0 {
                    self.err(r.referenced, "`rate` must be above 0/s");
                }
                Profile::Constant(r.value.0)
            }
            (None, Some(s), None) => Profile::Stages(self.stages(s)),
            (None, None, Some(s)) => {
                let st = &s.value;
                if st.from.0 <= 0.0 || st.by.0 <= 0.0 || st.max.0 < st.from.0 {
                    self.err(
                        s.referenced,
                        "`steps` needs from > 0/s, by > 0/s and max ≥ from",
                    );
                }
                if st.hold.0 <= Duration::from_secs(5) {
                    self.err(s.referenced, "each step's `hold` must exceed the 5 s discarded at its start (20s or more gives steady numbers)");
                }
                if v.p99_max.is_none() {
                    self.err(s.referenced, "`steps` requires `p99_max`: the highest p99 a step may have and still count toward capacity");
                }
                Profile::Steps(Steps {
                    from: st.from.0,
                    by: st.by.0,
                    hold: st.hold.0,
                    max: st.max.0,
                })
            }
            (None, None, None) => {
                self.err(
                    loc,
                    "the open model needs one of `rate` (200/s), `stages` or `steps`",
                );
                return None;
            }
            _ => {
                self.err(loc, "write only one of `rate`, `stages` and `steps`");
                return None;
            }
        };
        Some(Model::Open { profile, spacing })
    }

    fn stages(&mut self, s: &Spanned<Vec<Spanned<spec::StageSpec>>>) -> Vec<Stage> {
        if s.value.is_empty() {
            self.err(
                s.referenced,
                "`stages` is empty: write e.g. [{ to: 500/s, over: 30s }, { hold: 30s }]",
            );
        }
        let mut out = Vec::new();
        for st in &s.value {
            let v = &st.value;
            match (v.to, v.over, v.hold) {
                (Some(to), Some(over), None) if !over.0.is_zero() => out.push(Stage::Ramp { to: to.0, over: over.0 }),
                (None, None, Some(hold)) if !hold.0.is_zero() => out.push(Stage::Hold(hold.0)),
                _ => self.err(st.referenced, "a stage is `{ to: RATE, over: DURATION }` or `{ hold: DURATION }`, with durations above 0"),
            }
        }
        out
    }

    fn mix(
        &mut self,
        m: &Spanned<Vec<Spanned<spec::MixSpec>>>,
        servers: &[Server],
    ) -> Vec<MixEntry> {
        if m.value.is_empty() {
            self.err(
                m.referenced,
                "`mix` is empty: add calls such as `- call: translation.translate`",
            );
        }
        let mut out = Vec::new();
        for e in &m.value {
            let v = &e.value;
            let Some((server, tool)) = self.call_target(&v.call, servers) else {
                continue;
            };
            let weight = match &v.weight {
                Some(w) if !(w.value.is_finite() && w.value >= 0.0) => {
                    self.err(w.referenced, "`weight` must be a number ≥ 0");
                    0.0
                }
                Some(w) => w.value,
                None => 1.0,
            };
            if let Some(a) = &v.args
                && !a.value.is_object()
            {
                self.err(a.referenced, "`args` must be a map of argument names to values, e.g. { text: \"{{zipf 1000}}\", to: pt }");
            }
            if let Some(a) = &v.args
                && a.value.is_object()
                && let Err(m) = crate::args::ArgsGen::parse(&a.value)
            {
                self.err(a.referenced, m);
            }
            out.push(MixEntry {
                server,
                tool,
                weight,
                args: v.args.as_ref().map(|a| a.value.clone()),
            });
        }
        if !m.value.is_empty()
            && !out.is_empty()
            && out.iter().map(|e| e.weight).sum::<f64>() <= 0.0
        {
            self.err(
                m.referenced,
                "the mix's weights add up to 0: give at least one call a weight above 0",
            );
        }
        out
    }

    /// `server.tool` → (server, tool), checked against the servers and their catalogues.
    fn call_target(
        &mut self,
        call: &Spanned<String>,
        servers: &[Server],
    ) -> Option<(String, String)> {
        let Some((s, t)) = call.value.split_once('.') else {
            self.err(
                call.referenced,
                format!(
                    "`{}` is not a call: write server.tool, e.g. translation.translate",
                    call.value
                ),
            );
            return None;
        };
        let server = self.known_server(
            s,
            call.referenced,
            servers,
            &format!("in call `{}`", call.value),
        )?;
        if server.catalog.tool(t).is_none() {
            let tools: Vec<&str> = server
                .catalog
                .tools
                .iter()
                .map(|x| x.name.as_str())
                .collect();
            self.err(
                call.referenced,
                format!(
                    "unknown tool `{t}` in call `{}`{}; {s}'s tools are {}",
                    call.value,
                    did_you_mean(t, &tools),
                    tools.join(", ")
                ),
            );
            return None;
        }
        Some((s.to_string(), t.to_string()))
    }

    fn known_server<'s>(
        &mut self,
        name: &str,
        loc: Location,
        servers: &'s [Server],
        ctx: &str,
    ) -> Option<&'s Server> {
        let found = servers.iter().find(|x| x.name == name);
        if found.is_none() && !self.failed.iter().any(|f| f == name) {
            let names: Vec<&str> = servers.iter().map(|x| x.name.as_str()).collect();
            self.err(
                loc,
                format!(
                    "unknown server `{name}` {ctx}{}; servers are {}",
                    did_you_mean(name, &names),
                    names.join(", ")
                ),
            );
        }
        found
    }

    fn faults(
        &mut self,
        list: &[Spanned<spec::FaultSpec>],
        servers: &[Server],
        duration: Duration,
    ) -> Vec<Fault> {
        let mut out = Vec::new();
        for f in list {
            if let Some(fault) = self.fault(f, servers, duration) {
                out.push(fault);
            }
        }
        out
    }

    fn fault(
        &mut self,
        f: &Spanned<spec::FaultSpec>,
        servers: &[Server],
        duration: Duration,
    ) -> Option<Fault> {
        let v = &f.value;
        let server = self
            .known_server(
                &v.server.value,
                v.server.referenced,
                servers,
                "in this fault",
            )?
            .clone();
        if let Some(t) = &v.tool
            && server.catalog.tool(&t.value).is_none()
        {
            let tools: Vec<&str> = server
                .catalog
                .tools
                .iter()
                .map(|x| x.name.as_str())
                .collect();
            self.err(
                t.referenced,
                format!(
                    "unknown tool `{}`{}; {}'s tools are {}",
                    t.value,
                    did_you_mean(&t.value, &tools),
                    server.name,
                    tools.join(", ")
                ),
            );
        }
        let kind = self.fault_kind(v, f.referenced, &server)?;
        let at = v.at.value.0;
        if at >= duration && !duration.is_zero() {
            self.err(
                v.at.referenced,
                format!(
                    "this fault starts at {}, after the run ends (duration {})",
                    show(at),
                    show(duration)
                ),
            );
        }
        let point = matches!(
            kind,
            FaultKind::Crash(_)
                | FaultKind::SessionLoss
                | FaultKind::ListChange(_)
                | FaultKind::DataChange(_)
        );
        let length = match (&v.for_, point) {
            (Some(l), _) if l.value.0.is_zero() => {
                self.err(l.referenced, "`for` must be above 0, e.g. 10s");
                None
            }
            (Some(l), _) => Some(l.value.0),
            (None, true) => None,
            (None, false) => {
                let name = kind.name();
                let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                self.err(
                    f.referenced,
                    format!(
                        "{article} `{name}` fault needs `for:` (how long its window lasts), \
                         e.g. `for: 10s`"
                    ),
                );
                None
            }
        };
        if let Some(e) = &v.every
            && (e.value.0.is_zero() || length.is_some_and(|l| e.value.0 < l))
        {
            self.err(
                e.referenced,
                "`every` must be above 0 and at least the window's length (`for`)",
            );
        }
        Some(Fault {
            at,
            length,
            every: v.every.as_ref().map(|e| e.value.0),
            server: server.name.clone(),
            tool: v.tool.as_ref().map(|t| t.value.clone()),
            kind,
        })
    }

    fn fault_kind(
        &mut self,
        v: &spec::FaultSpec,
        loc: Location,
        server: &Server,
    ) -> Option<FaultKind> {
        let mut kinds: Vec<FaultKind> = Vec::new();
        if let Some(l) = v.latency {
            if let spec::LatencyFaultSpec::Add(d) = l
                && let Err(m) = d.validate()
            {
                self.err(loc, m);
            }
            kinds.push(FaultKind::Latency(l));
        }
        if let Some(e) = &v.errors {
            kinds.push(FaultKind::Errors(self.error_mix(&e.0, loc)));
        }
        if let Some(o) = v.outage {
            kinds.push(FaultKind::Outage(o));
        }
        if let Some(c) = v.crash {
            if server.transport != Transport::Stdio {
                self.err(loc, format!("`crash` ends a stdio server's process; `{}` is served over {:?} (use `outage: kill`)", server.name, server.transport).to_lowercase());
            }
            kinds.push(FaultKind::Crash(c));
        }
        if let Some(d) = v.slow_start {
            kinds.push(FaultKind::SlowStart(d.0));
        }
        if let Some(fl) = v.flapping {
            if fl.period.0.is_zero() || !(fl.duty.0 > 0.0 && fl.duty.0 < 1.0) {
                self.err(loc, "`flapping` needs period > 0 and duty between 0% and 100% (the share of each period the server is up)");
            }
            kinds.push(FaultKind::Flapping {
                period: fl.period.0,
                duty: fl.duty.0,
            });
        }
        if let Some(m) = v.malformed {
            kinds.push(FaultKind::Malformed(m));
        }
        if let Some(s) = v.session_loss {
            if !s {
                self.err(loc, "`session_loss: false` does nothing: remove the fault or write `session_loss: true`");
            }
            kinds.push(FaultKind::SessionLoss);
        }
        if let Some(lc) = &v.list_change {
            for r in &lc.remove {
                if server.catalog.tool(r).is_none() {
                    self.err(
                        loc,
                        format!(
                            "`list_change` removes `{r}`, which `{}` does not have",
                            server.name
                        ),
                    );
                }
            }
            kinds.push(FaultKind::ListChange(lc.clone()));
        }
        if let Some(d) = &v.data_change {
            kinds.push(FaultKind::DataChange(d.clone()));
        }
        if server.transport == Transport::Stdio
            && let Some(k) = kinds.iter().find(|k| !k.acts_on_stdio())
        {
            self.err(
                loc,
                format!(
                    "`{}` acts on an HTTP server (its port, sessions or answers on the wire); \
                     `{}` is served over stdio (use `crash` to end its process)",
                    k.name(),
                    server.name
                ),
            );
        }
        match kinds.len() {
            1 => kinds.pop(),
            0 => {
                self.err(
                    loc,
                    format!("a fault needs one kind: {}", spec::FAULT_KINDS.join(", ")),
                );
                None
            }
            _ => {
                let names: Vec<&str> = kinds.iter().map(FaultKind::name).collect();
                self.err(
                    loc,
                    format!(
                        "one kind per fault, found {}: write one fault for each",
                        names.join(" and ")
                    ),
                );
                None
            }
        }
    }

    fn budgets(&mut self, list: &[Spanned<String>], known: &scope::Known) -> Vec<Budget> {
        let mut out = Vec::new();
        for b in list {
            match expr::parse(&b.value) {
                Ok(budget) => {
                    if self.budget_scope(&budget, b, known) {
                        out.push(budget);
                    }
                }
                Err(e) => {
                    let loc = self.shifted(b.referenced, e.offset);
                    self.errors
                        .push(loc.with_message(format!("{} (in budget `{}`)", e.message, b.value)));
                }
            }
        }
        out
    }

    /// The location of `offset` bytes into a scalar (after its opening quote, if any).
    fn shifted(&self, loc: Location, offset: usize) -> SourceError {
        let mut e = SourceError::at(self.path, loc, String::new());
        let line = self
            .src
            .lines()
            .nth((e.line as usize).saturating_sub(1))
            .unwrap_or("");
        let start = line.chars().nth((e.col as usize).saturating_sub(1));
        let quote = matches!(start, Some('"' | '\'')) as u64;
        e.col += quote + offset as u64;
        e
    }

    fn budget_scope(&mut self, b: &Budget, at: &Spanned<String>, known: &scope::Known) -> bool {
        // A server whose catalogue failed has its error already: no second one here.
        if let Some(server) = b.scope.as_ref().and_then(|x| x.server.as_ref())
            && self.failed.contains(server)
        {
            return false;
        }
        match scope::check(b, known) {
            Ok(()) => true,
            Err(m) => {
                self.err(at.referenced, m);
                false
            }
        }
    }
}

fn show(d: Duration) -> String {
    crate::units::format_duration(d)
}
