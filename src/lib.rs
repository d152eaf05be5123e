//! gauntlet: a chaos and load testing harness for MCP gateways.
//!
//! Data flows one way (docs/architecture.md):
//! scenario → plan → run → samples → metrics → summary → reports / budget verdicts.
//!
//! # Module map
//!
//! Layers bottom to top (docs/architecture.md, "Layers"; `tests/it/layers.rs` holds the code to
//! them): a module uses its own layer and the layers below, never above.
//!
//! | layer | modules |
//! |---|---|
//! | foundation | [`clock`], [`hash`], [`units`], [`dist`], [`args`], [`diag`], [`error`], [`net`], [`signal`] |
//! | wire | [`mcp`]: JSON-RPC, Streamable HTTP (session era and 2026-07-28), legacy HTTP+SSE, stdio; server and client |
//! | model | [`catalog`], [`scenario`], [`plan`], [`sample`], [`ledger`] |
//! | chaos | [`fault`] (what each kind does), [`mock`] (the servers that suffer them) |
//! | measurement | [`metrics`] (samples → [`metrics::Summary`]), [`verdict`] (budgets over it) |
//! | reports | [`compare`], [`report`] |
//! | engines | [`driver`] (the load loop), [`gateway`] (gateways under test), [`refgate`] (the reference gateway) |
//! | commands | [`run`](mod@run) (a run, stage by stage), [`cli`] (clap), [`cmd`] (one file per command) |

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
