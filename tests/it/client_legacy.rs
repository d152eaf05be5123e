//! The 2024-11-05 HTTP+SSE client (`gauntlet::mcp::client_legacy`) against the project's mock
//! started in-process (`GET /sse` on the same origin as `/mcp`).

use crate::inproc::{Srv, start};
use gauntlet::mcp::client::{CallMeta, HttpClient, list_tools};
use gauntlet::mcp::client_legacy::LegacySession;
use gauntlet::mcp::outcome::{Outcome, TransportError};
use gauntlet::mcp::protocol::Version;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const CONFORMANCE: &str = "mock-servers/conformance.yaml";
const BEHAVE: &str = "tests/fixtures/behaviour.yaml";
const T: Duration = Duration::from_secs(10);
const SEED: u64 = 42;

fn meta(call_id: u64) -> CallMeta {
    CallMeta::new(SEED, call_id)
}

fn tool(name: &str, args: Value) -> Value {
    json!({ "name": name, "arguments": args })
}

fn sse_url(srv: &Srv) -> String {
    let origin = srv
        .url
        .strip_suffix("/mcp")
        .expect("the mock is served at /mcp");
    format!("{origin}/sse")
}

async fn legacy(catalog: &str) -> (Srv, LegacySession) {
    let srv = start(catalog).await;
    let url = sse_url(&srv);
    let s = LegacySession::connect(&HttpClient::new(), &url, T)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    (srv, s)
}

#[tokio::test]
async fn handshake_and_outcomes() {
    let (srv, s) = legacy(CONFORMANCE).await;
    assert_eq!(s.version(), Version::V2024_11_05);
    assert_eq!(s.initialize_result()["serverInfo"]["name"], srv.mock.name());
    assert_eq!(s.endpoint().path(), "/messages");
    assert!(s.endpoint().query().unwrap().starts_with("session_id="));

    let r = s
        .call_with_result(
            "tools/call",
            tool("test_simple_text", json!({})),
            meta(1),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(
        r.result.expect("kept")["content"][0]["text"],
        "This is a simple text response for testing."
    );
    let r = s
        .call(
            "tools/call",
            tool("test_simple_text", json!({})),
            meta(2),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(r.result, None, "the result is kept only when asked for");

    let r = s
        .call(
            "tools/call",
            tool("test_error_handling", json!({})),
            meta(3),
            T,
        )
        .await;
    assert_eq!(r.outcome, Outcome::ToolError);

    let r = s
        .call("tools/call", tool("no_such_tool", json!({})), meta(4), T)
        .await;
    assert_eq!(r.outcome, Outcome::RpcError(-32602));

    let tools = list_tools(&s).await.expect("tools/list");
    assert!(tools.iter().any(|t| t["name"] == "test_simple_text"));
    assert_eq!(s.stray_responses(), 0);
    assert_eq!(s.malformed_events(), 0);
    s.close().await;
}

#[tokio::test]
async fn concurrent_calls_are_routed_by_id() {
    let (_srv, s) = legacy(BEHAVE).await;
    let s = Arc::new(s);
    let calls = (0..20u64).map(|i| {
        let s = s.clone();
        tokio::spawn(async move {
            let text = format!("call {i}");
            let r = s
                .call_with_result(
                    "tools/call",
                    tool("echo", json!({"text": text})),
                    meta(100 + i),
                    T,
                )
                .await;
            (text, r)
        })
    });
    for c in futures_util::future::join_all(calls).await {
        let (text, r) = c.expect("task");
        assert_eq!(r.outcome, Outcome::Ok, "{text}");
        assert_eq!(r.result.expect("kept")["content"][0]["text"], text.as_str());
    }
    assert_eq!(s.stray_responses(), 0);
}

#[tokio::test]
async fn the_same_id_twice_in_flight_is_a_client_error() {
    let (_srv, s) = legacy(BEHAVE).await;
    let slow = s.call(
        "tools/call",
        tool("slow", json!({})),
        meta(1),
        Duration::from_millis(500),
    );
    let again = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.call("tools/call", tool("echo", json!({"text": "x"})), meta(1), T)
            .await
    };
    let (a, b) = tokio::join!(slow, again);
    assert_eq!(a.outcome, Outcome::Timeout);
    assert_eq!(b.outcome, Outcome::ClientError);
}

#[tokio::test]
async fn a_dropped_server_fails_calls_with_a_transport_outcome() {
    let (srv, s) = legacy(BEHAVE).await;
    let in_flight = s.call("tools/call", tool("slow", json!({})), meta(1), T * 3);
    let drop_server = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(srv);
    };
    let (r, ()) = tokio::time::timeout(T, async { tokio::join!(in_flight, drop_server) })
        .await
        .expect("the call in flight must not hang");
    assert_eq!(r.outcome, Outcome::Transport(TransportError::Eof));
    assert!(s.is_closed());
    let r = tokio::time::timeout(
        T,
        s.call(
            "tools/call",
            tool("echo", json!({"text": "x"})),
            meta(2),
            T * 3,
        ),
    )
    .await
    .expect("a later call must not hang");
    assert!(matches!(r.outcome, Outcome::Transport(_)), "{r:?}");
}

#[tokio::test]
async fn connect_failures() {
    // Nothing listens: refused.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let e = LegacySession::connect(&HttpClient::new(), &format!("http://{addr}/sse"), T)
        .await
        .unwrap_err();
    assert_eq!(e.outcome, Outcome::Transport(TransportError::Refused));
    // Not the SSE path: the mock answers 404.
    let srv = start(CONFORMANCE).await;
    let origin = srv.url.strip_suffix("/mcp").unwrap();
    let e = LegacySession::connect(&HttpClient::new(), &format!("{origin}/nope"), T)
        .await
        .unwrap_err();
    assert!(matches!(e.outcome, Outcome::HttpError(_)), "{e}");
}
