//! Budgets as a scenario (or `--budget`) writes them (docs/scenario.md, "Budgets"): [`expr`]
//! parses an expression, [`scope`] checks what it names against the scenario. Their verdicts
//! over a run's summary are the `verdict` module's.

pub mod expr;
pub mod scope;
