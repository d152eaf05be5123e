//! `gauntlet check SCENARIO`: validate a scenario and print the plan a person can read.

use crate::cli::CheckArgs;
use crate::error::Result;
use crate::plan::build::{Overrides, Plan};
use crate::plan::schedule::Schedule;
use crate::scenario::{self, Gateway, Scenario};
use crate::units::format_duration;
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn run(args: &CheckArgs) -> Result<()> {
    let mut s = scenario::load(&args.scenario)?;
    s.budgets = crate::scenario::budget::scope::with_flags(&s, &args.plan.budget)?;
    let overrides =
        Overrides::from_flags(args.plan.duration.as_deref(), args.plan.rate_scale, None)?;
    let plan = Plan::build(&s, overrides)?;
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let text = describe(&s, &plan);
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(())
}

/// A readable account of a checked scenario and its plan.
pub fn describe(s: &Scenario, p: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scenario {} (seed {})", s.name, p.seed);
    if let Some(d) = &s.description {
        let _ = writeln!(o, "  {d}");
    }
    let _ = writeln!(
        o,
        "  {} including {} warmup; settle {} after each fault window",
        format_duration(p.duration),
        format_duration(p.warmup),
        format_duration(s.settle)
    );
    servers(&mut o, s);
    let _ = writeln!(o, "\ngateway: {}", gateway(s));
    load(&mut o, s, p);
    faults(&mut o, p);
    if !s.budgets.is_empty() {
        let _ = writeln!(o, "\nbudgets");
        for b in &s.budgets {
            let _ = writeln!(o, "  {}", b.text);
        }
    }
    o
}

fn servers(o: &mut String, s: &Scenario) {
    let _ = writeln!(o, "\nservers");
    for srv in &s.servers {
        let tools: Vec<&str> = srv.catalog.tools.iter().map(|t| t.name.as_str()).collect();
        let port = srv.port.map_or(String::new(), |p| format!(" port {p}"));
        let _ = writeln!(
            o,
            "  {:<14} {:?}{port}, {} tools: {}",
            srv.name,
            srv.transport,
            tools.len(),
            tools.join(", ")
        );
    }
}

fn gateway(s: &Scenario) -> String {
    let g = match &s.gateway {
        Gateway::None => "none (the driver calls each mock directly)".to_string(),
        Gateway::Builtin(_) => "builtin (the reference gateway)".to_string(),
        Gateway::Launch(l) => format!("launched: {} → {}", l.command.join(" "), l.endpoint.url),
        Gateway::Url(e) => format!("already running at {}", e.url),
    };
    match s.baseline {
        Some(b) => format!(
            "{g}; baseline {} direct to the mocks first",
            format_duration(b)
        ),
        None => g,
    }
}

fn load(o: &mut String, s: &Scenario, p: &Plan) {
    let _ = writeln!(o, "\nload");
    match &p.schedule {
        Schedule::Open(open) => {
            let _ = writeln!(
                o,
                "  open model, {:?} spacing: {} calls offered, peak {:.1}/s",
                open.spacing(),
                open.calls(),
                open.peak_rate()
            );
            for seg in open.segments() {
                let _ = writeln!(o, "    {seg}");
            }
            let mut per_phase: BTreeMap<String, f64> = BTreeMap::new();
            let spans = p.phases.spans();
            for (i, (start, phase)) in spans.iter().enumerate() {
                let end = spans
                    .get(i + 1)
                    .map_or(p.duration, |(t, _)| *t)
                    .min(p.duration);
                if end > *start {
                    *per_phase.entry(phase.to_string()).or_default() += open.offered(*start, end);
                }
            }
            for (phase, n) in per_phase {
                let _ = writeln!(o, "    {phase:<10} {n:>9.0} calls");
            }
        }
        Schedule::Closed {
            sessions, think, ..
        } => {
            let _ = writeln!(
                o,
                "  closed model: {sessions} sessions, each sending its next call when the last \
                 ends, think {}",
                format_duration(*think)
            );
        }
    }
    let _ = writeln!(
        o,
        "  {} sessions, at most {} calls in flight, timeout {}",
        s.load.sessions,
        s.load.max_in_flight,
        format_duration(s.load.timeout)
    );
    let total: f64 = p.mix.iter().map(|m| m.weight).sum();
    for m in &p.mix {
        let _ = writeln!(
            o,
            "  {:>5.1}%  {}.{}  {}",
            100.0 * m.weight / total.max(f64::MIN_POSITIVE),
            m.server,
            m.tool,
            m.args.render(p.seed, u64::from(m.key), 0)
        );
    }
}

fn faults(o: &mut String, p: &Plan) {
    if p.timeline.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nfault timeline");
    for occ in p.timeline.occurrences() {
        let span = match occ.end {
            Some(end) => format!(
                "{:>7} – {:<7}",
                format_duration(occ.start),
                format_duration(end)
            ),
            None => format!("{:>7} (point)  ", format_duration(occ.start)),
        };
        let _ = writeln!(
            o,
            "  fault:{:<3} {span} {} (fault {} in the file)",
            occ.window,
            occ.kind.describe(),
            occ.fault
        );
    }
}
