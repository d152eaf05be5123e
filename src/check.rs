//! `gauntlet check SCENARIO`: validate a scenario and print what it will do.

use crate::cli::CheckArgs;
use crate::error::{Error, Result};
use crate::scenario::{self, Gateway, Model, Profile, Scenario};
use crate::units::format_duration;
use std::fmt::Write;

pub fn run(args: &CheckArgs) -> Result<()> {
    let s = scenario::load(&args.scenario)?;
    if let Some(x) = args.rate_scale
        && !(x.is_finite() && x > 0.0)
    {
        return Err(Error::Input(format!(
            "--rate-scale {x}: write a number above 0, e.g. 0.5"
        )));
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), describe(&s).as_bytes());
    Ok(())
}

/// A readable account of a checked scenario.
pub fn describe(s: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario {} (seed {}, {})",
        s.name,
        s.seed,
        s.path.display()
    );
    if let Some(d) = &s.description {
        let _ = writeln!(o, "  {d}");
    }
    let _ = writeln!(
        o,
        "duration {} (warmup {}), settle {} after each fault window",
        format_duration(s.duration),
        format_duration(s.warmup),
        format_duration(s.settle)
    );
    let _ = writeln!(o, "\nservers");
    for srv in &s.servers {
        let tools: Vec<&str> = srv.catalog.tools.iter().map(|t| t.name.as_str()).collect();
        let _ = writeln!(
            o,
            "  {:<14} {:?} {} tools: {}",
            srv.name,
            srv.transport,
            tools.len(),
            tools.join(", ")
        );
    }
    let gw = match &s.gateway {
        Gateway::None => "none (the driver calls each mock directly)".to_string(),
        Gateway::Builtin(_) => "builtin (the reference gateway)".to_string(),
        Gateway::Launch(l) => format!("launched: {}", l.command.join(" ")),
        Gateway::Url(e) => format!("already running at {}", e.url),
    };
    let _ = writeln!(o, "\ngateway {gw}");
    let _ = writeln!(o, "\nload");
    match &s.load.model {
        Model::Open { profile, spacing } => {
            let p = match profile {
                Profile::Constant(r) => format!("{r}/s"),
                Profile::Stages(st) => format!("{} stages", st.len()),
                Profile::Steps { from, by, max, .. } => {
                    format!("steps {from}/s +{by}/s to {max}/s")
                }
            };
            let _ = writeln!(o, "  open model, {p}, {spacing:?} spacing");
        }
        Model::Closed { think } => {
            let _ = writeln!(o, "  closed model, think {}", format_duration(*think));
        }
    }
    let _ = writeln!(
        o,
        "  {} sessions, max {} in flight, timeout {}",
        s.load.sessions,
        s.load.max_in_flight,
        format_duration(s.load.timeout)
    );
    let total: f64 = s.load.mix.iter().map(|m| m.weight).sum();
    for m in &s.load.mix {
        let _ = writeln!(
            o,
            "  {:>5.1}%  {}.{}",
            100.0 * m.weight / total.max(f64::MIN_POSITIVE),
            m.server,
            m.tool
        );
    }
    if !s.faults.is_empty() {
        let _ = writeln!(o, "\nfaults");
        for (i, f) in s.faults.iter().enumerate() {
            let len = f.length.map_or("(point)".to_string(), |l| {
                format!("for {}", format_duration(l))
            });
            let target = f
                .tool
                .as_ref()
                .map_or(f.server.clone(), |t| format!("{}.{t}", f.server));
            let _ = writeln!(
                o,
                "  {i}: at {} {len} {target} {}",
                format_duration(f.at),
                f.kind.name()
            );
        }
    }
    if !s.budgets.is_empty() {
        let _ = writeln!(o, "\nbudgets");
        for b in &s.budgets {
            let _ = writeln!(o, "  {}", b.text);
        }
    }
    o
}
