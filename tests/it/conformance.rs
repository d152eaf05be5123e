//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! tests/peers/node/package.json) against `gauntlet mock mock-servers/conformance.yaml`.
//!
//! Every server scenario runs (`conformance server --suite all`, pending ones included). A scenario
//! fails when one of its checks is a FAILURE (the rule of the CLI's summary; warnings are shown in
//! the table, not fatal; the CLI's `--expected-failures` mode would also fail them).
//! `tests/conformance-expected-failures.txt` lists the scenarios known to fail, one per line:
//!
//! ```text
//! tools-call-sampling  # why it fails
//! ```
//!
//! The test fails on a failing scenario that is not listed, on a listed scenario that passes (the
//! list must stay honest: delete the line), and on a listed name the suite does not have.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::conformance_catalogue as cc;
use crate::common::{
    MockProc, catalogue_server_name, conformance_cli, heavy, node_project, node22, repo_root,
    run_with_timeout, tail,
};

/// Generous: the whole suite takes seconds against a healthy server, but a scenario that waits for
/// an answer that never comes costs the client's 60 s request timeout.
const SUITE_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const EXPECTED_FAILURES: &str = "tests/conformance-expected-failures.txt";

#[derive(Debug, Default)]
struct Scenario {
    passed: u32,
    failed: u32,
    warnings: u32,
    /// `check-id: message` of each failed check (from the scenario's checks.json).
    failures: Vec<String>,
    /// `check-id: message` of each warning.
    warning_notes: Vec<String>,
}

/// The `=== SUMMARY ===` block of `conformance server`: `✓ name: 1 passed, 0 failed` per scenario.
fn parse_summary(stdout: &str) -> BTreeMap<String, Scenario> {
    let mut out = BTreeMap::new();
    let Some((_, summary)) = stdout.rsplit_once("=== SUMMARY ===") else {
        return out;
    };
    for line in summary.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("✓ ").or_else(|| line.strip_prefix("✗ ")) else {
            continue;
        };
        let Some((name, counts)) = rest.rsplit_once(": ") else {
            continue;
        };
        let Some((passed, failed)) = counts.split_once(" passed, ") else {
            continue;
        };
        let (Ok(passed), Some(Ok(failed))) = (
            passed.trim().parse::<u32>(),
            failed
                .strip_suffix(" failed")
                .map(|f| f.trim().parse::<u32>()),
        ) else {
            continue;
        };
        out.insert(
            name.to_string(),
            Scenario {
                passed,
                failed,
                ..Scenario::default()
            },
        );
    }
    out
}

/// Adds warnings and failure messages from `<dir>/server-<scenario>-<timestamp>/checks.json`
/// (written by `--output-dir`). The summary stays the source of pass/fail.
fn add_check_details(dir: &Path, scenarios: &mut BTreeMap<String, Scenario>) {
    // Timestamps look like 2026-03-27T11-29-13-123Z: 24 characters, after a '-'.
    const STAMP: usize = 24;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = dir_name.strip_prefix("server-") else {
            continue;
        };
        if rest.len() <= STAMP + 1 || !rest.is_char_boundary(rest.len() - STAMP - 1) {
            continue;
        }
        let (name, stamp) = rest.split_at(rest.len() - STAMP - 1);
        if !stamp.starts_with('-') {
            continue;
        }
        let Some(scenario) = scenarios.get_mut(name) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(entry.path().join("checks.json")) else {
            continue;
        };
        let Ok(serde_json::Value::Array(checks)) = serde_json::from_str(&text) else {
            continue;
        };
        for check in &checks {
            let note = || {
                let id = check["id"].as_str().unwrap_or("?");
                let msg = check["errorMessage"]
                    .as_str()
                    .or_else(|| check["description"].as_str())
                    .unwrap_or("");
                format!("{id}: {msg}")
            };
            match check["status"].as_str() {
                Some("WARNING") => {
                    scenario.warnings += 1;
                    scenario.warning_notes.push(note());
                }
                Some("FAILURE") => scenario.failures.push(note()),
                _ => {}
            }
        }
    }
}

/// `scenario  # reason` per line; blank and comment-only lines are ignored. No file: no entries.
fn load_expected_failures(path: &Path) -> BTreeMap<String, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => panic!("reading {}: {e}", path.display()),
    };
    parse_expected_failures(&text)
}

fn parse_expected_failures(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (entry, reason) = line.split_once('#').unwrap_or((line, ""));
        let mut words = entry.split_whitespace();
        let Some(name) = words.next() else { continue };
        assert!(
            words.next().is_none(),
            "{EXPECTED_FAILURES}: one scenario per line, reason after `#`: {line:?}"
        );
        out.insert(name.to_string(), reason.trim().to_string());
    }
    out
}

/// One line per scenario: name, result, check counts, and why (expected reason or failed checks).
fn table(scenarios: &BTreeMap<String, Scenario>, expected: &BTreeMap<String, String>) -> String {
    let width = scenarios.keys().map(String::len).max().unwrap_or(8).max(8);
    let mut out = format!(
        "{:width$}  {:<19}  {:>6}  {:>6}  {:>8}  notes\n",
        "scenario", "result", "passed", "failed", "warnings"
    );
    for (name, s) in scenarios {
        let ok = s.failed == 0;
        let result = match (ok, expected.contains_key(name)) {
            (true, false) => "pass",
            (false, true) => "fail (expected)",
            (false, false) => "FAIL",
            (true, true) => "PASS (unexpected)",
        };
        let mut notes: Vec<String> = expected.get(name).cloned().into_iter().collect();
        notes.extend(s.failures.iter().cloned());
        notes.extend(s.warning_notes.iter().map(|w| format!("warning {w}")));
        notes.retain(|n| !n.is_empty());
        let notes = notes.join(" | ");
        out.push_str(&format!(
            "{name:width$}  {result:<19}  {:>6}  {:>6}  {:>8}  {notes}\n",
            s.passed, s.failed, s.warnings
        ));
    }
    out
}

/// What is wrong with the results, given the expected failures (empty: all is as expected).
fn verdict(
    scenarios: &BTreeMap<String, Scenario>,
    expected: &BTreeMap<String, String>,
) -> Vec<String> {
    let unexpected_failures: Vec<&str> = scenarios
        .iter()
        .filter(|(name, s)| s.failed > 0 && !expected.contains_key(*name))
        .map(|(name, _)| name.as_str())
        .collect();
    let unexpected_passes: Vec<&str> = scenarios
        .iter()
        .filter(|(name, s)| s.failed == 0 && expected.contains_key(*name))
        .map(|(name, _)| name.as_str())
        .collect();
    let unknown: Vec<&str> = expected
        .keys()
        .filter(|name| !scenarios.contains_key(*name))
        .map(String::as_str)
        .collect();

    let mut problems = Vec::new();
    if !unexpected_failures.is_empty() {
        problems.push(format!(
            "failing scenarios not in {EXPECTED_FAILURES}: {unexpected_failures:?}"
        ));
    }
    if !unexpected_passes.is_empty() {
        problems.push(format!(
            "scenarios listed in {EXPECTED_FAILURES} that now pass (remove them): {unexpected_passes:?}"
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "{EXPECTED_FAILURES} names scenarios the suite does not have: {unknown:?}"
        ));
    }
    problems
}

#[test]
fn conformance_suite_against_mock() {
    let _heavy = heavy();
    let node = node22();
    let cli = conformance_cli();
    let project = node_project();
    let expected = load_expected_failures(&repo_root().join(EXPECTED_FAILURES));

    let mock = MockProc::spawn(&[cc::PATH], &[]);
    let url = mock.url(&catalogue_server_name(cc::PATH)).to_string();
    let results = tempfile::tempdir().expect("temporary directory for conformance results");

    let mut cmd = Command::new(&node);
    cmd.current_dir(&project)
        .env("NO_COLOR", "1")
        .arg(&cli)
        .args(["server", "--url", &url, "--suite", "all", "--output-dir"])
        .arg(results.path());
    let out = run_with_timeout(&mut cmd, SUITE_TIMEOUT);

    let mut scenarios = parse_summary(&out.stdout);
    assert!(
        !scenarios.is_empty(),
        "conformance printed no summary ({}).\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}\n--- mock stderr (tail) ---\n{}",
        out.status,
        tail(&out.stdout, 80),
        tail(&out.stderr, 80),
        tail(&mock.stderr(), 40),
    );
    add_check_details(results.path(), &mut scenarios);

    let shown = table(&scenarios, &expected);
    println!("conformance server --suite all against {url}\n{shown}");

    let problems = verdict(&scenarios, &expected);
    // (The table is already on stdout, which the test harness shows with a failure.)
    assert!(
        problems.is_empty(),
        "{}\n--- mock stderr (tail) ---\n{}",
        problems.join("\n"),
        tail(&mock.stderr(), 40)
    );
}

#[test]
fn conformance_summary_parsing() {
    let stdout = "=== Running scenario: ping ===\n✓ not-a-summary: 9 passed, 0 failed\n\n\
                  === SUMMARY ===\n✓ ping: 1 passed, 0 failed\n✗ tools-list: 0 passed, 1 failed\n\
                  \nTotal: 1 passed, 1 failed\n";
    let got = parse_summary(stdout);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got["ping"].passed, got["ping"].failed), (1, 0));
    assert_eq!((got["tools-list"].passed, got["tools-list"].failed), (0, 1));

    let expected = parse_expected_failures(
        "# header\n\ntools-call-sampling  # needs a client that samples\nping\n",
    );
    assert_eq!(expected.len(), 2);
    assert_eq!(
        expected["tools-call-sampling"],
        "needs a client that samples"
    );
    assert_eq!(expected["ping"], "");
}

#[test]
fn conformance_verdicts() {
    let result = |failed| Scenario {
        passed: 1 - failed,
        failed,
        ..Scenario::default()
    };
    let scenarios: BTreeMap<String, Scenario> = [
        ("ping", result(0)),
        ("tools-call-sampling", result(1)),
        ("tools-list", result(1)),
        ("prompts-list", result(0)),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    let expected = parse_expected_failures(
        "tools-call-sampling # needs sampling\nprompts-list # was broken\nno-such-scenario\n",
    );
    let problems = verdict(&scenarios, &expected).join("\n");
    assert!(
        problems.contains(r#"not in tests/conformance-expected-failures.txt: ["tools-list"]"#),
        "{problems}"
    );
    assert!(
        problems.contains(r#"now pass (remove them): ["prompts-list"]"#),
        "{problems}"
    );
    assert!(
        problems.contains(r#"does not have: ["no-such-scenario"]"#),
        "{problems}"
    );
    assert!(
        verdict(
            &scenarios,
            &parse_expected_failures("tools-call-sampling\ntools-list\n")
        )
        .is_empty()
    );
}
