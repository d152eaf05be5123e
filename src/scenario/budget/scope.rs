//! Whether a budget's scope names what the scenario has: its servers, their tools, and the
//! phases its run can have (`@warmup` needs a warmup, `@baseline` a baseline, `@fault:N` a
//! window N of the full timeline). Pure; scenario budgets and `--budget` flags are checked
//! alike, and a mistake is bad input (exit 2).

use super::expr::{self, Budget};
use crate::diag::did_you_mean;
use crate::scenario::{Fault, Scenario, Server};
use std::time::Duration;

/// What a scope may name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    /// Each server with its tools (from its catalogue).
    pub servers: Vec<(String, Vec<String>)>,
    /// Fault windows on the full timeline (phases `fault:0` … and `settle:0` …).
    pub windows: usize,
    /// The scenario has a warmup.
    pub warmup: bool,
    /// The scenario has a `gateway.baseline`.
    pub baseline: bool,
}

impl Known {
    /// From the parts of a scenario (the scenario check has them before the scenario exists).
    pub fn new(
        servers: &[Server],
        faults: &[Fault],
        duration: Duration,
        warmup: Duration,
        baseline: bool,
    ) -> Known {
        Known {
            servers: servers
                .iter()
                .map(|s| {
                    let tools = s.catalog.tools.iter().map(|t| t.name.clone()).collect();
                    (s.name.clone(), tools)
                })
                .collect(),
            windows: window_count(faults, duration),
            warmup: !warmup.is_zero(),
            baseline,
        }
    }

    /// From a checked scenario.
    pub fn of(s: &Scenario) -> Known {
        Known::new(
            &s.servers,
            &s.faults,
            s.duration,
            s.warmup,
            s.baseline.is_some(),
        )
    }
}

/// How many windows the timeline of a run of `duration` holds: each fault once, a repeating
/// one (`every`) each time it starts before the end — as the plan's fault timeline expands it.
pub fn window_count(faults: &[Fault], duration: Duration) -> usize {
    faults
        .iter()
        .map(|f| match f.every {
            _ if f.at >= duration => 0,
            Some(every) if !every.is_zero() => {
                let span = (duration - f.at).as_nanos();
                span.div_ceil(every.as_nanos()) as usize
            }
            _ => 1,
        })
        .sum()
}

/// Checks a parsed budget's scope against `known`; the message names the budget.
pub fn check(b: &Budget, known: &Known) -> Result<(), String> {
    let Some(scope) = &b.scope else { return Ok(()) };
    let ctx = format!("in budget `{}`", b.text);
    if let Some(server) = &scope.server {
        let names: Vec<&str> = known.servers.iter().map(|(n, _)| n.as_str()).collect();
        let Some((_, tools)) = known.servers.iter().find(|(n, _)| n == server) else {
            return Err(format!(
                "unknown server `{server}` {ctx}{}; servers are {}",
                did_you_mean(server, &names),
                names.join(", ")
            ));
        };
        if let Some(tool) = &scope.tool
            && !tools.contains(tool)
        {
            let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
            return Err(format!(
                "unknown tool `{tool}` {ctx}{}; {server}'s tools are {}",
                did_you_mean(tool, &tools),
                tools.join(", ")
            ));
        }
    }
    match scope.phase.as_deref() {
        Some("warmup") if !known.warmup => Err(format!(
            "{ctx}: `@warmup` names no calls: the scenario has no `warmup`"
        )),
        Some("baseline") if !known.baseline => Err(format!(
            "{ctx}: `@baseline` names no calls: the scenario has no `gateway.baseline`"
        )),
        Some(p) => window_phase(p, known.windows).map_err(|m| format!("{ctx}: {m}")),
        None => Ok(()),
    }
}

/// `@fault`, `@settle`, `@fault:N`, `@settle:N` against the timeline's windows.
fn window_phase(p: &str, windows: usize) -> Result<(), String> {
    let n = match p.split_once(':') {
        Some((_, n)) => n.parse::<usize>().ok(),
        None if matches!(p, "fault" | "settle") => None,
        None => return Ok(()),
    };
    if windows == 0 {
        return Err(format!(
            "`@{p}` names no calls: the scenario has no fault windows"
        ));
    }
    match n {
        Some(n) if n >= windows => Err(format!(
            "there is no fault window {n} (the scenario has {windows}, numbered from 0)"
        )),
        _ => Ok(()),
    }
}

/// Parses and checks one `--budget` flag; the message names the flag.
pub fn flag(text: &str, known: &Known) -> Result<Budget, String> {
    let b = expr::parse(text).map_err(|e| {
        format!(
            "--budget `{text}`: {} (at character {})",
            e.message,
            e.offset + 1
        )
    })?;
    check(&b, known).map_err(|m| format!("--budget `{text}`: {m}"))?;
    Ok(b)
}

/// The scenario's budgets, then the `--budget` flags, each flag checked against the scenario;
/// every mistaken flag is reported, one per line.
pub fn with_flags(s: &Scenario, flags: &[String]) -> Result<Vec<Budget>, crate::error::Error> {
    let known = Known::of(s);
    let mut out = s.budgets.clone();
    let mut errors = Vec::new();
    for text in flags {
        match flag(text, &known) {
            Ok(b) => out.push(b),
            Err(m) => errors.push(m),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(crate::error::Error::Input(errors.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::FaultKind;

    fn known() -> Known {
        Known {
            servers: vec![
                ("freight".into(), vec!["quote".into(), "track".into()]),
                ("fraud".into(), vec!["score".into()]),
            ],
            windows: 2,
            warmup: false,
            baseline: true,
        }
    }

    #[test]
    fn scopes_are_checked_against_the_scenario() {
        let k = known();
        for ok in [
            "p99(all) < 1s",
            "p99(freight) < 1s",
            "p99(freight.quote@steady) < 1s",
            "error_rate(fraud@fault:1) < 1%",
            "throughput(all@settle) > 1/s",
            "p50(all@baseline) < 1s",
            "capacity > 10/s",
            "recovery(fraud) < 5s",
        ] {
            assert_eq!(flag(ok, &k).map(|_| ()), Ok(()), "{ok}");
        }
        let cases = [
            ("p99(frieght) < 1s", "unknown server `frieght`"),
            ("p99(frieght) < 1s", "did you mean `freight`"),
            ("p99(freight.qoute) < 1s", "unknown tool `qoute`"),
            (
                "p99(freight.qoute) < 1s",
                "freight's tools are quote, track",
            ),
            ("p99(all@settle:2) < 1s", "no fault window 2"),
            ("p99(all@warmup) < 1s", "no `warmup`"),
            ("recovery(nosuch) < 1s", "servers are freight, fraud"),
            ("p99(nosuch) < 1s", "--budget `p99(nosuch) < 1s`"),
            ("p99(all) < 1 parsec", "at character 12"),
        ];
        for (text, words) in cases {
            let e = flag(text, &k).expect_err(text);
            assert!(e.contains(words), "{text}: {e}");
        }
        let none = Known {
            windows: 0,
            baseline: false,
            ..known()
        };
        let e = flag("p99(all@fault) < 1s", &none).expect_err("no windows");
        assert!(e.contains("no fault windows"), "{e}");
        let e = flag("p99(all@baseline) < 1s", &none).expect_err("no baseline");
        assert!(e.contains("gateway.baseline"), "{e}");
    }

    #[test]
    fn repeating_faults_count_every_window() {
        let fault = |at: u64, every: Option<u64>| Fault {
            at: Duration::from_secs(at),
            length: Some(Duration::from_secs(1)),
            every: every.map(Duration::from_secs),
            server: "a".into(),
            tool: None,
            kind: FaultKind::SessionLoss,
        };
        let d = Duration::from_secs(30);
        assert_eq!(window_count(&[], d), 0);
        assert_eq!(window_count(&[fault(5, None)], d), 1);
        assert_eq!(window_count(&[fault(30, None)], d), 0);
        // Starts at 5, 15, 25.
        assert_eq!(window_count(&[fault(5, Some(10))], d), 3);
        // Starts at 0, 10, 20 (30 is the end).
        assert_eq!(window_count(&[fault(0, Some(10)), fault(1, None)], d), 4);
    }
}
