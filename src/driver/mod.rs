//! The load generator (design §5, §7).
//!
//! | file | what |
//! |---|---|
//! | [`mocks`] | the scenario's mock servers for a run, on their own runtime |
//! | [`procstat`] | gauntlet's CPU per thread group and RSS, from /proc; the open-file limit |

pub mod mocks;
pub mod procstat;
