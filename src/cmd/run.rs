//! `gauntlet run SCENARIO [--gateway-url URL] [--duration D] [--rate-scale X] [--seed N]
//! [--budget EXPR]… [--out DIR] [--junit FILE] [--quiet]`: the flags read, the run carried out
//! (`crate::run`).

use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::plan::build::Overrides;
use crate::run::{self, Options};
use crate::scenario::{self, Gateway, GatewayAtUrl};
use std::io::IsTerminal;

pub fn run(args: &RunArgs) -> Result<()> {
    let mut s = scenario::load(&args.scenario)?;
    if let Some(url) = &args.gateway_url {
        s.gateway = Gateway::Url(Box::new(GatewayAtUrl {
            url: url.clone(),
            ..GatewayAtUrl::default()
        }));
    }
    run::supported(&s)?;
    if args.ledger.is_some() {
        return Err(Error::Input(
            "--ledger for a run is not supported yet".into(),
        ));
    }
    let flags = &args.plan;
    let budgets = scenario::budget::scope::with_flags(&s, &flags.budget)?;
    let overrides = Overrides::from_flags(flags.duration.as_deref(), flags.rate_scale, args.seed)?;
    let opts = Options {
        overrides,
        budgets,
        out: args.out.clone().unwrap_or_else(|| run::default_out_dir(&s)),
        junit: args.junit.clone(),
        progress: !args.quiet && std::io::stdout().is_terminal(),
    };
    run::run(&s, &opts)
}
