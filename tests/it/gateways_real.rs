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
    let path = repo_root().join(format!("scenarios/gateways/{name}.yaml"));
    run_scenario(name, &path, flags, min_calls, true)
}

/// scenarios/gateways/NAME.yaml with `faults` appended, written beside it (relative catalogue
/// paths keep working) and removed afterwards.
struct Faulted(std::path::PathBuf);

impl Faulted {
    fn new(name: &str, faults: &str) -> Faulted {
        let src = repo_root().join(format!("scenarios/gateways/{name}.yaml"));
        let text = std::fs::read_to_string(&src).expect("scenario");
        let path = src.with_file_name(format!(".{name}-faulted-{}.yaml", std::process::id()));
        std::fs::write(&path, format!("{text}\nfaults:\n{faults}")).expect("write");
        Faulted(path)
    }
}

impl Drop for Faulted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run_scenario(
    name: &str,
    path: &std::path::Path,
    flags: &[&str],
    min_calls: u64,
    all_ok: bool,
) -> Value {
    let markers = ["fastmcp", "mcp-proxy", "supergateway", "mock --stdio"];
    let before = pids_with(&markers);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let mut cmd = Command::new(gauntlet_bin());
    cmd.current_dir(repo_root())
        .env("GAUNTLET_PEERS", peers_dir())
        .arg("run")
        .arg(path)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .args(flags)
        .stdin(Stdio::null());
    let o = run_with_timeout(&mut cmd, Duration::from_secs(240));
    let log = std::fs::read_to_string(out.join("gateway.log")).unwrap_or_default();
    // A fault may take the gateway down with it: that is exit 3, with the reports written.
    let allowed: &[i32] = if all_ok { &[0] } else { &[0, 3] };
    assert!(
        o.status.code().is_some_and(|c| allowed.contains(&c)),
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
    if all_ok {
        assert_eq!(ok, calls, "{name}: {}", r["calls"]);
    }
    // Every call has exactly one outcome.
    for c in r["calls"].as_array().expect("calls") {
        let classes: u64 = c["outcomes"]
            .as_object()
            .expect("outcomes")
            .iter()
            .filter(|(k, _)| !k.contains(':'))
            .map(|(_, v)| v.as_u64().unwrap_or(0))
            .sum();
        assert_eq!(classes, c["count"].as_u64().unwrap_or(0), "{name}: {c}");
    }
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

/// With one fault on one backend: every call gets exactly one outcome, the window is recorded,
/// the reports are written. What the gateway does about it is its own business.
fn faulted(name: &str, faults: &str, flags: &[&str], min_calls: u64) {
    let f = Faulted::new(name, faults);
    let r = run_scenario(name, &f.0, flags, min_calls, false);
    let windows = r["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 1, "{name}: {windows:?}");
}

#[test]
fn fastmcp_proxy_with_a_translation_outage() {
    let _g = heavy();
    faulted(
        "fastmcp",
        "  - { at: 10s, for: 8s, server: translation, outage: refuse }\n",
        &["--duration", "30s"],
        100,
    );
}

#[test]
fn mcp_proxy_with_a_crashed_backend() {
    let _g = heavy();
    faulted(
        "mcp-proxy",
        "  - { at: 2s, server: fraud, crash: exit }\n",
        &["--duration", "5s"],
        300,
    );
}

#[test]
fn supergateway_with_a_crashed_backend() {
    let _g = heavy();
    faulted(
        "supergateway",
        "  - { at: 2s, server: translation, crash: exit }\n",
        &["--duration", "5s"],
        300,
    );
}
