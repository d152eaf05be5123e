//! The client side of the wire layer (`gauntlet::mcp::client`, `client_stdio`) against real
//! servers on 127.0.0.1:0: the project's mock for the answers a server means to give, and raw
//! servers written here for the ones it does not (refused, reset, EOF, silence, bad bodies).
//! Each test asserts the exact outcome.

use crate::inproc::{Srv, start};
use gauntlet::mcp::client::{
    CallMeta, CallResult, HttpClient, HttpSession, MAX_ANSWER, list_tools, traceparent,
};
use gauntlet::mcp::client_stdio::{StderrTo, StdioCommand, StdioSession};
use gauntlet::mcp::outcome::{Outcome, ProtocolError, TransportError};
use gauntlet::mcp::protocol::Version;
use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const BEHAVE: &str = "tests/fixtures/behaviour.yaml";
const CONFORMANCE: &str = "mock-servers/conformance.yaml";
const T: Duration = Duration::from_secs(10);
const SEED: u64 = 42;

fn meta(call_id: u64) -> CallMeta {
    CallMeta::new(SEED, call_id)
}

fn tool(name: &str, args: Value) -> Value {
    json!({ "name": name, "arguments": args })
}

async fn session(url: &str) -> HttpSession {
    HttpSession::connect(
        &HttpClient::new(),
        url,
        Version::V2025_11_25,
        HeaderMap::new(),
        T,
    )
    .await
    .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

async fn mock_session(catalog: &str) -> (Srv, HttpSession) {
    let srv = start(catalog).await;
    let s = session(&srv.url).await;
    (srv, s)
}

// ---------------------------------------------------------------------------------------------
// Against the mock

#[tokio::test]
async fn ok_with_the_service_time_and_the_result_on_request() {
    let (srv, s) = mock_session(BEHAVE).await;
    assert_eq!(s.version(), Version::V2025_11_25);
    assert!(s.session_id().is_some());
    assert_eq!(s.initialize_result()["serverInfo"]["name"], srv.mock.name());

    let r = s
        .call(
            "tools/call",
            tool("echo", json!({"text": "hi"})),
            meta(1),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(r.service_us.is_some(), "{r:?}");
    assert_eq!(r.result, None, "the result is kept only when asked for");

    let r = s
        .call_with_result(
            "tools/call",
            tool("echo", json!({"text": "yo"})),
            meta(2),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(r.result.expect("kept")["content"][0]["text"], "yo");
}

#[tokio::test]
async fn tool_error() {
    let (_srv, s) = mock_session(BEHAVE).await;
    let r = s
        .call("tools/call", tool("failing", json!({})), meta(1), T)
        .await;
    assert_eq!(r.outcome, Outcome::ToolError);
}

#[tokio::test]
async fn rpc_error() {
    let (_srv, s) = mock_session(BEHAVE).await;
    let r = s
        .call("tools/call", tool("broken", json!({})), meta(1), T)
        .await;
    assert_eq!(r.outcome, Outcome::RpcError(-32000));
    let r = s.call("tools/frobnicate", json!({}), meta(2), T).await;
    assert_eq!(r.outcome, Outcome::RpcError(-32601));
}

#[tokio::test]
async fn http_503() {
    let (_srv, s) = mock_session(BEHAVE).await;
    let r = s
        .call("tools/call", tool("unavailable", json!({})), meta(1), T)
        .await;
    assert_eq!(r.outcome, Outcome::HttpError(503));
    assert!(!s.needs_reinit(), "only a 404 loses the session");
    // The connection is still usable.
    let r = s
        .call("tools/call", tool("echo", json!({"text": "x"})), meta(2), T)
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
}

#[tokio::test]
async fn session_404_needs_reinit_and_reinit_works() {
    let (srv, s) = mock_session(BEHAVE).await;
    let old = s.session_id();
    srv.mock.sessions.clear();
    let r = s
        .call("tools/call", tool("echo", json!({"text": "x"})), meta(1), T)
        .await;
    assert_eq!(r.outcome, Outcome::HttpError(404));
    assert!(s.needs_reinit());
    // Not retried: the next call still goes to the lost session.
    let r = s
        .call("tools/call", tool("echo", json!({"text": "x"})), meta(2), T)
        .await;
    assert_eq!(r.outcome, Outcome::HttpError(404));

    assert_eq!(s.reinit().await, Ok(true));
    assert!(!s.needs_reinit());
    assert_ne!(s.session_id(), old);
    assert_eq!(srv.mock.sessions.len(), 1);
    let r = s
        .call("tools/call", tool("echo", json!({"text": "x"})), meta(3), T)
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
}

#[tokio::test]
async fn sse_answers_skip_notifications() {
    let (srv, s) = mock_session(BEHAVE).await;
    // Logs make the mock answer on an SSE stream (with a priming event, 2025-11-25).
    let r = s
        .call("tools/call", tool("chatty", json!({})), meta(1), T)
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(r.service_us.is_some());
    // A progress token of the caller's own stays in `_meta` beside the call's identity.
    let params =
        json!({"name": "echo", "arguments": {"text": "p"}, "_meta": {"progressToken": "tok"}});
    let r = s.call_with_result("tools/call", params, meta(2), T).await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(r.result.unwrap()["content"][0]["text"], "p");
    let tools = srv.mock.ledger().snapshot().tools;
    assert_eq!((tools["chatty"].ok, tools["echo"].ok), (1, 1));
}

#[tokio::test]
async fn call_identity_reaches_the_ledger() {
    let (srv, s) = mock_session(BEHAVE).await;
    srv.mock.ledger().set_issued(0..100);
    for id in 1..=3 {
        let r = s
            .call(
                "tools/call",
                tool("echo", json!({"text": "x"})),
                meta(id),
                T,
            )
            .await;
        assert_eq!(r.outcome, Outcome::Ok);
    }
    let snap = srv.mock.ledger().snapshot();
    assert_eq!(snap.call_ids.distinct, 3, "{snap:?}");
    assert_eq!(snap.call_ids.missing, 0);
    assert_eq!(snap.with_traceparent, 3);
}

#[tokio::test]
async fn list_tools_follows_the_cursor_and_close_deletes() {
    let (srv, s) = mock_session(BEHAVE).await;
    let tools = list_tools(&s).await.expect("tools/list");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "echo",
            "slow",
            "unavailable",
            "broken",
            "failing",
            "coin",
            "chatty"
        ]
    );
    assert_eq!(srv.mock.sessions.len(), 1);
    s.close().await.expect("DELETE");
    assert_eq!(srv.mock.sessions.len(), 0);
    let r = s.request("ping", json!({}), T).await;
    assert_eq!(r.outcome, Outcome::HttpError(404));
}

#[tokio::test]
async fn many_calls_share_a_session_concurrently() {
    let (_srv, s) = mock_session(BEHAVE).await;
    let s = Arc::new(s);
    let calls = (1..=64u64).map(|id| {
        let s = s.clone();
        tokio::spawn(async move {
            s.call(
                "tools/call",
                tool("echo", json!({"text": "c"})),
                meta(id),
                T,
            )
            .await
        })
    });
    for c in futures_util::future::join_all(calls).await {
        assert_eq!(c.expect("task").outcome, Outcome::Ok);
    }
}

#[tokio::test]
async fn extra_headers_are_sent() {
    let raw = raw_server(Mode::Answer).await;
    let mut h = HeaderMap::new();
    h.insert("authorization", HeaderValue::from_static("Bearer t"));
    let s = HttpSession::connect(&HttpClient::new(), &raw.url, Version::V2025_06_18, h, T)
        .await
        .expect("connect");
    assert_eq!(s.version(), Version::V2025_06_18);
    let r = s.call("tools/call", tool("x", json!({})), meta(7), T).await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(r.service_us, Some(1234));
    let seen = raw.seen();
    assert_eq!(seen.len(), 3, "initialize, initialized, the call");
    for req in seen.iter() {
        assert_eq!(req.header("authorization"), Some("Bearer t"));
        assert_eq!(
            req.header("accept"),
            Some("application/json, text/event-stream")
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
    }
    assert_eq!(seen[0].header("mcp-session-id"), None);
    let init = &seen[0].body;
    assert_eq!(init["method"], "initialize");
    assert_eq!(init["params"]["protocolVersion"], "2025-06-18");
    assert_eq!(init["params"]["capabilities"], json!({}));
    assert_eq!(init["params"]["clientInfo"]["name"], "gauntlet");
    assert_eq!(seen[1].body["method"], "notifications/initialized");
    assert_eq!(seen[1].header("mcp-session-id"), Some("raw-session"));
    assert_eq!(seen[1].header("mcp-protocol-version"), Some("2025-06-18"));

    let call = &seen[2];
    let tp = traceparent(SEED, 7);
    assert_eq!(call.header("mcp-session-id"), Some("raw-session"));
    assert_eq!(call.header("mcp-protocol-version"), Some("2025-06-18"));
    assert_eq!(call.header("x-gauntlet-call-id"), Some("7"));
    assert_eq!(call.header("traceparent"), Some(tp.as_str()));
    assert_eq!(call.body["id"], 7);
    assert_eq!(call.body["params"]["_meta"]["dev.gauntlet/call-id"], 7);
    assert_eq!(call.body["params"]["_meta"]["traceparent"], tp.as_str());
}

// ---------------------------------------------------------------------------------------------
// Against raw servers

#[tokio::test]
async fn connections_are_reused() {
    for mode in [Mode::Answer, Mode::SseOk] {
        let raw = raw_server(mode).await;
        let s = session(&raw.url).await;
        for id in 1..=50 {
            let r = s
                .call("tools/call", tool("x", json!({})), meta(id), T)
                .await;
            assert_ne!(r.outcome, Outcome::Timeout);
        }
        if mode == Mode::Answer {
            assert_eq!(raw.seen().len(), 52);
        }
        let n = raw.accepted.load(std::sync::atomic::Ordering::Relaxed);
        assert!(n <= 3, "{mode:?}: {n} connections for 52 requests");
    }
}

#[tokio::test]
async fn refused_on_connect() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/mcp");
    let e = HttpSession::connect(
        &HttpClient::new(),
        &url,
        Version::V2025_11_25,
        HeaderMap::new(),
        T,
    )
    .await
    .expect_err("nothing listens");
    assert_eq!(e.outcome, Outcome::Transport(TransportError::Refused));
}

#[tokio::test]
async fn a_local_bind_failure_is_a_client_error() {
    let srv = start(BEHAVE).await;
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: binding to it fails with
    // EADDRNOTAVAIL before anything is sent.
    let client = HttpClient::with_options(8, Some("192.0.2.1".parse().unwrap()));
    let e = HttpSession::connect(&client, &srv.url, Version::V2025_11_25, HeaderMap::new(), T)
        .await
        .expect_err("cannot bind");
    assert_eq!(e.outcome, Outcome::ClientError, "{e}");
}

#[tokio::test]
async fn refused_on_a_call() {
    let mut raw = raw_server(Mode::GoAway).await;
    let s = session(&raw.url).await;
    raw.gone.take().unwrap().await.expect("listener closed");
    let r = s.call("tools/call", tool("x", json!({})), meta(1), T).await;
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Refused));
}

async fn raw_call(mode: Mode, timeout: Duration) -> CallResult {
    let raw = raw_server(mode).await;
    let s = session(&raw.url).await;
    s.call("tools/call", tool("x", json!({})), meta(5), timeout)
        .await
}

#[tokio::test]
async fn reset() {
    let r = raw_call(Mode::Reset, T).await;
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Reset));
}

#[tokio::test]
async fn eof() {
    let r = raw_call(Mode::Eof, T).await;
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Eof));
}

#[tokio::test]
async fn eof_in_the_body() {
    let r = raw_call(Mode::ShortBody, T).await;
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Eof));
}

#[tokio::test]
async fn timeout() {
    let started = std::time::Instant::now();
    let r = raw_call(Mode::Blackhole, Duration::from_millis(300)).await;
    assert_eq!(r.outcome, Outcome::Timeout);
    assert!(started.elapsed() < T, "the timeout bounds the call");
}

#[tokio::test]
async fn malformed_json() {
    let r = raw_call(Mode::BadJson, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::MalformedJson));
}

#[tokio::test]
async fn not_a_response() {
    let r = raw_call(Mode::NotResponse, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::MalformedJson));
}

#[tokio::test]
async fn wrong_id() {
    let r = raw_call(Mode::WrongId, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::WrongId));
}

#[tokio::test]
async fn wrong_id_on_a_stream() {
    let r = raw_call(Mode::SseWrongId, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::WrongId));
}

#[tokio::test]
async fn sse_with_crlf_comments_and_notifications() {
    let r = raw_call(Mode::SseOk, T).await;
    assert_eq!(r.outcome, Outcome::ToolError);
    assert_eq!(r.service_us, Some(99));
}

#[tokio::test]
async fn sse_that_ends_before_the_response() {
    let r = raw_call(Mode::SseEnds, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::BadSse));
}

#[tokio::test]
async fn sse_cut_mid_event() {
    let r = raw_call(Mode::SseCut, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::BadSse));
}

#[tokio::test]
async fn unexpected_content_type_or_status() {
    let r = raw_call(Mode::Html, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::Unexpected));
    let r = raw_call(Mode::Accepted, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::Unexpected));
    let r = raw_call(Mode::NotHttp, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::Unexpected));
}

#[tokio::test]
async fn an_answer_over_the_limit() {
    let r = raw_call(Mode::Huge, T).await;
    assert_eq!(r.outcome, Outcome::Protocol(ProtocolError::Unexpected));
}

// ---------------------------------------------------------------------------------------------
// stdio

fn mock_stdio(catalog: &str) -> StdioCommand {
    let mut cmd = StdioCommand::new([env!("CARGO_BIN_EXE_gauntlet"), "mock", "--stdio", catalog]);
    cmd.cwd = Some(env!("CARGO_MANIFEST_DIR").into());
    cmd
}

#[tokio::test]
async fn stdio_calls_a_mock() {
    let s = StdioSession::spawn(&mock_stdio(CONFORMANCE), Version::V2025_11_25, T)
        .await
        .expect("spawn and initialize");
    assert_eq!(s.version(), Version::V2025_11_25);
    assert!(s.pid().is_some());
    let r = s
        .call_with_result(
            "tools/call",
            tool("test_simple_text", json!({})),
            meta(1),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(r.service_us.is_some());
    assert_eq!(
        r.result.unwrap()["content"][0]["text"],
        "This is a simple text response for testing."
    );
    let r = s
        .call(
            "tools/call",
            tool("test_error_handling", json!({})),
            meta(2),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::ToolError);
    let r = s.call("tools/nope", json!({}), meta(3), T).await;
    assert_eq!(r.outcome, Outcome::RpcError(-32601));
    let tools = list_tools(&s).await.expect("tools/list");
    assert!(tools.iter().any(|t| t["name"] == "test_simple_text"));
    assert_eq!(s.malformed_lines(), 0);
    assert_eq!(s.stray_responses(), 0);
    let status = s.close(T).await.expect("exit status");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn stdio_concurrent_calls_are_routed_by_id() {
    let s = Arc::new(
        StdioSession::spawn(&mock_stdio(BEHAVE), Version::V2025_11_25, T)
            .await
            .expect("spawn"),
    );
    let calls = (1..=32u64).map(|id| {
        let s = s.clone();
        tokio::spawn(async move {
            let text = format!("n{id}");
            let r = s
                .call_with_result(
                    "tools/call",
                    tool("echo", json!({"text": text})),
                    meta(id),
                    T,
                )
                .await;
            (text, r)
        })
    });
    for c in futures_util::future::join_all(calls).await {
        let (text, r) = c.expect("task");
        assert_eq!(r.outcome, Outcome::Ok);
        assert_eq!(r.result.unwrap()["content"][0]["text"], text.as_str());
    }
}

#[tokio::test]
async fn stdio_child_exit_is_eof_for_calls_in_flight_and_later() {
    let s = StdioSession::spawn(&mock_stdio(BEHAVE), Version::V2025_11_25, T)
        .await
        .expect("spawn");
    let pid = s.pid().expect("pid") as i32;
    let slow = s.call("tools/call", tool("slow", json!({})), meta(1), T);
    let kill = async {
        // The call is written before the kill: the writer task sends lines in order and the
        // ping below is answered only after the slow call's line was read.
        let r = s.request("ping", json!({}), T).await;
        assert_eq!(r.outcome, Outcome::Ok);
        // SAFETY: signalling the child this test spawned.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    };
    let (r, ()) = tokio::join!(slow, kill);
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Eof));
    let r = s
        .call("tools/call", tool("echo", json!({"text": "x"})), meta(2), T)
        .await;
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Eof));
}

#[tokio::test]
async fn stdio_bad_lines_are_counted_and_fail_nothing() {
    // A "server" that prints two lines that are not JSON-RPC messages, then reads its input
    // and answers nothing (its stdout stays open).
    let script = "echo 'not json'; echo '[1]'; while read -r line; do :; done";
    let mut cmd = StdioCommand::new(["sh", "-c", script]);
    cmd.stderr = StderrTo::Null;
    let s = StdioSession::start(&cmd).expect("start");
    let r = s
        .request("ping", json!({}), Duration::from_millis(300))
        .await;
    assert_eq!(r.outcome, Outcome::Timeout);
    let deadline = tokio::time::Instant::now() + T;
    while s.malformed_lines() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(s.malformed_lines(), 2);
}

#[tokio::test]
async fn stdio_command_that_cannot_start_is_a_client_error() {
    let cmd = StdioCommand::new(["/nonexistent/gauntlet-server"]);
    let e = StdioSession::spawn(&cmd, Version::V2025_11_25, T)
        .await
        .expect_err("no such program");
    assert_eq!(e.outcome, Outcome::ClientError);
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 server: answers initialize and notifications like a server, then misbehaves
// on every other request as `Mode` says.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// A good JSON answer with a service time.
    Answer,
    /// Every answer closes its connection; after the handshake the listener goes away.
    GoAway,
    /// RST after reading the request.
    Reset,
    /// Close after reading the request, before answering.
    Eof,
    /// A Content-Length longer than the body, then close.
    ShortBody,
    /// Read the request, never answer.
    Blackhole,
    BadJson,
    /// A notification where the response should be.
    NotResponse,
    WrongId,
    SseWrongId,
    /// Priming, a comment, a notification, then the response (a tool error), with CRLF.
    SseOk,
    /// Priming and a notification, then the stream ends properly.
    SseEnds,
    /// Priming and half an event, then the connection closes mid-chunk stream.
    SseCut,
    /// 200 text/html.
    Html,
    /// 202 to a request.
    Accepted,
    /// Bytes that are not HTTP.
    NotHttp,
    /// A JSON body over the client's limit.
    Huge,
}

struct Seen {
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Raw {
    url: String,
    /// Connections accepted.
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Fires once the listener is gone (GoAway).
    gone: Option<oneshot::Receiver<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Raw {
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().unwrap()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn raw_server(mode: Mode) -> Raw {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (gone_tx, gone_rx) = oneshot::channel();
    let (handshake_done_tx, mut handshake_done) = tokio::sync::mpsc::channel::<()>(1);
    let seen2 = seen.clone();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let accepted2 = accepted.clone();
    let task = tokio::spawn(async move {
        // Connections live as long as this task (aborted with the Raw).
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                a = listener.accept() => {
                    let (stream, _) = a.unwrap();
                    accepted2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    conns.spawn(connection(stream, mode, seen2.clone(), handshake_done_tx.clone()));
                }
                _ = handshake_done.recv() => break,
            }
        }
        // GoAway: close the listener, then tell the test.
        drop(listener);
        let _ = gone_tx.send(());
        std::future::pending::<()>().await;
    });
    Raw {
        url,
        accepted,
        seen,
        gone: Some(gone_rx),
        task,
    }
}

/// Reads one request: header lines (names lower-cased) and a Content-Length body.
async fn read_request(s: &mut TcpStream) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

fn response(status: &str, extra: &str, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n{extra}");
    if let Some(ct) = content_type {
        out.push_str(&format!("content-type: {ct}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn chunk(data: &str) -> Vec<u8> {
    format!("{:x}\r\n{data}\r\n", data.len()).into_bytes()
}

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

async fn connection(
    mut s: TcpStream,
    mode: Mode,
    seen: Arc<Mutex<Vec<Seen>>>,
    handshake_done: tokio::sync::mpsc::Sender<()>,
) {
    let close = if mode == Mode::GoAway {
        "connection: close\r\n"
    } else {
        ""
    };
    loop {
        let Some((headers, body)) = read_request(&mut s).await else {
            return;
        };
        let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        seen.lock().unwrap().push(Seen {
            headers,
            body: msg.clone(),
        });
        let id = msg["id"].as_u64().unwrap_or(0);
        let method = msg["method"].as_str().unwrap_or("");
        if method == "initialize" {
            let version = msg["params"]["protocolVersion"].clone();
            let answer = json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": version, "capabilities": {},
                "serverInfo": {"name": "raw", "version": "0"}}});
            let extra = format!("{close}mcp-session-id: raw-session\r\n");
            let bytes = response(
                "200 OK",
                &extra,
                Some("application/json"),
                answer.to_string().as_bytes(),
            );
            s.write_all(&bytes).await.unwrap();
        } else if method.starts_with("notifications/") {
            s.write_all(&response("202 Accepted", close, None, b""))
                .await
                .unwrap();
            if mode == Mode::GoAway {
                let _ = handshake_done.send(()).await;
            }
        } else if matches!(mode, Mode::Answer | Mode::SseOk) {
            s.write_all(&good_answer(mode, id)).await.unwrap();
            continue;
        } else {
            misbehave(s, mode, id).await;
            return;
        }
        if mode == Mode::GoAway {
            return;
        }
    }
}

/// The priming event, a comment and a notification: how the SSE answers open.
fn sse_opening() -> Vec<u8> {
    let mut out = SSE_HEAD.to_vec();
    out.extend(chunk("id: 1-0\r\nretry: 500\r\ndata: \r\n\r\n"));
    out.extend(chunk(": keep-alive\r\n\r\n"));
    let note = json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "x"}});
    out.extend(chunk(&format!(
        "id: 1-1\r\nevent: message\r\ndata: {note}\r\n\r\n"
    )));
    out
}

/// The answers of the modes that keep their connection open.
fn good_answer(mode: Mode, id: u64) -> Vec<u8> {
    if mode == Mode::SseOk {
        let mut out = sse_opening();
        let v = json!({"jsonrpc": "2.0", "id": id, "result": {"content": [],
            "isError": true, "_meta": {"dev.gauntlet/service-us": 99}}});
        // The response split over two chunks, in the middle of its data line.
        let event = format!("id: 1-2\r\ndata: {v}\r\n\r\n");
        let (a, b) = event.split_at(event.len() / 2);
        out.extend(chunk(a));
        out.extend(chunk(b));
        out.extend(b"0\r\n\r\n");
        return out;
    }
    let v = json!({"jsonrpc": "2.0", "id": id, "result": {"content": [],
        "_meta": {"dev.gauntlet/service-us": 1234}}});
    response(
        "200 OK",
        "",
        Some("application/json"),
        v.to_string().as_bytes(),
    )
}

async fn misbehave(mut s: TcpStream, mode: Mode, id: u64) {
    let json_answer = |v: Value| {
        response(
            "200 OK",
            "",
            Some("application/json"),
            v.to_string().as_bytes(),
        )
    };
    match mode {
        Mode::Answer | Mode::GoAway | Mode::SseOk => {
            s.write_all(&good_answer(mode, id)).await.unwrap();
        }
        Mode::Reset => {
            // SO_LINGER 0: closing sends RST.
            s.set_zero_linger().unwrap();
            return;
        }
        Mode::Eof => return,
        Mode::ShortBody => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\":";
            s.write_all(head.as_bytes()).await.unwrap();
            s.shutdown().await.unwrap();
        }
        Mode::Blackhole => {
            std::future::pending::<()>().await;
        }
        Mode::BadJson => {
            let bytes = response("200 OK", "", Some("application/json"), b"{not json");
            s.write_all(&bytes).await.unwrap();
        }
        Mode::NotResponse => {
            let v = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {}});
            s.write_all(&json_answer(v)).await.unwrap();
        }
        Mode::WrongId => {
            let v = json!({"jsonrpc": "2.0", "id": id + 1, "result": {}});
            s.write_all(&json_answer(v)).await.unwrap();
        }
        Mode::SseWrongId => {
            let mut out = sse_opening();
            let v = json!({"jsonrpc": "2.0", "id": id + 1, "result": {}});
            out.extend(chunk(&format!("id: 1-2\r\ndata: {v}\r\n\r\n")));
            out.extend(b"0\r\n\r\n");
            s.write_all(&out).await.unwrap();
        }
        Mode::SseEnds => {
            let mut out = sse_opening();
            out.extend(b"0\r\n\r\n");
            s.write_all(&out).await.unwrap();
        }
        Mode::SseCut => {
            let mut out = sse_opening();
            out.extend(chunk(&format!(
                "id: 1-2\r\ndata: {{\"jsonrpc\":\"2.0\",\"id\":{id},"
            )));
            s.write_all(&out).await.unwrap();
            s.shutdown().await.unwrap();
        }
        Mode::Html => {
            let bytes = response("200 OK", "", Some("text/html"), b"<html></html>");
            s.write_all(&bytes).await.unwrap();
        }
        Mode::Accepted => {
            s.write_all(&response("202 Accepted", "", None, b""))
                .await
                .unwrap();
        }
        Mode::NotHttp => {
            s.write_all(b"SSH-2.0-OpenSSH\r\n\r\n").await.unwrap();
            s.shutdown().await.unwrap();
        }
        Mode::Huge => {
            let len = MAX_ANSWER + 1024;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
            );
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < len {
                let n = block.len().min(len - sent);
                if s.write_all(&block[..n]).await.is_err() {
                    return;
                }
                sent += n;
            }
        }
    }
    // Keep the connection open until the client goes away (a closing server would turn the
    // outcomes above into EOFs).
    let mut sink = [0u8; 1024];
    while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
}

// ---------------------------------------------------------------------------------------------
// 2026-07-28: how a stateless session opens, what each request carries, and how the era's
// answers are classified.

/// A raw 2026-07-28 server: `server/discover` answered, then each tools/call answered with the
/// next of `answers` (status, body with `{id}` replaced by the request id).
async fn modern_raw(answers: Vec<(&'static str, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut answers = answers.into_iter();
        while let Some((headers, body)) = read_request(&mut s).await {
            let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let id = msg["id"].as_u64().unwrap_or(0);
            let method = msg["method"].as_str().unwrap_or("").to_string();
            seen2.lock().unwrap().push(Seen { headers, body: msg });
            let (status, text) = if method == "server/discover" {
                (
                    "200 OK",
                    r#"{"jsonrpc":"2.0","id":{id},"result":{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{}}}}"#,
                )
            } else {
                answers
                    .next()
                    .unwrap_or(("500 Internal Server Error", "done"))
            };
            let body = text.replace("{id}", &id.to_string());
            let ct = body.starts_with('{').then_some("application/json");
            s.write_all(&response(status, "", ct, body.as_bytes()))
                .await
                .unwrap();
        }
    });
    (url, seen)
}

#[tokio::test]
async fn modern_session_requests_and_error_classes() {
    let answers = vec![
        (
            "200 OK",
            r#"{"jsonrpc":"2.0","id":{id},"result":{"resultType":"complete","content":[]}}"#,
        ),
        (
            "400 Bad Request",
            r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32020,"message":"m"}}"#,
        ),
        (
            "400 Bad Request",
            r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32021,"message":"m"}}"#,
        ),
        (
            "400 Bad Request",
            r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32022,"message":"m"}}"#,
        ),
        (
            "404 Not Found",
            r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32601,"message":"m"}}"#,
        ),
        ("400 Bad Request", "not json"),
        (
            "200 OK",
            r#"{"jsonrpc":"2.0","id":{id},"result":{"resultType":"input_required","inputRequests":{}}}"#,
        ),
    ];
    let (url, seen) = modern_raw(answers).await;
    let s = HttpSession::connect(
        &HttpClient::new(),
        &url,
        Version::V2026_07_28,
        HeaderMap::new(),
        T,
    )
    .await
    .unwrap_or_else(|e| panic!("connect: {e}"));
    assert_eq!(s.version(), Version::V2026_07_28);
    assert_eq!(s.session_id(), None);
    let mut outcomes = Vec::new();
    for i in 1..=7 {
        let r = s
            .call("tools/call", tool("héllo wörld", json!({})), meta(i), T)
            .await;
        outcomes.push(r.outcome);
    }
    assert_eq!(
        outcomes,
        [
            Outcome::Ok,
            Outcome::RpcError(-32020),
            Outcome::RpcError(-32021),
            Outcome::RpcError(-32022),
            Outcome::RpcError(-32601),
            Outcome::HttpError(400),
            Outcome::Protocol(ProtocolError::Unexpected),
        ]
    );
    assert!(
        !s.needs_reinit(),
        "a 404 in 2026-07-28 is not a lost session"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].body["method"], "server/discover");
    let call = &seen[1];
    assert_eq!(call.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(call.header("mcp-method"), Some("tools/call"));
    let name = call.header("mcp-name").expect("Mcp-Name");
    assert_eq!(
        gauntlet::mcp::modern::decode_header_value(name).as_deref(),
        Some("héllo wörld")
    );
    assert_eq!(call.header("mcp-session-id"), None);
    let m = &call.body["params"]["_meta"];
    assert_eq!(m["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
    assert!(m["io.modelcontextprotocol/clientCapabilities"].is_object());
    assert_eq!(m["dev.gauntlet/call-id"], 1);
}
