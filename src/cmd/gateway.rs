//! `gauntlet gateway CONFIG [--listen ADDR]` and `gauntlet status URL`.

use crate::cli::{GatewayArgs, StatusArgs};
use crate::error::{Error, Result};
use crate::net::loopback_addr;
use crate::refgate::Gateway;
use crate::refgate::config::Config;
use crate::refgate::status::{self, fetch, status_url};
use crate::signal::wait_for_signal;
use std::io::Write;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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

/// Prints what the gateway at `URL` says of its servers.
pub fn status(args: &StatusArgs) -> Result<()> {
    let uri = status_url(&args.url)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Run(format!("cannot start the runtime: {e}")))?;
    let doc = rt.block_on(fetch(uri.clone()))?;
    let lines = status::render(&args.url, &doc)
        .ok_or_else(|| Error::Run(format!("{uri} did not answer with a gateway status")))?;
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    Ok(())
}
