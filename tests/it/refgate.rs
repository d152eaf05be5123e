//! The reference gateway (`gauntlet gateway`): clients of every kind through it to backends of
//! every transport, lazy loading (processes counted), the cache against the backend's ledger,
//! the circuit breaker, session loss, trace propagation, idle eviction, list changes, status.

use crate::common::{Output, run_with_timeout, runtime};
use crate::common::{catalogue, gauntlet_bin, heavy, peer_program, python_mcp1, repo_root};
use gauntlet::catalog::Catalog;
use gauntlet::gateway::builtin::server_entry;
use gauntlet::mcp::client::{CallMeta, CallResult, HttpClient, HttpSession, list_tools};
use gauntlet::mcp::client_legacy::LegacySession;
use gauntlet::mcp::outcome::Outcome;
use gauntlet::mcp::protocol::Version;
use gauntlet::mock::{Mock, serve_http};
use gauntlet::refgate::Gateway;
use gauntlet::refgate::config::Config;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const T: Duration = Duration::from_secs(10);

fn load(rel: &str) -> Catalog {
    Catalog::load(&catalogue(rel)).unwrap_or_else(|e| panic!("{e}"))
}

/// A mock served in-process on its own port; it can be stopped and served again on the same
/// port (an outage that refuses connections).
struct MockSrv {
    mock: Mock,
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl MockSrv {
    async fn start(rel: &str) -> MockSrv {
        let mock = Mock::new(load(rel), 0);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut s = MockSrv {
            mock,
            addr,
            stop: CancellationToken::new(),
            task: None,
        };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: TcpListener) {
        self.stop = CancellationToken::new();
        let (m, t) = (self.mock.clone(), self.stop.clone());
        self.task = Some(tokio::spawn(
            async move { serve_http(&m, listener, t).await },
        ));
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    fn sse(&self) -> String {
        format!("http://{}/sse", self.addr)
    }

    /// Stops serving; once this returns the port refuses connections.
    async fn down(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    async fn up(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("bind again");
        self.serve(listener);
    }
}

impl Drop for MockSrv {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The gateway in-process on a free port.
struct Gw {
    url: String,
    gw: Arc<Gateway>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

async fn gateway(config: Value) -> Gw {
    let config = Config::parse(&config.to_string()).unwrap_or_else(|e| panic!("config: {e}"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let gw = Gateway::start(config).await;
    let stop = CancellationToken::new();
    let task = tokio::spawn(gw.clone().serve(listener, stop.clone()));
    Gw {
        url,
        gw,
        stop,
        task: Some(task),
    }
}

impl Gw {
    async fn status(&self) -> Value {
        let url = self.url.replace("/mcp", "/status");
        let r = reqwest::get(&url).await.expect("GET /status");
        assert_eq!(r.status(), 200);
        r.json().await.expect("status JSON")
    }

    async fn server(&self, name: &str) -> Value {
        let s = self.status().await;
        s["servers"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no server {name} in {s:#}"))
    }

    async fn close(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(T, t).await;
        }
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn session(url: &str) -> HttpSession {
    let client = HttpClient::new();
    HttpSession::connect(
        &client,
        url,
        Version::LATEST_SESSION,
        http::HeaderMap::new(),
        T,
    )
    .await
    .expect("a session with the gateway")
}

async fn call(s: &HttpSession, tool: &str, args: Value, id: u64) -> CallResult {
    let params = json!({"name": tool, "arguments": args});
    s.call_with_result("tools/call", params, CallMeta::new(7, id), T)
        .await
}

fn stdio_entry(rel: &str) -> Value {
    json!({"command": gauntlet_bin(), "args": ["mock", "--stdio", catalogue(rel)],
           "transport": "stdio"})
}

fn text_of(r: &CallResult) -> String {
    r.result
        .as_ref()
        .and_then(|v| v["content"][0]["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauntlets_client_reaches_http_sse_and_stdio_backends() {
    let sales = MockSrv::start("mock-servers/sales.yaml").await;
    let billing = MockSrv::start("mock-servers/billing.yaml").await;
    let fraud = load("mock-servers/fraud.yaml");
    let g = gateway(json!({
        "mcpServers": {
            "sales": {"url": sales.url(), "transport": "http"},
            "billing": {"url": billing.sse(), "transport": "sse"},
            "fraud": stdio_entry("mock-servers/fraud.yaml"),
        },
        "gauntlet": {"settings": {"page_size": 4},
                     "servers": {"fraud": server_entry(&fraud)}},
    }))
    .await;
    let s = session(&g.url).await;
    let tools = list_tools(&s).await.expect("tools/list");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for want in [
        "sales__get_order",
        "billing__tax_rate",
        "fraud__explain",
        "fraud__score",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let expected = 3 + fraud.tools.len() + load("mock-servers/billing.yaml").tools.len();
    assert!(names.len() >= expected, "every page was read: {names:?}");
    assert_eq!(names.len(), g.gw.directory().tools.len());
    assert_eq!(g.server("fraud").await["state"], "not_started", "lazy");

    let calls = [
        (
            "sales__get_order",
            json!({"order_id": "ORD-1"}),
            "order ORD-1",
        ),
        (
            "billing__tax_rate",
            json!({"country": "BR", "category": "food"}),
            "tax rate for food",
        ),
        (
            "fraud__explain",
            json!({"order_id": "ORD-2"}),
            "order ORD-2: low risk",
        ),
    ];
    for (i, (tool, args, text)) in calls.into_iter().enumerate() {
        let r = call(&s, tool, args, 100 + i as u64).await;
        assert_eq!(r.outcome, Outcome::Ok, "{tool}: {r:?}");
        assert!(text_of(&r).starts_with(text), "{tool}: {r:?}");
        assert!(
            r.service_us.is_some(),
            "{tool}: the backend's _meta came back: {r:?}"
        );
    }
    // The other eras: a 2026-07-28 client on /mcp, a 2024-11-05 client on /sse.
    let modern = HttpSession::connect(
        &HttpClient::new(),
        &g.url,
        Version::V2026_07_28,
        http::HeaderMap::new(),
        T,
    )
    .await
    .expect("a 2026-07-28 client");
    let r = call(
        &modern,
        "sales__get_order",
        json!({"order_id": "ORD-7"}),
        150,
    )
    .await;
    assert_eq!(r.outcome, Outcome::Ok, "2026-07-28: {r:?}");
    assert!(text_of(&r).starts_with("order ORD-7"), "{r:?}");
    let sse = g.url.replace("/mcp", "/sse");
    let legacy = LegacySession::connect(&HttpClient::new(), &sse, T)
        .await
        .expect("a 2024-11-05 client");
    let params = json!({"name": "fraud__explain", "arguments": {"order_id": "ORD-8"}});
    let r = legacy
        .call_with_result("tools/call", params, CallMeta::new(7, 151), T)
        .await;
    assert_eq!(r.outcome, Outcome::Ok, "2024-11-05: {r:?}");
    assert!(text_of(&r).starts_with("order ORD-8"), "{r:?}");
    let r = call(&s, "nope__x", json!({}), 200).await;
    assert_eq!(r.outcome, Outcome::RpcError(-32602), "unknown tool");
    let st = g.status().await;
    for srv in st["servers"].as_array().expect("servers") {
        assert_eq!(srv["state"], "online", "{st:#}");
    }
    assert!(g.server("fraud").await["pid"].as_u64().is_some());
    for m in [&sales.mock, &billing.mock] {
        let l = m.ledger().snapshot();
        assert_eq!(
            l.call_ids.distinct,
            l.tools.values().map(|t| t.calls).sum::<u64>()
        );
        assert_eq!(l.with_traceparent, l.call_ids.distinct, "{l:?}");
    }
    g.close().await;
}

#[test]
fn python_sdk_lists_and_calls_through_the_gateway() {
    let _heavy = heavy();
    let rt = runtime();
    let (g, _sales, _billing) = rt.block_on(async {
        let sales = MockSrv::start("mock-servers/sales.yaml").await;
        let billing = MockSrv::start("mock-servers/billing.yaml").await;
        let translation = load("mock-servers/translation.yaml");
        let g = gateway(json!({
            "mcpServers": {
                "sales": {"url": sales.url(), "transport": "http"},
                "billing": {"url": billing.sse(), "transport": "sse"},
                "translation": stdio_entry("mock-servers/translation.yaml"),
            },
            "gauntlet": {"settings": {"page_size": 5},
                         "servers": {"translation": server_entry(&translation)}},
        }))
        .await;
        (g, sales, billing)
    });
    let python = |tool: &str, args: Value, extra: &[&str]| -> Value {
        let mut cmd = Command::new(python_mcp1());
        cmd.current_dir(repo_root())
            .arg(peer_program("python/client.py"))
            .args(["--timeout", "60", "--url", &g.url, "--tool", tool])
            .args(["--args", &args.to_string()])
            .args(extra);
        let out: Output = run_with_timeout(&mut cmd, Duration::from_secs(90));
        out.assert_success(&format!("python client calling {tool}"));
        out.json("python client")
    };
    let prompt_args = json!({"title": "Camiseta M", "locale": "pt-BR"}).to_string();
    let got = python(
        "sales__get_order",
        json!({"order_id": "ORD-9"}),
        &[
            "--resource",
            "translation://languages",
            "--prompt",
            "translation__localize_listing",
            "--prompt-args",
            &prompt_args,
        ],
    );
    assert_eq!(got["server"]["name"], "gauntlet-gateway", "{got:#}");
    let tools = got["tools"].as_array().expect("tools");
    for want in [
        "sales__get_order",
        "billing__tax_rate",
        "translation__translate",
    ] {
        assert!(tools.iter().any(|t| t == want), "{want} missing: {got:#}");
    }
    assert_eq!(got["call"]["isError"], false, "{got:#}");
    let text = got["call"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("order ORD-9"), "{got:#}");
    let res = got["resource"]["contents"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        res.contains("pt-BR"),
        "resources/read through the gateway: {got:#}"
    );
    let msg = got["prompt"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        msg.contains("Camiseta M"),
        "prompts/get through the gateway: {got:#}"
    );
    for (tool, args, text) in [
        (
            "billing__tax_rate",
            json!({"country": "BR", "category": "food"}),
            "tax rate for food",
        ),
        (
            "translation__translate",
            json!({"text": "oi", "to": "en"}),
            "[en] oi",
        ),
    ] {
        let got = python(tool, args, &[]);
        let t = got["call"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(t.starts_with(text), "{tool}: {got:#}");
    }
    rt.block_on(g.close());
}

/// A skewed key in 0..n: small keys come up far more often (zipf-like).
fn skewed(state: &mut u64, n: usize) -> usize {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let u = (*state >> 11) as f64 / (1u64 << 53) as f64;
    ((n as f64) * u.powi(3)) as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_hits_are_the_calls_that_never_reached_the_backend() {
    let tr = MockSrv::start("mock-servers/translation.yaml").await;
    let g = gateway(json!({
        "mcpServers": {"translation": {"url": tr.url(), "transport": "http"}},
        "gauntlet": {"servers": {"translation": server_entry(&load("mock-servers/translation.yaml"))}},
    }))
    .await;
    let s = Arc::new(session(&g.url).await);
    let (n, batch_every) = (600u64, 10u64);
    let mut rng = 42u64;
    let mut jobs = Vec::new();
    for id in 1..=n {
        let k = skewed(&mut rng, 200);
        let (tool, args) = if id % batch_every == 0 {
            (
                "translation__translate_batch",
                json!({"texts": [format!("t{}", k % 3)], "to": "en"}),
            )
        } else {
            (
                "translation__translate",
                json!({"text": format!("t{k}"), "to": "pt-BR"}),
            )
        };
        jobs.push((id, tool, args));
    }
    // Eight callers at a time, so that calls overlap as they do under load.
    let mut hits_seen = 0u64;
    let mut batch_hits = 0u64;
    for chunk in jobs.chunks(8) {
        let rs = futures_util::future::join_all(chunk.iter().map(|(id, tool, args)| {
            let s = s.clone();
            async move { (*tool, call(&s, tool, args.clone(), *id).await) }
        }))
        .await;
        for (tool, r) in rs {
            let hit = r
                .result
                .as_ref()
                .is_some_and(|v| v["_meta"]["dev.gauntlet/cache"] == "hit");
            hits_seen += u64::from(hit);
            if tool.ends_with("batch") {
                batch_hits += u64::from(hit);
            }
        }
    }
    let st = g.server("translation").await;
    let ledger = tr.mock.ledger().snapshot();
    let reached = ledger.call_ids.distinct;
    let hits = st["cache_hits"].as_u64().expect("cache_hits");
    assert_eq!(
        hits,
        n - reached,
        "hits in /status = calls whose id never reached the backend"
    );
    assert_eq!(hits, hits_seen, "every hit is marked in the result's _meta");
    assert!(hits > n / 2, "zipf arguments mostly repeat: {hits} of {n}");
    assert_eq!(batch_hits, 0, "translate_batch is not cacheable");
    assert_eq!(
        ledger.tools["translate_batch"].calls,
        n / batch_every,
        "every batch call reached the backend"
    );
    g.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_backend_session_is_initialized_again_unseen() {
    let echo = MockSrv::start("mock-servers/echo.yaml").await;
    let g = gateway(json!({"mcpServers": {"echo": {"url": echo.url()}}})).await;
    let s = session(&g.url).await;
    for id in 1..=5 {
        assert_eq!(
            call(&s, "echo__echo", json!({"text": "a"}), id)
                .await
                .outcome,
            Outcome::Ok
        );
    }
    echo.mock.sessions.clear();
    for id in 6..=30 {
        let r = call(&s, "echo__echo", json!({"text": "b"}), id).await;
        assert_eq!(
            r.outcome,
            Outcome::Ok,
            "call {id} after the session was lost: {r:?}"
        );
        assert_eq!(text_of(&r), "b");
    }
    let st = g.server("echo").await;
    assert_eq!(st["reinitializations"], 1, "{st:#}");
    assert_eq!(st["errors"], 0, "{st:#}");
    let l = echo.mock.ledger().snapshot();
    assert_eq!(l.call_ids.distinct, 30);
    assert_eq!(l.with_traceparent, 30, "traceparent on every call");
    g.close().await;
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

#[test]
fn the_breaker_fails_fast_isolates_and_closes() {
    let _heavy = heavy();
    runtime().block_on(async {
        let mut echo = MockSrv::start("mock-servers/echo.yaml").await;
        let other = MockSrv::start("mock-servers/echo.yaml").await;
        let g = gateway(json!({
            "mcpServers": {"a": {"url": echo.url()}, "b": {"url": other.url()}},
            "gauntlet": {"settings": {"breaker": {"failures": 3, "open_for": "300ms"},
                                      "call_timeout": "2s"}},
        }))
        .await;
        let s = session(&g.url).await;
        assert_eq!(
            call(&s, "a__echo", json!({"text": "x"}), 1).await.outcome,
            Outcome::Ok
        );
        echo.down().await;
        let mut id = 10;
        for _ in 0..3 {
            id += 1;
            let r = call(&s, "a__echo", json!({"text": "x"}), id).await;
            assert_eq!(r.outcome, Outcome::RpcError(-32603), "{r:?}");
        }
        let st = g.server("a").await;
        assert_eq!(
            (st["breaker"].as_str(), st["state"].as_str()),
            (Some("open"), Some("offline")),
            "{st:#}"
        );
        assert_eq!(st["error"], "Connection refused", "{st:#}");
        let (mut failed, mut others) = (Vec::new(), 0);
        for _ in 0..200 {
            id += 1;
            let t = Instant::now();
            let r = call(&s, "a__echo", json!({"text": "x"}), id).await;
            failed.push(t.elapsed());
            assert_eq!(r.outcome, Outcome::RpcError(-32603), "{r:?}");
            let r = call(&s, "b__echo", json!({"text": "y"}), 100_000 + id).await;
            assert_eq!(
                r.outcome,
                Outcome::Ok,
                "the other server is unaffected: {r:?}"
            );
            others += 1;
        }
        let p = p99(failed);
        assert!(
            p < Duration::from_millis(50),
            "failures while open: p99 {p:?}"
        );
        assert_eq!(others, 200);
        let st = g.server("a").await;
        assert!(
            st["rejected"].as_u64().unwrap_or(0) > 100,
            "failed fast by the breaker: {st:#}"
        );
        echo.up().await;
        let back = Instant::now();
        let ok = loop {
            id += 1;
            let r = call(&s, "a__echo", json!({"text": "z"}), id).await;
            if r.outcome == Outcome::Ok || back.elapsed() > Duration::from_secs(5) {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(ok.outcome, Outcome::Ok, "calls succeed after the outage");
        let st = g.server("a").await;
        assert_eq!(
            (st["breaker"].as_str(), st["state"].as_str()),
            (Some("closed"), Some("online")),
            "{st:#}"
        );
        assert!(
            st["reinitializations"].as_u64().unwrap_or(0) >= 1,
            "the restarted server forgot the session: {st:#}"
        );
        g.close().await;
    });
}

/// A session on a gateway spoken to with plain HTTP requests.
struct Raw {
    http: reqwest::Client,
    url: String,
    sid: String,
}

impl Raw {
    async fn initialize(url: &str) -> Raw {
        let mut raw = Raw {
            http: reqwest::Client::new(),
            url: url.to_string(),
            sid: String::new(),
        };
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}});
        let r = raw.post(init).await;
        raw.sid = r.headers()["mcp-session-id"]
            .to_str()
            .expect("a session id")
            .to_string();
        raw
    }

    fn post(&self, body: Value) -> impl Future<Output = reqwest::Response> + use<> {
        let mut r = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.to_string());
        if !self.sid.is_empty() {
            r = r.header("mcp-session-id", &self.sid);
        }
        async move { r.send().await.expect("an answer") }
    }
}

/// A caller that asks for progress gets the server's progress, before the result, on an SSE
/// answer (Streamable HTTP, legacy SSE and stdio servers; the caller's token kept), and its
/// log messages from a Streamable HTTP server; one that does not ask gets plain JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_logs_are_relayed_to_the_caller() {
    let conf = MockSrv::start("mock-servers/conformance.yaml").await;
    let g = gateway(json!({"mcpServers": {
        "conf": {"url": conf.url()},
        "legacy": {"url": conf.sse()},
        "stdio": stdio_entry("mock-servers/conformance.yaml"),
    }}))
    .await;
    let raw = Raw::initialize(&g.url).await;
    let call = |id: u64, tool: &str, meta: Value| {
        raw.post(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                        "params": {"name": tool, "arguments": {}, "_meta": meta}}))
    };
    for (id, server) in [(2, "conf"), (20, "legacy"), (21, "stdio")] {
        let tool = format!("{server}__test_tool_with_progress");
        let token = json!(format!("tok-{server}"));
        let r = call(id, &tool, json!({"progressToken": token})).await;
        assert!(crate::inproc::is_sse(&r), "{server}: {:?}", r.headers());
        let msgs = crate::inproc::sse_messages(&r.text().await.expect("a body"));
        let progress: Vec<&Value> = msgs
            .iter()
            .filter(|m| m["method"] == "notifications/progress")
            .collect();
        assert!(progress.len() >= 3, "{server}: {msgs:?}");
        assert!(
            progress
                .iter()
                .all(|m| m["params"]["progressToken"] == token),
            "{server}: {msgs:?}"
        );
        let last = msgs.last().expect("messages");
        assert_eq!(last["id"], id, "{server}: the result comes last: {msgs:?}");
        assert!(last["result"]["content"].is_array(), "{server}: {msgs:?}");
    }
    let r = raw
        .post(
            json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
                     "params": {"level": "debug"}}),
        )
        .await;
    assert!(r.status().is_success());
    let r = call(
        4,
        "conf__test_tool_with_logging",
        json!({"progressToken": 7}),
    )
    .await;
    let msgs = crate::inproc::sse_messages(&r.text().await.expect("a body"));
    let logs = msgs
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .count();
    assert!(logs >= 3, "{msgs:?}");
    let r = call(5, "conf__test_tool_with_progress", json!({})).await;
    assert!(
        !crate::inproc::is_sse(&r),
        "no progress asked for: plain JSON"
    );
    let v: Value = r.json().await.expect("JSON");
    assert!(v["result"]["content"].is_array(), "{v}");
    g.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_error_names_the_server() {
    let mut echo = MockSrv::start("mock-servers/echo.yaml").await;
    let behave = MockSrv::start("tests/fixtures/behaviour.yaml").await;
    let g = gateway(json!({"mcpServers": {"billing": {"url": echo.url()},
                                          "behave": {"url": behave.url()}}}))
    .await;
    echo.down().await;
    let raw = Raw::initialize(&g.url).await;
    let call = |name: &str| {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                          "params": {"name": name, "arguments": {"text": "x"}}});
        let answer = raw.post(body);
        async move {
            let v: Value = answer.await.json().await.expect("JSON");
            v
        }
    };
    let v = call("behave__broken").await;
    assert_eq!(
        v["error"],
        json!({"code": -32000, "message": "server `behave` answered with error -32000: upstream down",
               "data": {"server": "behave", "reason": "server_error"}}),
        "the server's own error, its code and message kept"
    );
    let v = call("billing__echo").await;
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert_eq!(v["error"]["data"]["server"], "billing", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("`billing`"),
        "{v}"
    );
    g.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_servers_are_stopped_and_started_again() {
    let echo = load("mock-servers/echo.yaml");
    let g = gateway(json!({
        "mcpServers": {"echo": stdio_entry("mock-servers/echo.yaml")},
        "gauntlet": {"settings": {"idle_timeout": "300ms"}, "servers": {"echo": server_entry(&echo)}},
    }))
    .await;
    let s = session(&g.url).await;
    assert_eq!(
        call(&s, "echo__echo", json!({"text": "a"}), 1)
            .await
            .outcome,
        Outcome::Ok
    );
    let st = g.server("echo").await;
    let pid = st["pid"].as_u64().expect("a running child");
    let until = Instant::now() + T;
    let st = loop {
        let st = g.server("echo").await;
        if st["state"] == "not_started" || Instant::now() > until {
            break st;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (st["state"].as_str(), st["evictions"].as_u64()),
        (Some("not_started"), Some(1)),
        "{st:#}"
    );
    let until = Instant::now() + T;
    while alive(pid as u32) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(pid as u32), "the idle server's process is gone");
    assert_eq!(
        call(&s, "echo__echo", json!({"text": "b"}), 2)
            .await
            .outcome,
        Outcome::Ok
    );
    let st = g.server("echo").await;
    assert_eq!(st["starts"], 2, "{st:#}");
    assert_ne!(st["pid"].as_u64(), Some(pid));
    g.close().await;
}

/// Whether a process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim().to_string()))
        .is_some_and(|rest| !rest.starts_with('Z'))
}

/// Live (not zombie) children of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        if ppid == Some(pid) && state != Some("Z") {
            out.push(child);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_change_clears_the_cache_and_reaches_clients() {
    let tr = MockSrv::start("mock-servers/translation.yaml").await;
    let g = gateway(json!({
        "mcpServers": {"translation": {"url": tr.url()}},
        "gauntlet": {"servers": {"translation": server_entry(&load("mock-servers/translation.yaml"))}},
    }))
    .await;
    let s = session(&g.url).await;
    let args = json!({"text": "oi", "to": "en"});
    for id in 1..=3 {
        assert_eq!(
            call(&s, "translation__translate", args.clone(), id)
                .await
                .outcome,
            Outcome::Ok
        );
    }
    assert_eq!(g.server("translation").await["cache_hits"], 2);
    // A client stream of the gateway (the session's GET stream).
    let sid = s.session_id().expect("session id");
    let mut stream = reqwest::Client::new()
        .get(&g.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid)
        .send()
        .await
        .expect("GET stream");
    assert_eq!(stream.status(), 200);
    // The gateway holds the backend's stream open; wait for it before the change.
    let until = Instant::now() + T;
    while tr.mock.sessions.all().iter().all(|x| !x.has_stream()) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tr.mock.tools_changed();
    let until = Instant::now() + T;
    while g.server("translation").await["cache_entries"] != 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        g.server("translation").await["cache_entries"],
        0,
        "the cache was cleared"
    );
    let before = tr.mock.ledger().snapshot().call_ids.distinct;
    assert_eq!(
        call(&s, "translation__translate", args.clone(), 4)
            .await
            .outcome,
        Outcome::Ok
    );
    assert_eq!(
        tr.mock.ledger().snapshot().call_ids.distinct,
        before + 1,
        "no stale hit"
    );
    let mut seen = String::new();
    let got = tokio::time::timeout(T, async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("notifications/tools/list_changed") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(got, Ok(true), "the client was told: {seen}");
    g.close().await;
}

/// `gauntlet gateway CONFIG` as a child process (killed on drop).
struct GatewayProc {
    child: Child,
    url: String,
}

impl GatewayProc {
    fn spawn(config: &std::path::Path) -> GatewayProc {
        let mut child = Command::new(gauntlet_bin())
            .current_dir(repo_root())
            .arg("gateway")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gauntlet gateway");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the serving line");
        let url = line
            .strip_prefix("serving gateway at ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        GatewayProc { child, url }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        // SAFETY: kill only sends a signal to our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let until = Instant::now() + T;
        while Instant::now() < until {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for GatewayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn lazy_loading_spawns_only_the_servers_called() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let cats = [
        ("echo", "mock-servers/echo.yaml"),
        ("fraud", "mock-servers/fraud.yaml"),
        ("freight", "mock-servers/freight.yaml"),
        ("inventory", "mock-servers/inventory.yaml"),
        ("translation", "mock-servers/translation.yaml"),
    ];
    let delay = Duration::from_millis(600);
    let mut servers = serde_json::Map::new();
    let mut blocks = serde_json::Map::new();
    for (name, rel) in cats {
        let entry = if name == "echo" {
            // A server that takes `delay` to start: a shell sleeps, then becomes the mock.
            json!({"command": "sh", "args": ["-c", "sleep 0.6; exec \"$0\" mock --stdio \"$1\"",
                                            gauntlet_bin(), catalogue(rel)]})
        } else {
            stdio_entry(rel)
        };
        servers.insert(name.into(), entry);
        blocks.insert(name.into(), server_entry(&load(rel)));
    }
    let config = dir.path().join("gateway.json");
    let doc = json!({"mcpServers": servers, "gauntlet": {"servers": blocks}});
    std::fs::write(&config, doc.to_string()).expect("config");
    let mut gw = GatewayProc::spawn(&config);
    assert!(children(gw.pid()).is_empty(), "nothing is started at boot");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (first, warm) = rt.block_on(async {
        let s = session(&gw.url).await;
        let tools = list_tools(&s).await.expect("tools/list");
        let all: usize = cats.iter().map(|(_, rel)| load(rel).tools.len()).sum();
        assert_eq!(
            tools.len(),
            all,
            "every server's tools are listed unstarted"
        );
        assert!(
            children(gw.pid()).is_empty(),
            "a complete tools/list spawns nothing"
        );
        let t = Instant::now();
        let r = call(&s, "echo__echo", json!({"text": "cold"}), 1).await;
        let first = t.elapsed();
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        let mut warm = Vec::new();
        for id in 2..=21 {
            let t = Instant::now();
            assert_eq!(
                call(&s, "echo__echo", json!({"text": "w"}), id)
                    .await
                    .outcome,
                Outcome::Ok
            );
            warm.push(t.elapsed());
        }
        let r = call(&s, "fraud__explain", json!({"order_id": "ORD-1"}), 30).await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        warm.sort();
        (first, warm[warm.len() / 2])
    });
    let kids = children(gw.pid());
    assert_eq!(
        kids.len(),
        2,
        "exactly the two servers called were spawned: {kids:?}"
    );
    let cold = first.saturating_sub(warm);
    assert!(
        cold >= delay && cold < delay + Duration::from_secs(3),
        "the first call paid the start: first {first:?}, warm p50 {warm:?}"
    );
    let out = run_with_timeout(
        Command::new(gauntlet_bin()).args(["status", &gw.url]),
        Duration::from_secs(30),
    );
    out.assert_success("gauntlet status");
    for want in [
        "[SERVICE] echo: ONLINE (1 tools)",
        "[SERVICE] fraud: ONLINE (3 tools)",
        "[SERVICE] freight: NOT STARTED (4 tools, started on first call)",
    ] {
        assert!(out.stdout.contains(want), "{want} missing:\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("[WARNING]"), "{}", out.stdout);
    let status = gw.stop().expect("the gateway stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    let until = Instant::now() + T;
    while kids.iter().any(|&p| alive(p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !kids.iter().any(|&p| alive(p)),
        "no backend outlives the gateway"
    );
}

#[test]
fn gateway_and_status_refuse_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("g.json");
    std::fs::write(
        &config,
        r#"{"mcpServers": {"a": {"url": "http://127.0.0.1:9/mcp"}}}"#,
    )
    .expect("config");
    let out = run_with_timeout(
        Command::new(gauntlet_bin())
            .arg("gateway")
            .arg(&config)
            .args(["--listen", "0.0.0.0:0"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "non-loopback: {}", out.stderr);
    std::fs::write(&config, r#"{"mcpServers": {"a": {}}}"#).expect("config");
    let out = run_with_timeout(
        Command::new(gauntlet_bin()).arg("gateway").arg(&config),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "bad config: {}", out.stderr);
    assert!(out.stderr.contains("needs `url`"), "{}", out.stderr);
    let out = run_with_timeout(
        Command::new(gauntlet_bin()).args(["status", "http://127.0.0.1:1/mcp"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(3), "unreachable: {}", out.stderr);
    assert!(out.stderr.contains("Connection refused"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_server_that_cannot_start() {
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = dead.local_addr().expect("addr");
    drop(dead);
    let echo = MockSrv::start("mock-servers/echo.yaml").await;
    let g = gateway(json!({"mcpServers": {
        "sales": {"url": echo.url()},
        "billing": {"url": format!("http://{addr}/mcp")},
    }}))
    .await;
    let url = g.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        run_with_timeout(Command::new(gauntlet_bin()).args(["status", &url]), T)
    })
    .await
    .expect("status");
    out.assert_success("gauntlet status");
    for want in [
        "[SERVICE] sales: ONLINE (1 tools)\n",
        "[SERVICE] billing: OFFLINE (Error: Connection refused)\n\
         [WARNING] billing tools are currently unavailable!\n",
    ] {
        assert!(out.stdout.contains(want), "{want} missing:\n{}", out.stdout);
    }
    g.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_arrive_during_a_start_wait_for_it_within_a_bound() {
    let echo = load("mock-servers/echo.yaml");
    let slow = json!({"command": "sh", "args": ["-c", "sleep 0.5; exec \"$0\" mock --stdio \"$1\"",
                                                gauntlet_bin(), catalogue("mock-servers/echo.yaml")]});
    let g = gateway(json!({
        "mcpServers": {"echo": slow},
        "gauntlet": {"settings": {"max_waiting": 8}, "servers": {"echo": server_entry(&echo)}},
    }))
    .await;
    let s = Arc::new(session(&g.url).await);
    let rs = futures_util::future::join_all((1..=12u64).map(|id| {
        let s = s.clone();
        async move {
            call(&s, "echo__echo", json!({"text": "x"}), id)
                .await
                .outcome
        }
    }))
    .await;
    let ok = rs.iter().filter(|o| **o == Outcome::Ok).count();
    let busy = rs
        .iter()
        .filter(|o| **o == Outcome::RpcError(-32603))
        .count();
    assert_eq!(
        (ok, busy),
        (8, 4),
        "eight wait for the start, the rest fail at once: {rs:?}"
    );
    let st = g.server("echo").await;
    assert_eq!(st["starts"], 1, "one start for all of them: {st:#}");
    g.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_cacheable_calls_are_retried_and_every_call_has_a_deadline() {
    let mut down = MockSrv::start("mock-servers/echo.yaml").await;
    let timing = Catalog::load(&repo_root().join("tests/fixtures/timing.yaml")).expect("fixture");
    let slow = Mock::new(timing, 0);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let slow_url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let (m, t) = (slow.clone(), stop.clone());
    tokio::spawn(async move { serve_http(&m, listener, t).await });
    let echo = server_entry(&load("mock-servers/echo.yaml"));
    let mut cached = echo.clone();
    cached["cacheable"] = json!(["echo"]);
    let g = gateway(json!({
        "mcpServers": {"a": {"url": down.url()}, "b": {"url": down.url()}, "t": {"url": slow_url}},
        "gauntlet": {"settings": {"call_timeout": "200ms", "retries": {"max": 2}},
                     "servers": {"a": cached, "b": echo}},
    }))
    .await;
    down.down().await;
    let s = session(&g.url).await;
    for tool in ["a__echo", "b__echo"] {
        let r = call(&s, tool, json!({"text": "x"}), 1).await;
        assert_eq!(r.outcome, Outcome::RpcError(-32603), "{r:?}");
    }
    assert_eq!(
        g.server("a").await["retries"],
        2,
        "the cacheable call was retried"
    );
    assert_eq!(g.server("b").await["retries"], 0, "the other was not");
    let t0 = Instant::now();
    let r = call(&s, "t__slow", json!({}), 2).await;
    assert_eq!(r.outcome, Outcome::RpcError(-32001), "{r:?}");
    assert!(
        t0.elapsed() < Duration::from_millis(450),
        "{:?}",
        t0.elapsed()
    );
    let r = call(&s, "t__fast", json!({}), 3).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    stop.cancel();
    g.close().await;
}
