//! Cold starts through the reference gateway: a stdio server with `startup: 800ms` is spawned
//! on the first call that needs it, and that call pays for the start; a server the mix never
//! calls is never started; an HTTP server with a startup is estimated from the first call. A
//! stepped ramp's capacity. And the overhead on a run without a gateway (`gateway: none`):
//! exact, and small.

use crate::common::{gauntlet_bin, heavy, repo_root, run_with_timeout};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// 20 calls/s.
const RATE: &str = "rate: 20/s";

/// Writes a scenario of `servers` (YAML map entries), `gateway`, `load` (a `load:` entry) of
/// `timing.fast` over 2 sessions.
fn scenario(dir: &Path, servers: &str, gateway: &str, load: &str) -> std::path::PathBuf {
    let text = format!(
        "name: cold\nduration: 60s\nservers:\n{servers}gateway: {gateway}\nload:\n  {load}\n  \
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

/// Runs a scenario ([`scenario`]) for `duration` (one at a time) and returns results.json,
/// checked against its schema.
fn run(servers: &str, gateway: &str, load: &str, duration: &str) -> Value {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario(dir.path(), servers, gateway, load);
    let out = dir.path().join("out");
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--duration", duration])
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
    let servers = server(
        "timing",
        "tests/fixtures/timing.yaml",
        ", transport: stdio, startup: 800ms",
    ) + &server("echo", "mock-servers/echo.yaml", ", transport: stdio");
    let r = run(&servers, "builtin", RATE, "8s");
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
fn an_http_server_with_a_startup_is_estimated_from_the_first_call() {
    let servers = server("timing", "tests/fixtures/timing.yaml", ", startup: 800ms");
    let r = run(&servers, "builtin", RATE, "6s");
    let cold = &r["derived"]["cold_start"];
    let timing = &cold["servers"][0];
    assert_eq!(
        (&timing["server"], &timing["quality"]),
        (&Value::from("timing"), &Value::from("estimated")),
        "{cold}"
    );
    let cost = timing["cost_ms"].as_f64().unwrap_or(-1.0);
    assert!((700.0..=1500.0).contains(&cost), "{timing}");
    assert_eq!(
        (&timing["starts"], &timing["spawn_to_ready_ms"]),
        (&Value::from(1), &Value::Null)
    );
    assert!(names(&cold["spawned"]).is_empty(), "{cold}");
    assert_eq!(names(&cold["used"]), ["timing"], "{cold}");
}

#[test]
fn a_stepped_ramp_gives_a_capacity() {
    let servers = server("timing", "tests/fixtures/timing.yaml", "");
    let load = "steps: { from: 20/s, by: 20/s, hold: 6s, max: 60/s }\n  p99_max: 500ms";
    let r = run(&servers, "none", load, "18s");
    let c = &r["derived"]["capacity"];
    let steps = c["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3, "{c}");
    for (i, s) in steps.iter().enumerate() {
        let offered = s["offered_per_s"].as_f64().unwrap_or(0.0);
        let want = 20.0 * (i + 1) as f64;
        assert!((offered - want).abs() <= 1.0, "step {i}: {s}");
        assert_eq!(s["held"], true, "step {i}: {s}");
    }
    assert_eq!(c["rate_per_s"], 60.0, "{c}");
    assert_eq!(c["quality"], "estimated", "steps of 6 s: {c}");
}

#[test]
fn without_a_gateway_the_overhead_is_exact_and_small() {
    let servers = server("timing", "tests/fixtures/timing.yaml", "");
    let r = run(&servers, "none", RATE, "8s");
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
