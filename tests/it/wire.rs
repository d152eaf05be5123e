//! Streamable HTTP (session era) at the wire: session rules, bad input, streams, behaviour.

use crate::inproc::{ACCEPT, is_sse, sse_messages, start, start_seeded};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

const CONFORMANCE: &str = "mock-servers/conformance.yaml";
const BEHAVE: &str = "tests/fixtures/behaviour.yaml";

fn error_code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

#[tokio::test]
async fn session_rules() {
    let s = start(CONFORMANCE).await;
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    assert_eq!(s.post(None, ping).await.status(), 400, "no session id");
    assert_eq!(s.post(Some("nope"), ping).await.status(), 404, "unknown id");
    let sid = s.init().await;
    assert_eq!(s.rpc(&sid, 1, "ping", json!({})).await["result"], json!({}));
    let bad_version = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "1999-01-01")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_version.status(), 400);
    let del = |id: String| s.http.delete(&s.url).header("mcp-session-id", id).send();
    assert_eq!(del(sid.clone()).await.unwrap().status(), 200);
    assert_eq!(s.post(Some(&sid), ping).await.status(), 404, "after DELETE");
    assert_eq!(del(sid.clone()).await.unwrap().status(), 404);
    assert_eq!(s.mock.sessions.len(), 0);
}

#[tokio::test]
async fn bad_input_gets_the_specs_answer() {
    let s = start(BEHAVE).await;
    let sid = s.init().await;
    let r = s.post(Some(&sid), "{not json").await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(&r.json().await.unwrap()), -32700);
    for not_a_request in [
        "42",
        "[]",
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"id":1}"#,
    ] {
        let r = s.post(Some(&sid), not_a_request).await;
        assert_eq!(r.status(), 400, "{not_a_request}");
        assert_eq!(
            error_code(&r.json().await.unwrap()),
            -32600,
            "{not_a_request}"
        );
    }
    assert_eq!(
        error_code(&s.rpc(&sid, 2, "tools/frobnicate", json!({})).await),
        -32601
    );
    let unknown_tool = s.rpc(&sid, 3, "tools/call", json!({"name": "nope"})).await;
    assert_eq!(error_code(&unknown_tool), -32602);
    let missing_arg = s.rpc(&sid, 4, "tools/call", json!({"name": "echo"})).await;
    assert_eq!(error_code(&missing_arg), -32602);
    let wrong_type = s
        .rpc(
            &sid,
            5,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": 1}}),
        )
        .await;
    assert_eq!(error_code(&wrong_type), -32602);
    let bad_cursor = s.rpc(&sid, 6, "tools/list", json!({"cursor": "zzz"})).await;
    assert_eq!(error_code(&bad_cursor), -32602);
    let big = vec![b' '; 5 * 1024 * 1024];
    assert_eq!(s.post(Some(&sid), big).await.status(), 413);
    let form = s
        .http
        .post(&s.url)
        .header("content-type", "text/plain")
        .header("mcp-session-id", &sid)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let evil = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("origin", "http://evil.example.com")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    // The server still answers after all of that.
    assert_eq!(s.rpc(&sid, 7, "ping", json!({})).await["result"], json!({}));
}

#[tokio::test]
async fn notifications_and_responses_get_202() {
    let s = start(CONFORMANCE).await;
    let sid = s.init().await;
    let n = s
        .post(
            Some(&sid),
            r#"{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}"#,
        )
        .await;
    assert_eq!(n.status(), 202);
    let resp = s
        .post(Some(&sid), r#"{"jsonrpc":"2.0","id":"x","result":{}}"#)
        .await;
    assert_eq!(resp.status(), 202);
}

#[tokio::test]
async fn tools_results_echo_arguments_and_report_service_time() {
    let s = start(BEHAVE).await;
    let sid = s.init().await;
    let args = json!({"text": "olá", "n": 3});
    let params = json!({"name": "echo", "arguments": args,
        "_meta": {"dev.gauntlet/call-id": 17, "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
    let r = s.rpc(&sid, 1, "tools/call", params).await;
    let result = &r["result"];
    assert_eq!(result["content"][0]["text"], "olá");
    assert_eq!(result["structuredContent"], json!({"text": "olá", "n": 3}));
    assert_eq!(result["isError"], false);
    assert!(result["_meta"]["dev.gauntlet/service-us"].is_u64());
    let snap = s.mock.ledger().snapshot();
    assert_eq!(snap.tools["echo"].calls, 1);
    assert_eq!(snap.tools["echo"].ok, 1);
    assert_eq!(snap.call_ids.distinct, 1);
    assert_eq!(snap.with_traceparent, 1);
    assert_eq!(snap.methods["initialize"], 1);
}

#[tokio::test]
async fn error_mixes_keep_transport_rpc_and_tool_errors_apart() {
    let s = start(BEHAVE).await;
    let sid = s.init().await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "unavailable"}});
    let r = s.post(Some(&sid), body.to_string()).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    let rpc = s
        .rpc(&sid, 2, "tools/call", json!({"name": "broken"}))
        .await;
    assert_eq!(error_code(&rpc), -32000);
    assert_eq!(rpc["error"]["message"], "upstream down");
    let tool = s
        .rpc(&sid, 3, "tools/call", json!({"name": "failing"}))
        .await;
    assert_eq!(tool["result"]["isError"], true);
    assert_eq!(tool["result"]["content"][0]["text"], "quota exceeded");
    let snap = s.mock.ledger().snapshot();
    assert_eq!(snap.tools["unavailable"].http_error, 1);
    assert_eq!(snap.tools["broken"].rpc_error, 1);
    assert_eq!(snap.tools["failing"].tool_error, 1);
}

/// Which of call ids 0..200 fail on a fresh server with `seed`.
async fn failing_ids(seed: u64, reverse: bool) -> Vec<u64> {
    let s = start_seeded(BEHAVE, seed).await;
    let sid = s.init().await;
    let mut ids: Vec<u64> = (0..200).collect();
    if reverse {
        ids.reverse();
    }
    let mut failed = Vec::new();
    for id in ids {
        let p = json!({"name": "coin", "_meta": {"dev.gauntlet/call-id": id}});
        if s.rpc(&sid, id, "tools/call", p)
            .await
            .get("error")
            .is_some()
        {
            failed.push(id);
        }
    }
    failed.sort();
    failed
}

#[tokio::test]
async fn error_decisions_are_a_pure_function_of_seed_and_call_id() {
    let a = failing_ids(7, false).await;
    let b = failing_ids(7, true).await;
    assert_eq!(a, b, "same seed, other order: same failures");
    assert!(
        (60..=140).contains(&a.len()),
        "about half fail: {}",
        a.len()
    );
    let c = failing_ids(8, false).await;
    assert_ne!(a, c, "another seed, other failures");
}

#[tokio::test]
async fn lists_paginate_with_opaque_cursors() {
    let s = start(BEHAVE).await;
    let sid = s.init().await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 1..20 {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let r = s.rpc(&sid, id, "tools/list", params).await;
        let tools = r["result"]["tools"].as_array().unwrap();
        assert!(tools.len() <= 2);
        names.extend(
            tools
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        match r["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
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
}

#[tokio::test]
async fn progress_and_logs_stream_before_the_response() {
    let s = start(CONFORMANCE).await;
    let sid = s.init().await;
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": "p"}}});
    let r = s.post(Some(&sid), body.to_string()).await;
    assert!(is_sse(&r));
    let text = r.text().await.unwrap();
    assert!(text.starts_with("id: "), "priming event first: {text}");
    let msgs = sse_messages(&text);
    let progress: Vec<u64> = msgs
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_u64().unwrap())
        .collect();
    assert!(progress.len() >= 3 && progress.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(msgs.last().unwrap()["id"], 9, "the response comes last");
}

#[tokio::test]
async fn set_level_filters_log_notifications() {
    let s = start(BEHAVE).await;
    let sid = s.init().await;
    let stream_logs = |text: String| -> Vec<String> {
        sse_messages(&text)
            .iter()
            .filter(|m| m["method"] == "notifications/message")
            .map(|m| m["params"]["level"].as_str().unwrap().to_string())
            .collect()
    };
    let call =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "chatty"}});
    let all = s
        .post(Some(&sid), call.to_string())
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(stream_logs(all), ["info", "error"]);
    let set = s
        .rpc(&sid, 2, "logging/setLevel", json!({"level": "warning"}))
        .await;
    assert_eq!(set["result"], json!({}));
    let some = s
        .post(Some(&sid), call.to_string())
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(stream_logs(some), ["error"]);
    let bad = s
        .rpc(&sid, 3, "logging/setLevel", json!({"level": "loud"}))
        .await;
    assert_eq!(error_code(&bad), -32602);
}

#[tokio::test]
async fn get_stream_carries_list_changed() {
    let s = start(CONFORMANCE).await;
    let sid = s.init().await;
    let r = s
        .http
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(is_sse(&r));
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("notifications/tools/list_changed") {
        s.mock.tools_changed();
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("list_changed within 10 s")
            .expect("stream open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let no_session = s
        .http
        .get(&s.url)
        .header("accept", "text/event-stream")
        .send()
        .await;
    // Without a session GET is a 2026-07-28 request, and that revision has no GET.
    assert_eq!(no_session.unwrap().status(), 405);
}

#[tokio::test]
async fn cancelled_calls_stop_and_are_counted() {
    let s = start(BEHAVE).await;
    let sid = s.init().await;
    let started = tokio::time::Instant::now();
    let call = {
        let body =
            json!({"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "slow"}});
        s.post(Some(&sid), body.to_string())
    };
    let cancel = async {
        // Cancel once the call is in flight (the ledger has counted it).
        while s.mock.ledger().snapshot().tools["slow"].calls == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let n = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                       "params": {"requestId": 41, "reason": "test"}});
        s.post(Some(&sid), n.to_string()).await
    };
    let (r, n) = tokio::join!(call, cancel);
    assert_eq!(n.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert_eq!(error_code(&v), -32800);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not the full 10 s"
    );
    assert_eq!(s.mock.ledger().snapshot().tools["slow"].cancelled, 1);
}

#[tokio::test]
async fn resources_prompts_and_completion() {
    let s = start(CONFORMANCE).await;
    let sid = s.init().await;
    let r = s
        .rpc(
            &sid,
            1,
            "resources/read",
            json!({"uri": "test://template/123/data"}),
        )
        .await;
    let c = &r["result"]["contents"][0];
    assert_eq!(c["uri"], "test://template/123/data");
    assert!(c["text"].as_str().unwrap().contains("123"));
    let missing = s
        .rpc(&sid, 2, "resources/read", json!({"uri": "test://nope"}))
        .await;
    assert_eq!(error_code(&missing), -32002);
    let p = s
        .rpc(
            &sid,
            3,
            "prompts/get",
            json!({"name": "test_prompt_with_arguments",
            "arguments": {"arg1": "alpha", "arg2": "beta"}}),
        )
        .await;
    let text = p["result"]["messages"].to_string();
    assert!(text.contains("alpha") && text.contains("beta"), "{text}");
    let no_args = s
        .rpc(
            &sid,
            4,
            "prompts/get",
            json!({"name": "test_prompt_with_arguments"}),
        )
        .await;
    assert_eq!(error_code(&no_args), -32602);
    let done = s
        .rpc(
            &sid,
            5,
            "completion/complete",
            json!({
            "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
            "argument": {"name": "arg1", "value": ""}}),
        )
        .await;
    assert!(done["result"]["completion"]["values"].is_array());
    let tl = s.rpc(&sid, 6, "resources/templates/list", json!({})).await;
    assert!(
        !tl["result"]["resourceTemplates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn legacy_sse_sessions_live_as_long_as_their_stream() {
    let s = start(CONFORMANCE).await;
    let base = s.url.trim_end_matches("/mcp").to_string();
    let r = s.http.get(format!("{base}/sse")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(is_sse(&r));
    let mut body = r.bytes_stream();
    let first = String::from_utf8(body.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.starts_with("event: endpoint\n"), "{first}");
    let endpoint = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap()
        .to_string();
    let post = |body: &'static str| {
        s.http
            .post(format!("{base}{endpoint}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}"#;
    assert_eq!(post(init).await.unwrap().status(), 202);
    let mut seen = String::new();
    while !seen.contains(r#""id":1"#) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("the answer arrives on the stream")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: message") && seen.contains(r#""protocolVersion":"2024-11-05""#));
    assert_eq!(s.mock.sessions.len(), 1);
    let missing = s
        .http
        .post(format!("{base}/messages"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let unknown = s
        .http
        .post(format!("{base}/messages?session_id=nope"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    drop(body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !s.mock.sessions.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session outlived its stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
