//! [`Recorder`]: every [`Sample`] and [`Event`] of a run into HDR histograms and series, in O(1)
//! amortised per sample; [`Recorder::finish`] turns them into the [`Summary`] (docs/reports.md).
//!
//! What is kept, per (phase, key) — a key is a (server, tool) of the run's key table:
//! - counts by outcome class and by outcome with its detail (`rpc_error:-32603`);
//! - a latency histogram per outcome class (`dropped` has none: never sent). Latency runs from
//!   the intended start (open model) or the actual start (closed model) to the end; timeouts
//!   count at the timeout value;
//! - an all-outcomes histogram: every call the target answered or failed — all classes but
//!   `dropped` and `client_error` (the driver's own failures are never the gateway's).
//!
//! And for the run: a send-lag histogram (sent calls), the per-second [`Series`] per server,
//! the per-second process figures, and the events.

use super::figures::Derived;
use super::hist::{self, Latency, ns_to_us, round3};
use super::series::{Series, SeriesState};
use super::summary::{
    CallStats, EventEntry, EventEntryKind, GatewaySecond, LatencyHistogram, ProcessSecond,
    SCHEMA_VERSION, Saturation, SecondStats, Summary, rfc3339_utc,
};
use super::{CLASS_COUNT, OK, OUTCOME_CLASSES, class_index, has_detail};
use crate::mcp::outcome::Outcome;
use crate::plan::phase::{Phase, Phases};
use crate::sample::{Event, EventKind, Sample};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

/// Events other than fault windows kept in results.json; later ones are counted in a note.
pub const MAX_EVENTS: usize = 10_000;

/// The server name of calls whose key is not in the key table.
pub const UNKNOWN_SERVER: &str = "(unknown)";

/// The derivation stage as the recorder feeds it (`derive::DeriveState`): every sample in,
/// the figures out once the rest of the summary is known.
pub trait Derivation: Send {
    fn add(&mut self, s: &Sample);
    fn finish(self: Box<Self>, summary: &Summary) -> Derived;
}

/// What the run knows about itself, for [`Recorder::finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    /// The scenario's name.
    pub scenario: String,
    pub seed: u64,
    pub gauntlet_version: String,
    pub scenario_hash: String,
    pub started_at: SystemTime,
    /// How long the run lasted (t = 0 to its end, warmup included).
    pub duration: Duration,
    pub partial: bool,
    /// Each phase's total length, for `rate_per_s` ([`phase_lengths`]; add the baseline's). A
    /// phase missing here is measured from its first to its last intended start.
    pub phase_lengths: BTreeMap<Phase, Duration>,
}

/// Each phase's total length within a run of length `run` (`steady` adds up its spans).
pub fn phase_lengths(phases: &Phases, run: Duration) -> BTreeMap<Phase, Duration> {
    let mut out = BTreeMap::new();
    for (start, end, phase) in phases.within(run) {
        *out.entry(phase).or_insert(Duration::ZERO) += end - start;
    }
    out
}

/// The calls of one (phase, key).
struct KeyStats {
    classes: [u64; CLASS_COUNT],
    details: HashMap<Outcome, u64>,
    hists: [Option<Histogram<u64>>; CLASS_COUNT],
    /// None while every recorded latency was ok: it equals `hists[OK]` until the first failure.
    all: Option<Histogram<u64>>,
}

impl KeyStats {
    fn new() -> KeyStats {
        KeyStats {
            classes: [0; CLASS_COUNT],
            details: HashMap::new(),
            hists: std::array::from_fn(|_| None),
            all: None,
        }
    }

    fn add(&mut self, outcome: Outcome, latency_us: Option<u64>) {
        let class = class_index(outcome);
        self.classes[class] += 1;
        if has_detail(outcome) {
            *self.details.entry(outcome).or_insert(0) += 1;
        }
        let Some(us) = latency_us else {
            return;
        };
        let ok_hist = &self.hists[OK];
        if class == OK {
            if let Some(all) = &mut self.all {
                all.saturating_record(us);
            }
        } else if outcome != Outcome::ClientError {
            let all = self.all.get_or_insert_with(|| match ok_hist {
                Some(h) => h.clone(),
                None => hist::new_histogram(),
            });
            all.saturating_record(us);
        }
        self.hists[class]
            .get_or_insert_with(hist::new_histogram)
            .saturating_record(us);
    }

    fn into_call(self, phase: Phase, names: (String, String), secs: Option<f64>) -> CallStats {
        let count: u64 = self.classes.iter().sum();
        let mut outcomes = BTreeMap::new();
        for (class, &n) in OUTCOME_CLASSES.iter().zip(&self.classes) {
            if n > 0 {
                outcomes.insert((*class).to_owned(), n);
            }
        }
        for (outcome, n) in self.details {
            outcomes.insert(outcome.to_string(), n);
        }
        let [ok_hist, failed @ ..] = self.hists;
        let ok_hist = ok_hist.unwrap_or_else(hist::new_histogram);
        let all = self.all.as_ref().unwrap_or(&ok_hist);
        let by_outcome = OUTCOME_CLASSES[1..]
            .iter()
            .zip(&failed)
            .filter_map(|(class, h)| Some(((*class).to_owned(), LatencyHistogram::of(h.as_ref()?))))
            .collect();
        CallStats {
            phase,
            server: names.0,
            tool: names.1,
            count,
            ok: self.classes[OK],
            outcomes,
            rate_per_s: secs.filter(|&s| s > 0.0).map(|s| round3(count as f64 / s)),
            latency_ms: Latency::of(&ok_hist),
            histogram: hist::encode(&ok_hist),
            all_outcomes: LatencyHistogram::of(all),
            by_outcome,
        }
    }
}

/// See the module doc.
pub struct Recorder {
    keys: Vec<(String, String)>,
    /// The server index (into `servers`) of each key.
    key_server: Vec<u32>,
    /// Distinct servers, in the key table's order; [`UNKNOWN_SERVER`] last once needed.
    servers: Vec<String>,
    model_open: bool,
    timeout_us: u64,
    calls: HashMap<(Phase, u32), KeyStats>,
    /// First and last intended start per phase.
    phase_spans: HashMap<Phase, (i64, i64)>,
    send_lag: Histogram<u64>,
    series: Series,
    process: Vec<ProcessSecond>,
    events: Vec<EventEntry>,
    capped_events: usize,
    omitted_events: u64,
    /// Ok calls, and how many of them brought the mock's service time back.
    ok_calls: u64,
    ok_with_service_time: u64,
    /// The derived figures' accumulators ([`Recorder::derive_with`]).
    derive: Option<Box<dyn Derivation>>,
}

impl Recorder {
    /// `keys[i]` is the (server, tool) of [`Sample::key`] `i`; `model_open` picks the latency's
    /// start (intended for the open model, actual for the closed one); `timeout` is the calls'
    /// timeout, the value at which timeouts count.
    pub fn new(keys: Vec<(String, String)>, model_open: bool, timeout: Duration) -> Recorder {
        let mut servers: Vec<String> = Vec::new();
        let mut key_server = Vec::with_capacity(keys.len());
        for (server, _) in &keys {
            let i = match servers.iter().position(|s| s == server) {
                Some(i) => i,
                None => {
                    servers.push(server.clone());
                    servers.len() - 1
                }
            };
            key_server.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        Recorder {
            keys,
            key_server,
            servers,
            model_open,
            timeout_us: u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX),
            calls: HashMap::new(),
            phase_spans: HashMap::new(),
            send_lag: hist::new_histogram(),
            series: Series::new(timeout),
            process: Vec::new(),
            events: Vec::new(),
            capped_events: 0,
            omitted_events: 0,
            ok_calls: 0,
            ok_with_service_time: 0,
            derive: None,
        }
    }

    /// Derives the figures of docs/metrics.md ([`super::derive`]) as calls arrive.
    pub fn derive_with(mut self, derivation: Box<dyn Derivation>) -> Recorder {
        self.derive = Some(derivation);
        self
    }

    /// One call. O(1) amortised; never fails (a key outside the table is recorded under
    /// [`UNKNOWN_SERVER`], tool `key:<n>`).
    pub fn add(&mut self, s: &Sample) {
        if s.outcome == Outcome::Ok {
            self.ok_calls += 1;
            self.ok_with_service_time += u64::from(s.service_us.is_some());
        }
        let latency_us = self.latency_us(s);
        self.calls
            .entry((s.phase, s.key))
            .or_insert_with(KeyStats::new)
            .add(s.outcome, latency_us);
        if s.outcome != Outcome::Dropped {
            let lag = s.start_ns.saturating_sub(s.intended_ns);
            self.send_lag.saturating_record(ns_to_us(lag));
        }
        let span = self
            .phase_spans
            .entry(s.phase)
            .or_insert((s.intended_ns, s.intended_ns));
        *span = (span.0.min(s.intended_ns), span.1.max(s.intended_ns));
        let server = self.server_of(s.key);
        let ok_latency = latency_us.filter(|_| s.outcome.is_ok());
        let class = class_index(s.outcome);
        self.series
            .add(s.intended_ns, s.end_ns, server, class, ok_latency);
        if let Some(d) = &mut self.derive {
            d.add(s);
        }
    }

    /// Something that happened to the run. Fault windows are always kept; other events up to
    /// [`MAX_EVENTS`], then counted.
    pub fn add_event(&mut self, e: &Event) {
        if !matches!(e.kind, EventKind::Fault { .. }) {
            if self.capped_events >= MAX_EVENTS {
                self.omitted_events += 1;
                return;
            }
            self.capped_events += 1;
        }
        self.events.push(EventEntry::from(e));
    }

    /// The processes in one second of the run: CPU in percent of one core (non-finite values
    /// read as unmeasured), and the resident memory of gauntlet's own process.
    pub fn record_process(
        &mut self,
        second: i64,
        driver_cpu_pct: f64,
        mocks_cpu_pct: f64,
        rss_bytes: u64,
    ) {
        let finite = |x: f64| x.is_finite().then(|| round3(x));
        self.process.push(ProcessSecond {
            second,
            driver_cpu_pct: finite(driver_cpu_pct),
            mocks_cpu_pct: finite(mocks_cpu_pct),
            rss_mb: round3(rss_bytes as f64 / (1024.0 * 1024.0)),
            gateway: None,
        });
    }

    /// Ok calls so far, and how many brought the service time the mock reported back.
    pub fn service_time_seen(&self) -> (u64, u64) {
        (self.ok_calls, self.ok_with_service_time)
    }

    /// A launched gateway's figures for `second` (after [`Recorder::record_process`] for it).
    pub fn record_gateway(
        &mut self,
        second: i64,
        cpu_pct: f64,
        rss_bytes: u64,
        processes: usize,
        backends: usize,
    ) {
        let g = GatewaySecond {
            cpu_pct: if cpu_pct.is_finite() {
                round3(cpu_pct)
            } else {
                0.0
            },
            rss_mb: round3(rss_bytes as f64 / (1024.0 * 1024.0)),
            processes: processes as u64,
            backends: backends as u64,
        };
        if let Some(p) = self.process.iter_mut().rev().find(|p| p.second == second) {
            p.gateway = Some(g);
        }
    }

    /// What the per-second series holds now.
    pub fn series_state(&self) -> SeriesState {
        self.series.state()
    }

    /// The summary of everything recorded: results.json.
    pub fn finish(mut self, meta: RunMeta) -> Summary {
        let send_lag_ms = Latency::of(&self.send_lag);
        let driver_cpu_pct_max = self
            .process
            .iter()
            .filter_map(|p| p.driver_cpu_pct)
            .reduce(f64::max);
        let saturation = Saturation {
            send_lag_p99_ms: send_lag_ms.p99,
            driver_cpu_pct_max,
        };
        let mut process = std::mem::take(&mut self.process);
        process.sort_by_key(|p| p.second);
        let derive = self.derive.take();
        let (calls, timeseries, events) = self.into_tables(&meta);
        let mut summary = Summary {
            schema_version: SCHEMA_VERSION,
            scenario: meta.scenario,
            seed: meta.seed,
            gauntlet_version: meta.gauntlet_version,
            scenario_hash: meta.scenario_hash,
            started_at: rfc3339_utc(meta.started_at),
            duration_s: round3(meta.duration.as_secs_f64()),
            partial: meta.partial,
            generator_saturated: saturation.saturated(),
            saturation,
            calls,
            send_lag_ms,
            events,
            timeseries,
            process,
            protocols: Vec::new(),
            served: Vec::new(),
            gateway: None,
            propagation: None,
            windows: Vec::new(),
            phases: Vec::new(),
            derived: Derived::default(),
            verdicts: Vec::new(),
        };
        if let Some(d) = derive {
            summary.derived = d.finish(&summary);
        }
        summary
    }

    fn into_tables(self, meta: &RunMeta) -> (Vec<CallStats>, Vec<SecondStats>, Vec<EventEntry>) {
        let mut entries: Vec<_> = self.calls.into_iter().collect();
        entries.sort_by_key(|&((phase, key), _)| (phase_rank(phase), key));
        let calls = entries
            .into_iter()
            .map(|((phase, key), stats)| {
                let secs = match meta.phase_lengths.get(&phase) {
                    Some(d) => Some(d.as_secs_f64()),
                    None => self.phase_spans.get(&phase).map(|&(a, b)| span_secs(a, b)),
                };
                stats.into_call(phase, key_names(&self.keys, key), secs)
            })
            .collect();
        let servers = self.servers;
        let timeseries = self
            .series
            .finish()
            .into_iter()
            .map(|row| second_stats(&row, &servers))
            .collect();
        let mut events = self.events;
        events.sort_by_key(|e| e.at_ns);
        if self.omitted_events > 0 {
            let at_ns = events.last().map_or(0, |e| e.at_ns);
            let text = format!("{} more events not kept", self.omitted_events);
            let kind = EventEntryKind::Note { text };
            events.push(EventEntry { at_ns, kind });
        }
        (calls, timeseries, events)
    }

    fn latency_us(&self, s: &Sample) -> Option<u64> {
        let rule = LatencyRule {
            model_open: self.model_open,
            timeout_us: self.timeout_us,
        };
        rule.of(s)
    }

    fn server_of(&mut self, key: u32) -> u32 {
        if let Some(&i) = self.key_server.get(key as usize) {
            return i;
        }
        let i = match self.servers.iter().position(|s| s == UNKNOWN_SERVER) {
            Some(i) => i,
            None => {
                self.servers.push(UNKNOWN_SERVER.to_owned());
                self.servers.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }
}

/// How every figure measures a call's latency (docs/metrics.md): from the intended start (open
/// model) or the actual start (closed) to the end; a timeout at the timeout; none for a
/// dropped call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyRule {
    pub model_open: bool,
    pub timeout_us: u64,
}

impl LatencyRule {
    pub fn new(model_open: bool, timeout: Duration) -> LatencyRule {
        LatencyRule {
            model_open,
            timeout_us: u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX),
        }
    }

    /// The latency of `s` in µs.
    pub fn of(&self, s: &Sample) -> Option<u64> {
        let from = if self.model_open {
            s.intended_ns
        } else {
            s.start_ns
        };
        match s.outcome {
            Outcome::Dropped => None,
            Outcome::Timeout => Some(self.timeout_us),
            _ => Some(ns_to_us(s.end_ns.saturating_sub(from))),
        }
    }
}

fn key_names(keys: &[(String, String)], key: u32) -> (String, String) {
    keys.get(key as usize)
        .cloned()
        .unwrap_or_else(|| (UNKNOWN_SERVER.to_owned(), format!("key:{key}")))
}

fn second_stats(row: &super::series::SecondRow, servers: &[String]) -> SecondStats {
    let c = &row.counts;
    let outcomes = OUTCOME_CLASSES
        .iter()
        .zip(&c.classes)
        .filter(|&(_, &n)| n > 0)
        .map(|(class, &n)| ((*class).to_owned(), u64::from(n)))
        .collect();
    let ms = |us: Option<u32>| us.map(|us| hist::us_to_ms(u64::from(us)));
    SecondStats {
        second: row.second,
        server: servers
            .get(row.server as usize)
            .map_or_else(|| UNKNOWN_SERVER.to_owned(), Clone::clone),
        offered: u64::from(c.offered),
        sent: u64::from(c.sent),
        ok: u64::from(c.ok()),
        outcomes,
        p50_ms: ms(row.p50_us),
        p99_ms: ms(row.p99_us),
    }
}

/// Report order: baseline, warmup, steady, then each fault window followed by its settle.
fn phase_rank(p: Phase) -> (u8, usize, u8) {
    match p {
        Phase::Baseline => (0, 0, 0),
        Phase::Warmup => (1, 0, 0),
        Phase::Steady => (2, 0, 0),
        Phase::Fault(i) => (3, i, 0),
        Phase::Settle(i) => (3, i, 1),
    }
}

/// Seconds from the first to the last intended start (a fallback phase length).
fn span_secs(first_ns: i64, last_ns: i64) -> f64 {
    (i128::from(last_ns) - i128::from(first_ns)) as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::outcome::{ProtocolError, TransportError};

    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;

    fn keys() -> Vec<(String, String)> {
        [("alpha", "a"), ("alpha", "b"), ("beta", "c")]
            .iter()
            .map(|&(s, t)| (s.to_owned(), t.to_owned()))
            .collect()
    }

    fn sample(key: u32, phase: Phase, intended: i64, lag: i64, took: i64, o: Outcome) -> Sample {
        Sample {
            call_id: 0,
            key,
            phase,
            intended_ns: intended,
            start_ns: intended + lag,
            end_ns: intended + lag + took,
            outcome: o,
            service_us: None,
            session: 0,
            args_hash: 0,
            data_version: None,
        }
    }

    fn meta() -> RunMeta {
        RunMeta {
            scenario: "t".into(),
            seed: 7,
            gauntlet_version: "0.1.0".into(),
            scenario_hash: "abc".into(),
            started_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_secs(10),
            partial: false,
            phase_lengths: BTreeMap::from([(Phase::Steady, Duration::from_secs(10))]),
        }
    }

    /// Within HDR's 3 significant digits (percentiles read the highest equivalent value).
    fn near(x: Option<f64>, want: f64) -> bool {
        x.is_some_and(|x| x >= want && x <= want * 1.001 + 0.001)
    }

    fn call<'a>(s: &'a Summary, phase: Phase, tool: &str) -> &'a CallStats {
        let found = s.calls.iter().find(|c| c.phase == phase && c.tool == tool);
        found.expect("the entry exists")
    }

    #[test]
    fn open_model_measures_from_the_intended_start() {
        for (open, want_ms) in [(true, 14.9), (false, 10.0)] {
            let mut r = Recorder::new(keys(), open, Duration::from_secs(1));
            r.add(&sample(
                0,
                Phase::Steady,
                0,
                4_900_000,
                10 * MS,
                Outcome::Ok,
            ));
            let s = r.finish(meta());
            let c = call(&s, Phase::Steady, "a");
            assert!(near(c.latency_ms.p50, want_ms), "{:?}", c.latency_ms);
            assert!(near(s.send_lag_ms.max, 4.9));
            assert_eq!(s.saturation.send_lag_p99_ms, s.send_lag_ms.p99);
            assert!(!s.generator_saturated, "under 5 ms of lag, under 80% CPU");
        }
    }

    #[test]
    fn outcomes_counts_and_histograms_per_key() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(2));
        let steady = Phase::Steady;
        for i in 0..90 {
            r.add(&sample(
                1,
                steady,
                i * 10 * MS,
                0,
                (i + 1) * MS,
                Outcome::Ok,
            ));
        }
        let failures = [
            (Outcome::Timeout, 5 * S), // counts at 2 s, whatever was measured
            (Outcome::RpcError(-32603), MS),
            (Outcome::RpcError(-32603), MS),
            (Outcome::HttpError(503), MS),
            (Outcome::Transport(TransportError::Refused), 0),
            (Outcome::Protocol(ProtocolError::WrongId), MS),
            (Outcome::Dropped, 0),
            (Outcome::ClientError, 0),
            (Outcome::ToolError, 3 * MS),
            (Outcome::Timeout, 5 * S),
        ];
        for (o, took) in failures {
            r.add(&sample(1, steady, 0, 0, took, o));
        }
        let s = r.finish(meta());
        assert_eq!(s.calls.len(), 1);
        let c = call(&s, steady, "b");
        assert_eq!((c.server.as_str(), c.count, c.ok), ("alpha", 100, 90));
        assert_eq!(c.outcomes["ok"], 90);
        assert_eq!(c.outcomes["rpc_error"], 2);
        assert_eq!(c.outcomes["rpc_error:-32603"], 2);
        assert_eq!(c.outcomes["transport:refused"], 1);
        assert_eq!(c.outcomes["timeout"], 2);
        let classes: u64 = (c.outcomes.iter())
            .filter(|(k, _)| !k.contains(':'))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(classes, c.count);
        assert_eq!(c.rate_per_s, Some(10.0));
        assert!(near(c.latency_ms.max, 90.0));
        assert!(near(c.latency_ms.p50, 45.0));
        assert!(near(c.by_outcome["timeout"].latency_ms.max, 2000.0));
        assert!(!c.by_outcome.contains_key("dropped"));
        assert_eq!(c.by_outcome["client_error"].count, 1);
        // 90 ok + 8 failures the target gave: not the dropped one, not the driver's own.
        assert_eq!(c.all_outcomes.count, 98);
        assert!(near(c.all_outcomes.latency_ms.max, 2000.0));
        let mut back = s.clone();
        back.rebuild_percentiles().expect("the histograms decode");
        assert_eq!(back, s);
    }

    #[test]
    fn all_outcomes_includes_ok_calls_recorded_before_and_after_the_first_failure() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        r.add(&sample(0, Phase::Steady, 0, 0, MS, Outcome::Ok));
        r.add(&sample(0, Phase::Steady, 0, 0, MS, Outcome::ToolError));
        r.add(&sample(0, Phase::Steady, 0, 0, MS, Outcome::Ok));
        let s = r.finish(meta());
        assert_eq!(s.calls[0].all_outcomes.count, 3);
    }

    #[test]
    fn entries_are_ordered_by_phase_then_key_table() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        for (key, phase) in [
            (2, Phase::Settle(0)),
            (0, Phase::Fault(0)),
            (2, Phase::Steady),
            (0, Phase::Steady),
            (1, Phase::Warmup),
            (0, Phase::Baseline),
            (0, Phase::Fault(1)),
        ] {
            r.add(&sample(key, phase, 0, 0, MS, Outcome::Ok));
        }
        let s = r.finish(meta());
        let order: Vec<_> = (s.calls.iter())
            .map(|c| format!("{}/{}", c.phase, c.tool))
            .collect();
        let want = "baseline/a warmup/b steady/a steady/c fault:0/a settle:0/c fault:1/a";
        assert_eq!(order.join(" "), want);
    }

    #[test]
    fn rate_falls_back_to_the_observed_span() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        for i in 0..=20 {
            r.add(&sample(
                0,
                Phase::Fault(0),
                10 * S + i * 100 * MS,
                0,
                MS,
                Outcome::Ok,
            ));
        }
        r.add(&sample(0, Phase::Settle(0), 13 * S, 0, MS, Outcome::Ok));
        let s = r.finish(meta());
        assert_eq!(call(&s, Phase::Fault(0), "a").rate_per_s, Some(10.5));
        assert_eq!(call(&s, Phase::Settle(0), "a").rate_per_s, None);
    }

    #[test]
    fn unknown_keys_are_kept_not_lost() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        r.add(&sample(9, Phase::Steady, 0, 0, MS, Outcome::Ok));
        let s = r.finish(meta());
        let c = &s.calls[0];
        assert_eq!(
            (c.server.as_str(), c.tool.as_str()),
            (UNKNOWN_SERVER, "key:9")
        );
        assert_eq!(s.timeseries[0].server, UNKNOWN_SERVER);
    }

    #[test]
    fn garbage_times_do_not_panic() {
        let mut r = Recorder::new(keys(), true, Duration::MAX);
        let mut s = sample(0, Phase::Steady, 0, 0, 0, Outcome::Ok);
        (s.intended_ns, s.start_ns, s.end_ns) = (i64::MAX, i64::MIN, i64::MAX);
        r.add(&s);
        (s.intended_ns, s.start_ns, s.end_ns) = (i64::MIN, i64::MAX, i64::MIN);
        r.add(&s);
        let summary = r.finish(meta());
        assert_eq!(summary.calls[0].count, 2);
    }

    #[test]
    fn saturation_from_send_lag_or_driver_cpu() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        r.add(&sample(0, Phase::Steady, 0, 6 * MS, MS, Outcome::Ok));
        let s = r.finish(meta());
        assert!(s.generator_saturated);

        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        r.add(&sample(0, Phase::Steady, 0, 0, MS, Outcome::Ok));
        r.record_process(1, 85.0, 10.0, 3 * 1024 * 1024);
        r.record_process(0, 20.0, f64::NAN, 1024 * 1024);
        let s = r.finish(meta());
        assert!(s.generator_saturated);
        assert_eq!(s.saturation.driver_cpu_pct_max, Some(85.0));
        assert_eq!(s.process[0].second, 0);
        assert_eq!(s.process[0].mocks_cpu_pct, None);
        assert_eq!(s.process[1].rss_mb, 3.0);
    }

    #[test]
    fn events_are_sorted_and_capped_but_faults_always_kept() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(1));
        let note = |at_ns| Event {
            at_ns,
            kind: EventKind::Note { text: "n".into() },
        };
        r.add_event(&note(5));
        for i in 0..MAX_EVENTS as i64 + 3 {
            r.add_event(&note(-i));
        }
        r.add_event(&Event {
            at_ns: 1,
            kind: EventKind::Fault {
                index: 0,
                server: "beta".into(),
                kind: "outage".into(),
                start: true,
            },
        });
        let s = r.finish(meta());
        assert_eq!(s.events.len(), MAX_EVENTS + 2);
        assert!(s.events.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
        let kinds = |k: fn(&EventEntryKind) -> bool| s.events.iter().filter(|e| k(&e.kind)).count();
        assert_eq!(kinds(|k| matches!(k, EventEntryKind::Fault { .. })), 1);
        let last = s.events.last().map(|e| e.kind.clone());
        let text = "4 more events not kept".to_owned();
        assert_eq!(last, Some(EventEntryKind::Note { text }));
    }

    #[test]
    fn memory_stays_flat_over_100_000_seconds() {
        let mut r = Recorder::new(keys(), true, Duration::from_secs(5));
        let mut peak = 0;
        for sec in 0..100_000i64 {
            for key in 0..3 {
                let o = if sec % 97 == 0 {
                    Outcome::Timeout
                } else {
                    Outcome::Ok
                };
                r.add(&sample(
                    key,
                    Phase::Steady,
                    sec * S + key as i64 * MS,
                    0,
                    3 * MS,
                    o,
                ));
            }
            let state = r.series_state();
            assert!(state.open_seconds <= 9, "{state:?}");
            peak = peak.max(state.histograms);
        }
        let state = r.series_state();
        assert!(peak <= 2 * 9, "per-second histograms are recycled: {peak}");
        assert!(state.closed_rows >= 2 * (100_000 - 9), "{state:?}");
        assert_eq!(state.late_latencies, 0);
        let s = r.finish(meta());
        assert_eq!(s.timeseries.len(), 200_000, "one row per second × server");
        assert_eq!(s.calls.len(), 3);
    }

    #[test]
    fn phase_lengths_add_up_spans_within_the_run() {
        let secs = Duration::from_secs;
        let phases = Phases::new(
            secs(5),
            &[(secs(20), secs(30)), (secs(50), secs(70))],
            secs(10),
        );
        let lengths = phase_lengths(&phases, secs(60));
        assert_eq!(lengths[&Phase::Warmup], secs(5));
        assert_eq!(lengths[&Phase::Steady], secs(15 + 10));
        assert_eq!(lengths[&Phase::Fault(0)], secs(10));
        assert_eq!(lengths[&Phase::Settle(0)], secs(10));
        assert_eq!(lengths[&Phase::Fault(1)], secs(10), "cut at the run's end");
        assert!(!lengths.contains_key(&Phase::Settle(1)));
        assert_eq!(lengths.values().sum::<Duration>(), secs(60));
    }
}
