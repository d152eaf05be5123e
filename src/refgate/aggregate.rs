//! Aggregation: the tools, resources, resource templates and prompts of every server behind
//! one endpoint, and the routes back. Tools and prompts are named `{server}{separator}{name}`
//! (`sales__quote`); resources keep their URIs (a read goes to the server that listed the URI,
//! or to the server whose template's literal prefix is the longest match). A [`Directory`] is
//! built whole from every server's lists and replaced when one of them changes.

use super::config::Lists;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Where a tool or prompt goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub server: usize,
    /// The backend's own name.
    pub name: String,
    /// The cache's time to live (cacheable tools).
    pub ttl: Option<Duration>,
}

/// One server's contribution.
pub struct Source<'a> {
    pub name: &'a str,
    /// `None`: not known yet (a server that could not be started at boot).
    pub lists: Option<&'a Lists>,
    pub cacheable: &'a BTreeMap<String, Duration>,
}

#[derive(Debug, Default)]
pub struct Directory {
    pub tools: Vec<Value>,
    pub resources: Vec<Value>,
    pub templates: Vec<Value>,
    pub prompts: Vec<Value>,
    /// Tools advertised per server (by index).
    pub tool_counts: Vec<usize>,
    tool_routes: HashMap<String, Route>,
    prompt_routes: HashMap<String, Route>,
    resource_routes: HashMap<String, usize>,
    /// Literal prefixes of templates (up to the first `{`), longest first.
    template_routes: Vec<(String, usize)>,
}

impl Directory {
    pub fn build(servers: &[Source<'_>], separator: &str) -> Directory {
        let mut d = Directory::default();
        for (i, s) in servers.iter().enumerate() {
            let Some(lists) = s.lists else {
                d.tool_counts.push(0);
                continue;
            };
            let before = d.tools.len();
            for t in &lists.tools {
                d.add_named(i, s, t, separator, true);
            }
            d.tool_counts.push(d.tools.len() - before);
            for p in &lists.prompts {
                d.add_named(i, s, p, separator, false);
            }
            d.add_resources(i, lists);
        }
        d.template_routes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        d
    }

    /// A tool or prompt entry under its gateway name (the first of equal names wins).
    fn add_named(&mut self, i: usize, s: &Source<'_>, entry: &Value, sep: &str, tool: bool) {
        let Some(own) = entry.get("name").and_then(Value::as_str) else {
            return;
        };
        let full = format!("{}{sep}{own}", s.name);
        let routes = if tool {
            &mut self.tool_routes
        } else {
            &mut self.prompt_routes
        };
        if routes.contains_key(&full) {
            tracing::warn!(
                "two entries are named `{full}`; the second (server `{}`) is hidden",
                s.name
            );
            return;
        }
        let route = Route {
            server: i,
            name: own.to_string(),
            ttl: if tool {
                s.cacheable.get(own).copied()
            } else {
                None
            },
        };
        routes.insert(full.clone(), route);
        let mut e = entry.clone();
        e["name"] = Value::String(full);
        if tool {
            self.tools.push(e);
        } else {
            self.prompts.push(e);
        }
    }

    fn add_resources(&mut self, i: usize, lists: &Lists) {
        for r in &lists.resources {
            if let Some(uri) = r.get("uri").and_then(Value::as_str)
                && !self.resource_routes.contains_key(uri)
            {
                self.resource_routes.insert(uri.to_string(), i);
                self.resources.push(r.clone());
            }
        }
        for t in &lists.templates {
            if let Some(tpl) = t.get("uriTemplate").and_then(Value::as_str) {
                let prefix = tpl.split('{').next().unwrap_or_default().to_string();
                self.template_routes.push((prefix, i));
                self.templates.push(t.clone());
            }
        }
    }

    pub fn tool(&self, name: &str) -> Option<&Route> {
        self.tool_routes.get(name)
    }

    pub fn prompt(&self, name: &str) -> Option<&Route> {
        self.prompt_routes.get(name)
    }

    /// The server of a resource URI: listed, else the longest template prefix it starts with.
    pub fn resource(&self, uri: &str) -> Option<usize> {
        self.resource_routes.get(uri).copied().or_else(|| {
            self.template_routes
                .iter()
                .find(|(prefix, _)| !prefix.is_empty() && uri.starts_with(prefix.as_str()))
                .map(|(_, i)| *i)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lists(tools: &[&str], uri: &str, template: &str) -> Lists {
        Lists {
            tools: tools
                .iter()
                .map(|t| json!({"name": t, "inputSchema": {}}))
                .collect(),
            resources: vec![json!({"uri": uri, "name": "r"})],
            templates: vec![json!({"uriTemplate": template, "name": "t"})],
            prompts: vec![json!({"name": "p"})],
        }
    }

    #[test]
    fn names_routes_and_counts() {
        let a = lists(&["quote", "book"], "a://x", "a://items/{id}");
        let b = lists(&["quote"], "b://x", "a://items/special/{id}");
        let cache = BTreeMap::from([("quote".to_string(), Duration::from_secs(5))]);
        let none = BTreeMap::new();
        let d = Directory::build(
            &[
                Source {
                    name: "a",
                    lists: Some(&a),
                    cacheable: &cache,
                },
                Source {
                    name: "b",
                    lists: Some(&b),
                    cacheable: &none,
                },
                Source {
                    name: "c",
                    lists: None,
                    cacheable: &none,
                },
            ],
            "__",
        );
        let names: Vec<_> = d
            .tools
            .iter()
            .map(|t| t["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, ["a__quote", "a__book", "b__quote"]);
        assert_eq!(d.tool_counts, [2, 1, 0]);
        let r = d.tool("a__quote").expect("route");
        assert_eq!(
            (r.server, r.name.as_str(), r.ttl),
            (0, "quote", Some(Duration::from_secs(5)))
        );
        assert_eq!(d.tool("b__quote").and_then(|r| r.ttl), None);
        assert!(d.tool("quote").is_none() && d.tool("c__quote").is_none());
        assert_eq!(d.prompt("b__p").map(|r| r.server), Some(1));
        assert_eq!(d.resource("b://x"), Some(1));
        assert_eq!(d.resource("a://items/7"), Some(0));
        assert_eq!(
            d.resource("a://items/special/7"),
            Some(1),
            "the longest prefix"
        );
        assert_eq!(d.resource("z://"), None);
        assert_eq!(d.tools[0]["inputSchema"], json!({}));
    }
}
