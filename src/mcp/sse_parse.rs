//! Server-Sent Events, reading side: an incremental parser for `text/event-stream` bodies.
//!
//! Bytes go in as they arrive ([`SseParser::feed`]), whole events come out
//! ([`SseParser::next_event`]). It follows the WHATWG rules: lines end with `\n`, `\r\n` or a
//! lone `\r` (also when the `\r` and the `\n` arrive in different chunks); a leading byte-order
//! mark is dropped; `:` starts a comment; one space after the field's colon is removed; `data`
//! lines are joined with `\n`; `id` sets the last event id (ignored when it holds a NUL);
//! `retry` sets the reconnection delay (digits only, otherwise ignored); unknown fields are
//! ignored; a blank line dispatches the event, unless its data is empty, in which case nothing
//! is dispatched (an MCP priming event — `id`, `retry` and an empty `data` — only moves the
//! last event id). What is left when the stream ends is an unfinished event and is discarded;
//! [`SseParser::is_mid_event`] tells whether there was one.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The last event id when the event was dispatched (it persists across events, as in the
    /// spec); `None` until an `id` field set a non-empty one.
    pub id: Option<String>,
    /// The `event` field; `None` means the default type, `message`.
    pub event: Option<String>,
    /// The `data` lines joined by `\n` (invalid UTF-8 replaced by U+FFFD).
    pub data: String,
}

impl SseEvent {
    /// The event type, `message` when none was given.
    pub fn name(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// An incremental `text/event-stream` parser.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes not yet consumed as whole lines; `buf[start..]` is live.
    buf: Vec<u8>,
    start: usize,
    /// How far the search for a line end got (absolute index into `buf`).
    scanned: usize,
    /// The previous line ended with `\r`: a `\n` at the very next byte belongs to it.
    skip_lf: bool,
    /// Whether the beginning of the stream (a possible BOM) has been looked at.
    bom_checked: bool,
    /// The event being built.
    data: String,
    has_data: bool,
    event: Option<String>,
    /// A field line of the current event has been read (for [`SseParser::is_mid_event`]).
    fields_seen: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Appends bytes of the stream. Call [`SseParser::next_event`] until it returns `None`
    /// before feeding more, to keep the buffer small.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.scanned = 0;
            self.start = 0;
        } else if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.scanned = self.scanned.saturating_sub(self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, if the bytes fed so far hold one.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if !self.bom_checked {
                let live = &self.buf[self.start..];
                if live.len() < BOM.len() && BOM.starts_with(live) {
                    // Not enough bytes yet to tell.
                    return None;
                }
                if live.starts_with(BOM) {
                    self.start += BOM.len();
                    self.scanned = self.scanned.max(self.start);
                }
                self.bom_checked = true;
            }
            if self.skip_lf && self.start < self.buf.len() {
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                    self.scanned = self.scanned.max(self.start);
                }
                self.skip_lf = false;
            }
            let from = self.scanned.max(self.start);
            let rel = self.buf[from..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r');
            let Some(rel) = rel else {
                self.scanned = self.buf.len();
                return None;
            };
            let end = from + rel;
            let line_start = self.start;
            self.skip_lf = self.buf[end] == b'\r';
            self.start = end + 1;
            self.scanned = self.start;
            if let Some(event) = self.line(line_start, end) {
                return Some(event);
            }
        }
    }

    /// Handles the line `buf[from..to]`; a blank line may dispatch an event.
    fn line(&mut self, from: usize, to: usize) -> Option<SseEvent> {
        if from == to {
            return self.dispatch();
        }
        let line = &self.buf[from..to];
        if line[0] == b':' {
            return None;
        }
        self.fields_seen = true;
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                push_utf8(&mut self.data, value);
                self.has_data = true;
            }
            b"event" => {
                let mut name = String::new();
                push_utf8(&mut name, value);
                self.event = Some(name);
            }
            b"id" if !value.contains(&0) => {
                if value.is_empty() {
                    self.last_id = None;
                } else {
                    let mut id = String::new();
                    push_utf8(&mut id, value);
                    self.last_id = Some(id);
                }
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Digits only; an absurdly long number saturates.
                self.retry_ms = Some(value.iter().fold(0u64, |n, d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                }));
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        self.fields_seen = false;
        self.has_data = false;
        if self.data.is_empty() {
            self.event = None;
            return None;
        }
        Some(SseEvent {
            id: self.last_id.clone(),
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
        })
    }

    /// The last event id seen (what a client would send as `Last-Event-ID` to resume).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection delay the stream asked for (`retry:`), in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Whether an event has begun (a field line, or part of a line) without its blank line:
    /// a stream that ends now was cut mid-event.
    pub fn is_mid_event(&self) -> bool {
        self.fields_seen || self.has_data || self.start < self.buf.len()
    }

    /// Bytes held: the unfinished line plus the data of the unfinished event (to bound
    /// memory against a stream that never ends an event).
    pub fn pending_bytes(&self) -> usize {
        self.buf.len() - self.start + self.data.len()
    }
}

/// Appends `bytes` as UTF-8, replacing invalid sequences.
fn push_utf8(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut SseParser) -> Vec<SseEvent> {
        std::iter::from_fn(|| p.next_event()).collect()
    }

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c);
            out.extend(all(&mut p));
        }
        out
    }

    fn ev(id: Option<&str>, event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_owned),
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn reads_fields_and_joins_data() {
        let got = parse(&[b"id: 1\nevent: message\ndata: {\"a\":\ndata: 1}\n\n"]);
        assert_eq!(got, vec![ev(Some("1"), Some("message"), "{\"a\":\n1}")]);
        assert_eq!(got[0].name(), "message");
        let got = parse(&[b"data:no space\ndata:  two spaces\n\n"]);
        assert_eq!(got, vec![ev(None, None, "no space\n two spaces")]);
    }

    #[test]
    fn every_line_ending() {
        let want = vec![ev(Some("7"), None, "x"), ev(Some("7"), None, "y")];
        assert_eq!(parse(&[b"id: 7\r\ndata: x\r\n\r\ndata: y\r\n\r\n"]), want);
        assert_eq!(parse(&[b"id: 7\rdata: x\r\rdata: y\r\r"]), want);
        assert_eq!(parse(&[b"id: 7\ndata: x\n\ndata: y\n\n"]), want);
        // A CR at the end of one chunk and its LF at the start of the next.
        assert_eq!(
            parse(&[b"id: 7\r", b"\ndata: x\r", b"\n\r", b"\ndata: y\r\n\r\n"]),
            want
        );
    }

    #[test]
    fn comments_retry_and_priming() {
        let mut p = SseParser::new();
        p.feed(b": keep-alive\n\nid: 3-0\nretry: 500\ndata: \n\n");
        // The priming event has empty data: nothing is dispatched, the id is kept.
        assert_eq!(all(&mut p), vec![]);
        assert_eq!(p.last_event_id(), Some("3-0"));
        assert_eq!(p.retry_ms(), Some(500));
        p.feed(b"retry: soon\ndata: m\n\n");
        assert_eq!(all(&mut p), vec![ev(Some("3-0"), None, "m")]);
        assert_eq!(p.retry_ms(), Some(500), "a non-numeric retry is ignored");
        assert!(!p.is_mid_event());
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert_eq!(
            parse(&[b"event: ping\n\ndata: a\n\n"]),
            vec![ev(None, None, "a")]
        );
        // `data` with no colon is a data line with an empty value.
        assert_eq!(parse(&[b"data\ndata\n\n"]), vec![ev(None, None, "\n")]);
    }

    #[test]
    fn id_rules() {
        let mut p = SseParser::new();
        p.feed(b"id: a\0b\ndata: 1\n\nid\ndata: 2\n\n");
        let got = all(&mut p);
        assert_eq!(got, vec![ev(None, None, "1"), ev(None, None, "2")]);
        p.feed(b"id: 9\ndata: 3\n\ndata: 4\n\n");
        let got = all(&mut p);
        assert_eq!(
            got,
            vec![ev(Some("9"), None, "3"), ev(Some("9"), None, "4")]
        );
    }

    #[test]
    fn byte_order_mark_is_dropped_even_when_split() {
        assert_eq!(
            parse(&[b"\xEF\xBB", b"\xBFdata: x\n\n"]),
            vec![ev(None, None, "x")]
        );
        assert_eq!(
            parse(&[b"\xEF\xBB\xBFdata: y\n\n"]),
            vec![ev(None, None, "y")]
        );
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let stream: &[u8] = b": hi\r\nid: 1-0\r\nretry: 1000\r\ndata: \r\n\r\n\
            id: 1-1\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\"}\r\n\r\n\
            data: a\rdata: b\r\r";
        let whole = parse(&[stream]);
        assert_eq!(whole.len(), 2);
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let got = parse(&[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse(&bytes), whole);
    }

    #[test]
    fn a_stream_cut_mid_event() {
        let mut p = SseParser::new();
        p.feed(b"id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"res");
        assert_eq!(p.next_event(), None);
        assert!(p.is_mid_event());
        assert!(p.pending_bytes() > 0);
        // The rest of the line, but no blank line: still no event.
        p.feed(b"ult\":{}}\n");
        assert_eq!(p.next_event(), None);
        assert!(p.is_mid_event(), "a data line without its blank line");
        p.feed(b"\n");
        assert_eq!(
            p.next_event(),
            Some(ev(
                Some("1"),
                None,
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"
            ))
        );
        assert!(!p.is_mid_event());
        assert_eq!(p.pending_bytes(), 0);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            parse(&[b"data: a\xFFb\n\n"]),
            vec![ev(None, None, "a\u{FFFD}b")]
        );
    }

    #[test]
    fn the_buffer_does_not_grow_without_bound() {
        let mut p = SseParser::new();
        for i in 0..10_000 {
            p.feed(format!("id: {i}\ndata: {i}\n\n").as_bytes());
            assert_eq!(p.next_event().map(|e| e.data), Some(i.to_string()));
            assert_eq!(p.next_event(), None);
        }
        assert!(p.buf.capacity() < 1024, "{}", p.buf.capacity());
    }
}
