//! `gateway: { command: … }`: gauntlet launches the gateway, waits for it, finds its names,
//! drives it, watches it and tears it down. The "gateway" here is a process written for the
//! test around `gauntlet mock` (a server that lists the scenario's tools under their own
//! names), so that every path is exercised without a third-party gateway.

use crate::common::{gauntlet_bin, heavy, repo_root, run_with_timeout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMING: &str = "tests/fixtures/timing.yaml";

/// A scenario with one `timing` server behind `gateway`, 20 calls/s of `timing.fast`.
fn scenario(dir: &Path, gateway: &str) -> PathBuf {
    let text = format!(
        "name: launched\nduration: 10s\nservers:\n  timing: {{ catalog: {} }}\ngateway:\n{gateway}\n\
         load:\n  rate: 20/s\n  sessions: 2\n  mix: [ {{ call: timing.fast }} ]\n",
        repo_root().join(TIMING).display()
    );
    let path = dir.join("launched.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// `gauntlet mock TIMING --listen 127.0.0.1:{port}` as a YAML flow list, after `prefix`.
fn mock_argv(prefix: &[&str]) -> String {
    let mut words: Vec<String> = prefix.iter().map(|w| format!("{w:?}")).collect();
    words.extend(
        [
            gauntlet_bin().display().to_string(),
            "mock".into(),
            repo_root().join(TIMING).display().to_string(),
            "--listen".into(),
            "127.0.0.1:{port}".into(),
        ]
        .iter()
        .map(|w| format!("{w:?}")),
    );
    format!("[{}]", words.join(", "))
}

fn run(path: &Path, out: &Path) -> crate::common::Output {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(path)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--duration", "3s"])
        .stdin(Stdio::null());
    run_with_timeout(&mut cmd, Duration::from_secs(90))
}

fn results(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("JSON")
}

/// Processes whose command line mentions `marker`.
fn processes_with(marker: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmd).contains(marker).then_some(())
    })
    .count()
}

#[test]
fn a_launched_gateway_is_driven_watched_and_stopped() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    // The wrapper starts a child that ignores SIGTERM and would outlive it, then becomes the
    // mock; `{dir}` is its $0.
    let script = "(trap '' TERM; sleep 300; : \"$0\") & exec \"$1\" \"$2\" \"$3\" \"$4\" \"$5\"";
    let gateway = format!(
        "  command: {}\n  url: \"http://127.0.0.1:{{port}}/mcp\"\n  env: {{ GATEWAY_MODE: \"${{HOME}}\" }}\n  config: mcp-servers-json\n",
        mock_argv(&["sh", "-c", script, "{dir}"])
    );
    let path = scenario(dir.path(), &gateway);
    let out = dir.path().join("out");
    let o = run(&path, &out);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("timing.fast → fast (discovered)"),
        "{}",
        o.stdout
    );
    let r = results(&out);
    let steady = r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .find(|c| c["phase"] == "steady")
        .expect("steady");
    assert_eq!(steady["count"], 60, "{steady}");
    assert_eq!(steady["ok"], 60, "{steady}");
    let with_gateway = r["process"]
        .as_array()
        .expect("process")
        .iter()
        .filter(|p| p["gateway"]["rss_mb"].as_f64() > Some(0.0))
        .count();
    assert!(
        with_gateway >= 2,
        "gateway figures every second: {}",
        r["process"]
    );
    assert!(out.join("gateway.log").is_file());
    let validator = crate::results::validator();
    let errors = crate::results::schema_errors(&validator, &r);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(r["gateway"]["kind"], "launched");
    assert_eq!(r["gateway"]["names"][0]["name"], "fast");
    assert_eq!(r["gateway"]["names"][0]["how"], "discovered");
    // The launched "gateway" is a mock of its own: the scenario's mock sees nothing.
    assert_eq!(r["propagation"]["backend_calls"], 0, "{}", r["propagation"]);
    assert_eq!(
        r["propagation"]["service_time_share"], 1.0,
        "{}",
        r["propagation"]
    );
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("gateway/mcp.json")).expect("mcp.json"),
    )
    .expect("JSON");
    assert!(
        config["mcpServers"]["timing"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
    );
    // The orphan `sleep 300` was swept, and said so.
    let notes: Vec<&Value> = r["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "note")
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n["text"].as_str().is_some_and(|t| t.contains("killed"))),
        "{notes:?}"
    );
    assert_eq!(
        processes_with(&out.join("gateway").display().to_string()),
        0,
        "nothing outlives the run"
    );
}

#[test]
fn argv_is_passed_literally() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "printf '%s\\n' \"$@\" > \"$0/argv.txt\"; exec \"$4\" \"$5\" \"$6\" \"$7\" \"$8\"";
    let gateway = format!(
        "  command: {}\n  url: \"http://127.0.0.1:{{port}}/mcp\"\n",
        mock_argv(&["sh", "-c", script, "{dir}", "a;b", "$(touch pwned)", "c d"])
    );
    let path = scenario(dir.path(), &gateway);
    let out = dir.path().join("out");
    let o = run(&path, &out);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    let argv = std::fs::read_to_string(out.join("gateway/argv.txt")).expect("argv.txt");
    let lines: Vec<&str> = argv.lines().collect();
    assert_eq!(&lines[..3], ["a;b", "$(touch pwned)", "c d"]);
    assert!(!out.join("gateway/pwned").exists());
}

#[test]
fn a_gateway_that_never_gets_ready_is_exit_3_within_the_timeout() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    // Answers MCP, but lists none of the scenario's tools.
    let other = repo_root().join("mock-servers/echo.yaml");
    let gateway = format!(
        "  command: [{:?}, mock, {:?}, --listen, \"127.0.0.1:{{port}}\"]\n  url: \"http://127.0.0.1:{{port}}/mcp\"\n  ready: {{ tools: all, timeout: 3s }}\n",
        gauntlet_bin().display().to_string(),
        other.display().to_string()
    );
    let path = scenario(dir.path(), &gateway);
    let started = Instant::now();
    let o = run(&path, &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(3), "{}\n{}", o.stdout, o.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        o.stderr.contains("timing.fast"),
        "names the missing tool: {}",
        o.stderr
    );
    assert!(o.stderr.contains("not ready after"), "{}", o.stderr);
}

#[test]
fn a_gateway_that_dies_mid_run_is_recorded() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    // Serves for a second and a half of the run, then dies.
    let script = "\"$1\" \"$2\" \"$3\" \"$4\" \"$5\" & pid=$!; sleep 2.5; kill -9 $pid; exit 7";
    let gateway = format!(
        "  command: {}\n  url: \"http://127.0.0.1:{{port}}/mcp\"\n",
        mock_argv(&["sh", "-c", script, "gw"])
    );
    let path = scenario(dir.path(), &gateway);
    let out = dir.path().join("out");
    let o = run(&path, &out);
    assert_eq!(o.status.code(), Some(3), "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("exited during the run"), "{}", o.stderr);
    let r = results(&out);
    let steady = r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .find(|c| c["phase"] == "steady")
        .expect("steady");
    let count = steady["count"].as_u64().unwrap_or(0);
    let ok = steady["ok"].as_u64().unwrap_or(0);
    assert_eq!(count, 60, "every call has an outcome: {steady}");
    assert!(ok > 0 && ok < count, "{steady}");
    assert!(
        steady["outcomes"]["transport"].as_u64() > Some(0)
            || steady["outcomes"].as_object().is_some_and(|o| o.len() > 1),
        "{steady}"
    );
}

#[test]
fn the_baseline_goes_straight_to_the_mocks_before_t0() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = format!(
        "  command: {}\n  url: \"http://127.0.0.1:{{port}}/mcp\"\n  baseline: 2s\n",
        mock_argv(&[])
    );
    let path = scenario(dir.path(), &gateway);
    let out = dir.path().join("out");
    let o = run(&path, &out);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    let r = results(&out);
    let calls = r["calls"].as_array().expect("calls");
    let baseline = calls
        .iter()
        .find(|c| c["phase"] == "baseline")
        .unwrap_or_else(|| panic!("no baseline calls: {calls:?}"));
    assert_eq!(baseline["count"], 40, "{baseline}");
    assert_eq!(baseline["ok"], 40, "{baseline}");
    assert!(
        baseline["rate_per_s"]
            .as_f64()
            .is_some_and(|r| (r - 20.0).abs() < 1.0),
        "{baseline}"
    );
    let steady = calls
        .iter()
        .find(|c| c["phase"] == "steady")
        .expect("steady");
    assert_eq!(steady["count"], 60, "{steady}");
    // The baseline's calls reached the scenario's mock; the run's went to the "gateway".
    assert_eq!(r["propagation"]["backend_calls"], 0, "{}", r["propagation"]);
    let before: Vec<i64> = r["timeseries"]
        .as_array()
        .expect("timeseries")
        .iter()
        .filter_map(|t| t["second"].as_i64())
        .filter(|s| *s < 0)
        .collect();
    assert!(!before.is_empty(), "baseline seconds are before t = 0");
}
