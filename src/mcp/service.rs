//! The contract between a transport front end (Streamable HTTP, stdio) and whatever answers
//! MCP requests (a mock server, the reference gateway).
//!
//! A front end reads bytes, classifies them ([`super::jsonrpc`]), finds the [`Session`], and
//! hands each request to [`Service::request`], which decides *synchronously* how the answer
//! will travel ([`Handled::stream`]: an SSE stream when the call sends notifications) and
//! returns the work as a future. Transport errors, JSON-RPC errors and simulated HTTP failures
//! stay apart: a [`Reply`] holds the JSON-RPC outcome and, separately, an optional
//! [`HttpFault`].

use super::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId};
use super::session::Session;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A simulated HTTP failure in place of a JSON-RPC answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpFault {
    pub status: u16,
    pub retry_after_s: Option<u64>,
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub result: Result<Value, ErrorObject>,
    pub http: Option<HttpFault>,
}

impl Reply {
    pub fn ok(v: Value) -> Reply {
        Reply {
            result: Ok(v),
            http: None,
        }
    }
    pub fn err(e: ErrorObject) -> Reply {
        Reply {
            result: Err(e),
            http: None,
        }
    }
}

/// How a request will be answered, and the work that answers it. The future yields `None`
/// when the request was cancelled (no response is sent then).
pub struct Handled {
    /// Answer on an SSE stream (notifications first, then the response) rather than as JSON.
    pub stream: bool,
    pub reply: BoxFuture<'static, Option<Reply>>,
}

impl Handled {
    /// An answer that is ready now.
    pub fn now(reply: Reply) -> Handled {
        Handled {
            stream: false,
            reply: Box::pin(std::future::ready(Some(reply))),
        }
    }
}

/// Which front end a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Streamable HTTP.
    Http,
    /// The 2024-11-05 HTTP+SSE transport.
    HttpSse,
    Stdio,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Http => "streamable-http",
            TransportKind::HttpSse => "http+sse",
            TransportKind::Stdio => "stdio",
        }
    }
}

/// Where the notifications a request sends go: its own SSE stream (or stdout), or the
/// session's standalone stream when the answer is plain JSON.
#[derive(Clone)]
pub enum Notifier {
    Stream(mpsc::UnboundedSender<Message>),
    Session(Arc<Session>),
    /// Chosen once the service has said how it answers ([`Handled::stream`]).
    Deferred(Arc<Deferred>),
}

impl Notifier {
    pub fn send(&self, n: Notification) {
        match self {
            // A closed receiver means the client went away; there is nobody left to tell.
            Notifier::Stream(tx) => {
                let _ = tx.send(Message::Notification(n));
            }
            Notifier::Session(s) => s.push(Message::Notification(n)),
            Notifier::Deferred(d) => d.send(n),
        }
    }
}

/// A notifier whose destination is settled after the service has answered
/// [`Service::request`]: a front end creates a stream (and its channel) only for the answers
/// that go out as one. Notifications sent before then are kept, in order, and handed on when
/// it is settled.
#[derive(Default)]
pub struct Deferred {
    /// `None` once settled: nowhere (a 2026-07-28 answer sent as plain JSON has no stream).
    sink: std::sync::OnceLock<Option<Notifier>>,
    early: std::sync::Mutex<Vec<Notification>>,
}

impl Deferred {
    pub fn new() -> Arc<Deferred> {
        Arc::new(Deferred::default())
    }

    fn send(&self, n: Notification) {
        if self.sink.get().is_none() {
            let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
            // Settling happens under the lock: unsettled here means it has not begun.
            if self.sink.get().is_none() {
                return early.push(n);
            }
        }
        if let Some(Some(sink)) = self.sink.get() {
            sink.send(n);
        }
    }

    /// Sends what came early to `sink` (`None`: drops it), and everything after it. Once
    /// only: later calls are ignored.
    pub fn settle(&self, sink: Option<Notifier>) {
        let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
        if self.sink.get().is_some() {
            return;
        }
        if let Some(sink) = &sink {
            early.drain(..).for_each(|n| sink.send(n));
        }
        early.clear();
        let _ = self.sink.set(sink);
    }
}

/// What a service knows about a request besides its JSON.
pub struct CallContext {
    pub session: Arc<Session>,
    pub transport: TransportKind,
    /// CLOCK_MONOTONIC nanoseconds when the request's bytes were read.
    pub arrival_ns: u64,
    /// The `traceparent` HTTP header, if any.
    pub traceparent: Option<String>,
    /// The `x-gauntlet-call-id` HTTP header, if any.
    pub call_id_header: Option<u64>,
    pub notify: Notifier,
    /// Fires when the client cancels the request (notifications/cancelled). `None` where
    /// nothing can: a batch item, initialize, a 2026-07-28 request over HTTP (its client
    /// cancels by closing the stream, which drops the work instead).
    pub cancel: Option<CancellationToken>,
}

/// Something that answers MCP requests.
pub trait Service: Send + Sync + 'static {
    /// Decides how `req` is answered and returns the work. Called for every request,
    /// including initialize and ping.
    fn request(&self, req: Request, ctx: CallContext) -> Handled;

    /// A notification from the client (other than notifications/cancelled, which the front
    /// end handles).
    fn notification(&self, n: Notification, session: &Arc<Session>);

    /// The server's name and version, for the 2026-07-28 `_meta` of every result.
    fn server_info(&self) -> Option<Arc<Value>> {
        None
    }

    /// A JSON document served on `GET path` beside the MCP endpoints (the reference gateway's
    /// `/status`); `None` (the default) leaves the path to the transports (404).
    fn http_get(&self, _path: &str) -> Option<Value> {
        None
    }

    /// A response from the client to a request this server sent. Ignored by default.
    fn response(
        &self,
        _id: Option<RequestId>,
        _result: Result<Value, ErrorObject>,
        _s: &Arc<Session>,
    ) {
    }
}

/// Handles notifications/cancelled: fires the token of the named request, if still in flight.
pub fn cancel_from(n: &Notification, session: &Session) -> bool {
    if n.method != "notifications/cancelled" {
        return false;
    }
    let id = n
        .params
        .as_ref()
        .and_then(|p| p.get("requestId"))
        .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok());
    if let Some(id) = id {
        session.cancel(&id);
    }
    true
}

/// Runs a request's work, registered as in flight so that it can be cancelled.
pub async fn run_cancellable(
    session: Arc<Session>,
    id: RequestId,
    token: CancellationToken,
    work: BoxFuture<'static, Option<Reply>>,
) -> Option<Reply> {
    let guard = session.track(id, token.clone());
    let out = tokio::select! {
        biased;
        r = work => r,
        _ = token.cancelled() => None,
    };
    drop(guard);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn note(i: u64) -> Notification {
        Notification::new("notifications/progress", json!({"progress": i}))
    }

    fn progress(m: &Message) -> Option<u64> {
        match m {
            Message::Notification(n) => n.params.as_ref()?.get("progress")?.as_u64(),
            _ => None,
        }
    }

    #[test]
    fn deferred_keeps_early_messages_in_order_and_settles_once() {
        let d = Deferred::new();
        let n = Notifier::Deferred(d.clone());
        n.send(note(1));
        n.send(note(2));
        let (tx, mut rx) = mpsc::unbounded_channel();
        d.settle(Some(Notifier::Stream(tx)));
        n.send(note(3));
        d.settle(None);
        n.send(note(4));
        let mut got = Vec::new();
        while let Ok(m) = rx.try_recv() {
            got.push(progress(&m));
        }
        assert_eq!(got, [Some(1), Some(2), Some(3), Some(4)]);

        let discard = Deferred::new();
        Notifier::Deferred(discard.clone()).send(note(1));
        discard.settle(None);
        Notifier::Deferred(discard.clone()).send(note(2));
        assert!(discard.early.lock().map(|e| e.is_empty()).unwrap_or(false));
    }

    #[test]
    fn deferred_loses_nothing_sent_while_it_settles() {
        for _ in 0..50 {
            let d = Deferred::new();
            let (tx, mut rx) = mpsc::unbounded_channel();
            let sender = {
                let n = Notifier::Deferred(d.clone());
                std::thread::spawn(move || (0..200).for_each(|i| n.send(note(i))))
            };
            d.settle(Some(Notifier::Stream(tx)));
            sender.join().expect("the sender thread");
            let mut got = Vec::new();
            while let Ok(m) = rx.try_recv() {
                got.extend(progress(&m));
            }
            assert_eq!(got, (0..200).collect::<Vec<_>>());
        }
    }
}
