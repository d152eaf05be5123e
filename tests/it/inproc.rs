//! An in-process mock server on 127.0.0.1:0 and a bare HTTP client for wire-level tests.

use gauntlet::catalog::Catalog;
use gauntlet::mock::{Mock, serve_http};
use serde_json::{Value, json};
use std::path::Path;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const ACCEPT: &str = "application/json, text/event-stream";

pub struct Srv {
    pub url: String,
    pub mock: Mock,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Srv {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts `catalog` (a path relative to the repository) on a free loopback port.
pub async fn start(catalog: &str) -> Srv {
    start_seeded(catalog, 0).await
}

pub async fn start_seeded(catalog: &str, seed: u64) -> Srv {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(catalog);
    let c = Catalog::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mock = Mock::new(c, seed);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let shutdown = CancellationToken::new();
    let (m, t) = (mock.clone(), shutdown.clone());
    tokio::spawn(async move { serve_http(&m, listener, t).await });
    Srv {
        url,
        mock,
        http: reqwest::Client::new(),
        shutdown,
    }
}

impl Srv {
    /// POSTs `body` with the usual headers and, if given, the session id.
    pub async fn post(
        &self,
        sid: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", ACCEPT)
            .body(body);
        if let Some(s) = sid {
            r = r.header("mcp-session-id", s);
        }
        r.send().await.expect("send")
    }

    /// initialize + notifications/initialized; returns the session id.
    pub async fn init(&self) -> String {
        let r = self
            .post(
                None,
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "wire-test", "version": "1"}}})
                .to_string(),
            )
            .await;
        assert_eq!(r.status(), 200);
        let sid = r
            .headers()
            .get("mcp-session-id")
            .expect("session id")
            .to_str()
            .expect("ascii")
            .to_string();
        let n = self
            .post(
                Some(&sid),
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            )
            .await;
        assert_eq!(n.status(), 202);
        sid
    }

    /// Sends a request and returns the JSON-RPC response (read from JSON or SSE).
    pub async fn rpc(&self, sid: &str, id: u64, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let r = self.post(Some(sid), body.to_string()).await;
        assert_eq!(r.status(), 200, "{method}");
        let sse = is_sse(&r);
        let text = r.text().await.expect("body");
        if sse {
            sse_messages(&text)
                .into_iter()
                .find(|m| m.get("id") == Some(&json!(id)))
                .expect("a response on the stream")
        } else {
            serde_json::from_str(&text).expect("JSON body")
        }
    }
}

pub fn is_sse(r: &reqwest::Response) -> bool {
    r.headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// The JSON messages in an SSE body (events with empty data are skipped).
pub fn sse_messages(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            let data = data.join("\n");
            (!data.trim().is_empty()).then(|| serde_json::from_str(&data).expect("event JSON"))
        })
        .collect()
}
