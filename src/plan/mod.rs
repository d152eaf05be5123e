//! `Scenario` → `Plan`: the pure pieces of a run's plan (docs/architecture.md, "What exists now").
//! No I/O, no clock.
//!
//! | module | one job |
//! |---|---|
//! | [`schedule`] | the arrival schedule: a pacer for the open model (rate profiles, uniform or Poisson spacing) and the closed model |
//! | [`build`] | `Scenario` + overrides → [`build::Plan`]: schedule, weighted mix, phases, timeline |
//! | [`phase`] | the phase of a call as a pure function of its intended start: warmup, fault:i, settle:i, steady |
//! | [`timeline`] | the fault timeline as data: windows expanded into occurrences, cut by `--duration` |

pub mod build;
pub mod phase;
pub mod schedule;
pub mod timeline;
