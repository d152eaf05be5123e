//! Interop with the official MCP Python SDK (1.x) as a client: tests/peers/python/client.py
//! against `gauntlet mock` over Streamable HTTP and over stdio.

use std::process::Command;
use std::time::Duration;

use crate::common::conformance_catalogue as cc;
use crate::common::{
    MockProc, catalogue, gauntlet_bin, heavy, peer_program, python_mcp1, repo_root,
    run_with_timeout,
};

const TIMEOUT: Duration = Duration::from_secs(90);

fn python_client() -> Command {
    let mut cmd = Command::new(python_mcp1());
    cmd.current_dir(repo_root())
        .arg(peer_program("python/client.py"))
        .args(["--timeout", "60"]);
    cmd
}

#[test]
fn interop_python_sdk_streamable_http() {
    let _heavy = heavy();
    let client = python_mcp1();
    let mock = MockProc::spawn(&[cc::PATH], &[]);
    let server = crate::common::catalogue_server_name(cc::PATH);

    let mut cmd = python_client();
    cmd.args(["--url", mock.url(&server)])
        .args(cc::client_args());
    let out = run_with_timeout(&mut cmd, TIMEOUT);
    out.assert_success(&format!("{} (Streamable HTTP)", client.display()));
    cc::assert_exchange(
        "python sdk over Streamable HTTP",
        &out.json("python client"),
    );
}

#[test]
fn interop_python_sdk_legacy_sse() {
    let _heavy = heavy();
    let mock = MockProc::spawn(&[cc::PATH], &[]);
    let server = crate::common::catalogue_server_name(cc::PATH);
    let sse = mock.url(&server).replace("/mcp", "/sse");
    let mut cmd = python_client();
    cmd.args(["--sse", &sse]).args(cc::client_args());
    let out = run_with_timeout(&mut cmd, TIMEOUT);
    out.assert_success("python client (2024-11-05 HTTP+SSE)");
    cc::assert_exchange("python sdk over legacy SSE", &out.json("python client"));
}

#[test]
fn interop_python_sdk_stdio() {
    let _heavy = heavy();
    let mut cmd = python_client();
    cmd.arg("--stdio")
        .args(cc::client_args())
        .arg("--")
        .arg(gauntlet_bin())
        .args(["mock", "--stdio"])
        .arg(catalogue(cc::PATH));
    let out = run_with_timeout(&mut cmd, TIMEOUT);
    out.assert_success("python client (stdio)");
    cc::assert_exchange("python sdk over stdio", &out.json("python client"));
}
