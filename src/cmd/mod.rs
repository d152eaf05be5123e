//! The commands: each takes its clap arguments (`crate::cli`), calls the library with typed
//! values, and prints.
//!
//! | file | command |
//! |---|---|
//! | [`run`] | `gauntlet run` |
//! | [`check`] | `gauntlet check`: a scenario validated, and what it will do |
//! | [`mock`] | `gauntlet mock` |
//! | [`gateway`] | `gauntlet gateway` and `gauntlet status` |
//! | [`report`] | `gauntlet report` |
//! | [`compare`] | `gauntlet compare` |

pub mod check;
pub mod compare;
pub mod gateway;
pub mod mock;
pub mod report;
pub mod run;
