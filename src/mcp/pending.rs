//! Calls waiting for responses that arrive on a shared stream (stdio's stdout, the legacy
//! transport's SSE stream): registered by id, answered by the stream's reader, failed together
//! when the stream ends. Used by `client_stdio` and `client_legacy`.

use super::client::{CallResult, RelaySink, RespId, Wire, outcome_of, read_wire, relay_sink};
use super::outcome::{Outcome, TransportError};
use super::protocol::meta::PROGRESS_TOKEN;
use super::session::lock;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
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
    /// Progress relayed to the callers of requests in flight ([`relay_progress`]), by the
    /// token this client gave each request; `relays` counts them, so that nothing is parsed
    /// while there are none.
    relayed: Mutex<HashMap<String, RelaySink>>,
    relays: AtomicUsize,
}

impl Pending {
    pub(crate) fn new() -> Pending {
        Pending {
            waiters: Mutex::new(Some(HashMap::new())),
            malformed: AtomicU64::new(0),
            stray: AtomicU64::new(0),
            notify: OnceLock::new(),
            relayed: Mutex::new(HashMap::new()),
            relays: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<HashMap<u64, Waiter>>> {
        lock(&self.waiters)
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
                if self.relays.load(Ordering::Acquire) > 0 && self.relay(bytes) {
                    return;
                }
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

    /// Hands a progress notification to the caller whose request it is about, if one is
    /// relayed; `false` if it is not.
    fn relay(&self, bytes: &[u8]) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
            return false;
        };
        if v["method"] != "notifications/progress" {
            return false;
        }
        let Some(token) = v["params"][PROGRESS_TOKEN].as_str() else {
            return false;
        };
        let sink = lock(&self.relayed).get(token).cloned();
        match sink {
            Some(sink) => {
                sink(v);
                true
            }
            None => false,
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

/// Relays a request's progress while it is held; removes the relay when dropped.
pub(crate) struct ProgressRelay<'a> {
    pending: &'a Pending,
    token: String,
}

impl Drop for ProgressRelay<'_> {
    fn drop(&mut self) {
        lock(&self.pending.relayed).remove(&self.token);
        self.pending.relays.fetch_sub(1, Ordering::Release);
    }
}

/// For a request made on behalf of a caller that relays notifications
/// ([`super::client::relaying`]) and asked for progress: `params` with a progress token of this
/// client's own (callers' tokens may collide on a shared stream), and the relay that hands the
/// server's progress for it to the caller with the caller's token put back. `None` otherwise.
pub(crate) fn relay_progress<'a>(
    pending: &'a Pending,
    params: &Value,
) -> Option<(Value, ProgressRelay<'a>)> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let theirs = params.get("_meta")?.get(PROGRESS_TOKEN)?.clone();
    let sink = relay_sink()?;
    let token = format!("relay-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut ours = params.clone();
    ours["_meta"][PROGRESS_TOKEN] = Value::String(token.clone());
    let back: RelaySink = Arc::new(move |mut v: Value| {
        v["params"][PROGRESS_TOKEN] = theirs.clone();
        sink(v);
    });
    lock(&pending.relayed).insert(token.clone(), back);
    pending.relays.fetch_add(1, Ordering::Release);
    Some((ours, ProgressRelay { pending, token }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn progress_goes_to_its_caller_with_its_token() {
        let pending = Pending::new();
        let others = Arc::new(Mutex::new(Vec::<Value>::new()));
        let o = others.clone();
        pending.on_notification(Box::new(move |b: &[u8]| {
            lock(&o).extend(serde_json::from_slice::<Value>(b).ok());
        }));
        let got = Arc::new(Mutex::new(Vec::<Value>::new()));
        let g = got.clone();
        let sink: RelaySink = Arc::new(move |v: Value| lock(&g).push(v));
        let params = json!({"name": "t", "_meta": {"progressToken": 7}});
        assert!(relay_progress(&pending, &params).is_none(), "no relay set");
        super::super::client::relaying(sink, async {
            let (sent, relay) = relay_progress(&pending, &params).expect("relayed");
            let ours = sent["_meta"]["progressToken"].clone();
            assert_ne!(ours, json!(7), "a token of the client's own");
            assert_eq!(sent["name"], "t");
            let note = |token: &Value| {
                json!({"jsonrpc": "2.0", "method": "notifications/progress",
                       "params": {"progressToken": token, "progress": 1}})
                .to_string()
            };
            pending.deliver(note(&ours).as_bytes());
            pending.deliver(note(&json!("someone else")).as_bytes());
            drop(relay);
            pending.deliver(note(&ours).as_bytes());
        })
        .await;
        let got = lock(&got).clone();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0]["params"]["progressToken"], 7,
            "the caller's token back"
        );
        assert_eq!(lock(&others).len(), 2, "the rest goes to the handler");
        assert_eq!(pending.relays.load(Ordering::Acquire), 0);
        assert!(lock(&pending.relayed).is_empty());
    }
}
