//! `gauntlet gateway CONFIG [--listen ADDR]` and `gauntlet status URL`.

use super::Gateway;
use super::config::Config;
use crate::cli::{GatewayArgs, StatusArgs};
use crate::error::{Error, Result};
use crate::mcp::client::HttpClient;
use crate::mock::cli::{loopback_addr, wait_for_signal};
use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use std::io::Write;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long `gauntlet status` waits for the gateway.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest status document read.
const STATUS_LIMIT: usize = 16 * 1024 * 1024;

/// Serves the gateway until SIGTERM or Ctrl-C, then stops every server it started.
pub fn run(args: &GatewayArgs) -> Result<()> {
    let config = Config::load(&args.config)?;
    let addr = loopback_addr(&args.listen)?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .enable_all()
        .thread_name("gauntlet-gateway")
        .build()
        .map_err(|e| Error::Run(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Run(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::Run(format!("cannot read the bound address: {e}")))?;
        let gw = Gateway::start(config).await;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "serving gateway at http://{local}/mcp");
        let _ = out.flush();
        drop(out);
        let shutdown = CancellationToken::new();
        let serving = tokio::spawn(gw.serve(listener, shutdown.clone()));
        wait_for_signal().await;
        shutdown.cancel();
        let _ = serving.await;
        Ok(())
    })
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

/// Prints what the gateway at `URL` says of its servers.
pub fn status(args: &StatusArgs) -> Result<()> {
    let uri = status_url(&args.url)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Run(format!("cannot start the runtime: {e}")))?;
    let doc = rt.block_on(fetch(uri.clone()))?;
    let lines = super::status::render(&args.url, &doc)
        .ok_or_else(|| Error::Run(format!("{uri} did not answer with a gateway status")))?;
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    Ok(())
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
