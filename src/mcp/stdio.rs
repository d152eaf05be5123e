//! stdio, server side: newline-delimited JSON-RPC on stdin/stdout, one implicit session.
//! Nothing but messages goes to stdout (logs go to stderr); the server stops reading when
//! stdin closes, lets the calls in flight answer (up to [`DRAIN`]), and returns.

use super::http_parts::MAX_BODY;
use super::jsonrpc::{self, ErrorObject, Incoming, Message, Request, RequestId, code};
use super::modern;
use super::protocol::{Version, negotiate};
use super::service::{
    CallContext, Notifier, Reply, Service, TransportKind, cancel_from, run_cancellable,
};
use super::session::Session;
use crate::clock;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long calls in flight may still answer after stdin closed.
pub const DRAIN: Duration = Duration::from_secs(10);

/// What [`read_line`] read.
pub(crate) enum Line {
    Eof,
    Ok,
    TooLong,
}

/// Reads one line into `buf` (without the newline), refusing lines over `max` bytes (the rest
/// of such a line is skipped).
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                Line::Eof
            } else if too_long {
                Line::TooLong
            } else {
                Line::Ok
            });
        }
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1),
            None => (chunk, chunk.len()),
        };
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        let found = done <= chunk.len() && chunk.get(done - 1) == Some(&b'\n');
        r.consume(done);
        if found {
            return Ok(if too_long { Line::TooLong } else { Line::Ok });
        }
    }
}

/// Serves `service` on a byte stream pair until `input` ends or `shutdown` fires. `session` is
/// the one session of the stream (the caller keeps it to push messages to the client).
pub async fn serve<S, R, W>(
    service: Arc<S>,
    session: Arc<Session>,
    input: R,
    output: W,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    S: Service,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(write_loop(output, rx));
    // Messages the server sends on its own (list changes) go to stdout too.
    let mut own = session.open_stream();
    let forward = tx.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(m) = own.recv().await {
            let _ = forward.send(m);
        }
    });
    let tracker = TaskTracker::new();
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut buf = Vec::new();
    loop {
        let line = tokio::select! {
            _ = shutdown.cancelled() => break,
            l = read_line(&mut reader, &mut buf, MAX_BODY) => l?,
        };
        let arrival = clock::now_ns();
        match line {
            Line::Eof => break,
            Line::TooLong => {
                let e = ErrorObject::new(code::INVALID_REQUEST, "message over 4 MiB");
                send_error(&tx, None, e);
            }
            Line::Ok if buf.iter().all(u8::is_ascii_whitespace) => {}
            Line::Ok => match jsonrpc::parse(&buf) {
                Err(f) => send_error(&tx, f.id, f.error),
                Ok(Incoming::Single(m)) => {
                    dispatch(&service, &session, m, arrival, &tx, &tracker);
                }
                Ok(Incoming::Batch(items)) => {
                    // Answered one by one: stdio has no batch framing that clients rely on.
                    for item in items {
                        match item {
                            Ok(m) => dispatch(&service, &session, m, arrival, &tx, &tracker),
                            Err(f) => send_error(&tx, f.id, f.error),
                        }
                    }
                }
            },
        }
    }
    tracker.close();
    tokio::select! {
        _ = tracker.wait() => {}
        _ = tokio::time::sleep(DRAIN) => session.cancel_all(),
        _ = shutdown.cancelled() => session.cancel_all(),
    }
    session.close_streams();
    let _ = forwarder.await;
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    Ok(())
}

/// An error answer to a line that is not a request.
fn send_error(tx: &mpsc::UnboundedSender<Message>, id: Option<RequestId>, error: ErrorObject) {
    let _ = tx.send(Message::Response(jsonrpc::Response {
        id,
        result: Err(error),
    }));
}

fn dispatch<S: Service>(
    service: &Arc<S>,
    session: &Arc<Session>,
    msg: Message,
    arrival: u64,
    tx: &mpsc::UnboundedSender<Message>,
    tracker: &TaskTracker,
) {
    match msg {
        Message::Request(r) => {
            if r.method == "initialize" {
                let requested = r
                    .params
                    .as_ref()
                    .and_then(|p| p.get("protocolVersion"))
                    .and_then(|v| v.as_str());
                session.set_version(negotiate(requested));
            }
            tracker.spawn(answer(
                service.clone(),
                session.clone(),
                r,
                arrival,
                tx.clone(),
            ));
        }
        Message::Notification(n) => {
            if !cancel_from(&n, session) {
                service.notification(n, session);
            }
        }
        Message::Response(r) => service.response(r.id, r.result, session),
    }
}

async fn answer<S: Service>(
    service: Arc<S>,
    session: Arc<Session>,
    r: Request,
    arrival: u64,
    tx: mpsc::UnboundedSender<Message>,
) {
    let era = match stateless_era(&r) {
        Ok(era) => era,
        Err(e) => return send_error(&tx, Some(r.id), e),
    };
    let token = CancellationToken::new();
    let ctx = CallContext {
        // A 2026-07-28 request brings its own revision and log level.
        session: era.clone().unwrap_or_else(|| session.clone()),
        transport: TransportKind::Stdio,
        arrival_ns: arrival,
        traceparent: None,
        call_id_header: None,
        notify: Notifier::Stream(tx.clone()),
        cancel: Some(token.clone()),
    };
    let (id, cacheable) = (r.id.clone(), modern::cacheable(&r.method));
    let handled = service.request(r, ctx);
    if let Some(reply) = run_cancellable(session, id.clone(), token, handled.reply).await {
        let mut result = match reply {
            Reply { http: Some(f), .. } => Err(ErrorObject::new(
                code::INTERNAL_ERROR,
                format!("HTTP {} (simulated)", f.status),
            )),
            Reply { result, .. } => result,
        };
        if let (Some(_), Ok(v)) = (&era, &mut result) {
            modern::decorate(cacheable, v, service.server_info().as_deref());
        }
        let _ = tx.send(Message::Response(jsonrpc::Response {
            id: Some(id),
            result,
        }));
    }
}

/// For a 2026-07-28 request (its revision in `_meta`, no initialize), a one-request session
/// with the revision and the log level it names; `None` for a request of the session's era.
/// The per-request rules that do not concern HTTP headers apply as over HTTP.
fn stateless_era(r: &Request) -> Result<Option<Arc<Session>>, ErrorObject> {
    if !modern::claims_modern(&http::HeaderMap::new(), r) {
        return Ok(None);
    }
    let asked = modern::check_meta(r).map_err(|rejection| rejection.error)?;
    if modern::REMOVED.contains(&r.method.as_str()) || r.method == "subscriptions/listen" {
        // Listen streams are served over HTTP only.
        return Err(ErrorObject::new(
            code::METHOD_NOT_FOUND,
            format!("method not found: {} (over stdio, 2026-07-28)", r.method),
        ));
    }
    let s = Session::new(None, Version::V2026_07_28);
    s.set_log_level(asked.log_level);
    Ok(Some(s))
}

async fn write_loop<W: AsyncWrite + Unpin>(mut out: W, mut rx: mpsc::UnboundedReceiver<Message>) {
    while let Some(m) = rx.recv().await {
        if write_one(&mut out, &m).await.is_err() {
            return;
        }
        while let Ok(m) = rx.try_recv() {
            if write_one(&mut out, &m).await.is_err() {
                return;
            }
        }
        if out.flush().await.is_err() {
            return;
        }
    }
}

async fn write_one<W: AsyncWrite + Unpin>(out: &mut W, m: &Message) -> std::io::Result<()> {
    let mut bytes = m.to_vec();
    bytes.push(b'\n');
    out.write_all(&bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded() {
        let data = b"abc\nxxxxxxxxxx\nlast".to_vec();
        let mut r = BufReader::with_capacity(4, &data[..]);
        let mut buf = Vec::new();
        assert!(matches!(
            read_line(&mut r, &mut buf, 5).await.unwrap(),
            Line::Ok
        ));
        assert_eq!(buf, b"abc");
        assert!(matches!(
            read_line(&mut r, &mut buf, 5).await.unwrap(),
            Line::TooLong
        ));
        assert!(matches!(
            read_line(&mut r, &mut buf, 5).await.unwrap(),
            Line::Ok
        ));
        assert_eq!(buf, b"last");
        assert!(matches!(
            read_line(&mut r, &mut buf, 5).await.unwrap(),
            Line::Eof
        ));
    }
}
