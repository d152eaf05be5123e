//! Cold starts through the reference gateway: a stdio server with `startup: 800ms` is spawned
//! on the first call that needs it, and that call pays for the start; a server the mix never
//! calls is never started. And the gateway's overhead on a run without a gateway (`gateway:
//! none`): exact, and small.

use crate::common::{gauntlet_bin, heavy, repo_root, run_with_timeout};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Writes a scenario of `servers` (YAML map entries), `gateway`, 20 calls/s of `timing.fast`.
fn scenario(dir: &Path, servers: &str, gateway: &str) -> std::path::PathBuf {
    let text = format!(
        "name: cold\nduration: 8s\nservers:\n{servers}gateway: {gateway}\nload:\n  rate: 20/s\n  \
         sessions: 2\n  mix: [ {{ call: timing.fast }} ]\n"
    );
    let path = dir.join("cold.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn server(name: &str, catalog: &str, extra: &str) -> String {
    let catalog = repo_root().join(catalog);
    format!("  {name}: {{ catalog: {}{extra} }}\n", catalog.display())
}

fn run(path: &Path, out: &Path) -> Value {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(path)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--duration", "8s"])
        .stdin(Stdio::null());
    let o = run_with_timeout(&mut cmd, Duration::from_secs(90));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    let r: Value = serde_json::from_str(&text).expect("JSON");
    let errors = crate::results::schema_errors(&crate::results::validator(), &r);
    assert!(errors.is_empty(), "{errors:?}");
    r
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn a_lazily_spawned_server_pays_its_startup_on_the_first_call() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let servers = server(
        "timing",
        "tests/fixtures/timing.yaml",
        ", transport: stdio, startup: 800ms",
    ) + &server("echo", "mock-servers/echo.yaml", ", transport: stdio");
    let path = scenario(dir.path(), &servers, "builtin");
    let r = run(&path, &dir.path().join("out"));
    let cold = &r["derived"]["cold_start"];
    let timing = cold["servers"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["server"] == "timing"))
        .unwrap_or_else(|| panic!("no cold start for timing: {cold}"));
    assert_eq!(timing["quality"], "exact", "{timing}");
    let cost = timing["cost_ms"].as_f64().unwrap_or(-1.0);
    assert!((700.0..=1500.0).contains(&cost), "{timing}");
    let ready = timing["spawn_to_ready_ms"].as_f64().unwrap_or(-1.0);
    assert!((790.0..=1500.0).contains(&ready), "{timing}");
    assert!(timing["starts"].as_u64() >= Some(1), "{timing}");
    assert!(
        timing["queued"].as_u64() >= Some(5),
        "20 calls/s wait 0.8 s: {timing}"
    );
    assert!(timing["warm_p50_ms"].as_f64() < Some(100.0), "{timing}");
    assert_eq!(names(&cold["spawned"]), ["timing"], "{cold}");
    assert_eq!(names(&cold["used"]), ["timing"], "{cold}");
    assert_eq!(names(&cold["never_started"]), ["echo"], "{cold}");
}

#[test]
fn without_a_gateway_the_overhead_is_exact_and_small() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let servers = server("timing", "tests/fixtures/timing.yaml", "");
    let path = scenario(dir.path(), &servers, "none");
    let r = run(&path, &dir.path().join("out"));
    let overhead = r["derived"]["overhead"].as_array().expect("overhead");
    let o = overhead
        .iter()
        .find(|o| o["server"] == "timing" && o["tool"] == "fast")
        .unwrap_or_else(|| panic!("{overhead:?}"));
    assert_eq!(o["quality"], "exact", "{o}");
    assert!(o["calls"].as_u64() >= Some(100), "{o}");
    let p50 = o["p50_ms"].as_f64().unwrap_or(-1.0);
    assert!((0.0..50.0).contains(&p50), "{o}");
    assert!(r["derived"]["capacity"].is_null(), "no stepped ramp");
}
