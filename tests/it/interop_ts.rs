//! Interop with the official MCP TypeScript SDK (1.x) as a client: tests/peers/ts/client.mjs
//! (run by the Node binary from the peers) against `gauntlet mock` over Streamable HTTP.

use std::process::Command;
use std::time::Duration;

use crate::common::conformance_catalogue as cc;
use crate::common::{
    MockProc, catalogue_server_name, heavy, node_project, node22, peer_program, peers_dir,
    run_with_timeout,
};

const TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn interop_ts_sdk_streamable_http() {
    let _heavy = heavy();
    let node = node22();
    let project = node_project();
    let mock = MockProc::spawn(&[cc::PATH], &[]);
    let server = catalogue_server_name(cc::PATH);

    let mut cmd = Command::new(&node);
    cmd.current_dir(&project)
        .env("GAUNTLET_PEERS", peers_dir())
        .arg(peer_program("ts/client.mjs"))
        .args(["--timeout", "60", "--url", mock.url(&server)])
        .args(cc::client_args());
    let out = run_with_timeout(&mut cmd, TIMEOUT);
    out.assert_success("ts client (Streamable HTTP)");
    cc::assert_exchange(
        "typescript sdk over Streamable HTTP",
        &out.json("ts client"),
    );
}
