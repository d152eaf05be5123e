//! Server-Sent Events framing (the `text/event-stream` bodies of both HTTP transports).

use bytes::{BufMut, Bytes, BytesMut};

/// Encodes one event. `data` may hold newlines; each line becomes its own `data:` field.
pub fn event(id: Option<&str>, name: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 48);
    if let Some(id) = id {
        out.put_slice(b"id: ");
        out.put_slice(id.as_bytes());
        out.put_u8(b'\n');
    }
    if let Some(name) = name {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_u8(b'\n');
    }
    for line in data.split(|&b| b == b'\n') {
        out.put_slice(b"data: ");
        out.put_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
    out.freeze()
}

/// The priming event that opens a stream (2025-11-25): an id to resume from and the
/// reconnection delay, with empty data.
pub fn priming(id: &str, retry_ms: u64) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"))
}

/// A comment line, used as a keep-alive.
pub fn comment(text: &str) -> Bytes {
    Bytes::from(format!(": {text}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_events() {
        assert_eq!(
            &event(Some("1"), Some("message"), b"{}")[..],
            b"id: 1\nevent: message\ndata: {}\n\n"
        );
        assert_eq!(&event(None, None, b"a\nb")[..], b"data: a\ndata: b\n\n");
        assert_eq!(&priming("7-0", 500)[..], b"id: 7-0\nretry: 500\ndata: \n\n");
    }
}
