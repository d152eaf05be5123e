//! The three real gateways of scenarios/gateways/ (FastMCP's proxy, mcp-proxy, supergateway,
//! installed by scripts/test), launched by `gauntlet run`: names discovered, load driven, every
//! call ok, the gateway's RSS recorded, nothing left running afterwards.

use crate::common::{gauntlet_bin, heavy, peers_dir, repo_root, run_with_timeout};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Pids whose command line mentions one of `markers`.
fn pids_with(markers: &[&str]) -> BTreeSet<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        markers.iter().any(|m| cmd.contains(m)).then_some(pid)
    })
    .collect()
}

/// Runs scenarios/gateways/NAME.yaml with `flags`; checks the run and returns results.json.
fn run_gateway(name: &str, flags: &[&str], min_calls: u64) -> Value {
    let markers = ["fastmcp", "mcp-proxy", "supergateway", "mock --stdio"];
    let before = pids_with(&markers);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let mut cmd = Command::new(gauntlet_bin());
    cmd.current_dir(repo_root())
        .env("GAUNTLET_PEERS", peers_dir())
        .arg("run")
        .arg(format!("scenarios/gateways/{name}.yaml"))
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .args(flags)
        .stdin(Stdio::null());
    let o = run_with_timeout(&mut cmd, Duration::from_secs(240));
    let log = std::fs::read_to_string(out.join("gateway.log")).unwrap_or_default();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{name}: {}\n{}\n--- gateway.log ---\n{}",
        o.stdout,
        o.stderr,
        crate::common::tail(&log, 30)
    );
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
    )
    .expect("JSON");
    let calls: u64 = r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["count"].as_u64().unwrap_or(0))
        .sum();
    let ok: u64 = r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["ok"].as_u64().unwrap_or(0))
        .sum();
    assert!(calls >= min_calls, "{name}: {calls} calls");
    assert_eq!(ok, calls, "{name}: {}", r["calls"]);
    assert!(
        r["gateway"]["names"]
            .as_array()
            .is_some_and(|n| !n.is_empty() && n.iter().all(|x| x["how"] == "discovered")),
        "{name}: {}",
        r["gateway"]
    );
    let rss = r["process"]
        .as_array()
        .expect("process")
        .iter()
        .filter_map(|p| p["gateway"]["rss_mb"].as_f64())
        .fold(0.0, f64::max);
    assert!(rss > 1.0, "{name}: gateway RSS recorded: {rss}");
    let validator = crate::results::validator();
    let errors = crate::results::schema_errors(&validator, &r);
    assert!(errors.is_empty(), "{errors:?}");
    // Processes killed at the end may take a moment to be gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut left: Vec<u32> = pids_with(&markers).difference(&before).copied().collect();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = pids_with(&markers).difference(&before).copied().collect();
    }
    let described: Vec<String> = left
        .iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            format!(
                "{stat} :: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            )
        })
        .collect();
    assert!(left.is_empty(), "{name}: left running: {described:#?}");
    r
}

#[test]
fn fastmcp_proxy_fault_free() {
    let _g = heavy();
    // FastMCP manages about 5-13 calls/s here, less on a busy machine: its scenario's 4/s, for
    // 80 s.
    let r = run_gateway("fastmcp", &["--duration", "80s"], 300);
    let names = r["gateway"]["names"].as_array().expect("names");
    let prefixed = |n: &Value| {
        let (server, tool) = (n["server"].as_str(), n["tool"].as_str());
        n["name"].as_str() == Some(&format!("{}_{}", server.unwrap_or(""), tool.unwrap_or("")))
    };
    assert!(names.iter().all(prefixed), "{names:?}");
}

#[test]
fn mcp_proxy_fault_free() {
    let _g = heavy();
    let r = run_gateway("mcp-proxy", &["--duration", "5s"], 300);
    assert!(
        r["gateway"]["names"]
            .as_array()
            .is_some_and(|n| n.iter().all(|x| x["name"] == x["tool"]))
    );
}

#[test]
fn supergateway_fault_free() {
    let _g = heavy();
    run_gateway("supergateway", &["--duration", "5s"], 300);
}
