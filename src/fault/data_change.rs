//! `data_change`: for stale-cache reads. When a server has a data change on its timeline, every
//! tool result it sends carries a data version in `_meta["dev.gauntlet/data-version"]` —
//! `"1"` from the start. At the fault's time the version of the fault's tool (or of every tool)
//! becomes the one written (`data_change: { version: "v2" }`) or the next number. A gateway
//! that still returns the old version after that served a stale read.

use crate::mcp::service::Reply;
use serde_json::Value;
use std::collections::HashMap;

/// Where results carry their data version.
pub const META_KEY: &str = "dev.gauntlet/data-version";

/// The data versions of one server: one for every tool, and those a tool-scoped change set.
#[derive(Debug, Clone, PartialEq)]
pub struct Versions {
    server: String,
    tools: HashMap<String, String>,
}

impl Default for Versions {
    fn default() -> Self {
        Versions {
            server: "1".into(),
            tools: HashMap::new(),
        }
    }
}

impl Versions {
    pub fn of(&self, tool: Option<&str>) -> &str {
        tool.and_then(|t| self.tools.get(t)).unwrap_or(&self.server)
    }

    /// A data change: `tool`'s version (every tool's, for `None`) becomes `to`, or the next.
    pub fn change(&mut self, tool: Option<&str>, to: Option<&str>) {
        let next = to.map_or_else(|| next(self.of(tool)), str::to_owned);
        match tool {
            Some(t) => {
                self.tools.insert(t.to_owned(), next);
            }
            None => {
                self.tools.clear();
                self.server = next;
            }
        }
    }
}

fn next(v: &str) -> String {
    match v.parse::<u64>() {
        Ok(n) => (n + 1).to_string(),
        Err(_) => format!("{v}+1"),
    }
}

/// Puts the version into a result's `_meta`.
pub fn stamp(reply: &mut Reply, version: &str) {
    if let Ok(Value::Object(r)) = &mut reply.result {
        let meta = r
            .entry("_meta")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(m) = meta {
            m.insert(META_KEY.into(), Value::from(version));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_by_table() {
        let mut v = Versions::default();
        assert_eq!(v.of(Some("quote")), "1");
        v.change(Some("quote"), None);
        assert_eq!((v.of(Some("quote")), v.of(Some("other"))), ("2", "1"));
        v.change(None, Some("v9"));
        assert_eq!((v.of(Some("quote")), v.of(None)), ("v9", "v9"));
        v.change(None, None);
        assert_eq!(v.of(None), "v9+1");
    }

    #[test]
    fn the_version_goes_into_meta() {
        let mut r = Reply::ok(json!({"content": [], "_meta": {"dev.gauntlet/service-us": 5}}));
        stamp(&mut r, "3");
        let v = r.result.unwrap();
        assert_eq!(v["_meta"][META_KEY], "3");
        assert_eq!(v["_meta"]["dev.gauntlet/service-us"], 5);
        let mut e = Reply::err(crate::mcp::jsonrpc::ErrorObject::new(-1, "x"));
        stamp(&mut e, "3");
        assert!(e.result.is_err());
    }
}
