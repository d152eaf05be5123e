//! Property tests: arbitrary bytes and arbitrary JSON thrown at a mock's handler, over HTTP and
//! over stdio. Every input gets the spec's answer (or none, for notifications), never a panic,
//! and the server keeps serving. Case counts are bounded so this stays quick in CI.

use crate::inproc::{Srv, start};
use gauntlet::mcp::protocol::Version;
use gauntlet::mcp::session::Session;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "logging/setLevel",
    "completion/complete",
    "notifications/cancelled",
    "notifications/initialized",
    "x/y",
];
const CODES: &[i64] = &[-32700, -32600, -32601, -32602, -32002, -32800, -32603];

struct Shared {
    rt: tokio::runtime::Runtime,
    srv: Srv,
    sid: String,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (srv, sid) = rt.block_on(async {
            let srv = start("mock-servers/conformance.yaml").await;
            let sid = srv.init().await;
            (srv, sid)
        });
        Shared { rt, srv, sid }
    })
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        prop::sample::select(METHODS).prop_map(|m| json!(m)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("jsonrpc".to_string()),
                    Just("id".to_string()),
                    Just("method".to_string()),
                    Just("params".to_string()),
                    Just("name".to_string()),
                    Just("arguments".to_string()),
                    Just("uri".to_string()),
                    Just("_meta".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A message that is well-formed JSON-RPC around arbitrary params, so that the methods'
/// own argument handling is reached.
fn arb_request() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(METHODS),
        arb_json(),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(|(method, params, id, with_id)| {
            let mut m = json!({"jsonrpc": "2.0", "method": method, "params": params});
            if with_id {
                m["id"] = json!(id);
            }
            m
        })
}

/// Checks one HTTP answer; panics (fails the property) when it is not the spec's answer.
fn check_http(status: u16, body: &str, sent: &Value) {
    assert!(
        matches!(status, 200 | 202 | 400 | 404 | 413),
        "status {status} for {sent}"
    );
    if body.is_empty() {
        assert_eq!(status, 202, "{sent}");
        return;
    }
    let v: Value = serde_json::from_str(body)
        .ok()
        .or_else(|| crate::inproc::sse_messages(body).pop())
        .unwrap_or_else(|| panic!("unreadable answer {body:?} to {sent}"));
    for m in v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]) {
        if let Some(code) = m.pointer("/error/code").and_then(Value::as_i64) {
            assert!(
                CODES.contains(&code) || code < -32000,
                "code {code} for {sent}"
            );
        } else {
            assert!(
                m.get("result").is_some(),
                "neither result nor error: {m} for {sent}"
            );
        }
    }
}

fn post(body: Vec<u8>, sent: &Value) {
    let s = shared();
    s.rt.block_on(async {
        let r = s.srv.post(Some(&s.sid), body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        check_http(status, &text, sent);
    });
}

fn still_serving() {
    let s = shared();
    s.rt.block_on(async {
        let r = s.srv.rpc(&s.sid, 424242, "ping", json!({})).await;
        assert_eq!(r["result"], json!({}));
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_over_http(body in prop::collection::vec(any::<u8>(), 0..300)) {
        post(body, &json!("<bytes>"));
    }

    #[test]
    fn arbitrary_json_over_http(v in arb_json()) {
        post(v.to_string().into_bytes(), &v);
    }

    #[test]
    fn arbitrary_requests_over_http(v in arb_request()) {
        post(v.to_string().into_bytes(), &v);
    }
}

#[test]
fn http_server_survives_the_properties() {
    still_serving();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, failure_persistence: None, .. ProptestConfig::default() })]

    /// Many lines on one stdio stream: one answer per request with an id, nothing else on
    /// stdout but JSON-RPC messages, and the stream ends when input does.
    #[test]
    fn arbitrary_lines_over_stdio(reqs in prop::collection::vec(arb_request(), 1..20),
                                  junk in prop::collection::vec(".{0,40}", 0..5)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(stdio_case(reqs, junk));
    }
}

async fn stdio_case(reqs: Vec<Value>, junk: Vec<String>) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-servers/conformance.yaml");
    let catalog = gauntlet::catalog::Catalog::load(&path).unwrap();
    let mock = gauntlet::mock::Mock::new(catalog, 0);
    let (client, server) = tokio::io::duplex(1 << 16);
    let (server_r, server_w) = tokio::io::split(server);
    let session = Session::new(None, Version::LATEST_SESSION);
    let serve = tokio::spawn(gauntlet::mcp::stdio::serve(
        mock.server.clone(),
        session,
        server_r,
        server_w,
        CancellationToken::new(),
    ));
    let (client_r, mut client_w) = tokio::io::split(client);
    let mut input = String::new();
    for r in &reqs {
        input.push_str(&r.to_string());
        input.push('\n');
    }
    for j in &junk {
        input.push_str(&j.replace('\n', " "));
        input.push('\n');
    }
    let writer = tokio::spawn(async move {
        client_w.write_all(input.as_bytes()).await.unwrap();
        client_w.shutdown().await.unwrap();
    });
    let mut lines = BufReader::new(client_r).lines();
    let mut answered = 0;
    while let Some(line) =
        tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("stdio answers in time")
            .unwrap()
    {
        let v: Value = serde_json::from_str(&line).expect("only JSON on stdout");
        if v.get("id").is_some() {
            answered += 1;
        }
    }
    writer.await.unwrap();
    serve.await.unwrap().unwrap();
    let with_id = reqs.iter().filter(|r| r.get("id").is_some()).count();
    assert!(
        answered >= with_id,
        "{answered} answers for {with_id} requests"
    );
}
