//! results.json and its views, end to end without a run: synthetic samples → `Recorder` →
//! `Summary` → `report::write_all` → the files checked against the schema in
//! `reports/results.schema.json`, the CSV shapes, and the embedded histograms.

use gauntlet::mcp::outcome::{Outcome, ProtocolError, TransportError};
use gauntlet::metrics::hist::Latency;
use gauntlet::metrics::{OUTCOME_CLASSES, Recorder, RunMeta, Summary};
use gauntlet::plan::phase::Phase;
use gauntlet::report::{self, csv, json};
use gauntlet::sample::{Event, EventKind, Sample};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const TIMEOUT: Duration = Duration::from_secs(1);

/// The phase of t (ns): baseline before 0, warmup 0–2 s, fault:0 10–15 s, settle:0 15–20 s.
fn phase_at(t: i64) -> Phase {
    match t {
        t if t < 0 => Phase::Baseline,
        t if t < 2 * S => Phase::Warmup,
        t if (10 * S..15 * S).contains(&t) => Phase::Fault(0),
        t if (15 * S..20 * S).contains(&t) => Phase::Settle(0),
        _ => Phase::Steady,
    }
}

/// What happened to call `i` of key `key` (0 translation, 1 freight, 2 fraud).
fn outcome(i: i64, key: u32, phase: Phase) -> Outcome {
    match (phase, key) {
        (Phase::Fault(0), 0) if i % 2 == 0 => Outcome::Transport(TransportError::Refused),
        (Phase::Fault(0), 0) => Outcome::Timeout,
        (Phase::Fault(0), 1) if i % 7 == 0 => Outcome::Dropped,
        (Phase::Settle(0), 0) if i % 20 == 0 => Outcome::HttpError(503),
        (Phase::Steady, _) if i % 50 == 0 => Outcome::RpcError(-32603),
        (Phase::Steady, 2) if i % 131 == 0 => Outcome::Protocol(ProtocolError::WrongId),
        (Phase::Steady, 1) if i % 97 == 0 => Outcome::ToolError,
        _ if i == 333 => Outcome::ClientError,
        _ => Outcome::Ok,
    }
}

/// 30 s at 60 calls/s over three keys, from a 5 s baseline before t = 0.
fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for i in 0..(30 * 60) {
        let intended = -5 * S + i * S / 60;
        let key = (i % 3) as u32;
        let phase = phase_at(intended);
        let outcome = outcome(i, key, phase);
        let lag = if outcome == Outcome::Dropped {
            0
        } else {
            100_000 + (i % 7) * 50_000
        };
        let took = match outcome {
            Outcome::Timeout => 1000 * MS,
            Outcome::Dropped => 0,
            _ => 2 * MS + (i * 7919 % 50) * MS + (i % 13) * 1000,
        };
        out.push(Sample {
            call_id: i as u64,
            key,
            phase,
            intended_ns: intended,
            start_ns: intended + lag,
            end_ns: intended + lag + took,
            outcome,
            service_us: None,
            session: (i % 4) as u32,
            args_hash: 0,
            data_version: None,
        });
    }
    // Completion order, not intended order: the recorder must not care.
    out.sort_by_key(|s| s.end_ns);
    out
}

fn events() -> Vec<Event> {
    let server = || "translation".to_owned();
    let kinds = [
        (
            -6 * S,
            EventKind::SessionInit {
                server: server(),
                session: 0,
                took_ns: 3_000_000,
                ok: true,
            },
        ),
        (
            10 * S,
            EventKind::Fault {
                index: 0,
                server: server(),
                kind: "outage".into(),
                start: true,
            },
        ),
        (
            12 * S,
            EventKind::Reinit {
                server: server(),
                session: 1,
            },
        ),
        (
            15 * S,
            EventKind::Fault {
                index: 0,
                server: server(),
                kind: "outage".into(),
                start: false,
            },
        ),
        (
            25 * S,
            EventKind::Note {
                text: "drained, \"done\"".into(),
            },
        ),
    ];
    kinds
        .into_iter()
        .map(|(at_ns, kind)| Event { at_ns, kind })
        .collect()
}

fn summary() -> Summary {
    let keys = [
        ("translation", "translate"),
        ("freight", "quote"),
        ("fraud", "score"),
    ]
    .map(|(s, t)| (s.to_owned(), t.to_owned()))
    .to_vec();
    let mut recorder = Recorder::new(keys, true, TIMEOUT);
    for s in samples() {
        recorder.add(&s);
    }
    for e in events().iter().rev() {
        recorder.add_event(e);
    }
    for second in 0..25 {
        recorder.record_process(second, 20.0 + second as f64, 5.5, 40 << 20);
    }
    let secs = Duration::from_secs;
    let mut summary = recorder.finish(RunMeta {
        scenario: "marketplace-translation-outage".into(),
        seed: 42,
        gauntlet_version: env!("CARGO_PKG_VERSION").into(),
        scenario_hash: "sha256:0123abcd".into(),
        started_at: SystemTime::UNIX_EPOCH + secs(1_785_231_000),
        duration: secs(25),
        partial: false,
        phase_lengths: BTreeMap::from([
            (Phase::Baseline, secs(5)),
            (Phase::Warmup, secs(2)),
            (Phase::Steady, secs(13)),
            (Phase::Fault(0), secs(5)),
            (Phase::Settle(0), secs(5)),
        ]),
    });
    summary.windows = vec![gauntlet::metrics::FaultWindow {
        window: 0,
        fault: 0,
        repeat: 0,
        server: "translation".into(),
        tool: None,
        kind: "outage".into(),
        fault_spec: serde_json::json!({"outage": "refuse"}),
        planned_start_ms: 20_000.0,
        planned_end_ms: Some(25_000.0),
        actual_start_ms: Some(20_000.512),
        actual_end_ms: Some(25_001.03),
        cut: false,
    }];
    summary
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the file is there");
    serde_json::from_str(&text).expect("the file is JSON")
}

pub fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/results.schema.json");
    let schema = read_json(&path);
    jsonschema::draft202012::meta::validate(&schema).expect("a valid draft 2020-12 schema");
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// `DIR/results.json` of a finished run, checked against the schema.
pub fn checked_results(dir: &Path) -> Value {
    let r = read_json(&dir.join("results.json"));
    let errors = schema_errors(&validator(), &r);
    assert!(
        errors.is_empty(),
        "results.json breaks its schema: {errors:#?}"
    );
    r
}

pub fn schema_errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn results_json_matches_the_schema_and_reads_back() {
    let s = summary();
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = report::write_all(dir.path(), &s).expect("the reports are written");
    let names: Vec<_> = paths
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect();
    for want in [
        "results.json",
        "summary.csv",
        "timeseries.csv",
        "recovery.csv",
        "derived.csv",
    ] {
        assert!(names.contains(&want), "{want} is not among {names:?}");
    }
    assert_eq!(names[0], "results.json");
    assert!(paths.iter().all(|p| p.is_file()), "{paths:?}");

    let instance = read_json(&paths[0]);
    let v = validator();
    let errors = schema_errors(&v, &instance);
    assert!(
        errors.is_empty(),
        "results.json breaks its schema:\n{}",
        errors.join("\n")
    );
    assert_eq!(json::read(&paths[0]).expect("reads back"), s);

    // Strict: nothing unknown at the top or in a calls entry, nothing required missing.
    let mut extra = instance.clone();
    extra["surprise"] = Value::Bool(true);
    assert!(!v.is_valid(&extra));
    let mut extra = instance.clone();
    extra["calls"][0]["surprise"] = Value::Bool(true);
    assert!(!v.is_valid(&extra));
    let mut missing = instance.clone();
    if let Some(call) = missing["calls"][0].as_object_mut() {
        call.remove("histogram");
    }
    assert!(!v.is_valid(&missing));
    let mut bad_phase = instance;
    bad_phase["calls"][0]["phase"] = Value::from("fault");
    assert!(!v.is_valid(&bad_phase));
}

#[test]
fn the_summary_accounts_for_every_call() {
    let s = summary();
    let samples = samples();
    assert_eq!(
        s.calls.iter().map(|c| c.count).sum::<u64>(),
        samples.len() as u64
    );
    let offered: u64 = s.timeseries.iter().map(|r| r.offered).sum();
    assert_eq!(offered, samples.len() as u64);
    let phases: Vec<String> = s.calls.iter().map(|c| c.phase.to_string()).collect();
    assert_eq!(phases.first().map(String::as_str), Some("baseline"));
    assert!(phases.contains(&"fault:0".to_owned()) && phases.contains(&"settle:0".to_owned()));

    let outage = s
        .calls
        .iter()
        .find(|c| c.phase == Phase::Fault(0) && c.server == "translation");
    let outage = outage.expect("translation during the outage");
    assert_eq!(outage.ok, 0);
    assert_eq!(
        outage.latency_ms,
        Latency::default(),
        "no ok calls: null percentiles"
    );
    assert!(outage.outcomes["timeout"] > 0 && outage.outcomes["transport:refused"] > 0);
    let timeouts = &outage.by_outcome["timeout"];
    assert!(
        timeouts
            .latency_ms
            .p50
            .is_some_and(|p| (1000.0..1001.0).contains(&p))
    );
    assert_eq!(outage.all_outcomes.count, outage.count);

    let freight = s
        .calls
        .iter()
        .find(|c| c.phase == Phase::Fault(0) && c.server == "freight");
    let freight = freight.expect("freight during the outage");
    assert!(freight.outcomes["dropped"] > 0);
    assert_eq!(
        freight.all_outcomes.count,
        freight.count - freight.outcomes["dropped"]
    );
    assert_eq!(freight.rate_per_s, Some(freight.count as f64 / 5.0));

    assert_eq!(s.events.len(), 5);
    assert!(s.events.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    assert_eq!(s.process.len(), 25);
    assert_eq!(s.saturation.driver_cpu_pct_max, Some(44.0));
    assert!(!s.generator_saturated);
    assert_eq!(s.started_at, "2026-07-28T09:30:00.000Z");
}

#[test]
fn csv_views_have_their_headers_and_one_row_per_entry() {
    let s = summary();
    let dir = tempfile::tempdir().expect("tempdir");
    report::write_all(dir.path(), &s).expect("the reports are written");

    let text = std::fs::read_to_string(dir.path().join("summary.csv")).expect("summary.csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], csv::summary_header().join(","));
    assert!(lines[0].starts_with("phase,server,tool,count,ok,tool_error,rpc_error"));
    assert!(lines[0].ends_with("rate_per_s,p50_ms,p90_ms,p99_ms,p99_9_ms,max_ms,mean_ms"));
    assert_eq!(lines.len(), 1 + s.calls.len());
    let width = lines[0].split(',').count();
    assert_eq!(width, 5 + (OUTCOME_CLASSES.len() - 1) + 7);
    assert!(
        lines.iter().all(|l| l.split(',').count() == width),
        "{text}"
    );
    let outage = lines
        .iter()
        .find(|l| l.starts_with("fault:0,translation,translate,"));
    // ok = 0 and null latency figures: empty cells.
    let outage = outage.expect("the outage row");
    assert!(
        outage.split(',').nth(4) == Some("0") && outage.ends_with(",,,,,,"),
        "{outage}"
    );

    let text = std::fs::read_to_string(dir.path().join("timeseries.csv")).expect("timeseries.csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "second,server,offered,sent,ok,errors,p50_ms,p99_ms"
    );
    assert_eq!(lines.len(), 1 + s.timeseries.len());
    // 30 s (5 of baseline) × 3 servers, each with calls every second.
    assert_eq!(s.timeseries.len(), 30 * 3);
    assert!(lines[1].starts_with("-5,translation,20,"), "{}", lines[1]);
    assert!(lines.iter().all(|l| l.split(',').count() == 8));
}

#[test]
fn embedded_histograms_reproduce_the_latency_figures() {
    let s = summary();
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = report::write_all(dir.path(), &s).expect("the reports are written");
    let loaded = json::read(&paths[0]).expect("reads back");

    let mut rebuilt = loaded.clone();
    for c in &mut rebuilt.calls {
        c.latency_ms = Latency::default();
        c.all_outcomes.latency_ms = Latency::default();
        for h in c.by_outcome.values_mut() {
            h.latency_ms = Latency::default();
        }
    }
    rebuilt
        .rebuild_percentiles()
        .expect("every histogram decodes and matches its count");
    assert_eq!(rebuilt.calls.len(), loaded.calls.len());
    for (a, b) in rebuilt.calls.iter().zip(&loaded.calls) {
        let what = format!("{} {}.{}", b.phase, b.server, b.tool);
        assert!(
            a.latency_ms.approx_eq(&b.latency_ms, 1e-9),
            "{what}: {a:?} vs {b:?}"
        );
        let (x, y) = (&a.all_outcomes.latency_ms, &b.all_outcomes.latency_ms);
        assert!(x.approx_eq(y, 1e-9), "{what} all outcomes");
        for (class, h) in &a.by_outcome {
            assert!(
                h.latency_ms
                    .approx_eq(&b.by_outcome[class].latency_ms, 1e-9),
                "{what} {class}"
            );
        }
    }
    let steady = loaded.calls.iter().find(|c| c.phase == Phase::Steady);
    assert!(steady.is_some_and(|c| c.latency_ms.p99.is_some()));

    // A histogram that does not match its counts is an error, not a silent rewrite.
    let mut broken = loaded.clone();
    broken.calls[0].ok += 1;
    assert!(broken.rebuild_percentiles().is_err());
    let mut broken = loaded;
    broken.calls[0].histogram = "not base64!".into();
    assert!(broken.rebuild_percentiles().is_err());
}

/// Ok calls per `server.tool` tag in a latency.hlog, read with hdrhistogram's own log reader.
pub fn hlog_counts(path: &Path) -> BTreeMap<String, u64> {
    use base64::Engine as _;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let bytes = std::fs::read(path).expect("latency.hlog is there");
    let mut counts = BTreeMap::new();
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(h) = entry.expect("a valid interval log") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .expect("base64");
            let hist: hdrhistogram::Histogram<u64> =
                de.deserialize(&mut raw.as_slice()).expect("a V2 histogram");
            let tag = h
                .tag()
                .expect("every interval is tagged")
                .as_str()
                .to_owned();
            *counts.entry(tag).or_insert(0) += hist.len();
        }
    }
    counts
}

/// Ok calls per `server.tool` in results.json, the baseline left out.
pub fn ok_counts(results: &Value) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for c in results["calls"].as_array().expect("calls") {
        if c["phase"] == "baseline" || c["ok"] == 0 {
            continue;
        }
        let tag = format!(
            "{}.{}",
            c["server"].as_str().unwrap(),
            c["tool"].as_str().unwrap()
        );
        *counts.entry(tag).or_insert(0) += c["ok"].as_u64().unwrap();
    }
    counts
}

/// `gauntlet report` on a run's results.json rebuilds every view byte for byte, and a
/// latency.hlog (one interval per key) with the same counts where none was streamed.
pub fn check_report_rebuilds(run_dir: &Path) {
    let out = run_dir.with_extension("rebuilt");
    let mut cmd = std::process::Command::new(crate::common::gauntlet_bin());
    cmd.arg("report")
        .arg(run_dir.join("results.json"))
        .arg("--out")
        .arg(&out);
    let o = crate::common::run_with_timeout(&mut cmd, std::time::Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    for name in [
        "results.json",
        "summary.csv",
        "timeseries.csv",
        "recovery.csv",
        "derived.csv",
        "report.html",
    ] {
        let a = std::fs::read_to_string(run_dir.join(name)).expect("the run wrote it");
        let b = std::fs::read_to_string(out.join(name)).expect("report rebuilt it");
        assert_eq!(a, b, "{name} rebuilt from results.json differs");
    }
    let results = read_json(&run_dir.join("results.json"));
    assert_eq!(hlog_counts(&out.join("latency.hlog")), ok_counts(&results));
}

#[test]
fn report_refuses_a_damaged_results_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
    let mut cmd = std::process::Command::new(crate::common::gauntlet_bin());
    cmd.arg("report").arg(&path);
    let o = crate::common::run_with_timeout(&mut cmd, std::time::Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("schema version"), "{}", o.stderr);
    std::fs::write(&path, "not json").unwrap();
    let o = crate::common::run_with_timeout(&mut cmd, std::time::Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("results.json"), "{}", o.stderr);
}
