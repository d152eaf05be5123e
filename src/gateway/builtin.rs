//! A gateway config rendered from mock catalogues: the standard `mcpServers` entries
//! ([`super::config::mcp_servers_json`]) and a `gauntlet` block that advertises each
//! server's tools, resources and prompts and marks its cacheable tools, so that every server
//! can start lazily. This is what a scenario's `gateway: builtin` renders, and what the reference gateway
//! (`refgate::config`) reads.

use super::config::{Backend, mcp_servers_json};
use crate::catalog::Catalog;
use serde_json::{Map, Value, json};

/// The `gauntlet.servers` entry of a server served from catalogue `c`.
pub fn server_entry(c: &Catalog) -> Value {
    let cacheable: Vec<&str> = c
        .tools
        .iter()
        .filter(|t| t.cacheable)
        .map(|t| t.name.as_str())
        .collect();
    json!({
        "tools": c.tools.iter().map(|t| t.descriptor.clone()).collect::<Vec<_>>(),
        "resources": c.resources.iter().map(|r| r.descriptor.clone()).collect::<Vec<_>>(),
        "resource_templates": c.templates.iter().map(|t| t.descriptor.clone()).collect::<Vec<_>>(),
        "prompts": c.prompts.iter().map(|p| p.descriptor.clone()).collect::<Vec<_>>(),
        "cacheable": cacheable,
    })
}

/// A whole config: `backends` as `mcpServers`, `settings` (a `gauntlet.settings` object) and
/// the entries of the servers whose catalogue is known (the others start at boot).
pub fn config(
    backends: &[(String, Backend)],
    catalogs: &[(String, &Catalog)],
    settings: Value,
) -> Value {
    let mut doc = mcp_servers_json(backends);
    let servers: Map<String, Value> = catalogs
        .iter()
        .map(|(name, c)| (name.clone(), server_entry(c)))
        .collect();
    doc["gauntlet"] = json!({"settings": settings, "servers": servers});
    doc
}
