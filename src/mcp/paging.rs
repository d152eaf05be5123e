//! Paginated lists on the server side: one page of items and an opaque cursor to the next.

use super::jsonrpc::ErrorObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

type Params<'a> = Option<&'a Map<String, Value>>;

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("gauntlet:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("gauntlet:")?
        .parse()
        .ok()
}

/// One page of a list; `cursor` is opaque to clients.
pub fn page<T>(
    params: Params,
    items: &[T],
    page_size: usize,
    key: &str,
    describe: impl Fn(&T) -> Value,
) -> Result<Value, ErrorObject> {
    let start = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => decode_cursor(c)
            .filter(|o| *o <= items.len())
            .ok_or_else(|| ErrorObject::invalid_params(format!("invalid cursor {c:?}")))?,
        Some(_) => return Err(ErrorObject::invalid_params("`cursor` must be a string")),
    };
    let end = (start + page_size).min(items.len());
    let mut r = Map::new();
    r.insert(
        key.into(),
        Value::Array(items[start..end].iter().map(describe).collect()),
    );
    if end < items.len() {
        r.insert("nextCursor".into(), json!(encode_cursor(end)));
    }
    Ok(Value::Object(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("!!"), None);
        let items: Vec<u32> = (0..5).collect();
        let p1 = page(None, &items, 2, "xs", |x| json!(x)).unwrap();
        assert_eq!(p1["xs"], json!([0, 1]));
        let cursor = p1["nextCursor"].as_str().unwrap().to_string();
        let params = json!({"cursor": cursor});
        let p2 = page(params.as_object(), &items, 2, "xs", |x| json!(x)).unwrap();
        assert_eq!(p2["xs"], json!([2, 3]));
        let bad = json!({"cursor": "nope"});
        assert!(page(bad.as_object(), &items, 2, "xs", |x| json!(x)).is_err());
        let last = json!({"cursor": encode_cursor(4)});
        let p3 = page(last.as_object(), &items, 2, "xs", |x| json!(x)).unwrap();
        assert!(p3.get("nextCursor").is_none());
    }
}
