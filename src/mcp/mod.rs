//! The MCP wire layer, shared by the mock servers, the driver and the reference gateway.
//!
//! | file | what |
//! |---|---|
//! | [`jsonrpc`] | JSON-RPC 2.0 messages; classification of incoming bytes (-32700 / -32600) |
//! | [`era_fields`] | reading bodies with the 2026-07-28 per-request `_meta` fields taken out as they are read |
//! | [`protocol`] | revisions and eras, negotiation, header names, `_meta` keys, log levels |
//! | [`service`] | the [`service::Service`] trait between a front end and what answers requests |
//! | [`session`] | sessions: negotiated revision, log level, standalone streams, in-flight calls |
//! | [`http`] | Streamable HTTP server on hyper 1: the session era and 2026-07-28 on one endpoint |
//! | [`http_parts`] | what the HTTP front ends share: [`http_parts::HttpFront`], bodies, accepted types, responses |
//! | [`legacy`] | the 2024-11-05 HTTP+SSE transport, server side (`GET /sse`, `POST /messages`) |
//! | [`modern`] | the 2026-07-28 rules: per-request `_meta`, mirrored headers, `resultType`, listen streams |
//! | `stateless` | Streamable HTTP server, 2026-07-28: one checked request per POST, no session |
//! | [`outcome`] | the one outcome of every call: ok, tool error, JSON-RPC error, HTTP, transport, timeout, protocol |
//! | [`paging`] | one page of a list and an opaque cursor to the next (server side) |
//! | [`sse`] | Server-Sent Events framing |
//! | [`stdio`] | newline-delimited JSON-RPC on a byte stream pair |
//! | [`sse_parse`] | incremental Server-Sent Events parser (the client reads streams with it) |
//! | [`client`] | Streamable HTTP client (session era) for the driver: pooled HTTP, sessions, outcomes |
//! | [`client_legacy`] | 2024-11-05 HTTP+SSE client: the `GET /sse` stream, POSTs, calls routed by id |
//! | [`client_stdio`] | stdio client: a spawned server process, calls routed by id |
//! | [`gate`] | whether an HTTP server can be reached (outages): up, refuse, reset, blackhole |
//! | [`wire_fault`] | answers broken on purpose: invalid JSON, wrong id, cut SSE, dripped bodies |
//!
//! Transport errors (HTTP status, broken streams), JSON-RPC errors and tool errors (`isError`
//! in a successful result) are kept apart at every layer.

pub mod client;
pub mod client_legacy;
pub mod client_stdio;
pub mod conn;
pub mod era_fields;
pub mod gate;
pub mod http;
pub mod http_parts;
pub mod jsonrpc;
pub mod legacy;
pub mod modern;
pub mod outcome;
pub mod paging;
mod pending;
pub mod protocol;
pub mod service;
pub mod session;
pub mod sse;
pub mod sse_parse;
mod stateless;
pub mod stdio;
pub mod wire_fault;
