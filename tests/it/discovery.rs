//! Tool-name discovery over what real gateways listed (tests/fixtures/gateways, recorded from
//! FastMCP 4.2.3, mcp-proxy 0.13.0 and supergateway 4.0.0 in front of the mocks), and over
//! ambiguous lists.

use crate::common::repo_root;
use gauntlet::catalog::Catalog;
use gauntlet::gateway::names::{Listed, Problem, Wanted, discover};
use serde_json::Value;

/// Every tool of `server`'s catalogue (mock-servers/SERVER.yaml), as discovery wants them.
fn wanted(server: &str) -> Vec<Wanted> {
    let path = repo_root().join(format!("mock-servers/{server}.yaml"));
    let c = Catalog::load(&path).unwrap_or_else(|e| panic!("{e}"));
    c.tools
        .iter()
        .map(|t| Wanted {
            server: server.to_string(),
            tool: Listed::from_entry(&t.descriptor).expect("a named tool"),
        })
        .collect()
}

fn recorded(file: &str) -> Vec<Listed> {
    let path = repo_root().join("tests/fixtures/gateways").join(file);
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON");
    v.as_array()
        .expect("a tools array")
        .iter()
        .filter_map(Listed::from_entry)
        .collect()
}

#[test]
fn fastmcp_prefixes_with_the_server_and_an_underscore() {
    let mut w = wanted("translation");
    w.extend(wanted("freight"));
    w.extend(wanted("fraud"));
    let m = discover(&w, &recorded("fastmcp-tools-list.json")).expect("every tool found");
    assert_eq!(m.len(), w.len());
    for ((server, tool), name) in &m {
        assert_eq!(name, &format!("{server}_{tool}"));
    }
    // `translate` is not `translate_batch`, although one name starts with the other.
    assert_eq!(
        m[&("translation".to_string(), "translate".to_string())],
        "translation_translate"
    );
}

#[test]
fn mcp_proxy_routes_keep_the_names() {
    for server in ["translation", "freight", "fraud"] {
        let w = wanted(server);
        let m = discover(
            &w,
            &recorded(&format!("mcp-proxy-{server}-tools-list.json")),
        )
        .expect("found");
        assert!(m.iter().all(|((_, tool), name)| tool == name), "{m:?}");
    }
}

#[test]
fn supergateway_passes_one_server_through() {
    let w = wanted("translation");
    let m = discover(&w, &recorded("supergateway-tools-list.json")).expect("found");
    assert_eq!(m.len(), 4);
    // The same list cannot serve a second server's tools.
    let err = discover(
        &wanted("freight"),
        &recorded("supergateway-tools-list.json"),
    )
    .expect_err("freight is not behind it");
    assert!(err.iter().all(|p| matches!(p, Problem::Missing { .. })));
}

#[test]
fn two_servers_collapsed_into_one_bare_list_are_reported() {
    // A gateway that lists translation's and a second translation-like server's tools bare.
    let mut w = wanted("translation");
    w.extend(wanted("translation").into_iter().map(|mut x| {
        x.server = "translation2".into();
        x
    }));
    let err = discover(&w, &recorded("supergateway-tools-list.json")).expect_err("shared");
    let shared: Vec<&Problem> = err
        .iter()
        .filter(|p| matches!(p, Problem::Shared { .. }))
        .collect();
    assert_eq!(shared.len(), 4, "{err:?}");
    assert!(shared[0].to_string().contains("tool_names"));
}
