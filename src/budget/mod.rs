//! Budgets: expressions that gate CI (docs/scenario.md, "Budgets"). Pure: [`expr`] parses them,
//! [`scope`] checks what they name against the scenario, [`eval`] turns them into verdicts over a
//! run's summary.

pub mod eval;
pub mod expr;
pub mod scope;
