//! 2026-07-28 against a real peer: the official MCP Python SDK 2.x (`.peers/py-mcp2`), which
//! speaks the revision on both sides.
//!
//! - Its client against a mock, pinned to 2026-07-28, with its own `auto` probe (it must settle on
//!   2026-07-28: the mock is dual-era) and in its legacy mode (initialize: the session era): list,
//!   call, read, and a list change on a `subscriptions/listen` stream.
//! - gauntlet's driver against its server (MCPServer, Streamable HTTP), in 2026-07-28, `auto`
//!   and the session era: every call ok, the revision recorded.

use crate::common::{heavy, peer, peer_program, repo_root, run_with_timeout, tail};
use crate::inproc::start;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CONFORMANCE: &str = "mock-servers/conformance.yaml";

fn python_mcp2() -> std::path::PathBuf {
    peer("py-mcp2/bin/python")
}

/// Runs the SDK's client against `url` in `mode`; while it runs, the mock's tool list changes
/// every 100 ms (for its listen stream). Returns what it printed.
async fn sdk_client(srv: &crate::inproc::Srv, mode: &str) -> Value {
    let mut cmd = Command::new(python_mcp2());
    cmd.current_dir(repo_root())
        .arg(peer_program("python/modern.py"))
        .args(["client", "--url", &srv.url, "--mode", mode])
        .args([
            "--tool",
            "test_simple_text",
            "--resource",
            "test://static-text",
        ]);
    if mode != "legacy" {
        cmd.arg("--listen");
    }
    let run =
        tokio::task::spawn_blocking(move || run_with_timeout(&mut cmd, Duration::from_secs(60)));
    tokio::pin!(run);
    let out = loop {
        tokio::select! {
            r = &mut run => break r.expect("the client thread"),
            _ = tokio::time::sleep(Duration::from_millis(100)) => srv.mock.tools_changed(),
        }
    };
    out.assert_success(&format!("python sdk 2.x client, mode {mode}"));
    out.json("python sdk 2.x client")
}

#[test]
fn python_sdk2_client_against_the_mock() {
    let _heavy = heavy();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(sdk_client_modes());
}

async fn sdk_client_modes() {
    let srv = start(CONFORMANCE).await;
    for (mode, revision) in [
        ("2026-07-28", "2026-07-28"),
        ("auto", "2026-07-28"),
        ("legacy", "2025-11-25"),
    ] {
        let r = sdk_client(&srv, mode).await;
        assert_eq!(r["protocol_version"], revision, "mode {mode}: {r}");
        let tools = r["tools"].as_array().expect("tools");
        assert!(tools.iter().any(|t| t == "test_simple_text"), "{r}");
        assert_eq!(r["call"]["content"][0]["type"], "text", "mode {mode}: {r}");
        assert!(r["call"].get("isError").is_none_or(|e| e == false), "{r}");
        assert!(
            r["resource"]["contents"][0]["uri"] == "test://static-text",
            "{r}"
        );
        if mode != "legacy" {
            assert_eq!(r["list_changed"], true, "mode {mode}: {r}");
        }
    }
}

/// The SDK's server, killed when dropped.
struct SdkServer {
    child: Child,
    url: String,
}

impl SdkServer {
    fn start() -> SdkServer {
        let mut child = Command::new(python_mcp2())
            .current_dir(repo_root())
            .arg(peer_program("python/modern.py"))
            .arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the python sdk 2.x server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!(
                    "the python sdk 2.x server did not start:\n{}",
                    tail(&err, 30)
                )
            });
        SdkServer { child, url }
    }
}

impl Drop for SdkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_driver_against_the_python_sdk2_server() {
    let _heavy = heavy();
    let server = SdkServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    for (protocol, revision, probed) in [
        ("2026-07-28", "2026-07-28", false),
        ("auto", "2026-07-28", true),
        ("2025-11-25", "2025-11-25", false),
    ] {
        let path = dir
            .path()
            .join(format!("{}.yaml", protocol.replace('-', "")));
        let text = format!(
            "name: sdk2\nduration: 10s\nprotocol: {protocol}\nservers:\n  echo: {{ catalog: {} }}\n\
             gateway: {{ url: \"{}\" }}\nload:\n  rate: 20/s\n  sessions: 2\n  mix: [ {{ call: echo.echo, args: {{ text: hi }} }} ]\n",
            repo_root().join("mock-servers/echo.yaml").display(),
            server.url
        );
        std::fs::write(&path, text).expect("write scenario");
        let out = dir.path().join(protocol);
        let mut cmd = Command::new(crate::common::gauntlet_bin());
        cmd.arg("run")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .args(["--quiet", "--duration", "2s"])
            .stdin(Stdio::null());
        let o = run_with_timeout(&mut cmd, Duration::from_secs(60));
        assert_eq!(
            o.status.code(),
            Some(0),
            "{protocol}: {}\n{}",
            o.stdout,
            o.stderr
        );
        let r: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
        )
        .expect("JSON");
        let steady = &r["calls"][0];
        assert_eq!(
            (steady["count"].as_u64(), steady["ok"].as_u64()),
            (Some(40), Some(40)),
            "{protocol}: {steady}"
        );
        let p = &r["protocols"][0];
        assert_eq!(p["target"], "gateway");
        assert_eq!(p["revision"], revision, "{protocol}: {p}");
        assert_eq!(p["probed"], probed, "{protocol}: {p}");
    }
}
