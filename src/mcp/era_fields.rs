//! Reading a body into JSON objects while taking the 2026-07-28 per-request fields
//! (`params._meta["io.modelcontextprotocol/…"]`: the revision, the client's capabilities and
//! identity, the log level) out of `_meta` as they are read, into [`EraFields`].
//!
//! Those fields are the revision's transport-level information, like headers: the front end
//! checks them (`modern::check_meta`) and the services never need them. Taking them out
//! while parsing, instead of building them into `_meta` first, saves a stateless request the
//! map and strings they would otherwise cost (and a `_meta` left empty is not kept at all).
//! Everything else is read exactly as `serde_json::Value` reads it.

use super::protocol::Version;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The 2026-07-28 per-request fields of a message's `params._meta`, as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EraFields {
    pub protocol_version: Option<Revision>,
    pub client_capabilities: Option<Value>,
    pub client_info: Option<Value>,
    pub log_level: Option<Value>,
}

/// The revision a request names: a known one is read without allocating, anything else is
/// kept as the JSON value it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Revision {
    Known(Version),
    Other(Value),
}

impl Revision {
    pub fn of(v: Value) -> Revision {
        match v.as_str().and_then(Version::known) {
            Some(known) => Revision::Known(known),
            None => Revision::Other(v),
        }
    }

    /// `_meta`'s value as written in the body.
    fn of_raw(raw: &RawValue) -> serde_json::Result<Revision> {
        let text = raw.get();
        let plain = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
        match plain.and_then(Version::known) {
            Some(known) => Ok(Revision::Known(known)),
            None => Ok(Revision::of(serde_json::from_str(text)?)),
        }
    }

    /// The revision's name, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Revision::Known(v) => Some(v.as_str()),
            Revision::Other(v) => v.as_str(),
        }
    }
}

/// Where a `_meta` entry goes.
enum Slot<'a> {
    Revision(&'a mut Option<Revision>),
    Value(&'a mut Option<Value>),
}

impl EraFields {
    pub fn is_empty(&self) -> bool {
        *self == EraFields::default()
    }

    /// The slot of `_meta` key `k`, if it is one of the fields.
    fn slot(&mut self, k: &str) -> Option<Slot<'_>> {
        use super::protocol::modern_key as key;
        Some(match k {
            key::PROTOCOL_VERSION => Slot::Revision(&mut self.protocol_version),
            key::CLIENT_CAPABILITIES => Slot::Value(&mut self.client_capabilities),
            key::CLIENT_INFO => Slot::Value(&mut self.client_info),
            key::LOG_LEVEL => Slot::Value(&mut self.log_level),
            _ => return None,
        })
    }

    /// Takes the fields out of `params._meta` (for messages built from values rather than
    /// parsed); drops a `_meta` left empty.
    pub fn take_from(params: &mut Map<String, Value>) -> EraFields {
        let mut era = EraFields::default();
        if let Some(Value::Object(meta)) = params.get_mut("_meta") {
            meta.retain(|k, v| match era.slot(k) {
                Some(Slot::Revision(slot)) => {
                    *slot = Some(Revision::of(v.take()));
                    false
                }
                Some(Slot::Value(slot)) => {
                    *slot = Some(v.take());
                    false
                }
                None => true,
            });
            if meta.is_empty() && !era.is_empty() {
                params.remove("_meta");
            }
        }
        era
    }
}

/// A body: one JSON value, each object in it (the body itself, or a batch's items) read with
/// its era fields apart.
pub enum Body {
    Object(Map<String, Value>, EraFields),
    Batch(Vec<Body>),
    /// Any other JSON value (not a message).
    Other(Value),
}

/// Reads `bytes` as a [`Body`].
pub fn read(bytes: &[u8]) -> serde_json::Result<Body> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let body = Level::Top.deserialize(&mut de)?;
    de.end()?;
    Ok(body)
}

/// Where a value sits: the body, an item of a batch, `params`, or `params._meta`.
#[derive(Clone, Copy)]
enum Level {
    Top,
    Item,
    Params,
    Meta,
}

/// What a level's value reads as.
enum Read {
    Body(Body),
    /// `params` or `_meta`: the value and the fields taken out of it.
    Value(Value, EraFields),
}

impl<'de> DeserializeSeed<'de> for Level {
    type Value = Body;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Body, D::Error> {
        match d.deserialize_any(LevelVisitor(self))? {
            Read::Body(b) => Ok(b),
            Read::Value(v, _) => Ok(Body::Other(v)),
        }
    }
}

/// `params` or `_meta` read at [`Level::Params`] / [`Level::Meta`].
struct Inner(Level);

impl<'de> DeserializeSeed<'de> for Inner {
    type Value = (Value, EraFields);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Value, EraFields), D::Error> {
        match d.deserialize_any(LevelVisitor(self.0))? {
            Read::Value(v, era) => Ok((v, era)),
            Read::Body(_) => Err(de::Error::custom("unexpected body")),
        }
    }
}

struct LevelVisitor(Level);

impl LevelVisitor {
    /// A value that is not an object, where this level may hold one.
    fn scalar(&self, v: Value) -> Read {
        match self.0 {
            Level::Top | Level::Item => Read::Body(Body::Other(v)),
            Level::Params | Level::Meta => Read::Value(v, EraFields::default()),
        }
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Visitor<'de> for LevelVisitor {
    type Value = Read;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Read, E> {
        Ok(self.scalar(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Read, E> {
        Ok(self.scalar(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Read, E> {
        Ok(self.scalar(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Read, E> {
        Ok(self.scalar(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Read, E> {
        Ok(self.scalar(Value::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Read, E> {
        Ok(self.scalar(Value::String(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Read, E> {
        Ok(self.scalar(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Read, E> {
        Ok(self.scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
        if let Level::Top = self.0 {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element_seed(Level::Item)? {
                items.push(item);
            }
            return Ok(Read::Body(Body::Batch(items)));
        }
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Ok(self.scalar(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let mut out = Map::new();
        let mut era = EraFields::default();
        while let Some(k) = map.next_key_seed(Key)? {
            match (self.0, k.as_ref()) {
                (Level::Top | Level::Item, "params") => {
                    let (v, e) = map.next_value_seed(Inner(Level::Params))?;
                    era = e;
                    out.insert(k.into_owned(), v);
                }
                (Level::Params, "_meta") => {
                    let (v, e) = map.next_value_seed(Inner(Level::Meta))?;
                    era = e;
                    // A `_meta` that held nothing but the fields is not kept.
                    let emptied = matches!(&v, Value::Object(m) if m.is_empty()) && !era.is_empty();
                    if emptied {
                        out.remove("_meta");
                    } else {
                        out.insert(k.into_owned(), v);
                    }
                }
                (Level::Meta, key) => match era.slot(key) {
                    Some(Slot::Revision(slot)) => {
                        let raw: &RawValue = map.next_value()?;
                        *slot = Some(Revision::of_raw(raw).map_err(de::Error::custom)?);
                    }
                    Some(Slot::Value(slot)) => *slot = Some(map.next_value()?),
                    None => {
                        let v: Value = map.next_value()?;
                        out.insert(k.into_owned(), v);
                    }
                },
                _ => {
                    let v: Value = map.next_value()?;
                    out.insert(k.into_owned(), v);
                }
            }
        }
        Ok(match self.0 {
            Level::Top | Level::Item => Read::Body(Body::Object(out, era)),
            Level::Params | Level::Meta => Read::Value(Value::Object(out), era),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(bytes: &str) -> (Map<String, Value>, EraFields) {
        match read(bytes.as_bytes()) {
            Ok(Body::Object(m, e)) => (m, e),
            _ => panic!("not an object: {bytes}"),
        }
    }

    #[test]
    fn fields_come_out_of_meta_and_the_rest_reads_as_values() {
        let (m, era) = object(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e",
               "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
                        "io.modelcontextprotocol/clientCapabilities":{},
                        "io.modelcontextprotocol/other":1,"progressToken":"p"}}}"#,
        );
        assert_eq!(
            era.protocol_version,
            Some(Revision::Known(Version::V2026_07_28))
        );
        assert_eq!(era.client_capabilities, Some(json!({})));
        assert_eq!(
            (era.client_info.as_ref(), era.log_level.as_ref()),
            (None, None)
        );
        assert_eq!(
            Value::Object(m),
            json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e",
                "_meta":{"io.modelcontextprotocol/other":1,"progressToken":"p"}}})
        );
        // A `_meta` of nothing but the fields goes; an empty one sent as such stays.
        let (m, era) =
            object(r#"{"params":{"_meta":{"io.modelcontextprotocol/logLevel":"info"}}}"#);
        assert_eq!(
            (Value::Object(m), era.log_level),
            (json!({"params": {}}), Some(json!("info")))
        );
        let (m, era) = object(r#"{"params":{"_meta":{}}}"#);
        assert_eq!(
            (Value::Object(m), era.is_empty()),
            (json!({"params": {"_meta": {}}}), true)
        );
    }

    #[test]
    fn only_params_meta_is_touched() {
        let text = r#"{"result":{"_meta":{"io.modelcontextprotocol/protocolVersion":"x"}},
            "params":{"arguments":{"_meta":{"io.modelcontextprotocol/protocolVersion":"y"}},
                      "_meta":[1,{"io.modelcontextprotocol/protocolVersion":"z"}]},
            "\u005fmeta":{"io.modelcontextprotocol/clientInfo":{}}}"#;
        let (m, era) = object(text);
        assert!(era.is_empty());
        assert_eq!(
            Value::Object(m),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn other_bodies_read_as_values() {
        assert!(matches!(read(b"42"), Ok(Body::Other(v)) if v == json!(42)));
        assert!(matches!(read(br#""s""#), Ok(Body::Other(v)) if v == json!("s")));
        assert!(matches!(read(b"null"), Ok(Body::Other(Value::Null))));
        let Ok(Body::Batch(items)) = read(br#"[{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"v"}}}, [1], 2.5, true]"#) else {
            panic!("a batch")
        };
        assert!(
            matches!(&items[0], Body::Object(m, e) if m.get("params") == Some(&json!({}))
            && e.protocol_version == Some(Revision::Other(json!("v"))))
        );
        assert!(matches!(&items[1], Body::Other(v) if *v == json!([1])));
        assert!(matches!(&items[2], Body::Other(v) if *v == json!(2.5)));
        assert!(matches!(&items[3], Body::Other(Value::Bool(true))));
        assert!(read(b"{").is_err());
        assert!(read(b"{} x").is_err());
        assert!(read(b"").is_err());
    }

    #[test]
    fn revisions_are_read_as_sent() {
        let revision = |v: &str| {
            let body = format!(
                r#"{{"params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":{v}}}}}}}"#
            );
            object(&body).1.protocol_version
        };
        let known = Some(Revision::Known(Version::V2026_07_28));
        assert_eq!(revision(r#""2026-07-28""#), known);
        // Escaped, it is still the same string.
        assert_eq!(revision(r#""2026\u002d07-28""#), known);
        assert_eq!(
            revision(r#""2025-11-25""#),
            Some(Revision::Known(Version::V2025_11_25))
        );
        for other in [r#""2027-01-01""#, "7", "null", r#"{"v":"2026-07-28"}"#] {
            let parsed: Value = serde_json::from_str(other).expect("JSON");
            assert_eq!(revision(other), Some(Revision::Other(parsed.clone())));
            assert_eq!(Revision::of(parsed.clone()), Revision::Other(parsed));
        }
        assert_eq!(
            revision(r#""2027-01-01""#)
                .as_ref()
                .and_then(Revision::as_str),
            Some("2027-01-01")
        );
        assert_eq!(revision("7").as_ref().and_then(Revision::as_str), None);
        assert!(
            read(br#"{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"x}}}"#)
                .is_err()
        );
    }

    #[test]
    fn take_from_matches_the_parse() {
        let text = r#"{"name":"e","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
            "io.modelcontextprotocol/clientInfo":{"name":"c"},"k":1}}"#;
        let mut params: Map<String, Value> = serde_json::from_str(text).unwrap();
        let era = EraFields::take_from(&mut params);
        let (m, parsed) = object(&format!(r#"{{"params":{text}}}"#));
        assert_eq!(era, parsed);
        assert_eq!(Some(&Value::Object(params)), m.get("params"));
    }
}
