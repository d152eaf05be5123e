//! One backend server as the gateway holds it: started on first use (stdio spawned, HTTP
//! connected and initialized), with the calls that arrive meanwhile waiting for that start (at
//! most `max_waiting` of them, each until its own deadline); one session shared by every
//! client call; a 404 answered by re-initializing that session and sending the call again
//! (counted); stopped after `idle_timeout` without calls; a circuit breaker, a retry budget, a
//! result cache and counters for `/status`.

use super::breaker::{Admit, Breaker, State};
use super::cache::Cache;
use super::config::{Lists, ServerConfig, Settings};
use super::link::{self, Link, OnNotification};
use super::retry::Budget;
use super::trace::Trace;
use crate::mcp::client::{CallFailure, HttpClient};
use crate::mcp::outcome::{Outcome, TransportError};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A started backend: its link, and the token that stops what watches it.
pub struct Started {
    pub link: Link,
    stop: CancellationToken,
}

impl AsRef<Link> for Started {
    fn as_ref(&self) -> &Link {
        &self.link
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

enum Slot {
    /// Not started (never, or stopped: idle, or its stream ended).
    Idle,
    Starting {
        attempt: u64,
    },
    Up(Arc<Started>),
    Failed {
        attempt: u64,
        error: String,
    },
}

/// Why a call did not get the backend's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fail {
    /// The circuit is open.
    Open,
    /// Too many calls are waiting for the server to start.
    Busy,
    /// The call's time ran out.
    Timeout,
    /// The server could not be started.
    Start(String),
    /// The exchange failed (no answer from the server).
    Call(Outcome),
    /// The server answered with a JSON-RPC error: its code, and the error object as it came
    /// (its message and data are passed on).
    Rpc { code: i32, error: Option<Value> },
    /// The gateway is stopping.
    Closing,
}

impl Fail {
    /// Worth another try (for calls that may be retried).
    fn retriable(&self) -> bool {
        match self {
            Fail::Start(_) => true,
            Fail::Call(Outcome::Transport(_)) => true,
            Fail::Call(Outcome::HttpError(s)) => matches!(s, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}

/// Counters for `/status`.
#[derive(Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub cache_hits: AtomicU64,
    pub retries: AtomicU64,
    pub reinits: AtomicU64,
    pub starts: AtomicU64,
    pub start_failures: AtomicU64,
    pub evictions: AtomicU64,
    /// Calls failed at once by the open circuit.
    pub rejected: AtomicU64,
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the backend tells the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// notifications/tools/list_changed (or another list's) from server `index`.
    ListChanged(usize),
}

pub struct Backend {
    pub index: usize,
    pub config: ServerConfig,
    settings: Arc<Settings>,
    client: HttpClient,
    slot: Mutex<Slot>,
    changed: Notify,
    attempts: AtomicU64,
    waiting: AtomicUsize,
    inflight: AtomicUsize,
    epoch: Instant,
    last_used_ms: AtomicU64,
    reinit_lock: tokio::sync::Mutex<()>,
    breaker: Mutex<Breaker>,
    budget: Budget,
    pub cache: Cache,
    pub stats: Stats,
    /// The lists advertised: the config's, or the server's own once asked.
    lists: Mutex<Option<Lists>>,
    last_error: Mutex<Option<String>>,
    errored: AtomicBool,
    events: tokio::sync::mpsc::Sender<Event>,
    closing: AtomicBool,
}

/// A started backend in use by one call; the backend counts it as busy until it drops.
pub struct Lease<'a> {
    backend: &'a Backend,
    pub up: Arc<Started>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.backend.touch();
        self.backend.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Backend {
    pub fn new(
        index: usize,
        config: ServerConfig,
        settings: Arc<Settings>,
        client: HttpClient,
        events: tokio::sync::mpsc::Sender<Event>,
    ) -> Backend {
        let now = Instant::now();
        let probe_limit = settings.call_timeout + Duration::from_secs(1);
        Backend {
            index,
            lists: Mutex::new(config.lists.clone()),
            breaker: Mutex::new(Breaker::new(settings.breaker, probe_limit, now)),
            budget: Budget::new(settings.retries.budget),
            cache: Cache::new(settings.cache_entries),
            config,
            settings,
            client,
            slot: Mutex::new(Slot::Idle),
            changed: Notify::new(),
            attempts: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            inflight: AtomicUsize::new(0),
            epoch: now,
            last_used_ms: AtomicU64::new(0),
            reinit_lock: tokio::sync::Mutex::new(()),
            stats: Stats::default(),
            last_error: Mutex::new(None),
            errored: AtomicBool::new(false),
            events,
            closing: AtomicBool::new(false),
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn lists(&self) -> MutexGuard<'_, Option<Lists>> {
        lock(&self.lists)
    }

    pub fn set_lists(&self, lists: Lists) {
        *lock(&self.lists) = Some(lists);
    }

    fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_used_ms.store(ms, Ordering::Relaxed);
    }

    fn set_error(&self, e: Option<String>) {
        // Most calls succeed after a success: no lock then.
        if e.is_none() && !self.errored.load(Ordering::Acquire) {
            return;
        }
        let mut g = lock(&self.last_error);
        self.errored.store(e.is_some(), Ordering::Release);
        *g = e;
    }

    /// The started backend, or a start (or a wait for the one under way) until `deadline`.
    pub async fn acquire(self: &Arc<Self>, deadline: Instant) -> Result<Lease<'_>, Fail> {
        let mut mine: Option<u64> = None;
        let mut waiter: Option<WaitGuard<'_>> = None;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.poll_slot(&mut mine) {
                return r;
            }
            if waiter.is_none() {
                waiter = Some(WaitGuard::enter(self)?);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(Fail::Timeout);
            }
        }
    }

    /// One look at the slot: a lease, a failure, or `None` to wait (a start under way, maybe
    /// just begun by this call).
    fn poll_slot(self: &Arc<Self>, mine: &mut Option<u64>) -> Option<Result<Lease<'_>, Fail>> {
        if self.closing.load(Ordering::Acquire) {
            return Some(Err(Fail::Closing));
        }
        let mut s = lock(&self.slot);
        match &*s {
            Slot::Up(up) => {
                self.inflight.fetch_add(1, Ordering::AcqRel);
                let up = up.clone();
                Some(Ok(Lease { backend: self, up }))
            }
            Slot::Starting { attempt } => {
                // Wait for the start under way (a newer one, if the one waited for failed and
                // another call began the next).
                *mine = Some(*attempt);
                None
            }
            Slot::Failed { attempt, error } if Some(*attempt) == *mine => {
                Some(Err(Fail::Start(error.clone())))
            }
            Slot::Idle | Slot::Failed { .. } => {
                let attempt = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
                *s = Slot::Starting { attempt };
                *mine = Some(attempt);
                tokio::spawn(self.clone().start(attempt));
                None
            }
        }
    }

    /// Starts the server (its own task: a caller that gives up does not stop it).
    async fn start(self: Arc<Self>, attempt: u64) {
        let stop = CancellationToken::new();
        let on = self.on_notification();
        let opened = Link::open(
            &self.config.transport,
            &self.client,
            self.settings.start_timeout,
            on.clone(),
        );
        let opened = match tokio::time::timeout(self.settings.start_timeout, opened).await {
            Ok(r) => r,
            Err(_) => Err(CallFailure::new(Outcome::Timeout, "start")),
        };
        let next = match opened {
            Ok(link) if !self.closing.load(Ordering::Acquire) => {
                let http = matches!(link, Link::Http(_));
                let up = Arc::new(Started {
                    link,
                    stop: stop.clone(),
                });
                if http {
                    let w = link::watch_http(self.client.clone(), Arc::downgrade(&up), on, stop);
                    tokio::spawn(w);
                }
                bump(&self.stats.starts);
                self.set_error(None);
                tracing::info!(server = self.name(), pid = ?up.link.pid(), "started");
                self.touch();
                Slot::Up(up)
            }
            Ok(_) => Slot::Failed {
                attempt,
                error: "the gateway is stopping".into(),
            },
            Err(e) => {
                let error = start_error(&e);
                tracing::warn!(server = self.name(), "cannot start: {error}");
                bump(&self.stats.start_failures);
                self.set_error(Some(error.clone()));
                lock(&self.breaker).failure(Instant::now());
                Slot::Failed { attempt, error }
            }
        };
        *lock(&self.slot) = next;
        self.changed.notify_waiters();
    }

    fn on_notification(&self) -> OnNotification {
        let (tx, index) = (self.events.clone(), self.index);
        Arc::new(move |method: &str| {
            if method.ends_with("/list_changed") && method != "notifications/roots/list_changed" {
                // A full queue already holds a change to act on.
                let _ = tx.try_send(Event::ListChanged(index));
            }
        })
    }

    /// A request to the backend with the caller's trace; retried (cacheable tools only) while
    /// the budget and the deadline allow.
    pub async fn request(
        self: &Arc<Self>,
        method: &str,
        params: &Value,
        trace: &Trace,
        deadline: Instant,
        retriable: bool,
    ) -> Result<Value, Fail> {
        self.budget.deposit();
        let max = self.settings.retries.max;
        let mut tries = 0;
        loop {
            let r = self.attempt(method, params, trace, deadline).await;
            let again = match &r {
                Err(f) => retriable && f.retriable() && tries < max,
                Ok(_) => false,
            };
            let pause = Duration::from_millis(20 << tries.min(6));
            if !again || Instant::now() + pause >= deadline || !self.budget.withdraw() {
                return r;
            }
            tries += 1;
            bump(&self.stats.retries);
            tracing::debug!(server = self.name(), call_id = ?trace.call_id, "retry {tries}");
            tokio::time::sleep(pause).await;
        }
    }

    async fn attempt(
        self: &Arc<Self>,
        method: &str,
        params: &Value,
        trace: &Trace,
        deadline: Instant,
    ) -> Result<Value, Fail> {
        if lock(&self.breaker).admit(Instant::now()) == Admit::Reject {
            bump(&self.stats.rejected);
            return Err(Fail::Open);
        }
        let lease = self.acquire(deadline).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        let link = &lease.up.link;
        let mut r = link.forward(method, params, trace, left).await;
        if r.outcome == Outcome::HttpError(404)
            && link.needs_reinit()
            && self.reinit(&lease.up).await
        {
            let left = deadline.saturating_duration_since(Instant::now());
            r = link.forward(method, params, trace, left).await;
        }
        match r.outcome {
            Outcome::Ok | Outcome::ToolError => {
                lock(&self.breaker).success();
                self.set_error(None);
                r.result.ok_or(Fail::Call(Outcome::ClientError))
            }
            Outcome::RpcError(code) => {
                lock(&self.breaker).success();
                self.set_error(None);
                Err(Fail::Rpc {
                    code,
                    error: r.result,
                })
            }
            other => {
                lock(&self.breaker).failure(Instant::now());
                self.set_error(Some(link::describe(other)));
                if link.is_closed() || other == Outcome::Transport(TransportError::Eof) {
                    self.discard(&lease.up);
                }
                Err(Fail::Call(other))
            }
        }
    }

    /// Initializes the backend session again after a 404 (once, however many calls saw it).
    async fn reinit(&self, up: &Started) -> bool {
        let _one = self.reinit_lock.lock().await;
        if !up.link.needs_reinit() {
            return true;
        }
        match up.link.reinit().await {
            Ok(_) => {
                bump(&self.stats.reinits);
                tracing::info!(
                    server = self.name(),
                    "session lost (404): initialized again"
                );
                true
            }
            Err(e) => {
                self.set_error(Some(start_error(&e)));
                false
            }
        }
    }

    /// Forgets a link whose stream ended; the next call starts the server again.
    fn discard(&self, up: &Arc<Started>) {
        let mut s = lock(&self.slot);
        if matches!(&*s, Slot::Up(cur) if Arc::ptr_eq(cur, up)) {
            *s = Slot::Idle;
        }
    }

    /// Stops the server if it has been idle for `idle_timeout` (no call in flight).
    pub fn evict_if_idle(&self, idle_timeout: Duration) -> bool {
        let idle_ms = idle_timeout.as_millis() as u64;
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let up = {
            let mut s = lock(&self.slot);
            let idle = now_ms.saturating_sub(self.last_used_ms.load(Ordering::Relaxed)) >= idle_ms;
            if !matches!(&*s, Slot::Up(_)) || !idle || self.inflight.load(Ordering::Acquire) > 0 {
                return false;
            }
            match std::mem::replace(&mut *s, Slot::Idle) {
                Slot::Up(up) => up,
                _ => return false,
            }
        };
        bump(&self.stats.evictions);
        tracing::info!(server = self.name(), "idle for {idle_timeout:?}: stopped");
        tokio::spawn(async move { up.link.close().await });
        true
    }

    /// The started link, if the server is up (nothing is started).
    pub fn current(&self) -> Option<Arc<Started>> {
        match &*lock(&self.slot) {
            Slot::Up(up) => Some(up.clone()),
            _ => None,
        }
    }

    /// Stops the server for good (the gateway stops): later calls fail.
    pub async fn shut(&self) {
        self.closing.store(true, Ordering::Release);
        let old = std::mem::replace(&mut *lock(&self.slot), Slot::Idle);
        self.changed.notify_waiters();
        if let Slot::Up(up) = old {
            let _ = tokio::time::timeout(Duration::from_secs(2), up.link.close()).await;
        }
    }

    /// This server in `/status`.
    pub fn status(&self, tools: usize) -> Value {
        let (slot, pid) = match &*lock(&self.slot) {
            Slot::Idle => ("idle", None),
            Slot::Starting { .. } => ("starting", None),
            Slot::Up(up) => ("up", up.link.pid()),
            Slot::Failed { .. } => ("failed", None),
        };
        let (breaker, opened) = {
            let b = lock(&self.breaker);
            (b.state(), b.opened)
        };
        let error = lock(&self.last_error).clone();
        let state = match slot {
            "up" if breaker == State::Closed && error.is_none() => "online",
            "starting" => "starting",
            "idle" if error.is_none() => "not_started",
            _ => "offline",
        };
        let s = &self.stats;
        json!({
            "name": self.name(),
            "transport": self.config.transport.kind(),
            "state": state,
            "error": error,
            "tools": tools,
            "lazy": self.config.lazy && self.config.lists.is_some(),
            "pid": pid,
            "breaker": breaker.as_str(),
            "breaker_opened": opened,
            "calls": get(&s.calls),
            "errors": get(&s.errors),
            "rejected": get(&s.rejected),
            "cache_hits": get(&s.cache_hits),
            "cache_entries": self.cache.len(),
            "retries": get(&s.retries),
            "reinitializations": get(&s.reinits),
            "starts": get(&s.starts),
            "start_failures": get(&s.start_failures),
            "evictions": get(&s.evictions),
        })
    }
}

fn start_error(e: &CallFailure) -> String {
    match e.outcome {
        Outcome::ClientError => e.what.clone(),
        o => link::describe(o),
    }
}

/// A call counted among those waiting for a start.
struct WaitGuard<'a>(&'a AtomicUsize);

impl<'a> WaitGuard<'a> {
    fn enter(b: &'a Backend) -> Result<WaitGuard<'a>, Fail> {
        let n = b.waiting.fetch_add(1, Ordering::AcqRel);
        let g = WaitGuard(&b.waiting);
        if n >= b.settings.max_waiting {
            return Err(Fail::Busy);
        }
        Ok(g)
    }
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
