//! Streamable HTTP, 2026-07-28 (stateless) at the wire: the same mock endpoint serves it beside
//! the session era, chosen by what the client sends.

use crate::inproc::{ACCEPT, Srv, is_sse, sse_messages, start};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

const CONFORMANCE: &str = "mock-servers/conformance.yaml";
const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

fn modern_body(id: u64, method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        VERSION_KEY: "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "wire-test", "version": "1"},
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// POSTs `body` with the given extra headers (and the usual Accept and Content-Type).
async fn post(s: &Srv, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let mut r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .body(body.to_string());
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.expect("send")
}

/// A well-formed 2026-07-28 request: headers mirroring the body.
async fn modern(s: &Srv, id: u64, method: &str, params: Value) -> (u16, Value) {
    let name = params
        .get("name")
        .or_else(|| params.get("uri"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(n) = &name {
        headers.push(("mcp-name", n.as_str()));
    }
    let r = post(s, &headers, &modern_body(id, method, params)).await;
    assert!(
        !r.headers().contains_key("mcp-session-id"),
        "2026-07-28 issues no session"
    );
    let status = r.status().as_u16();
    let sse = is_sse(&r);
    let text = r.text().await.expect("body");
    let v = if sse {
        sse_messages(&text)
            .into_iter()
            .find(|m| m.get("id") == Some(&json!(id)))
            .unwrap_or_else(|| panic!("no response on the stream: {text}"))
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, v)
}

fn error_code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

#[tokio::test]
async fn stateless_requests_need_no_initialize() {
    let s = start(CONFORMANCE).await;
    let (status, d) = modern(&s, 1, "server/discover", json!({})).await;
    assert_eq!(status, 200, "{d}");
    let versions = &d["result"]["supportedVersions"];
    assert!(
        versions
            .as_array()
            .is_some_and(|v| v.contains(&json!("2026-07-28")))
    );
    assert_eq!(d["result"]["resultType"], "complete");
    assert_eq!(
        d["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcp-conformance-test-server"
    );
    let (status, list) = modern(&s, 2, "tools/list", json!({})).await;
    assert_eq!(status, 200);
    assert!(
        list["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(list["result"]["resultType"], "complete");
    assert!(list["result"]["ttlMs"].is_u64() && list["result"]["cacheScope"].is_string());
    let (status, call) = modern(&s, 3, "tools/call", json!({"name": "test_simple_text"})).await;
    assert_eq!(status, 200);
    assert_eq!(call["result"]["resultType"], "complete");
    assert!(call["result"]["content"].is_array(), "{call}");
    let (_, read) = modern(
        &s,
        4,
        "resources/read",
        json!({"uri": "test://static-text"}),
    )
    .await;
    assert!(read["result"]["contents"].is_array(), "{read}");
    let (_, missing) = modern(&s, 5, "resources/read", json!({"uri": "test://nothing"})).await;
    assert_eq!(
        error_code(&missing),
        -32602,
        "resource not found in 2026-07-28"
    );
    assert_eq!(s.mock.sessions.len(), 0, "no session was created");
}

#[tokio::test]
async fn headers_must_match_the_body() {
    let s = start(CONFORMANCE).await;
    let call = modern_body(1, "tools/call", json!({"name": "test_simple_text"}));
    let cases: [&[(&str, &str)]; 5] = [
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "something_else"),
        ],
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
            ("mcp-name", "test_simple_text"),
        ],
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
        ],
        &[
            ("mcp-method", "tools/call"),
            ("mcp-name", "test_simple_text"),
        ],
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-name", "test_simple_text"),
        ],
    ];
    for (i, headers) in cases.iter().enumerate() {
        let r = post(&s, headers, &call).await;
        assert_eq!(r.status(), 400, "case {i}");
        let v: Value = r.json().await.expect("a JSON-RPC error");
        assert_eq!(error_code(&v), -32020, "case {i}: {v}");
        assert_eq!(v["id"], 1);
    }
    // Base64-encoded names are decoded before the comparison.
    let r = post(
        &s,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?dGVzdF9zaW1wbGVfdGV4dA==?="),
        ],
        &call,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.mock.ledger().snapshot().requests,
        1,
        "only the good one was served"
    );
}

#[tokio::test]
async fn other_methods_and_versions_are_refused_with_modern_errors() {
    let s = start(CONFORMANCE).await;
    for m in ["ping", "logging/setLevel", "no/such/method"] {
        let (status, v) = modern(&s, 1, m, json!({})).await;
        assert_eq!(status, 404, "{m}");
        assert_eq!(error_code(&v), -32601, "{m}");
    }
    let mut old = modern_body(2, "tools/list", json!({}));
    old["params"]["_meta"][VERSION_KEY] = json!("2099-01-01");
    let r = post(
        &s,
        &[
            ("mcp-protocol-version", "2099-01-01"),
            ("mcp-method", "tools/list"),
        ],
        &old,
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("JSON");
    assert_eq!(error_code(&v), -32022);
    assert!(v["error"]["data"]["supported"].is_array());
    let mut bare = modern_body(3, "tools/list", json!({}));
    bare["params"]["_meta"]
        .as_object_mut()
        .expect("meta")
        .remove("io.modelcontextprotocol/clientCapabilities");
    let r = post(
        &s,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ],
        &bare,
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("JSON");
    assert_eq!(error_code(&v), -32602);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let r = s
            .http
            .request(method.clone(), &s.url)
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 405, "{method}");
    }
}

#[tokio::test]
async fn both_eras_on_one_endpoint() {
    let s = start(CONFORMANCE).await;
    let sid = s.init().await;
    let (status, _) = modern(&s, 1, "tools/list", json!({})).await;
    assert_eq!(status, 200);
    let session = s.rpc(&sid, 2, "ping", json!({})).await;
    assert_eq!(session["result"], json!({}));
    assert!(
        session["result"].get("resultType").is_none(),
        "session era unchanged"
    );
}

#[tokio::test]
async fn list_changes_arrive_on_a_listen_stream() {
    let s = start(CONFORMANCE).await;
    let body = modern_body(
        42,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}}),
    );
    let r = post(
        &s,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "subscriptions/listen"),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(is_sse(&r));
    let mut stream = r.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("notifications/tools/list_changed") {
        s.mock.tools_changed();
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("list_changed within 10 s")
            .expect("stream open")
            .expect("chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let msgs = sse_messages(&seen);
    assert_eq!(
        msgs[0]["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        msgs[0]["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    let changed = msgs
        .iter()
        .find(|m| m["method"] == "notifications/tools/list_changed")
        .expect("list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        42
    );
    assert!(!seen.contains("\nid:"), "2026-07-28 events carry no ids");
}
