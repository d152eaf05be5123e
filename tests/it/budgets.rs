//! Budgets gate CI: `gauntlet run` evaluates the scenario's budgets and `--budget` flags, writes
//! the verdicts to results.json, junit.xml (and `--junit FILE`), summary.md and the terminal
//! table, and exits 1 when one failed; a budget naming what the scenario lacks is exit 2.

use crate::common::{gauntlet_bin, heavy, repo_root, run_with_timeout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A scenario on the timing fixture, `gateway: none`, 20 calls/s of `timing.fast` (1 ms).
fn scenario(dir: &Path, budgets: &[&str]) -> PathBuf {
    let mut text = format!(
        "name: budgets\nduration: 10s\nservers:\n  timing: {{ catalog: {} }}\ngateway: none\n\
         load:\n  rate: 20/s\n  sessions: 2\n  mix:\n    - call: timing.fast\n",
        repo_root().join("tests/fixtures/timing.yaml").display()
    );
    if !budgets.is_empty() {
        text.push_str("budgets:\n");
        for b in budgets {
            text.push_str(&format!("  - \"{b}\"\n"));
        }
    }
    let path = dir.join("budgets.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn gauntlet(args: &[&std::ffi::OsStr]) -> crate::common::Output {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.args(args);
    run_with_timeout(&mut cmd, Duration::from_secs(90))
}

#[test]
fn a_failing_budget_exits_1_with_a_junit_failure() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario(
        dir.path(),
        &["error_rate(timing) < 50%", "p99(timing.fast) < 1us"],
    );
    let out = dir.path().join("out");
    let extra_junit = dir.path().join("ci/junit.xml");
    std::fs::create_dir_all(dir.path().join("ci")).expect("mkdir");
    let o = gauntlet(&[
        "run".as_ref(),
        path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--duration".as_ref(),
        "3s".as_ref(),
        "--quiet".as_ref(),
        "--budget".as_ref(),
        "capacity > 10/s".as_ref(),
        "--junit".as_ref(),
        extra_junit.as_os_str(),
    ]);
    let shown = format!("--- stdout ---\n{}\n--- stderr ---\n{}", o.stdout, o.stderr);
    assert_eq!(o.status.code(), Some(1), "{shown}");
    assert!(o.stderr.contains("2 of 3 budget(s) failed"), "{shown}");
    assert!(
        o.stdout.contains("PASS  error_rate(timing) < 50%"),
        "{shown}"
    );
    assert!(o.stdout.contains("FAIL  p99(timing.fast) < 1us"), "{shown}");

    let xml = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml in the run folder");
    assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(
        xml.contains(r#"<testsuite name="budgets" tests="3""#),
        "{xml}"
    );
    assert!(xml.contains(r#"name="p99(timing.fast) &lt; 1us""#), "{xml}");
    assert!(xml.contains("limit &lt; 1us"), "{xml}");
    assert!(
        xml.contains("measured unavailable, limit &gt; 10/s: capacity needs a stepped ramp"),
        "{xml}"
    );
    let copy = std::fs::read_to_string(&extra_junit).expect("--junit FILE");
    assert_eq!(copy, xml);

    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
    )
    .expect("results.json is JSON");
    let verdicts = results["verdicts"].as_array().expect("verdicts");
    let passed: Vec<bool> = verdicts
        .iter()
        .map(|v| v["passed"].as_bool().expect("passed"))
        .collect();
    assert_eq!(passed, [true, false, false], "{verdicts:?}");
    let p99 = verdicts[1]["measured"].as_f64().expect("a measured p99");
    assert!(p99 >= 1.0, "a 1 ms tool answers in more than 1 ms: {p99}");
    assert_eq!(verdicts[2]["quality"], "unavailable");

    let md = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(md.contains("**FAILED**: 2 of 3 budget(s) failed."), "{md}");
    assert!(
        md.contains("| ✅ PASS | `error_rate(timing) < 50%` |"),
        "{md}"
    );
}

#[test]
fn a_budget_on_an_unknown_scope_is_exit_2_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario(dir.path(), &[]);
    let out = dir.path().join("out");
    let o = gauntlet(&[
        "run".as_ref(),
        path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
        "--budget".as_ref(),
        "p99(nosuch) < 1s".as_ref(),
        "--budget".as_ref(),
        "p99(timing.fats) < 1s".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("--budget `p99(nosuch) < 1s`: unknown server `nosuch`"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("(did you mean `fast`?)"), "{}", o.stderr);
    assert!(!out.exists(), "nothing ran, nothing was written");

    let o = gauntlet(&[
        "check".as_ref(),
        path.as_os_str(),
        "--budget".as_ref(),
        "p99(all@fault) < 1s".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("no fault windows"), "{}", o.stderr);
    let o = gauntlet(&[
        "check".as_ref(),
        path.as_os_str(),
        "--budget".as_ref(),
        "p99(timing.fast@steady) < 1s".as_ref(),
    ]);
    o.assert_success("check with a good --budget");
    assert!(
        o.stdout.contains("budgets\n  p99(timing.fast@steady) < 1s"),
        "{}",
        o.stdout
    );
}
