//! Answers broken on purpose (the `malformed` fault), applied by the HTTP front end to the answer
//! of one request.
//!
//! A service asks for it with [`request`] while it handles the request (synchronously, in
//! [`Service::request`](super::service::Service::request)); the connection runs every request
//! inside [`scoped`], which reads the mark when the answer is ready and rewrites its body:
//!
//! | [`WireFault`] | JSON answer | SSE answer (the event carrying the response) |
//! |---|---|---|
//! | `InvalidJson` | the body cut in half: not JSON | the event's data cut in half |
//! | `WrongId` | the response's id changed | the same, in the event |
//! | `CutSse` | half the body, then the connection is aborted | half the event, then the connection is aborted |
//! | `Drip(d)` | the body in small chunks spread over `d` | the event dripped the same way |
//!
//! Only 200 answers with a JSON or SSE body are touched; anything else (202, an HTTP error, the
//! 2024-11-05 transport's POSTs) passes unchanged. Outside an HTTP connection (stdio),
//! [`request`] does nothing.

use super::http_parts::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, Either, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use std::cell::Cell;
use std::collections::VecDeque;
use std::time::Duration;

/// How an answer is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFault {
    InvalidJson,
    WrongId,
    CutSse,
    Drip(Duration),
}

tokio::task_local! {
    static MARK: Cell<Option<WireFault>>;
}

/// Asks the front end to break the answer of the request being handled.
pub fn request(f: WireFault) {
    let _ = MARK.try_with(|m| m.set(Some(f)));
}

/// The body of an answer: as the handler built it, or rewritten.
pub type WireBody = Either<Body, UnsyncBoxBody<Bytes, std::io::Error>>;

/// Runs a request's handler with a place for the mark; breaks the answer if it was marked.
pub async fn scoped<F>(handler: F) -> http::Response<WireBody>
where
    F: Future<Output = http::Response<Body>>,
{
    let (resp, mark) = MARK
        .scope(Cell::new(None), async {
            let r = handler.await;
            (r, MARK.with(Cell::get))
        })
        .await;
    match mark {
        None => resp.map(Either::Left),
        Some(f) => apply(resp, f),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Sse,
}

fn apply(resp: http::Response<Body>, fault: WireFault) -> http::Response<WireBody> {
    let ct = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let kind = if ct.starts_with(b"application/json") {
        Kind::Json
    } else if ct.starts_with(b"text/event-stream") {
        Kind::Sse
    } else {
        return resp.map(Either::Left);
    };
    if resp.status() != http::StatusCode::OK {
        return resp.map(Either::Left);
    }
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let st = Rewrite {
        inner: body.into_data_stream(),
        kind,
        fault,
        done: false,
        applied: false,
        buffer: Vec::new(),
        queue: VecDeque::new(),
    };
    let frames = futures_util::stream::unfold(st, Rewrite::next);
    let body = UnsyncBoxBody::new(StreamBody::new(frames));
    http::Response::from_parts(parts, Either::Right(body))
}

/// What the rewritten body does next.
enum Step {
    Data(Bytes),
    Wait(Duration),
    Cut,
}

struct Rewrite {
    inner: BodyDataStream<Body>,
    kind: Kind,
    fault: WireFault,
    done: bool,
    applied: bool,
    /// A JSON answer, gathered whole before it is rewritten.
    buffer: Vec<u8>,
    queue: VecDeque<Step>,
}

type Item = Result<Frame<Bytes>, std::io::Error>;

impl Rewrite {
    async fn next(mut self) -> Option<(Item, Rewrite)> {
        loop {
            match self.queue.pop_front() {
                Some(Step::Data(b)) => return Some((Ok(Frame::data(b)), self)),
                Some(Step::Wait(d)) => {
                    tokio::time::sleep(d).await;
                    continue;
                }
                Some(Step::Cut) => {
                    self.queue.clear();
                    self.done = true;
                    let e = std::io::Error::other("answer cut on purpose (malformed fault)");
                    return Some((Err(e), self));
                }
                None if self.done => return None,
                None => {}
            }
            match self.inner.next().await {
                Some(Ok(bytes)) if self.kind == Kind::Json => self.buffer.extend_from_slice(&bytes),
                Some(Ok(bytes)) => self.event(bytes),
                Some(Err(never)) => match never {},
                None => {
                    self.done = true;
                    if self.kind == Kind::Json {
                        let whole = std::mem::take(&mut self.buffer);
                        let steps = broken(&whole, self.fault, |j| Some(j.to_vec()));
                        self.queue.extend(steps);
                    }
                }
            }
        }
    }

    /// One SSE event: the first that carries a response is broken, the rest pass.
    fn event(&mut self, frame: Bytes) {
        if self.applied {
            self.queue.push_back(Step::Data(frame));
            return;
        }
        let Some((head, data)) = split_event(&frame) else {
            self.queue.push_back(Step::Data(frame));
            return;
        };
        if !is_response(data) {
            self.queue.push_back(Step::Data(frame));
            return;
        }
        self.applied = true;
        let rebuild = |json: &[u8]| {
            let mut out = head.to_vec();
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(json);
            out.extend_from_slice(b"\n\n");
            Some(out)
        };
        let steps = broken(data, self.fault, rebuild);
        self.queue.extend(steps);
    }
}

/// The steps that send `json` broken by `fault`; `wrap` turns a JSON text into what is sent
/// (itself for a JSON body, an SSE event for a stream).
fn broken(json: &[u8], fault: WireFault, wrap: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Vec<Step> {
    let whole = || wrap(json).unwrap_or_else(|| json.to_vec());
    match fault {
        WireFault::InvalidJson => {
            let half = &json[..json.len() / 2];
            vec![Step::Data(Bytes::from(wrap(half).unwrap_or_default()))]
        }
        WireFault::WrongId => {
            let changed = wrong_id(json).and_then(|j| wrap(&j)).unwrap_or_else(whole);
            vec![Step::Data(Bytes::from(changed))]
        }
        WireFault::CutSse => {
            let all = whole();
            let half = Bytes::from(all[..all.len() / 2].to_vec());
            vec![Step::Data(half), Step::Cut]
        }
        WireFault::Drip(over) => drip(Bytes::from(whole()), over),
    }
}

/// Most chunks a dripped answer is cut into.
const DRIP_CHUNKS: usize = 20;

/// `bytes` in up to [`DRIP_CHUNKS`] chunks, each after an equal share of `over`.
fn drip(bytes: Bytes, over: Duration) -> Vec<Step> {
    let size = bytes.len().div_ceil(DRIP_CHUNKS).max(1);
    let n = bytes.len().div_ceil(size).max(1);
    let pause = over / n as u32;
    let mut out = Vec::with_capacity(2 * n);
    let mut at = 0;
    while at < bytes.len() || out.is_empty() {
        let end = (at + size).min(bytes.len());
        out.push(Step::Wait(pause));
        out.push(Step::Data(bytes.slice(at..end)));
        at = end;
        if end == bytes.len() {
            break;
        }
    }
    out
}

/// A response with another id: a number plus one, anything else suffixed.
fn wrong_id(json: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(json).ok()?;
    let id = v.as_object_mut()?.get_mut("id")?;
    *id = match &*id {
        Value::Number(n) => match n.as_u64() {
            Some(u) => Value::from(u.wrapping_add(1)),
            None => Value::from(format!("{n}-wrong")),
        },
        Value::String(s) => Value::from(format!("{s}-wrong")),
        _ => Value::from(0u64),
    };
    serde_json::to_vec(&v).ok()
}

/// An SSE event's other lines (id, event) and its data, when it has exactly one data line.
fn split_event(frame: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = frame
        .windows(6)
        .position(|w| w == b"data: ")
        .filter(|&i| i == 0 || frame[i - 1] == b'\n')?;
    let rest = &frame[start + 6..];
    let end = rest.iter().position(|&b| b == b'\n')?;
    if rest[end + 1..].starts_with(b"data:") {
        return None;
    }
    Some((&frame[..start], &rest[..end]))
}

/// Whether a JSON text is a JSON-RPC response (an id with a result or an error).
fn is_response(data: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow, default)]
        id: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow, default)]
        result: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow, default)]
        error: Option<&'a serde_json::value::RawValue>,
    }
    serde_json::from_slice::<Head<'_>>(data)
        .is_ok_and(|h| h.id.is_some() && (h.result.is_some() || h.error.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(steps: &[Step]) -> Vec<u8> {
        let mut out = Vec::new();
        for s in steps {
            if let Step::Data(b) = s {
                out.extend_from_slice(b);
            }
        }
        out
    }

    const RESPONSE: &[u8] = br#"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#;

    #[test]
    fn each_fault_breaks_a_json_answer_its_way() {
        let same = |j: &[u8]| Some(j.to_vec());
        let invalid = data(&broken(RESPONSE, WireFault::InvalidJson, same));
        assert!(serde_json::from_slice::<Value>(&invalid).is_err());
        let wrong = data(&broken(RESPONSE, WireFault::WrongId, same));
        let v: Value = serde_json::from_slice(&wrong).unwrap();
        assert_eq!(v["id"], 8);
        assert_eq!(v["result"], serde_json::json!({"content": []}));
        let cut = broken(RESPONSE, WireFault::CutSse, same);
        assert!(matches!(cut.last(), Some(Step::Cut)));
        assert_eq!(data(&cut).len(), RESPONSE.len() / 2);
        let dripped = broken(RESPONSE, WireFault::Drip(Duration::from_secs(2)), same);
        assert_eq!(data(&dripped), RESPONSE, "a drip loses nothing");
        let waits: Duration = dripped
            .iter()
            .map(|s| match s {
                Step::Wait(d) => *d,
                _ => Duration::ZERO,
            })
            .sum();
        assert!(waits <= Duration::from_secs(2) && waits >= Duration::from_millis(1900));
        let chunks = dripped
            .iter()
            .filter(|s| matches!(s, Step::Data(_)))
            .count();
        assert!(chunks > 10 && chunks <= DRIP_CHUNKS, "{chunks}");
    }

    #[test]
    fn events_are_split_and_responses_recognised() {
        let ev = b"id: 3-1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let (head, data) = split_event(ev).unwrap();
        assert_eq!(head, b"id: 3-1\nevent: message\n");
        assert!(is_response(data));
        let progress = br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#;
        assert!(!is_response(progress));
        assert!(!is_response(b"not json"));
        assert_eq!(
            split_event(b"id: 1\nretry: 5\ndata: \n\n").map(|x| x.1),
            Some(&b""[..])
        );
        assert!(split_event(b": comment\n\n").is_none());
    }

    #[test]
    fn ids_change_whatever_their_type() {
        let s = wrong_id(br#"{"id":"a","result":{}}"#).unwrap();
        assert!(String::from_utf8(s).unwrap().contains("a-wrong"));
        assert!(wrong_id(b"[1]").is_none());
    }

    #[tokio::test]
    async fn outside_a_scope_a_mark_is_ignored_and_inside_it_is_read() {
        request(WireFault::WrongId);
        let resp = scoped(async {
            request(WireFault::InvalidJson);
            crate::mcp::http_parts::json(http::StatusCode::OK, RESPONSE.to_vec())
        })
        .await;
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(serde_json::from_slice::<Value>(&body).is_err());
        let plain =
            scoped(async { crate::mcp::http_parts::json(http::StatusCode::OK, RESPONSE.to_vec()) })
                .await;
        assert!(matches!(plain.body(), Either::Left(_)));
    }
}
