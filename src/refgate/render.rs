//! A gateway config rendered from mock catalogues: the standard `mcpServers` entries
//! ([`crate::gateway::config::mcp_servers_json`]) and a `gauntlet` block that advertises each
//! server's tools, resources and prompts and marks its cacheable tools, so that every server
//! can start lazily. This is what a scenario's `gateway: builtin` renders.

use crate::catalog::Catalog;
use crate::gateway::config::{Backend, mcp_servers_json};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refgate::config::Config;

    #[test]
    fn a_rendered_config_reads_back() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-servers/translation.yaml");
        let c = Catalog::load(&path).expect("catalogue");
        let backends = vec![(
            "translation".to_string(),
            Backend::Http {
                url: "http://127.0.0.1:9/mcp".into(),
            },
        )];
        let doc = config(
            &backends,
            &[("translation".into(), &c)],
            json!({"cache_ttl": "5s"}),
        );
        let cfg = Config::parse(&doc.to_string()).expect("reads back");
        let s = &cfg.servers[0];
        let lists = s.lists.as_ref().expect("lists");
        assert_eq!(lists.tools.len(), c.tools.len());
        assert_eq!(lists.resources.len(), c.resources.len());
        assert_eq!(lists.prompts.len(), c.prompts.len());
        assert!(s.cacheable.contains_key("translate"));
        assert!(!s.cacheable.contains_key("translate_batch"));
        assert_eq!(s.cacheable["translate"], std::time::Duration::from_secs(5));
    }
}
