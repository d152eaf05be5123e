//! MCP sessions: the negotiated revision, the logging level, the standalone server→client
//! streams and the requests in flight (for notifications/cancelled).

use super::jsonrpc::{Message, Notification, RequestId};
use super::modern::{self, ListenFilter};
use super::protocol::{LogLevel, Version};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One client session. Over stdio there is exactly one, without an id.
pub struct Session {
    id: Option<Arc<str>>,
    version: AtomicU8,
    log_level: AtomicU8,
    streams: Mutex<Vec<mpsc::UnboundedSender<Message>>>,
    inflight: Mutex<HashMap<RequestId, CancellationToken>>,
    /// Requests answered in this session (for diagnostics and tests).
    pub served: AtomicU64,
}

/// [`Session::log_level`] `None`.
const LOGGING_OFF: u8 = u8::MAX;

/// Locks `m`, taking over from a holder that panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data inconsistent (single
    // inserts and removes), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    pub fn new(id: Option<String>, version: Version) -> Arc<Session> {
        Arc::new(Session {
            id: id.map(Arc::from),
            version: AtomicU8::new(version as u8),
            log_level: AtomicU8::new(LogLevel::Debug as u8),
            streams: Mutex::new(Vec::new()),
            inflight: Mutex::new(HashMap::new()),
            served: AtomicU64::new(0),
        })
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub fn version(&self) -> Version {
        Version::ALL[usize::from(self.version.load(Ordering::Relaxed)).min(Version::ALL.len() - 1)]
    }

    pub fn set_version(&self, v: Version) {
        self.version.store(v as u8, Ordering::Relaxed);
    }

    /// The lowest level of notifications/message to send; `None`: send none (a 2026-07-28
    /// request that named no log level).
    pub fn log_level(&self) -> Option<LogLevel> {
        match self.log_level.load(Ordering::Relaxed) {
            LOGGING_OFF => None,
            n => Some(LogLevel::from_u8(n)),
        }
    }

    pub fn set_log_level(&self, level: Option<LogLevel>) {
        let n = level.map_or(LOGGING_OFF, |l| l as u8);
        self.log_level.store(n, Ordering::Relaxed);
    }

    /// Opens a standalone stream (HTTP GET); messages pushed to the session arrive on it.
    pub fn open_stream(&self) -> mpsc::UnboundedReceiver<Message> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.streams).push(tx);
        rx
    }

    /// Sends a message on the session's standalone streams; with none open, it is dropped
    /// (the Streamable HTTP rule: a server may only send what a client can receive).
    pub fn push(&self, msg: Message) {
        let mut streams = lock(&self.streams);
        streams.retain(|tx| !tx.is_closed());
        if let Some(tx) = streams.first() {
            let _ = tx.send(msg);
        }
    }

    /// Whether a standalone stream is open.
    pub fn has_stream(&self) -> bool {
        let mut streams = lock(&self.streams);
        streams.retain(|tx| !tx.is_closed());
        !streams.is_empty()
    }

    /// Closes every standalone stream (session ended).
    pub fn close_streams(&self) {
        lock(&self.streams).clear();
    }

    /// Registers a request as in flight until the guard drops.
    pub fn track(self: &Arc<Self>, id: RequestId, token: CancellationToken) -> InflightGuard {
        lock(&self.inflight).insert(id.clone(), token);
        InflightGuard {
            session: self.clone(),
            id: Some(id),
        }
    }

    pub fn cancel(&self, id: &RequestId) {
        if let Some(t) = lock(&self.inflight).get(id) {
            t.cancel();
        }
    }

    /// Cancels everything in flight (session deleted or server shutting down).
    pub fn cancel_all(&self) {
        for t in lock(&self.inflight).values() {
            t.cancel();
        }
    }
}

pub struct InflightGuard {
    session: Arc<Session>,
    id: Option<RequestId>,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            lock(&self.session.inflight).remove(&id);
        }
    }
}

/// The sessions of one HTTP server, by id, and its 2026-07-28 `subscriptions/listen` streams.
#[derive(Default)]
pub struct SessionTable {
    map: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    listeners: Mutex<Vec<Listener>>,
}

/// An open `subscriptions/listen` stream.
struct Listener {
    id: RequestId,
    filter: ListenFilter,
    tx: mpsc::UnboundedSender<Message>,
}

impl SessionTable {
    pub fn insert(&self, s: Arc<Session>) {
        if let Some(id) = s.id.clone() {
            self.map
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, s);
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let s = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(s) = &s {
            s.close_streams();
            s.cancel_all();
        }
        s
    }

    /// Forgets every session (a restarted server; the session-loss fault).
    pub fn clear(&self) {
        let old: Vec<_> = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (_, s) in old {
            s.close_streams();
            s.cancel_all();
        }
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens a listen stream for subscription `id`: it starts with the acknowledgement, then
    /// carries the notifications [`SessionTable::broadcast`] sends that the filter wants.
    pub fn listen(&self, id: RequestId, filter: ListenFilter) -> mpsc::UnboundedReceiver<Message> {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Message::Notification(modern::acknowledged(&id, filter)));
        let mut listeners = lock(&self.listeners);
        listeners.retain(|l| !l.tx.is_closed());
        listeners.push(Listener { id, filter, tx });
        rx
    }

    /// Sends a server notification (a list change) to every session's standalone stream and
    /// to every listen stream that opted in to it, tagged with its subscription id.
    pub fn broadcast(&self, n: &Notification) {
        for s in self.all() {
            s.push(Message::Notification(n.clone()));
        }
        let mut listeners = lock(&self.listeners);
        listeners.retain(|l| !l.tx.is_closed());
        for l in listeners.iter().filter(|l| l.filter.wants(&n.method)) {
            let _ = l.tx.send(Message::Notification(modern::tagged(n, &l.id)));
        }
    }

    /// Open listen streams.
    pub fn listeners(&self) -> usize {
        let mut listeners = lock(&self.listeners);
        listeners.retain(|l| !l.tx.is_closed());
        listeners.len()
    }

    /// Ends every listen stream (the server stops), each with the response that tells its
    /// client the subscription ended gracefully.
    pub fn close_listeners(&self) {
        for l in lock(&self.listeners).drain(..) {
            let done = serde_json::json!({
                "resultType": "complete",
                "_meta": {super::protocol::modern_key::SUBSCRIPTION_ID: l.id},
            });
            let _ = l.tx.send(Message::Response(super::jsonrpc::Response {
                id: Some(l.id),
                result: Ok(done),
            }));
        }
    }

    /// Every live session (for broadcasts such as list_changed).
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// A fresh session id: 128 random bits, hex (visible ASCII, as the spec requires).
pub fn new_session_id() -> String {
    let n: u128 = rand::random();
    format!("{n:032x}")
}
