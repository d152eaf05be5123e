//! The reference gateway (`gauntlet gateway`): many MCP servers behind one endpoint, the
//! embedded default target of the quickstart and the baseline other gateways are compared
//! with (docs/gateway.md).
//!
//! | file | what |
//! |---|---|
//! | [`config`] | the standard `mcpServers` JSON plus the `gauntlet` block (settings, advertised lists) |
//! | [`aggregate`] | `{server}__{tool}` names, the gateway's lists, the routes back to the servers |
//! | [`backend`] | one server: lazy start with bounded waiting, idle eviction, re-initialize on 404 |
//! | [`link`] | the connection to a server over Streamable HTTP, HTTP+SSE or stdio; its notifications |
//! | [`breaker`] | the circuit breaker per server (pure) |
//! | [`retry`] | the retry budget (a token bucket) |
//! | [`cache`] | the result cache per server: TTL, canonical-argument keys, bounded |
//! | [`trace`] | traceparent and call id from the caller to the server |
//! | [`service`] | the MCP [`Service`](crate::mcp::service::Service) the HTTP front end serves |
//! | [`status`] | the `GET /status` document, what `gauntlet status` prints of it, and reading it from a URL |
//!
//! [`Gateway::start`] reads nothing and binds nothing: it takes a [`config::Config`], starts
//! the servers that must start at boot (those without advertised tools, or not lazy) and
//! returns; [`Gateway::serve`] serves a listener the caller bound until its token fires, then
//! stops every server the gateway started.

pub mod aggregate;
pub mod backend;
pub mod breaker;
pub mod cache;
pub mod config;
pub mod link;
pub mod retry;
pub mod service;
pub mod status;
pub mod trace;

use crate::mcp::client::HttpClient;
use crate::mcp::http;
use crate::mcp::http_parts::HttpFront;
use crate::mcp::jsonrpc::Notification;
use crate::mcp::session::SessionTable;
use aggregate::{Directory, Source};
use backend::{Backend, Event};
use config::{Config, Settings};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long asking a started server for its lists may take (each page).
const LIST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a server whose lists are unknown (it could not be started at boot) is tried again.
const BOOT_RETRY: Duration = Duration::from_secs(5);
/// List changes queued at most (more are the same news).
const EVENTS: usize = 64;

/// The gateway: its servers, the directory of their tools, its sessions.
pub struct Gateway {
    pub settings: Arc<Settings>,
    pub backends: Vec<Arc<Backend>>,
    directory: RwLock<Arc<Directory>>,
    pub sessions: Arc<SessionTable>,
    started: Instant,
    /// Boot of a server under way (per server), so that retries do not pile up.
    booting: Vec<AtomicBool>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Gateway {
    /// Builds the gateway, starts the servers that start at boot (and asks those without
    /// advertised lists for theirs), then keeps watching them (list changes, idle eviction)
    /// until [`Gateway::shutdown`]. Inside a Tokio runtime.
    pub async fn start(config: Config) -> Arc<Gateway> {
        let settings = Arc::new(config.settings);
        let client = HttpClient::new();
        let (tx, rx) = mpsc::channel(EVENTS);
        let backends: Vec<Arc<Backend>> = config
            .servers
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let b = Backend::new(i, s, settings.clone(), client.clone(), tx.clone());
                Arc::new(b)
            })
            .collect();
        let gw = Arc::new(Gateway {
            booting: backends.iter().map(|_| AtomicBool::new(false)).collect(),
            settings,
            backends,
            directory: RwLock::new(Arc::new(Directory::default())),
            sessions: Arc::new(SessionTable::default()),
            started: Instant::now(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        gw.rebuild();
        let boots: Vec<_> = (0..gw.backends.len())
            .filter(|&i| gw.starts_at_boot(i))
            .map(|i| gw.clone().boot(i))
            .collect();
        futures_util::future::join_all(boots).await;
        gw.rebuild();
        gw.tasks.spawn(gw.clone().maintain(rx));
        gw
    }

    fn starts_at_boot(&self, i: usize) -> bool {
        let c = &self.backends[i].config;
        !c.lazy || c.lists.is_none()
    }

    /// The current directory (cheap: an `Arc`).
    pub fn directory(&self) -> Arc<Directory> {
        self.directory
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rebuilds the directory from every server's lists.
    fn rebuild(&self) {
        let guards: Vec<_> = self.backends.iter().map(|b| b.lists()).collect();
        let sources: Vec<Source<'_>> = self
            .backends
            .iter()
            .zip(&guards)
            .map(|(b, l)| Source {
                name: b.name(),
                lists: l.as_ref(),
                cacheable: &b.config.cacheable,
            })
            .collect();
        let d = Arc::new(Directory::build(&sources, &self.settings.separator));
        drop(sources);
        drop(guards);
        *self.directory.write().unwrap_or_else(|p| p.into_inner()) = d;
    }

    /// Starts server `i` and, if its lists are not known, asks it for them.
    async fn boot(self: Arc<Self>, i: usize) {
        if self.booting[i].swap(true, Ordering::AcqRel) {
            return;
        }
        let b = &self.backends[i];
        let deadline = Instant::now() + self.settings.start_timeout + Duration::from_secs(1);
        match b.acquire(deadline).await {
            Ok(lease) if b.lists().is_none() => match lease.up.link.lists(LIST_TIMEOUT).await {
                Ok(lists) => {
                    tracing::info!(server = b.name(), tools = lists.tools.len(), "lists read");
                    b.set_lists(lists);
                }
                Err(e) => tracing::warn!(server = b.name(), "cannot read its lists: {e}"),
            },
            Ok(_) => {}
            Err(f) => tracing::warn!(server = b.name(), "not started at boot: {f:?}"),
        }
        self.booting[i].store(false, Ordering::Release);
    }

    /// List changes from the servers, idle eviction, and boot retries, until the gateway stops.
    async fn maintain(self: Arc<Self>, mut rx: mpsc::Receiver<Event>) {
        let idle = self.settings.idle_timeout;
        let period = idle
            .map_or(Duration::from_secs(1), |t| t / 4)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_retry = Instant::now();
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                e = rx.recv() => match e {
                    Some(Event::ListChanged(i)) => {
                        self.tasks.spawn(self.clone().refresh(i));
                    }
                    None => return,
                },
                _ = tick.tick() => {
                    if let Some(t) = idle {
                        self.backends.iter().for_each(|b| { b.evict_if_idle(t); });
                    }
                    if last_retry.elapsed() >= BOOT_RETRY {
                        last_retry = Instant::now();
                        self.retry_boots();
                    }
                }
            }
        }
    }

    fn retry_boots(self: &Arc<Self>) {
        for (i, b) in self.backends.iter().enumerate() {
            if b.lists().is_none() {
                let gw = self.clone();
                self.tasks.spawn(async move {
                    gw.clone().boot(i).await;
                    if gw.backends[i].lists().is_some() {
                        gw.rebuild();
                        gw.tools_changed();
                    }
                });
            }
        }
    }

    /// Server `i` said a list changed: its cached results go, its lists are read again (it is
    /// running: it just spoke), and the gateway's clients are told.
    async fn refresh(self: Arc<Self>, i: usize) {
        let b = &self.backends[i];
        let dropped = b.cache.clear();
        tracing::info!(server = b.name(), dropped, "list changed: cache cleared");
        let Some(up) = b.current() else { return };
        match up.link.lists(LIST_TIMEOUT).await {
            Ok(lists) => {
                b.set_lists(lists);
                self.rebuild();
                self.tools_changed();
            }
            Err(e) => tracing::warn!(server = b.name(), "cannot read its lists again: {e}"),
        }
    }

    /// notifications/tools/list_changed to every client stream.
    fn tools_changed(&self) {
        let n = Notification::new("notifications/tools/list_changed", Value::Null);
        self.sessions.broadcast(&n);
    }

    /// Seconds since the gateway started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Serves `listener` (Streamable HTTP and 2026-07-28 at `/mcp`, 2024-11-05 at `/sse`,
    /// `GET /status`) until `shutdown` fires, then stops every server.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: CancellationToken) {
        let front = HttpFront::new(
            Arc::new(service::Front(self.clone())),
            self.sessions.clone(),
        );
        http::serve(listener, front, shutdown).await;
        self.shutdown().await;
    }

    /// Stops watching and stops every server the gateway started.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        futures_util::future::join_all(self.backends.iter().map(|b| b.shut())).await;
        self.tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.tasks.wait()).await;
    }
}
