//! Where the driver's calls go behind a gateway: wait until it is ready, find its name for every
//! tool the plan calls, and route each key. One endpoint for every server, or one per server
//! when the gateway routes by path (`server_url:`). The driver opens the sessions.

use super::launch::{self, ReadyProbe};
use super::names::How;
use super::process::Gateway;
use crate::error::Result;
use crate::mcp::client::HttpClient;
use crate::mcp::protocol::ProtocolChoice;
use crate::scenario::{ReadyTools, Scenario};
use http::HeaderMap;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Where the gateway is and how to wait for it.
pub struct At<'a> {
    pub url: &'a str,
    pub server_urls: Option<&'a BTreeMap<String, String>>,
    pub headers: &'a HeaderMap,
    pub tool_names: Option<&'a str>,
    pub ready: ReadyTools,
    pub timeout: Duration,
    pub setup: &'a [Vec<String>],
    pub dir: &'a Path,
}

/// One scenario tool and its name at the gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub server: String,
    pub tool: String,
    pub name: String,
    pub how: How,
}

/// What [`ready`] found.
pub struct Found {
    /// The gateway's endpoints the driver opens sessions to: (target name, URL).
    pub endpoints: Vec<(String, String)>,
    /// For each plan key: (endpoint index, the tool's name there).
    pub routes: Vec<(usize, String)>,
    pub mapped: Vec<Mapped>,
}

/// Waits for every endpoint of the gateway and maps the names.
pub async fn ready(
    s: &Scenario,
    keys: &[(String, String)],
    client: &HttpClient,
    choice: ProtocolChoice,
    at: &At<'_>,
    mut gw: Option<&mut Gateway>,
) -> Result<Found> {
    // (endpoint name, URL, the servers whose tools are there)
    let endpoints: Vec<(String, String, Option<String>)> = match at.server_urls {
        None => vec![("gateway".to_string(), at.url.to_string(), None)],
        Some(urls) => urls
            .iter()
            .filter(|(server, _)| keys.iter().any(|(k, _)| k == *server))
            .map(|(server, url)| {
                (
                    format!("gateway/{server}"),
                    url.clone(),
                    Some(server.clone()),
                )
            })
            .collect(),
    };
    let mut out = Found {
        endpoints: Vec::new(),
        routes: Vec::new(),
        mapped: Vec::new(),
    };
    let mut setup = at.setup;
    for (name, url, only) in &endpoints {
        let wanted = launch::wanted(s, keys, only.as_deref());
        let t = ReadyProbe {
            client,
            url,
            choice,
            headers: at.headers,
            wanted: &wanted,
            tool_names: at.tool_names,
        };
        let (names, how) =
            launch::wait_ready(&t, gw.as_deref_mut(), at.ready, at.timeout, setup, at.dir).await?;
        setup = &[];
        for ((server, tool), gname) in names {
            out.mapped.push(Mapped {
                server,
                tool,
                name: gname,
                how,
            });
        }
        out.endpoints.push((name.clone(), url.clone()));
    }
    out.routes = route(keys, &endpoints, &out.mapped);
    Ok(out)
}

/// Each key's target and name.
fn route(
    keys: &[(String, String)],
    endpoints: &[(String, String, Option<String>)],
    mapped: &[Mapped],
) -> Vec<(usize, String)> {
    keys.iter()
        .map(|(server, tool)| {
            let target = endpoints
                .iter()
                .position(|(_, _, only)| only.as_ref().is_none_or(|o| o == server))
                .unwrap_or(0);
            let name = mapped
                .iter()
                .find(|m| &m.server == server && &m.tool == tool)
                .map_or_else(|| tool.clone(), |m| m.name.clone());
            (target, name)
        })
        .collect()
}

/// The mapping as printed before a run.
pub fn describe(mapped: &[Mapped]) -> String {
    let mut out = String::new();
    for m in mapped {
        let how = match m.how {
            How::Discovered => "discovered",
            How::Given => "tool_names",
        };
        out.push_str(&format!("  {}.{} → {} ({how})\n", m.server, m.tool, m.name));
    }
    out
}
