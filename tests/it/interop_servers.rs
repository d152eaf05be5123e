//! gauntlet's driver against MCP servers written with the official SDKs: `gauntlet run` puts load
//! on tests/peers/python/server.py (FastMCP from the Python SDK 1.x, Streamable HTTP or the
//! 2024-11-05 HTTP+SSE transport) and tests/peers/ts/server.mjs (the TypeScript SDK's McpServer
//! on StreamableHTTPServerTransport), each started by the test and named to the driver as a
//! running gateway (`gateway: { url: … }`).
//!
//! A run passes when gauntlet exits 0, results.json matches its schema, calls were sent and
//! (nearly) all of them are `ok`, every `session_init` succeeded, and the server reports that its
//! sessions run on the expected revision (the peers print `SESSION protocol=<revision>`).
//!
//! The `auto_*` tests name no revision (`protocol: auto`): the driver has to find one by the
//! spec's backward-compatibility probe.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    Output, PeerServer, catalogue, gauntlet_bin, heavy, node_project, node22, peer_program,
    peers_dir, python_mcp1, repo_root, run_with_timeout, tail,
};

/// Sessions the driver opens to the server.
const SESSIONS: usize = 2;
/// The offered rate (calls per second) and how long the run lasts.
const RATE: u64 = 20;
const DURATION_S: u64 = 3;
/// `gauntlet run` itself: sessions, 3 s of load, draining, reports.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

const SESSION_ERA: &[&str] = &["2025-03-26", "2025-06-18", "2025-11-25"];

fn python_server(transport: &str) -> PeerServer {
    let mut cmd = Command::new(python_mcp1());
    cmd.current_dir(repo_root())
        .arg(peer_program("python/server.py"))
        .args(["--transport", transport]);
    PeerServer::spawn(&format!("python sdk server, {transport}"), &mut cmd)
}

fn ts_server() -> PeerServer {
    let node = node22();
    let mut cmd = Command::new(node);
    cmd.current_dir(node_project())
        .env("GAUNTLET_PEERS", peers_dir())
        .arg(peer_program("ts/server.mjs"));
    PeerServer::spawn("ts sdk server", &mut cmd)
}

/// A scenario for the echo catalogue (the peers serve the same `echo(text)` tool), its load going
/// to `url` as a running gateway.
fn scenario(dir: &Path, name: &str, url: &str, protocol: &str) -> PathBuf {
    let text = format!(
        "name: {name}\n\
         duration: 10s\n\
         protocol: {protocol}\n\
         servers:\n  echo: {{ catalog: \"{catalog}\" }}\n\
         gateway: {{ url: \"{url}\" }}\n\
         load:\n  model: open\n  rate: {RATE}/s\n  sessions: {SESSIONS}\n  timeout: 5s\n  \
         mix:\n    - call: echo.echo\n      args: {{ text: \"hello {{{{seq}}}}\" }}\n",
        catalog = catalogue("mock-servers/echo.yaml").display(),
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write the scenario");
    path
}

/// `gauntlet run SCENARIO --duration 3s --out DIR`.
fn run(scenario: &Path, out: &Path) -> Output {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.current_dir(repo_root())
        .arg("run")
        .arg(scenario)
        .args(["--quiet", "--duration", &format!("{DURATION_S}s"), "--out"])
        .arg(out)
        .stdin(Stdio::null());
    run_with_timeout(&mut cmd, RUN_TIMEOUT)
}

/// Drives load at `server` with `protocol` and checks the run; `revisions` are the ones the
/// server may report its sessions on.
fn drive(server: &PeerServer, url: &str, protocol: &str, revisions: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("interop-{}", protocol.replace('-', ""));
    let path = scenario(dir.path(), &name, url, protocol);
    let out_dir = dir.path().join("out");
    let o = run(&path, &out_dir);
    let ctx = |o: &Output| {
        format!(
            "{} at {url}, protocol: {protocol}\n--- gauntlet stdout ---\n{}\n--- gauntlet stderr ---\n{}\n--- server stderr (tail) ---\n{}",
            server.what(),
            o.stdout,
            tail(&o.stderr, 40),
            tail(&server.stderr(), 40)
        )
    };
    assert_eq!(o.status.code(), Some(0), "gauntlet run failed: {}", ctx(&o));

    let results_path = out_dir.join("results.json");
    let text = std::fs::read_to_string(&results_path)
        .unwrap_or_else(|e| panic!("{}: {e}; {}", results_path.display(), ctx(&o)));
    let results: Value = serde_json::from_str(&text).expect("results.json is JSON");
    let errors = crate::results::schema_errors(&crate::results::validator(), &results);
    assert!(
        errors.is_empty(),
        "results.json against its schema: {errors:?}"
    );

    // Calls: sent, and (nearly) all ok.
    let calls = results["calls"].as_array().expect("results.json: calls");
    let count: u64 = calls.iter().filter_map(|c| c["count"].as_u64()).sum();
    let ok: u64 = calls.iter().filter_map(|c| c["ok"].as_u64()).sum();
    let offered = RATE * DURATION_S;
    let outcomes: Vec<&Value> = calls.iter().map(|c| &c["outcomes"]).collect();
    assert!(
        count >= offered / 2,
        "{count} calls counted, {offered} offered: {outcomes:?}; {}",
        ctx(&o)
    );
    assert!(
        ok * 100 >= count * 99,
        "{ok} of {count} calls ok: {outcomes:?}; {}",
        ctx(&o)
    );

    // Sessions: every one initialized.
    let inits: Vec<&Value> = results["events"]
        .as_array()
        .expect("results.json: events")
        .iter()
        .filter(|e| e["event"] == "session_init")
        .collect();
    assert_eq!(inits.len(), SESSIONS, "session_init events: {inits:?}");
    assert!(
        inits
            .iter()
            .all(|e| e["ok"] == true && e["server"] == "gateway"),
        "session_init events: {inits:?}"
    );

    // The server's side: which revision its sessions run on.
    let got = server.session_revisions(SESSIONS, Duration::from_secs(5));
    assert!(
        !got.is_empty(),
        "the server reported no session; {}",
        ctx(&o)
    );
    assert!(
        got.iter().all(|r| revisions.contains(&r.as_str())),
        "the server's sessions ran on {got:?}, expected one of {revisions:?}"
    );
    // The driver's side: what results.json says it spoke, agreeing with the server.
    let spoke = &results["protocols"][0];
    assert_eq!(spoke["target"], "gateway", "{spoke}");
    assert_eq!(spoke["probed"], protocol == "auto", "{spoke}");
    assert!(
        got.iter().all(|r| spoke["revision"] == r.as_str()),
        "results.json says {spoke}, the server {got:?}"
    );
    eprintln!(
        "{} with protocol: {protocol}: {ok} of {count} calls ok, sessions on {got:?}",
        server.what()
    );
    results
}

// ---- a revision named by the scenario ----

#[test]
fn python_sdk_streamable_http_2025_11_25() {
    let _heavy = heavy();
    let server = python_server("streamable-http");
    drive(&server, server.url(), "2025-11-25", &["2025-11-25"]);
}

#[test]
fn python_sdk_streamable_http_2025_03_26() {
    let _heavy = heavy();
    let server = python_server("streamable-http");
    drive(&server, server.url(), "2025-03-26", &["2025-03-26"]);
}

#[test]
fn python_sdk_sse_2024_11_05() {
    let _heavy = heavy();
    let server = python_server("sse");
    assert!(server.url().ends_with("/sse"), "{}", server.url());
    drive(&server, server.url(), "2024-11-05", &["2024-11-05"]);
}

#[test]
fn ts_sdk_streamable_http_2025_11_25() {
    let _heavy = heavy();
    let server = ts_server();
    drive(&server, server.url(), "2025-11-25", &["2025-11-25"]);
}

/// No peer server may outlive the test: each exits once its stdin closes, even with a client's
/// stream open.
#[test]
fn peer_servers_exit_when_stdin_closes() {
    let _heavy = heavy();
    for mut server in [
        python_server("streamable-http"),
        python_server("sse"),
        ts_server(),
    ] {
        // A client connection held open (over SSE: the session's stream).
        let addr = server
            .url()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host:port")
            .to_string();
        let path = &server.url()[server.url().find(&addr).expect("addr") + addr.len()..];
        let mut conn = std::net::TcpStream::connect(&addr).expect("connect to the peer server");
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .expect("send a GET");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut first = [0u8; 12];
        conn.read_exact(&mut first).expect("the server answers");
        assert!(first.starts_with(b"HTTP/1.1 "), "{first:?}");
        server.close_stdin();
        let status = server.wait_timeout(Duration::from_secs(10));
        assert!(
            status.is_some(),
            "{} still runs 10 s after its stdin closed",
            server.what()
        );
    }
}

// ---- protocol: auto ----

#[test]
fn auto_python_sdk_streamable_http() {
    let _heavy = heavy();
    let server = python_server("streamable-http");
    drive(&server, server.url(), "auto", SESSION_ERA);
}

#[test]
fn auto_python_sdk_sse() {
    let _heavy = heavy();
    let server = python_server("sse");
    assert!(server.url().ends_with("/sse"), "{}", server.url());
    drive(&server, server.url(), "auto", &["2024-11-05"]);
}

#[test]
fn auto_ts_sdk_streamable_http() {
    let _heavy = heavy();
    let server = ts_server();
    drive(&server, server.url(), "auto", SESSION_ERA);
}
