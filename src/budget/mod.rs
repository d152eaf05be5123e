//! Budgets: expressions that gate CI (design §5, §7). Pure: [`expr`] parses them, [`scope`]
//! checks what they name against the scenario, [`eval`] turns them into verdicts over a run's
//! summary.

pub mod eval;
pub mod expr;
pub mod scope;
