//! The load generator (docs/architecture.md, "A run").
//!
//! | file | what |
//! |---|---|
//! | [`engine`] | the load loop: one pacer abstraction for the open and closed models |
//! | [`baseline`] | the `baseline` phase: the mix straight to the mocks before t = 0 |
//! | [`sessions`] | a run's sessions to its targets, opened before t = 0 (`session_init` events) |

pub mod baseline;
pub mod engine;
pub mod sessions;

/// Name prefix of the driver runtime's threads (resource accounting reads it).
pub const THREAD_NAME: &str = "gauntlet-driver";
