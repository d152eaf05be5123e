//! The scenario's mock servers for a run: HTTP servers in-process on their own runtime (so that
//! their CPU is counted apart from the driver's), stdio servers as child processes spawned per
//! session by the driver.

use crate::error::{Error, Result};
use crate::mock::catalog::Catalog;
use crate::mock::{Mock, serve_http};
use crate::scenario::{Scenario, Server, Transport};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Name prefix of the mock runtime's threads (resource accounting reads it).
pub const THREAD_NAME: &str = "gauntlet-mock";

/// How the driver reaches one server.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Http(String),
    /// The 2024-11-05 HTTP+SSE transport: the URL of the SSE stream (`transport: sse`).
    Sse(String),
    /// argv of a `gauntlet mock --stdio` process (one per session).
    Stdio(Vec<String>),
}

/// The running mocks of a run.
pub struct Mocks {
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: CancellationToken,
    pub mocks: Vec<Mock>,
    pub endpoints: Vec<(String, Endpoint)>,
}

/// The catalogue with the scenario's overrides applied (latency replaces the service time,
/// errors replace the error mix).
pub fn effective_catalog(server: &Server) -> Catalog {
    let mut c = (*server.catalog).clone();
    for t in &mut c.tools {
        if let Some(l) = server.latency {
            t.behaviour.service_time = l;
        }
        if let Some(e) = &server.errors {
            t.behaviour.errors = e.clone();
        }
    }
    c
}

impl Mocks {
    /// Starts every HTTP server of the scenario; stdio servers are described, not started.
    pub fn start(s: &Scenario, seed: u64) -> Result<Mocks> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()
            .map_err(|e| Error::Run(format!("cannot start the mock runtime: {e}")))?;
        let shutdown = CancellationToken::new();
        let mut mocks = Vec::new();
        let mut endpoints = Vec::new();
        for server in &s.servers {
            match server.transport {
                Transport::Http | Transport::Sse => {
                    let mock = Mock::new(effective_catalog(server), seed);
                    let addr = SocketAddr::from(([127, 0, 0, 1], server.port.unwrap_or(0)));
                    let listener = runtime.block_on(TcpListener::bind(addr)).map_err(|e| {
                        Error::Run(format!(
                            "cannot listen on {addr} for `{}`: {e}",
                            server.name
                        ))
                    })?;
                    let local = listener
                        .local_addr()
                        .map_err(|e| Error::Run(format!("cannot read a bound address: {e}")))?;
                    let (m, token) = (mock.clone(), shutdown.clone());
                    runtime.spawn(async move { serve_http(&m, listener, token).await });
                    let endpoint = match server.transport {
                        Transport::Sse => Endpoint::Sse(format!("http://{local}/sse")),
                        _ => Endpoint::Http(format!("http://{local}/mcp")),
                    };
                    endpoints.push((server.name.clone(), endpoint));
                    mocks.push(mock);
                }
                Transport::Stdio => {
                    endpoints.push((
                        server.name.clone(),
                        Endpoint::Stdio(stdio_argv(s, server, seed)?),
                    ));
                }
            }
        }
        Ok(Mocks {
            runtime: Some(runtime),
            shutdown,
            mocks,
            endpoints,
        })
    }

    /// Stops the HTTP servers (their ledgers stay readable).
    pub fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(3));
        }
    }
}

impl Drop for Mocks {
    fn drop(&mut self) {
        self.stop();
    }
}

/// argv for a stdio server: this very binary, `mock --stdio`, the server of this scenario (so
/// that its `latency` and `errors` overrides apply), paths absolute (a gateway may spawn it
/// from a directory of its own).
fn stdio_argv(s: &Scenario, server: &Server, seed: u64) -> Result<Vec<String>> {
    let exe: PathBuf = std::env::current_exe()
        .map_err(|e| Error::Run(format!("cannot find the gauntlet binary: {e}")))?;
    let abs = |p: &std::path::Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    Ok(vec![
        exe.display().to_string(),
        "mock".into(),
        "--stdio".into(),
        "--seed".into(),
        seed.to_string(),
        "--scenario".into(),
        abs(&s.path),
        "--server".into(),
        server.name.clone(),
        abs(&server.catalog.source),
    ])
}
