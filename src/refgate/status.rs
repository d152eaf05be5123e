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
use serde_json::{Value, json};

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
}
