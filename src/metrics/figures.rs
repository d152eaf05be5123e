//! The derived metrics (docs/metrics.md), as results.json holds them (`derived`), and the budget
//! verdicts (`verdicts`). Each figure says whether it is `exact`, `estimated` or `unavailable`,
//! and why when it is not exact: a number the data cannot support is never printed.
//!
//! Computed by [`super::derive`] from the classified calls; read back by budgets and reports.

use serde::{Deserialize, Serialize};

/// How far a figure can be trusted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Measured call by call (call ids propagated, the ledger saw them).
    Exact,
    /// Inferred (e.g. matching backend calls to driver calls by arguments); the reason says how.
    Estimated,
    /// The data cannot support a number; the reason says why.
    #[default]
    Unavailable,
}

/// Everything derived from the calls, the ledgers and the events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    /// From a stepped ramp (`load.steps`); `None` for other load shapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Per server.tool.
    #[serde(default)]
    pub overhead: Vec<Overhead>,
    /// Per server.tool.
    #[serde(default)]
    pub cache: Vec<CacheHits>,
    /// Per data-change window.
    #[serde(default)]
    pub stale_reads: Vec<StaleRead>,
    #[serde(default)]
    pub cold_start: ColdStarts,
    /// Per fault window.
    #[serde(default)]
    pub recovery: Vec<Recovery>,
    /// Per fault window.
    #[serde(default)]
    pub blast_radius: Vec<BlastRadius>,
    #[serde(default)]
    pub routing: Routing,
    /// Per server.
    #[serde(default)]
    pub retries: Vec<Retries>,
}

/// Capacity from a stepped ramp: the highest step that achieved ≥ 99% of its offered rate with
/// errors ≤ 1% and p99 ≤ `p99_max` (each step's first 5 s discarded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Calls per second; `None` when no step held.
    pub rate_per_s: Option<f64>,
    pub p99_max_ms: f64,
    pub steps: Vec<CapacityStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    pub step: usize,
    /// The measured part of the step (after its first 5 s), seconds from t = 0.
    pub start_s: f64,
    pub end_s: f64,
    pub offered_per_s: f64,
    /// Ok calls per second.
    pub achieved_per_s: f64,
    pub error_rate: f64,
    pub p99_ms: Option<f64>,
    pub held: bool,
}

/// Gateway overhead of one server.tool: client latency − the mock's service time (exact, from
/// the result's `_meta`), or through-the-gateway minus `baseline` percentiles (estimated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overhead {
    pub server: String,
    pub tool: String,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Calls the figure is over.
    pub calls: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Cache hits of one server.tool: ok calls whose call id never reached the backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheHits {
    pub server: String,
    pub tool: String,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ok calls of the run (all phases but `baseline`).
    pub ok: u64,
    pub hits: Option<u64>,
    /// hits / ok, a fraction.
    pub rate: Option<f64>,
}

/// After a data change: how long the gateway still served the old version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StaleRead {
    /// The fault window (timeline occurrence) of the change.
    pub window: usize,
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the data changed, ms from t = 0.
    pub at_ms: f64,
    /// Ok calls sent after the change that returned an older version.
    pub stale_calls: u64,
    /// From the change to the end of the last stale answer; 0 when none was stale.
    pub window_ms: Option<f64>,
}

/// Cold starts: per server, and which servers were started at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdStarts {
    pub servers: Vec<ColdStart>,
    /// Servers whose process was spawned (stdio, from the back-channel).
    pub spawned: Vec<String>,
    /// Servers that served at least one call (from the ledgers).
    pub used: Vec<String>,
    /// Servers of the scenario never spawned nor called (lazy loading at work).
    pub never_started: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    pub server: String,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Latency of the first call (after the gateway started the server).
    pub first_call_ms: Option<f64>,
    /// The server's warm p50 (steady ok calls).
    pub warm_p50_ms: Option<f64>,
    /// first_call_ms − warm_p50_ms: the cost of the cold start.
    pub cost_ms: Option<f64>,
    /// Calls to the server sent while its first call was in flight.
    pub queued: u64,
    /// Spawn → ready of its process (stdio), from the back-channel.
    pub spawn_to_ready_ms: Option<f64>,
    /// How many times it was started (more than once: idle eviction, crashes).
    pub starts: u64,
}

/// One fault window's recovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub window: usize,
    pub server: String,
    pub kind: String,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Window start and end, ms from t = 0 (a point fault: end = start).
    pub start_ms: f64,
    pub end_ms: f64,
    /// The server's calls during the window.
    pub during: During,
    /// The server's steady calls before the window: what "recovered" compares with.
    pub before_error_rate: Option<f64>,
    pub before_p99_ms: Option<f64>,
    /// From the window's end to the first ok call that reached the backend.
    pub first_success_ms: Option<f64>,
    /// From the window's end to the start of the first of 3 healthy seconds in a row.
    pub recovery_ms: Option<f64>,
    /// Not recovered by the run's end.
    pub never: bool,
    /// Seconds observed after the window's end.
    pub observed_s: f64,
}

/// The calls of one server during a window: did it fail fast or hang?
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct During {
    pub calls: u64,
    pub errors: u64,
    pub error_rate: Option<f64>,
    /// Latency of the failed calls.
    pub failure_p50_ms: Option<f64>,
    pub failure_p99_ms: Option<f64>,
}

/// During a window on one server: how much worse the other servers got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlastRadius {
    pub window: usize,
    pub server: String,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The largest error-rate increase over the other servers, percentage points.
    pub points: Option<f64>,
    /// The server that increase is on.
    pub worst: Option<String>,
    /// The largest p99 ratio (during / before) over the other servers.
    pub p99_ratio: Option<f64>,
    pub others: Vec<BlastOther>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlastOther {
    pub server: String,
    pub calls: u64,
    pub before_error_rate: Option<f64>,
    pub during_error_rate: Option<f64>,
    pub points: Option<f64>,
    pub before_p99_ms: Option<f64>,
    pub during_p99_ms: Option<f64>,
    pub p99_ratio: Option<f64>,
}

/// Calls that reached the wrong server, and calls lost (from the ledgers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Driver calls whose id reached a server other than theirs.
    pub wrong_server: u64,
    /// Driver calls that failed (timeout, transport) without their id reaching any backend.
    pub lost: u64,
}

/// Backend calls per driver call for one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retries {
    pub server: String,
    pub quality: Quality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Driver calls sent to this server (all phases but `baseline`).
    pub driver_calls: u64,
    /// tools/call requests the backend received.
    pub backend_calls: u64,
    /// Call ids the backend saw more than once.
    pub duplicated_ids: u64,
    /// Backend calls per distinct call id that reached it (1.0: no retries).
    pub amplification: Option<f64>,
}

/// One budget's verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The budget as written.
    pub budget: String,
    pub passed: bool,
    /// The measured value in the budget's unit (ms, fraction, calls/s, points); `None` when
    /// unavailable.
    pub measured: Option<f64>,
    /// The measured value as printed (`183ms`, `0.4%`, `never (20s observed)`).
    pub measured_text: String,
    /// The limit as printed (`< 150ms`).
    pub limit_text: String,
    pub quality: Quality,
    /// Why it failed when that is not just the number (unavailable figure, `never`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
