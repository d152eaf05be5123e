//! gauntlet: a chaos and load testing harness for MCP gateways.
//!
//! Data flows one way (docs/architecture.md):
//! scenario → plan → run → samples → metrics → summary → reports / budget verdicts.
//!
//! # Module map
//!
//! | module | one job | status |
//! |---|---|---|
//! | [`cli`] | clap definitions of the subcommands | `mock`, `check`, `run`, `gateway`, `status`, `report`, `compare` |
//! | [`mcp`] | the wire layer: JSON-RPC, Streamable HTTP (session era and 2026-07-28), legacy HTTP+SSE, SSE framing, stdio | server and client |
//! | [`mock`] | mock MCP servers from catalogues; the request ledger; `gauntlet mock` | done |
//! | [`fault`] | fault kinds (one file each), what they do to a request, the runner on the run's clock, the stdio back-channel | done (HTTP and stdio mocks) |
//! | [`dist`] | duration distributions and pure per-call random draws | done |
//! | [`units`] | durations ("250ms") and percentages ("1%") as users write them | done |
//! | [`diag`] | `file:line:col` errors for files users write | done |
//! | [`net`] | loopback only: addresses to listen on, URLs to send load to | done |
//! | [`clock`] | CLOCK_MONOTONIC nanoseconds shared by every process of a run | done |
//! | [`error`] | library errors and their exit codes | done |
//! | [`scenario`] | scenario files → a checked [`scenario::Scenario`] | done |
//! | [`plan`] | pure pieces of a plan: arrival schedule, argument generators, phases, fault timeline | done |
//! | [`driver`] | load generation: sessions of every era, the engine, the baseline, the mocks of a run | done |
//! | [`gateway`] | gateways under test: config, launch, name discovery, watching, teardown | done (generic) |
//! | [`run`] | `gauntlet run`: the stages wired together | done |
//! | [`metrics`] | samples → HDR histograms per phase × key × outcome, per-second series, derived figures (cache, recovery, cold start, capacity, overhead) → `Summary` | done |
//! | [`report`] | `Summary` → results.json, CSVs, latency.hlog, summary.md, junit.xml, report.html, the terminal table; `gauntlet report` | json, csv, hlog, md, junit, html, rebuild |
//! | [`compare`] | `gauntlet compare`: per-server deltas, significance by Mann-Whitney over per-second intervals | done |
//! | [`refgate`] | the reference gateway: `gauntlet gateway`, `gauntlet status` | done |
//! | [`budget`] | budget expressions: parsed, scopes checked, verdicts over a summary | done |

pub mod args;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod compare;
pub mod diag;
pub mod dist;
pub mod driver;
pub mod error;
pub mod fault;
pub mod gateway;
pub mod hash;
pub mod ledger;
pub mod mcp;
pub mod metrics;
pub mod mock;
pub mod net;
pub mod plan;
pub mod refgate;
pub mod report;
pub mod run;
pub mod sample;
pub mod scenario;
pub mod signal;
pub mod units;
pub mod verdict;

use cli::{Cli, Command};

/// Runs one command line; the error maps to an exit code ([`error::Error::exit_code`]).
pub fn run(cli: Cli) -> error::Result<()> {
    init_tracing(cli.verbose);
    match cli.command {
        Command::Mock(args) => cmd::mock::run(&args),
        Command::Check(args) => cmd::check::run(&args),
        Command::Run(args) => cmd::run::run(&args),
        Command::Gateway(args) => cmd::gateway::run(&args),
        Command::Status(args) => cmd::gateway::status(&args),
        Command::Report(args) => cmd::report::run(&args),
        Command::Compare(args) => cmd::compare::run(&args),
    }
}

/// Diagnostics go to stderr, never mixed with stdout's report lines.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
