//! Gateways under test: everything generic about a gateway gauntlet launches or is pointed at.
//!
//! | file | what |
//! |---|---|
//! | [`builtin`] | the reference gateway's config rendered from mock catalogues (`gateway: builtin`) |
//! | [`config`] | the rendered config (`mcp-servers-json` or a template), `servers.json`, placeholders |
//! | [`launch`] | a gateway brought up: folder, port, config, argv, `setup:`, the wait for `ready:` |
//! | [`lifecycle`] | a gateway over one run: brought up, found, torn down |
//! | [`names`] | tool-name discovery: each scenario `server.tool` to the gateway's name |
//! | [`targets`] | where the driver's calls go behind it: ready, names mapped, routes |
//! | [`process`] | launching without a shell, watching (RSS, CPU, processes), teardown that cannot leak |
//!
//! No gateway has code of its own here: what differs between gateways is in the scenario's
//! `gateway:` section (argv, config format, URL, `tool_names`).

pub mod builtin;
pub mod config;
pub mod launch;
pub mod lifecycle;
pub mod names;
pub mod process;
pub mod targets;
