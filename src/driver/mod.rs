//! The load generator (docs/architecture.md, "A run").
//!
//! | file | what |
//! |---|---|
//! | [`engine`] | the load loop: one pacer abstraction for the open and closed models |
//! | [`baseline`] | the `baseline` phase: the mix straight to the mocks before t = 0 |
//! | [`conn`] | driver sessions over HTTP or stdio, opened before t = 0 |
//! | [`mocks`] | the scenario's mock servers for a run, on their own runtime |
//! | [`backends`] | the mocks as the derivation looks calls up in them: ledgers, back-channel reports |
//! | [`procstat`] | gauntlet's CPU per thread group and RSS, from /proc; the open-file limit |

pub mod backends;
pub mod baseline;
pub mod engine;
pub mod sessions;
pub mod mocks;
pub mod procstat;
