//! Mock MCP servers defined by catalogue files.
//!
//! | file | what |
//! |---|---|
//! | [`server`] | [`server::MockServer`]: a catalogue behind the MCP [`Service`](crate::mcp::service::Service) |
//! | [`lists`] | initialize, paginated lists, resources/read, prompts/get, completion |
//! | [`eras`] | requests counted per revision and transport (how a gateway reached the server) |
//! | [`linked`] | a stdio mock linked to its run (`GAUNTLET_RUN`): faults in; spawn, ready, calls, exit out |
//! | [`control`] | `gauntlet mock --control`: faults switched on running mocks over HTTP |
//!
//! A server is started with [`serve_http`] on a listener the caller bound (port 0 in tests)
//! and stops when its shutdown token fires. Its faults ([`crate::fault`]) live in
//! `MockServer::faults`: the request path asks them about each request, the HTTP server
//! follows their gate (outages), and a fault runner switches them with `Mock` as its target.

pub mod control;
pub mod eras;
pub mod linked;
pub mod lists;
pub mod server;

use crate::catalog::Catalog;
use crate::ledger::Ledger;
use crate::mcp::http;
use crate::mcp::http_parts::HttpFront;
use crate::mcp::session::SessionTable;
use server::MockServer;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A mock server with its ledger and sessions, ready to serve.
#[derive(Clone)]
pub struct Mock {
    pub server: Arc<MockServer>,
    pub sessions: Arc<SessionTable>,
}

impl Mock {
    pub fn new(catalog: Catalog, seed: u64) -> Mock {
        let names = catalog.tools.iter().map(|t| t.name.clone()).collect();
        let ledger = Ledger::new(&catalog.name, names);
        Mock::with_ledger(catalog, ledger, seed)
    }

    pub fn with_ledger(catalog: Catalog, ledger: Ledger, seed: u64) -> Mock {
        Mock {
            server: Arc::new(MockServer::new(Arc::new(catalog), Arc::new(ledger), seed)),
            sessions: Arc::new(SessionTable::default()),
        }
    }

    pub fn name(&self) -> &str {
        &self.server.catalog.name
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.server.ledger
    }

    /// Sends notifications/tools/list_changed on every open session stream and every
    /// 2026-07-28 listen stream that asked for it.
    pub fn tools_changed(&self) {
        let n = crate::mcp::jsonrpc::Notification::new(
            "notifications/tools/list_changed",
            serde_json::Value::Null,
        );
        self.sessions.broadcast(&n);
    }
}

/// Serves `mock` over Streamable HTTP at `/mcp` until `shutdown` fires.
pub async fn serve_http(mock: &Mock, listener: TcpListener, shutdown: CancellationToken) {
    let front = HttpFront::new(mock.server.clone(), mock.sessions.clone());
    let gate = mock.server.faults.gate.clone();
    http::serve_gated(listener, front, shutdown, gate).await;
}

/// What the fault runner acts on (src/fault/runner.rs).
impl crate::fault::target::FaultTarget for Mock {
    fn live(&self) -> &crate::fault::Live {
        &self.server.faults
    }

    fn forget_sessions(&self) {
        self.sessions.clear();
    }

    fn tools_changed(&self) {
        Mock::tools_changed(self);
    }
}
