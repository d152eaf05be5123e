//! Tool-name discovery: which tool of a gateway's tools/list is `server.tool` of the scenario.
//!
//! Gateways rename the tools they aggregate, and they disagree on how (`translation_translate`,
//! `translation__translate`, `translation-translate`, `translation.translate`, or the bare name
//! when one server sits behind the gateway). Discovery is generic: for each scenario tool, the
//! candidates are the listed names that are the tool's name with one of those prefixes (or none),
//! matched case-sensitively; several candidates are told apart by description and input schema
//! (the gateway passes them through from the mock), and what is still tied is ambiguous. A
//! template (`tool_names: "{server}__{tool}"`) replaces discovery.
//!
//! Pure: the gateway's list goes in as values, the mapping or the reasons come out.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The separators gateways put between a server's name and a tool's, in the order tried.
pub const SEPARATORS: &[&str] = &["__", "_", "-", ".", "/", ":"];

/// One tool as a gateway lists it (or as a catalogue describes it).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub name: String,
    pub description: Option<String>,
    pub input_schema: Option<Value>,
}

impl Listed {
    /// From a tools/list entry; `None` if it has no string `name`.
    pub fn from_entry(v: &Value) -> Option<Listed> {
        Some(Listed {
            name: v.get("name")?.as_str()?.to_string(),
            description: v
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            input_schema: v.get("inputSchema").cloned(),
        })
    }
}

/// A scenario tool to find: its server, and how the catalogue describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub server: String,
    pub tool: Listed,
}

/// How the names were found (results.json records it: metrics keyed by name depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Discovered,
    /// From `tool_names:`.
    Given,
}

/// What discovery could not settle.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Several listed names fit equally well.
    Ambiguous {
        server: String,
        tool: String,
        candidates: Vec<String>,
    },
    /// No listed name fits.
    Missing { server: String, tool: String },
    /// One listed name is the only fit for several scenario tools (the gateway shows one tool
    /// where the servers have several of that name).
    Shared { name: String, tools: Vec<String> },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Ambiguous {
                server,
                tool,
                candidates,
            } => write!(
                f,
                "`{server}.{tool}` could be any of {}; name them with `tool_names:` in the \
                 gateway section (e.g. `tool_names: \"{{server}}__{{tool}}\"`)",
                candidates
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Problem::Missing { server, tool } => {
                write!(f, "the gateway does not list a tool for `{server}.{tool}`")
            }
            Problem::Shared { name, tools } => write!(
                f,
                "the gateway lists one `{name}` for {}; name them with `tool_names:` if it \
                 routes them apart",
                tools
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        }
    }
}

/// The gateway's name for `server.tool` under a `tool_names:` template (`{server}`, `{tool}`).
pub fn from_template(template: &str, server: &str, tool: &str) -> String {
    template.replace("{server}", server).replace("{tool}", tool)
}

/// How well a listed tool matches a wanted one beyond its name: 2 for each of description and
/// input schema that are equal, 0 when they differ, 1 when the gateway left one out.
fn likeness(listed: &Listed, wanted: &Listed) -> u8 {
    let same = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) if a == b => 2,
        (Some(_), Some(_)) => 0,
        _ => 1,
    };
    let schema = match (&listed.input_schema, &wanted.input_schema) {
        (Some(a), Some(b)) if a == b => 2,
        (Some(_), Some(_)) => 0,
        _ => 1,
    };
    same(listed.description.as_deref(), wanted.description.as_deref()) + schema
}

/// Whether `name` is `tool` with `server` and a separator in front (or the bare tool).
fn fits(name: &str, server: &str, tool: &str) -> bool {
    if name == tool {
        return true;
    }
    let Some(rest) = name.strip_prefix(server) else {
        return false;
    };
    SEPARATORS
        .iter()
        .any(|sep| rest.strip_prefix(sep) == Some(tool))
}

/// Maps every wanted tool to a listed name. The mapping is keyed by (server, tool).
pub fn discover(
    wanted: &[Wanted],
    listed: &[Listed],
) -> Result<BTreeMap<(String, String), String>, Vec<Problem>> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for w in wanted {
        let fitting: Vec<&Listed> = listed
            .iter()
            .filter(|l| fits(&l.name, &w.server, &w.tool.name))
            .collect();
        match pick(&fitting, w) {
            Ok(name) => {
                out.insert((w.server.clone(), w.tool.name.clone()), name);
            }
            Err(p) => problems.push(p),
        }
    }
    let mut by_name: BTreeMap<&String, Vec<String>> = BTreeMap::new();
    for ((server, tool), name) in &out {
        by_name
            .entry(name)
            .or_default()
            .push(format!("{server}.{tool}"));
    }
    for (name, tools) in by_name {
        if tools.len() > 1 {
            problems.push(Problem::Shared {
                name: name.clone(),
                tools,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The one candidate for `w`: the only one, else a prefixed name over the bare one when the
/// bare name belongs to another server's tool, else the best likeness if it is unique.
fn pick(fitting: &[&Listed], w: &Wanted) -> Result<String, Problem> {
    let missing = || Problem::Missing {
        server: w.server.clone(),
        tool: w.tool.name.clone(),
    };
    match fitting {
        [] => return Err(missing()),
        [one] => return Ok(one.name.clone()),
        _ => {}
    }
    let best = fitting
        .iter()
        .map(|l| likeness(l, &w.tool))
        .max()
        .unwrap_or(0);
    let top: Vec<&&Listed> = fitting
        .iter()
        .filter(|l| likeness(l, &w.tool) == best)
        .collect();
    // A prefixed name names the server; the bare one may be another server's tool.
    let prefixed: Vec<&&&Listed> = top.iter().filter(|l| l.name != w.tool.name).collect();
    match (top.as_slice(), prefixed.as_slice()) {
        ([one], _) => Ok(one.name.clone()),
        (_, [one]) => Ok(one.name.clone()),
        _ => Err(Problem::Ambiguous {
            server: w.server.clone(),
            tool: w.tool.name.clone(),
            candidates: top.iter().map(|l| l.name.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(name: &str, desc: &str) -> Listed {
        Listed {
            name: name.into(),
            description: Some(desc.into()),
            input_schema: Some(json!({"type": "object"})),
        }
    }

    fn wanted(server: &str, tool: &str, desc: &str) -> Wanted {
        Wanted {
            server: server.into(),
            tool: listed(tool, desc),
        }
    }

    fn key(s: &str, t: &str) -> (String, String) {
        (s.into(), t.into())
    }

    #[test]
    fn each_prefix_style_is_found() {
        for sep in SEPARATORS {
            let l = vec![
                listed(&format!("translation{sep}translate"), "Translate"),
                listed(&format!("freight{sep}quote"), "Quote"),
            ];
            let w = [
                wanted("translation", "translate", "Translate"),
                wanted("freight", "quote", "Quote"),
            ];
            let m = discover(&w, &l).unwrap_or_else(|e| panic!("{sep}: {e:?}"));
            assert_eq!(
                m[&key("translation", "translate")],
                format!("translation{sep}translate")
            );
        }
    }

    #[test]
    fn bare_names_behind_a_single_server_gateway() {
        let l = vec![listed("echo", "Echo")];
        let m = discover(&[wanted("echo", "echo", "Echo")], &l).expect("found");
        assert_eq!(m[&key("echo", "echo")], "echo");
    }

    #[test]
    fn ties_are_broken_by_description_then_reported() {
        // Two servers with a tool of the same name, both listed bare and prefixed.
        let l = vec![
            listed("search", "Search inventory"),
            listed("sales_search", "Search sales"),
            listed("inventory_search", "Search inventory"),
        ];
        let w = [
            wanted("sales", "search", "Search sales"),
            wanted("inventory", "search", "Search inventory"),
        ];
        let m = discover(&w, &l).expect("resolved");
        assert_eq!(m[&key("sales", "search")], "sales_search");
        // Bare `search` and `inventory_search` both match the description: the prefixed wins.
        assert_eq!(m[&key("inventory", "search")], "inventory_search");
        // Only bare names, two servers' tools alike: ambiguous.
        let l = vec![listed("search", "Search"), listed("search_2", "Search")];
        let w = [
            wanted("a", "search", "Search"),
            wanted("b", "search", "Search"),
        ];
        let err = discover(&w, &l).expect_err("one bare name for two tools");
        assert_eq!(
            err,
            [Problem::Shared {
                name: "search".into(),
                tools: vec!["a.search".into(), "b.search".into()]
            }]
        );
        let l = vec![listed("a_search", "Search"), listed("a__search", "Search")];
        let err = discover(&[wanted("a", "search", "Search")], &l).expect_err("ambiguous");
        match &err[0] {
            Problem::Ambiguous { candidates, .. } => assert_eq!(candidates.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(err[0].to_string().contains("tool_names"));
    }

    #[test]
    fn missing_tools_are_named() {
        let err = discover(&[wanted("fraud", "score", "Score")], &[listed("x", "X")])
            .expect_err("missing");
        assert_eq!(
            err,
            [Problem::Missing {
                server: "fraud".into(),
                tool: "score".into()
            }]
        );
        // A longer name is not a fit: `score_v2` is another tool.
        assert!(
            discover(
                &[wanted("fraud", "score", "S")],
                &[listed("fraud_score_v2", "S")]
            )
            .is_err()
        );
    }

    #[test]
    fn templates() {
        assert_eq!(from_template("{server}__{tool}", "a", "b"), "a__b");
        assert_eq!(from_template("{tool}", "a", "b"), "b");
    }
}
