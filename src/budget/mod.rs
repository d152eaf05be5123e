//! Budgets: expressions that gate CI (design §5, §7). This module is pure: parsing now;
//! verdicts over a run's summary come with the metrics.

pub mod expr;
