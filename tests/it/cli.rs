//! `gauntlet mock` as a user runs it: stdio, flags, bad input, signals, files it writes.

use crate::common::{MockProc, gauntlet_bin, repo_root, run_with_timeout};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mock_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(gauntlet_bin());
    c.current_dir(repo_root()).arg("mock").args(args);
    c
}

#[test]
fn stdio_serves_newline_delimited_json_and_exits_when_stdin_closes() {
    let mut child = mock_cmd(&["--stdio", "mock-servers/conformance.yaml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}})
        .to_string(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"test_simple_text"}}"#
            .into(),
        "{this is not json".into(),
        r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#.into(),
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":5}}}"#.into(),
    ];
    for l in &lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let started = Instant::now();
    let out = BufReader::new(child.stdout.take().unwrap());
    let msgs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("stdout holds only JSON-RPC lines"))
        .collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let by_id = |id: Value| msgs.iter().find(|m| m.get("id") == Some(&id)).cloned();
    assert_eq!(
        by_id(json!(1)).unwrap()["result"]["protocolVersion"],
        "2025-06-18"
    );
    assert_eq!(
        by_id(json!(2)).unwrap()["result"]["content"][0]["text"],
        "This is a simple text response for testing."
    );
    assert_eq!(by_id(Value::Null).unwrap()["error"]["code"], -32700);
    assert_eq!(by_id(json!(3)).unwrap()["error"]["code"], -32601);
    let progress = msgs
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .count();
    assert!(progress >= 3, "{msgs:?}");
    assert!(by_id(json!(4)).is_some());
}

#[test]
fn a_broken_catalogue_names_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "name: bad\nversion: '1'\ntools:\n  - name: t\n    inputSchema: { type: object }\n    reslt: {}\n",
    )
    .unwrap();
    let out = run_with_timeout(
        mock_cmd(&[path.to_str().unwrap()]).stdin(Stdio::null()),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    let want = format!("{}:6:5:", path.display());
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    assert!(out.stderr.contains("reslt"), "{}", out.stderr);
}

#[test]
fn flags_are_checked() {
    let cases: [&[&str]; 3] = [
        &["mock-servers/echo.yaml", "--listen", "0.0.0.0:0"],
        &["mock-servers/echo.yaml", "--listen", "not-an-address"],
        &[
            "--stdio",
            "mock-servers/echo.yaml",
            "mock-servers/fraud.yaml",
        ],
    ];
    for args in cases {
        let out = run_with_timeout(mock_cmd(args).stdin(Stdio::null()), Duration::from_secs(20));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn a_port_in_use_exits_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_with_timeout(
        mock_cmd(&["mock-servers/echo.yaml", "--listen", &addr]).stdin(Stdio::null()),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
}

#[test]
fn serves_many_catalogues_writes_their_config_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcp.json");
    let ledger = dir.path().join("ledger.jsonl");
    let mut mock = MockProc::spawn(
        &["mock-servers/echo.yaml", "mock-servers/fraud.yaml"],
        &[
            "--write-config",
            config.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
        ],
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    for (name, url) in mock.urls() {
        assert_eq!(doc["mcpServers"][name]["url"], url.as_str());
        assert!(url.starts_with("http://127.0.0.1:"));
    }
    assert_eq!(mock.urls().len(), 2);
    // One request to the echo server, through a real socket.
    let url = mock.url("echo").to_string();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
    let out = run_with_timeout(
        Command::new("curl").args([
            "-s",
            "-X",
            "POST",
            &url,
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ]),
        Duration::from_secs(20),
    );
    assert!(out.stdout.contains("protocolVersion"), "{}", out.stdout);
    // SAFETY: sending SIGINT to our own child process.
    unsafe { libc::kill(mock.pid() as i32, libc::SIGINT) };
    let status = mock.wait_timeout(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    assert!(
        mock.stderr().contains("echo: 1 requests"),
        "{}",
        mock.stderr()
    );
    let lines = std::fs::read_to_string(&ledger).unwrap();
    let entry: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(entry["server"], "echo");
    assert_eq!(entry["method"], "initialize");
}
