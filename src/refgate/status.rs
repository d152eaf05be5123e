//! `GET /status` (JSON: every server with its state, tools, breaker and counters) and what
//! `gauntlet status URL` prints of it:
//!
//! ```text
//! [GATEWAY] http://127.0.0.1:4444/mcp: 3 servers, 22 tools
//! [SERVICE] sales: ONLINE (12 tools)
//! [SERVICE] fraud: NOT STARTED (5 tools, started on first call)
//! [SERVICE] billing: OFFLINE (Error: Connection refused)
//! [WARNING] billing tools are currently unavailable!
//! ```
//!
//! A server is `online` (started, answering, circuit closed), `offline` (it could not be
//! started, its last call failed, or its circuit is open), `starting`, or `not_started` (lazy
//! and not called yet, or stopped after being idle).

use super::Gateway;
use crate::error::{Error, Result};
use crate::mcp::client::HttpClient;
use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};
use std::time::Duration;

/// How long reading `/status` waits for the gateway.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest status document read.
const STATUS_LIMIT: usize = 16 * 1024 * 1024;

/// The `/status` document.
pub fn document(gw: &Gateway) -> Value {
    let d = gw.directory();
    let servers: Vec<Value> = gw
        .backends
        .iter()
        .enumerate()
        .map(|(i, b)| b.status(d.tool_counts.get(i).copied().unwrap_or(0)))
        .collect();
    json!({
        "gateway": {
            "name": "gauntlet-gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": gw.uptime().as_secs_f64(),
            "separator": gw.settings.separator,
            "tools": d.tools.len(),
            "resources": d.resources.len(),
            "prompts": d.prompts.len(),
        },
        "servers": servers,
    })
}

/// The lines `gauntlet status` prints for a `/status` document; `None` if it is not one.
pub fn render(url: &str, doc: &Value) -> Option<Vec<String>> {
    let servers = doc.get("servers")?.as_array()?;
    let tools = doc["gateway"]["tools"].as_u64().unwrap_or(0);
    let mut out = vec![format!(
        "[GATEWAY] {url}: {} server{}, {tools} tools",
        servers.len(),
        if servers.len() == 1 { "" } else { "s" }
    )];
    for s in servers {
        let name = s["name"].as_str().unwrap_or("?");
        let n = s["tools"].as_u64().unwrap_or(0);
        let error = s["error"].as_str().unwrap_or("unknown");
        let line = match s["state"].as_str().unwrap_or("") {
            "online" => format!("ONLINE ({n} tools)"),
            "not_started" => format!("NOT STARTED ({n} tools, started on first call)"),
            "starting" => format!("STARTING ({n} tools)"),
            _ if s["breaker"] == "open" || s["breaker"] == "half_open" => {
                format!(
                    "OFFLINE (Error: {error}; circuit {})",
                    s["breaker"].as_str().unwrap_or("")
                )
            }
            _ => format!("OFFLINE (Error: {error})"),
        };
        let offline = line.starts_with("OFFLINE");
        out.push(format!("[SERVICE] {name}: {line}"));
        if offline {
            out.push(format!("[WARNING] {name} tools are currently unavailable!"));
        }
    }
    Some(out)
}

/// The `/status` URL next to a gateway's MCP URL (`…/mcp` or `…/sse` → `…/status`).
pub fn status_url(url: &str) -> Result<Uri> {
    let bad = |why: &str| Error::Input(format!("`{url}`: {why}; write http://HOST:PORT/mcp"));
    let u: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if u.scheme_str() != Some("http") {
        return Err(bad("only http:// URLs are supported"));
    }
    let authority = u.authority().ok_or_else(|| bad("no host"))?;
    let path = u.path().trim_end_matches('/');
    let base = path
        .strip_suffix("/status")
        .or_else(|| path.strip_suffix("/mcp"))
        .or_else(|| path.strip_suffix("/sse"))
        .unwrap_or(path);
    format!("http://{authority}{base}/status")
        .parse()
        .map_err(|_| bad("not a URL"))
}

/// `GET` a gateway's `/status` document.
pub async fn fetch(uri: Uri) -> Result<serde_json::Value> {
    let unreachable = |why: String| Error::Run(format!("cannot read {uri}: {why}"));
    let mut req = Request::new(Full::new(Bytes::new()));
    *req.uri_mut() = uri.clone();
    let client = HttpClient::with_max_idle(0);
    let get = async {
        let resp = client
            .send(req)
            .await
            .map_err(|o| unreachable(super::link::describe(o)))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), STATUS_LIMIT)
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(unreachable(format!("HTTP {}", status.as_u16())));
        }
        serde_json::from_slice(&body).map_err(|e| unreachable(format!("not JSON: {e}")))
    };
    tokio::time::timeout(STATUS_TIMEOUT, get)
        .await
        .map_err(|_| unreachable("no answer within 10 s".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_mcp_status() {
        let doc = json!({
            "gateway": {"tools": 17},
            "servers": [
                {"name": "sales", "state": "online", "tools": 12, "breaker": "closed"},
                {"name": "fraud", "state": "not_started", "tools": 5, "breaker": "closed"},
                {"name": "billing", "state": "offline", "tools": 0, "breaker": "closed",
                 "error": "Connection refused"},
            ],
        });
        let lines = render("http://127.0.0.1:1/mcp", &doc).expect("a status");
        assert_eq!(
            lines,
            [
                "[GATEWAY] http://127.0.0.1:1/mcp: 3 servers, 17 tools",
                "[SERVICE] sales: ONLINE (12 tools)",
                "[SERVICE] fraud: NOT STARTED (5 tools, started on first call)",
                "[SERVICE] billing: OFFLINE (Error: Connection refused)",
                "[WARNING] billing tools are currently unavailable!",
            ]
        );
        assert!(render("u", &json!({"x": 1})).is_none());
    }

    #[test]
    fn the_status_url_is_next_to_the_mcp_url() {
        let s = |u: &str| status_url(u).map(|u| u.to_string()).unwrap_or_default();
        assert_eq!(s("http://127.0.0.1:4/mcp"), "http://127.0.0.1:4/status");
        assert_eq!(s("http://127.0.0.1:4/sse"), "http://127.0.0.1:4/status");
        assert_eq!(s("http://127.0.0.1:4"), "http://127.0.0.1:4/status");
        assert_eq!(s("http://h:4/gw/mcp/"), "http://h:4/gw/status");
        assert_eq!(s("http://h:4/status"), "http://h:4/status");
        assert!(status_url("https://h/mcp").is_err());
        assert!(status_url("nope").is_err());
    }
}
