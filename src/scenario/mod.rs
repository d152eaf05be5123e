//! Scenario files (docs/scenario.md): YAML → a checked, typed [`Scenario`].
//!
//! | file | what |
//! |---|---|
//! | [`spec`] | serde types that mirror the file (unknown keys are errors) |
//! | [`fault`] | [`FaultKind`]: a fault's kind and settings, serialized as the file writes it |
//! | [`validate`] | everything serde cannot see: names, catalogues, tools, times, budgets |
//!
//! Every mistake is reported at its place (`file:line:col`), with what is allowed; paths in a
//! scenario are relative to the scenario file.

pub mod budget;
pub mod fault;
pub mod spec;
pub mod validate;

use crate::catalog::{Catalog, ErrorMix};
use crate::dist::DurationDist;
use crate::mcp::protocol::{ProtocolChoice, Version};
use budget::expr::Budget;
pub use fault::FaultKind;
use serde_json::Value;
pub use spec::{CrashSpec, MalformedSpec, OutageMode, ReadyTools, Transport};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    /// FNV-1a of the file's bytes, hex: identifies what ran.
    pub hash: String,
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub duration: Duration,
    pub warmup: Duration,
    pub settle: Duration,
    pub protocol: ProtocolChoice,
    pub servers: Vec<Server>,
    pub gateway: Gateway,
    /// The same mix direct to the mocks before t = 0.
    pub baseline: Option<Duration>,
    pub load: Load,
    pub faults: Vec<Fault>,
    pub budgets: Vec<Budget>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub catalog: Arc<Catalog>,
    pub transport: Transport,
    pub port: Option<u16>,
    pub startup: Option<Duration>,
    pub latency: Option<DurationDist>,
    pub errors: Option<Vec<ErrorMix>>,
}

impl Server {
    /// The catalogue with the scenario's overrides applied (latency replaces the service time,
    /// errors replace the error mix).
    pub fn effective_catalog(&self) -> Catalog {
        let mut c = (*self.catalog).clone();
        for t in &mut c.tools {
            if let Some(l) = self.latency {
                t.behaviour.service_time = l;
            }
            if let Some(e) = &self.errors {
                t.behaviour.errors = e.clone();
            }
        }
        c
    }
}

/// The gateway under test.
#[derive(Debug, Clone)]
pub enum Gateway {
    /// The driver talks to each mock directly.
    None,
    /// The embedded reference gateway.
    Builtin(spec::BuiltinSpec),
    /// A gateway gauntlet launches.
    Launch(Box<Launch>),
    /// A gateway already running.
    Url(Box<GatewayAtUrl>),
}

/// How to reach a gateway and name its tools.
#[derive(Debug, Clone, Default)]
pub struct GatewayAtUrl {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub server_url: Option<String>,
    pub tool_names: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ConfigFormat {
    McpServersJson,
    Template(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Launch {
    pub command: Vec<String>,
    pub config: Option<ConfigFormat>,
    pub env: BTreeMap<String, String>,
    pub setup: Vec<Vec<String>>,
    pub endpoint: GatewayAtUrl,
    pub ready_tools: ReadyTools,
    pub ready_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spacing {
    Uniform,
    Poisson,
}

/// The offered load over time.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    Constant(f64),
    /// Linear ramps and holds, from 0 calls/s.
    Stages(Vec<Stage>),
    /// A stepped ramp for capacity.
    Steps(Steps),
}

/// One entry of `stages:` — a linear ramp from the current rate, or a hold at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    Ramp { to: f64, over: Duration },
    Hold(Duration),
}

/// `steps: { from, by, hold, max }`: rates from, from+by, … up to at most `max`, each held
/// `hold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steps {
    pub from: f64,
    pub by: f64,
    pub hold: Duration,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    Open { profile: Profile, spacing: Spacing },
    Closed { think: Duration },
}

#[derive(Debug, Clone)]
pub struct MixEntry {
    pub server: String,
    pub tool: String,
    pub weight: f64,
    /// Arguments as written (generators are read by the plan); `None`: from the schema.
    pub args: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Load {
    pub model: Model,
    pub sessions: u32,
    pub max_in_flight: u32,
    pub timeout: Duration,
    pub p99_max: Option<Duration>,
    pub mix: Vec<MixEntry>,
}

/// A fault window.
#[derive(Debug, Clone)]
pub struct Fault {
    pub at: Duration,
    /// `None` for point events (crash).
    pub length: Option<Duration>,
    pub every: Option<Duration>,
    pub server: String,
    pub tool: Option<String>,
    pub kind: FaultKind,
}

impl Scenario {
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }
}

/// Reads and checks a scenario file.
pub fn load(path: &std::path::Path) -> Result<Scenario, crate::error::Error> {
    validate::load(path)
}
