//! `list_change`: at the fault's time tools are added (`add: [name…]`) and removed
//! (`remove: [name…]`), and every open stream is told — `notifications/tools/list_changed` on
//! each session's GET stream (and, where served, on 2026-07-28 `subscriptions/listen`
//! streams), always through `Mock::tools_changed`. With `for:`, the change is undone at the
//! window's end (and told again).
//!
//! While a change is in effect, tools/list shows the catalogue's tools less the removed ones,
//! plus the added ones; a call to a removed tool is "Unknown tool" (-32602); an added tool
//! takes any arguments and answers a text result.

use crate::catalog::Catalog;
use crate::mcp::jsonrpc::ErrorObject;
use crate::mcp::paging;
use crate::scenario::spec::ListChangeSpec;
use serde_json::{Map, Value, json};

/// The tools that differ from the catalogue now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changed {
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

impl Changed {
    /// The state after `spec`; undone, the names it touched are as in the catalogue again.
    pub fn with(&self, spec: &ListChangeSpec, undo: bool) -> Changed {
        let mut out = self.clone();
        if undo {
            out.added.retain(|a| !spec.add.contains(a));
            out.removed.retain(|r| !spec.remove.contains(r));
            return out;
        }
        for name in &spec.add {
            out.removed.retain(|r| r != name);
            if !out.added.contains(name) {
                out.added.push(name.clone());
            }
        }
        for name in &spec.remove {
            out.added.retain(|a| a != name);
            if !out.removed.contains(name) {
                out.removed.push(name.clone());
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// What tools/list shows for an added tool.
pub fn descriptor(name: &str) -> Value {
    json!({
        "name": name,
        "description": "A tool added during the run (list_change fault).",
        "inputSchema": {"type": "object"},
    })
}

/// The answer to tools/list, or to a call to an added or removed tool, while `changed` is in
/// effect; `None` when the catalogue answers as usual.
pub fn answer(
    changed: &Changed,
    catalog: &Catalog,
    method: &str,
    params: Option<&Map<String, Value>>,
) -> Option<Result<Value, ErrorObject>> {
    match method {
        "tools/list" => {
            let mut items: Vec<Value> = catalog
                .tools
                .iter()
                .filter(|t| !changed.removed.contains(&t.name))
                .map(|t| t.descriptor.clone())
                .collect();
            let known = |n: &String| catalog.tool(n).is_some() && !changed.removed.contains(n);
            items.extend(
                changed
                    .added
                    .iter()
                    .filter(|n| !known(n))
                    .map(|n| descriptor(n)),
            );
            Some(paging::page(
                params,
                &items,
                catalog.page_size,
                "tools",
                Value::clone,
            ))
        }
        "tools/call" => {
            let name = params?.get("name")?.as_str()?;
            if changed.removed.iter().any(|r| r == name) {
                return Some(Err(ErrorObject::invalid_params(format!(
                    "Unknown tool: {name}"
                ))));
            }
            if catalog.tool(name).is_none() && changed.added.iter().any(|a| a == name) {
                let text = format!("{name}: ok");
                return Some(Ok(
                    json!({"content": [{"type": "text", "text": text}], "isError": false}),
                ));
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(add: &[&str], remove: &[&str]) -> ListChangeSpec {
        ListChangeSpec {
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn changes_compose_and_undo() {
        let a = Changed::default().with(&spec(&["new"], &["old"]), false);
        assert_eq!(a.added, vec!["new"]);
        assert_eq!(a.removed, vec!["old"]);
        let b = a.with(&spec(&["old"], &[]), false);
        assert_eq!(
            b.removed,
            Vec::<String>::new(),
            "adding back a removed tool restores it"
        );
        let undone = a.with(&spec(&["new"], &["old"]), true);
        assert!(undone.is_empty());
    }

    #[test]
    fn lists_and_calls_follow_the_change() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/timing.yaml");
        let catalog = Catalog::load(&path).unwrap();
        let changed = Changed::default().with(&spec(&["fresh"], &["slow"]), false);
        let list = answer(&changed, &catalog, "tools/list", None)
            .unwrap()
            .unwrap();
        let names: Vec<&str> = list["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["fixed20", "fast", "fresh"]);
        let call = |name: &str| {
            let p = json!({"name": name, "arguments": {}});
            answer(&changed, &catalog, "tools/call", p.as_object())
        };
        assert_eq!(call("slow").unwrap().unwrap_err().code, -32602);
        assert_eq!(call("fresh").unwrap().unwrap()["isError"], false);
        assert!(call("fast").is_none(), "the catalogue answers");
        assert!(answer(&changed, &catalog, "ping", None).is_none());
    }
}
