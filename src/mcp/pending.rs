//! Calls waiting for responses that arrive on a shared stream (stdio's stdout, the legacy
//! transport's SSE stream): registered by id, answered by the stream's reader, failed together
//! when the stream ends. Used by `client_stdio` and `client_legacy`.

use super::client::{CallResult, RespId, Wire, outcome_of, read_wire};
use crate::sample::{Outcome, TransportError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tokio::sync::oneshot;

/// A call waiting for its response.
struct Waiter {
    keep: bool,
    tx: oneshot::Sender<CallResult>,
}

/// What is told of the server's notifications (their JSON bytes).
pub(crate) type NotificationHandler = Box<dyn Fn(&[u8]) + Send + Sync>;

/// The waiting calls of one stream.
pub(crate) struct Pending {
    /// `None` once the stream has ended: no answer can come any more.
    waiters: Mutex<Option<HashMap<u64, Waiter>>>,
    malformed: AtomicU64,
    stray: AtomicU64,
    /// Notifications and server requests go here, when set; otherwise they are dropped.
    notify: OnceLock<NotificationHandler>,
}

impl Pending {
    pub(crate) fn new() -> Pending {
        Pending {
            waiters: Mutex::new(Some(HashMap::new())),
            malformed: AtomicU64::new(0),
            stray: AtomicU64::new(0),
            notify: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<HashMap<u64, Waiter>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers call `id`. Fails with `Transport(Eof)` once the stream has ended, and with
    /// `ClientError` when the id is already in flight (the answers could not be told apart).
    pub(crate) fn register(
        &self,
        id: u64,
        keep: bool,
    ) -> Result<(Registration<'_>, oneshot::Receiver<CallResult>), Outcome> {
        let (tx, rx) = oneshot::channel();
        let mut g = self.lock();
        let Some(map) = g.as_mut() else {
            return Err(Outcome::Transport(TransportError::Eof));
        };
        if map.contains_key(&id) {
            return Err(Outcome::ClientError);
        }
        map.insert(id, Waiter { keep, tx });
        Ok((Registration { pending: self, id }, rx))
    }

    /// Sets where notifications go (the first handler set is kept).
    pub(crate) fn on_notification(&self, f: NotificationHandler) {
        let _ = self.notify.set(f);
    }

    /// Routes one message from the stream to the call waiting for it.
    pub(crate) fn deliver(&self, bytes: &[u8]) {
        match read_wire(bytes) {
            Wire::Other => {
                if let Some(f) = self.notify.get() {
                    f(bytes);
                }
            }
            Wire::Malformed => {
                self.count_malformed();
                tracing::debug!("a message from the server that is not JSON-RPC");
            }
            Wire::Response {
                id: RespId::Num(id),
                body,
            } => {
                let waiter = self.lock().as_mut().and_then(|m| m.remove(&id));
                match waiter {
                    Some(w) => {
                        let _ = w.tx.send(outcome_of(body, w.keep));
                    }
                    None => {
                        self.stray.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Wire::Response { .. } => {
                self.stray.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The stream ended: every waiting call, and every later one, fails.
    pub(crate) fn end(&self, outcome: Outcome) {
        let waiters = self.lock().take();
        for (_, w) in waiters.into_iter().flatten() {
            let _ = w.tx.send(CallResult::failed(outcome));
        }
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.lock().is_none()
    }

    pub(crate) fn count_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    pub(crate) fn stray(&self) -> u64 {
        self.stray.load(Ordering::Relaxed)
    }
}

/// Removes a call's waiter when the call ends without its answer (timeout, or the caller
/// dropped the call); a no-op when the reader already answered it.
pub(crate) struct Registration<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Some(map) = self.pending.lock().as_mut() {
            map.remove(&self.id);
        }
    }
}
