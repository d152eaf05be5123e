//! Command-line definitions (clap). Each subcommand's work lives in its module.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "gauntlet",
    version,
    about = "Chaos and load testing harness for MCP gateways"
)]
pub struct Cli {
    /// More diagnostics on stderr (-v: info, -vv: debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve mock MCP servers from catalogue files.
    Mock(MockArgs),
    /// Validate a scenario and print its plan.
    Check(CheckArgs),
    /// Run a scenario: mocks, load, reports.
    Run(RunArgs),
    /// Serve the reference gateway: the servers of an mcpServers config behind one endpoint.
    Gateway(GatewayArgs),
    /// Print the servers, tools and health of a running `gauntlet gateway`.
    Status(StatusArgs),
    /// Rebuild every view of a run (CSV, HTML, JUnit, Markdown) from its results.json.
    Report(ReportArgs),
    /// Compare two runs: per-server deltas, regressions only when beyond the threshold and
    /// significant.
    Compare(CompareArgs),
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The reference run's results.json.
    #[arg(value_name = "BASE.json")]
    pub base: PathBuf,
    /// The run under judgement's results.json.
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// How much worse a figure may get before it can be a regression.
    #[arg(long, value_name = "PERCENT", default_value = "25%")]
    pub max_regression: String,
    /// Also write an HTML page overlaying both runs' latency percentile spectra.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run's results.json.
    #[arg(value_name = "RESULTS.json")]
    pub results: PathBuf,
    /// Where to write the views (default: the folder of RESULTS.json).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GatewayArgs {
    /// The config: standard mcpServers JSON, with an optional `gauntlet` block (docs/gateway.md).
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Where to listen (loopback only; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The gateway's MCP URL (http://HOST:PORT/mcp); its /status next to it is read.
    #[arg(value_name = "URL")]
    pub url: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Where to write the reports (default: reports/<scenario>-<date>-<time>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Drive a gateway already running at URL (overrides the scenario's `gateway:`).
    #[arg(long, value_name = "URL")]
    pub gateway_url: Option<String>,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub plan: PlanFlags,
    /// Also write the budgets' JUnit report to FILE (the run folder has junit.xml with budgets).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Stream every request the mocks receive as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// No progress line; only the final summary.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub plan: PlanFlags,
}

/// What `run` and `check` both take: how the plan is cut and scaled, and budgets beside the
/// scenario's.
#[derive(Args, Debug)]
pub struct PlanFlags {
    /// Cut the run to this duration (windows and steps after it are dropped with a warning).
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Multiply every rate by X.
    #[arg(long, value_name = "X")]
    pub rate_scale: Option<f64>,
    /// An extra budget expression, after the scenario's (repeatable); checked like them.
    #[arg(long, value_name = "EXPR")]
    pub budget: Vec<String>,
}

#[derive(Args, Debug)]
pub struct MockArgs {
    /// Catalogue files (mock-servers/*.yaml).
    #[arg(required = true, value_name = "CATALOG")]
    pub catalogs: Vec<PathBuf>,
    /// Address of the first server (loopback only); the others take free ports.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Serve one catalogue on stdin/stdout instead of HTTP.
    #[arg(long, conflicts_with_all = ["listen", "write_config"])]
    pub stdio: bool,
    /// Write the standard mcpServers JSON for the servers to FILE.
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    /// Serve the control API (faults switched on the running mocks) at ADDR (loopback only).
    #[arg(long, value_name = "ADDR", conflicts_with = "stdio")]
    pub control: Option<String>,
    /// Stream every request as a JSON line to FILE.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Seed of the per-call decisions (error mix, service time).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// With --server: serve that server of SCENARIO, its `latency` and `errors` overrides
    /// applied to the catalogue (how `gauntlet run` starts stdio servers).
    #[arg(long, value_name = "SCENARIO", requires = "server")]
    pub scenario: Option<PathBuf>,
    /// The server of --scenario to serve.
    #[arg(long, value_name = "NAME", requires = "scenario")]
    pub server: Option<String>,
}
