//! The driver in every protocol era, against the mocks: calls succeed, and results.json says
//! which revision and transport each target was reached with (`protocols`), including what
//! `protocol: auto` found.

use crate::common::{MockProc, gauntlet_bin, heavy, repo_root, run_with_timeout};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const TIMING: &str = "tests/fixtures/timing.yaml";

/// A scenario: one `timing` server (`server_extra` added to its map), `protocol`, `gateway`,
/// 20 calls/s of `timing.fast` over 2 sessions.
fn write_scenario(
    dir: &Path,
    protocol: &str,
    server_extra: &str,
    gateway: &str,
) -> std::path::PathBuf {
    let text = format!(
        "name: eras\nduration: 10s\nprotocol: {protocol}\nservers:\n  timing: {{ catalog: {}{server_extra} }}\n\
         gateway: {gateway}\nload:\n  rate: 20/s\n  sessions: 2\n  mix: [ {{ call: timing.fast }} ]\n",
        repo_root().join(TIMING).display()
    );
    let path = dir.join(format!("eras-{}.yaml", protocol.replace('-', "")));
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Runs 2 s and returns results.json; every call must have succeeded.
fn run_ok(path: &Path, out: &Path) -> Value {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(path)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--duration", "2s"])
        .stdin(Stdio::null());
    let o = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    let r: Value = serde_json::from_str(&text).expect("JSON");
    let validator = crate::results::validator();
    let errors = crate::results::schema_errors(&validator, &r);
    assert!(errors.is_empty(), "{errors:?}");
    let steady = r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .find(|c| c["phase"] == "steady")
        .unwrap_or_else(|| panic!("no steady calls: {r}"));
    assert_eq!(steady["count"], 40, "{steady}");
    assert_eq!(steady["ok"], 40, "{steady}");
    r
}

/// The `protocols` entry of `target`: (revision, era, transport, probed).
fn reached(r: &Value, target: &str) -> (String, String, String, bool) {
    let p = r["protocols"]
        .as_array()
        .expect("protocols")
        .iter()
        .find(|p| p["target"] == target)
        .unwrap_or_else(|| panic!("no protocol entry for {target}: {}", r["protocols"]));
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    (s("revision"), s("era"), s("transport"), p["probed"] == true)
}

#[test]
fn every_era_against_the_mocks() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("2024-11-05", "2024-11-05", "legacy-sse", "http+sse", false),
        (
            "2025-03-26",
            "2025-03-26",
            "session",
            "streamable-http",
            false,
        ),
        (
            "2025-06-18",
            "2025-06-18",
            "session",
            "streamable-http",
            false,
        ),
        (
            "2025-11-25",
            "2025-11-25",
            "session",
            "streamable-http",
            false,
        ),
        (
            "2026-07-28",
            "2026-07-28",
            "stateless",
            "streamable-http",
            false,
        ),
        // The mocks speak every era; the probe tries 2026-07-28 first.
        ("auto", "2026-07-28", "stateless", "streamable-http", true),
    ];
    for (protocol, revision, era, transport, probed) in cases {
        let path = write_scenario(dir.path(), protocol, "", "none");
        let r = run_ok(&path, &dir.path().join(protocol));
        assert_eq!(
            reached(&r, "timing"),
            (revision.into(), era.into(), transport.into(), probed),
            "protocol {protocol}"
        );
        // The server's side: what its clients spoke (the probe's own requests included).
        let served = r["served"].as_array().expect("served");
        let measured = served
            .iter()
            .find(|s| s["server"] == "timing" && s["revision"] == revision)
            .unwrap_or_else(|| panic!("protocol {protocol}: {served:?}"));
        assert_eq!(measured["transport"], transport, "{measured}");
        assert!(measured["requests"].as_u64() >= Some(40), "{measured}");
    }
}

#[test]
fn stdio_and_sse_servers_in_each_era() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "2026-07-28",
            ", transport: stdio",
            ("2026-07-28", "stateless", "stdio", false),
        ),
        (
            "auto",
            ", transport: stdio",
            ("2026-07-28", "stateless", "stdio", true),
        ),
        (
            "2025-06-18",
            ", transport: stdio",
            ("2025-06-18", "session", "stdio", false),
        ),
        // A server of the legacy transport is spoken to in it whatever the scenario says.
        (
            "2025-11-25",
            ", transport: sse",
            ("2024-11-05", "legacy-sse", "http+sse", false),
        ),
    ];
    for (protocol, extra, (revision, era, transport, probed)) in cases {
        let path = write_scenario(dir.path(), protocol, extra, "none");
        let out = dir.path().join(format!("{protocol}{}", extra.len()));
        let r = run_ok(&path, &out);
        assert_eq!(
            reached(&r, "timing"),
            (revision.into(), era.into(), transport.into(), probed),
            "protocol {protocol}{extra}"
        );
    }
}

#[test]
fn auto_falls_back_to_the_legacy_transport() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let mock = MockProc::spawn(&[TIMING], &[]);
    // At /sse only the 2024-11-05 transport answers: POSTs there get 404, GET opens the stream.
    let sse = mock.url("timing").replace("/mcp", "/sse");
    let path = write_scenario(dir.path(), "auto", "", &format!("{{ url: \"{sse}\" }}"));
    let r = run_ok(&path, &dir.path().join("out"));
    assert_eq!(
        reached(&r, "gateway"),
        (
            "2024-11-05".into(),
            "legacy-sse".into(),
            "http+sse".into(),
            true
        )
    );
}
