//! Faults seen from real clients: `gauntlet run` (the driver) for the kinds whose effect shows
//! in outcomes and latencies, and in-process mocks with a runner (reqwest, raw sockets) for the
//! ones that need a closer look — keep-alive connections, lists, versions, cold starts, and
//! which call ids a seed makes fail.
//!
//! Runs of `gauntlet run` are timing-sensitive: they hold `heavy()`, put window edges between
//! calls (20 calls/s: a call every 50 ms; windows start 25 ms after one) and cap the run with
//! `--duration`.

use crate::common::{gauntlet_bin, heavy, repo_root, run_with_timeout};
use crate::inproc::{self, Srv};
use gauntlet::catalog::{ErrorMix, Failure};
use gauntlet::dist::DurationDist;
use gauntlet::fault::Scheduled;
use gauntlet::fault::runner::Runner;
use gauntlet::scenario::FaultKind;
use gauntlet::scenario::spec::{
    DataChangeSpec, LatencyFaultSpec, ListChangeSpec, MalformedSpec, OutageMode,
};
use gauntlet::units::Dur;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const TIMING: &str = "tests/fixtures/timing.yaml";

// ---- gauntlet run ------------------------------------------------------------------------------

/// A scenario calling `timing.<tool>` at 20 calls/s over 2 sessions, with `faults` (YAML lines);
/// `extra` (top-level keys) defaults to `settle: 500ms`.
fn scenario(dir: &Path, tool: &str, extra: &str, faults: &[&str]) -> std::path::PathBuf {
    scenario_over(dir, "http", tool, extra, faults)
}

/// [`scenario`] with the server served over `transport`.
fn scenario_over(
    dir: &Path,
    transport: &str,
    tool: &str,
    extra: &str,
    faults: &[&str],
) -> std::path::PathBuf {
    let extra = if extra.is_empty() {
        "settle: 500ms\n"
    } else {
        extra
    };
    let mut text = format!(
        "name: faults\nseed: 7\nduration: 10s\n{extra}servers:\n  timing: {{ catalog: {}, transport: {transport} }}\n\
         gateway: none\nload:\n  rate: 20/s\n  sessions: 2\n  timeout: 2s\n  mix: [ {{ call: timing.{tool} }} ]\nfaults:\n",
        repo_root().join(TIMING).display()
    );
    for f in faults {
        text.push_str(&format!("  - {f}\n"));
    }
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("write the scenario");
    path
}

/// `gauntlet run` for `duration`; results.json, checked against the schema.
pub(crate) fn run(path: &Path, out: &Path, duration: &str, seed: Option<u64>) -> Value {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(path)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--duration", duration]);
    if let Some(s) = seed {
        cmd.args(["--seed", &s.to_string()]);
    }
    let o = run_with_timeout(&mut cmd, Duration::from_secs(90));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    crate::results::checked_results(out)
}

/// Outcome counts of one phase (`{}` when it had no calls).
fn outcomes(r: &Value, phase: &str) -> serde_json::Map<String, Value> {
    r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .find(|c| c["phase"] == phase)
        .and_then(|c| c["outcomes"].as_object().cloned())
        .unwrap_or_default()
}

fn count(r: &Value, phase: &str, outcome: &str) -> u64 {
    outcomes(r, phase)
        .get(outcome)
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn total(r: &Value, phase: &str) -> u64 {
    r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["phase"] == phase)
        .map(|c| c["count"].as_u64().unwrap_or(0))
        .sum()
}

/// Every call of `phase` was ok (and there were some).
fn all_ok(r: &Value, phase: &str) {
    let n = total(r, phase);
    assert!(n > 0, "no {phase} calls in {}", r["calls"]);
    assert_eq!(
        count(r, phase, "ok"),
        n,
        "{phase}: {:?}",
        outcomes(r, phase)
    );
}

/// The window record: planned and actual starts within 100 ms of each other.
fn window(r: &Value, i: usize) -> &Value {
    let w = &r["windows"][i];
    assert_eq!(w["window"], i, "{}", r["windows"]);
    let planned = w["planned_start_ms"].as_f64().expect("planned start");
    let actual = w["actual_start_ms"].as_f64().expect("actual start");
    assert!((actual - planned).abs() < 100.0, "window {i}: {w}");
    if let (Some(p), Some(a)) = (w["planned_end_ms"].as_f64(), w["actual_end_ms"].as_f64()) {
        assert!((a - p).abs() < 100.0, "window {i}: {w}");
    }
    w
}

#[test]
fn refuse_fails_calls_only_inside_its_window() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = ["{ at: 1025ms, for: 2s, server: timing, outage: refuse }"];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "4s", None);
    all_ok(&r, "steady");
    all_ok(&r, "settle:0");
    assert_eq!(total(&r, "fault:0"), 40);
    assert_eq!(
        count(&r, "fault:0", "transport:refused"),
        40,
        "{:?}",
        outcomes(&r, "fault:0")
    );
    let w = window(&r, 0);
    assert_eq!(w["fault_spec"], json!({"outage": "refuse"}));
    let events: Vec<&Value> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "fault")
        .collect();
    assert_eq!(events.len(), 2, "a start and an end: {events:?}");
}

#[test]
fn reset_and_blackhole_fail_calls_and_the_server_comes_back() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = [
        "{ at: 1025ms, for: 1s, server: timing, outage: reset }",
        "{ at: 3025ms, for: 1s, server: timing, outage: blackhole }",
    ];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "5s", None);
    for phase in ["steady", "settle:0", "settle:1"] {
        all_ok(&r, phase);
    }
    assert_eq!(
        count(&r, "fault:0", "transport"),
        20,
        "{:?}",
        outcomes(&r, "fault:0")
    );
    assert!(
        count(&r, "fault:0", "transport:reset") >= 18,
        "{:?}",
        outcomes(&r, "fault:0")
    );
    // Swallowed calls wait until the window ends; then their connections are reset.
    assert_eq!(
        count(&r, "fault:1", "ok"),
        0,
        "{:?}",
        outcomes(&r, "fault:1")
    );
    assert_eq!(
        count(&r, "fault:1", "transport") + count(&r, "fault:1", "timeout"),
        20
    );
    window(&r, 0);
    window(&r, 1);
}

#[test]
fn kill_forgets_sessions_and_the_driver_initializes_again() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = ["{ at: 1025ms, for: 1s, server: timing, outage: kill }"];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "4s", None);
    assert_eq!(
        count(&r, "fault:0", "transport:refused"),
        20,
        "{:?}",
        outcomes(&r, "fault:0")
    );
    // The first call on each of the 2 sessions after the window: 404, then `reinit`.
    assert_eq!(
        count(&r, "settle:0", "http_error:404"),
        2,
        "{:?}",
        outcomes(&r, "settle:0")
    );
    let reinits = reinits_after(&r, 2_025);
    assert_eq!(reinits, 2, "{}", r["events"]);
    all_ok(&r, "steady");
}

/// `reinit` events at or after `ms` from t = 0.
fn reinits_after(r: &Value, ms: i64) -> usize {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "reinit" && e["at_ns"].as_i64().unwrap_or(0) >= ms * 1_000_000)
        .count()
}

#[test]
fn session_loss_gives_404_then_a_reinit() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = ["{ at: 1025ms, server: timing, session_loss: true }"];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "3s", None);
    assert_eq!(
        count(&r, "settle:0", "http_error:404"),
        2,
        "{:?}",
        outcomes(&r, "settle:0")
    );
    assert_eq!(reinits_after(&r, 1_025), 2, "{}", r["events"]);
    all_ok(&r, "steady");
    let w = window(&r, 0);
    assert!(
        w["planned_end_ms"].is_null() && w["actual_end_ms"].is_null(),
        "{w}"
    );
}

#[test]
fn malformed_answers_are_protocol_outcomes() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = [
        "{ at: 1025ms, for: 1s, server: timing, malformed: invalid_json }",
        "{ at: 2525ms, for: 1s, server: timing, malformed: wrong_id }",
        "{ at: 4025ms, for: 1s, server: timing, malformed: cut_sse }",
        "{ at: 5525ms, for: 1s, server: timing, malformed: { drip: 400ms } }",
    ];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "7s", None);
    let want = [
        "protocol:malformed_json",
        "protocol:wrong_id",
        "protocol:bad_sse",
    ];
    for (i, outcome) in want.iter().enumerate() {
        let phase = format!("fault:{i}");
        assert_eq!(
            count(&r, &phase, outcome),
            20,
            "{phase}: {:?}",
            outcomes(&r, &phase)
        );
        all_ok(&r, &format!("settle:{i}"));
    }
    // A drip is slow, not wrong.
    all_ok(&r, "fault:3");
    let e = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phase"] == "fault:3")
        .unwrap();
    let p50 = e["latency_ms"]["p50"].as_f64().unwrap();
    assert!(
        (380.0..1500.0).contains(&p50),
        "dripped over 400 ms: p50 {p50}"
    );
    all_ok(&r, "steady");
}

#[test]
fn stall_holds_calls_until_the_window_ends() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = ["{ at: 1025ms, for: 1500ms, server: timing, latency: stall }"];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "4s", None);
    all_ok(&r, "fault:0");
    let e = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phase"] == "fault:0")
        .unwrap();
    let lat = &e["latency_ms"];
    let (max, p50) = (lat["max"].as_f64().unwrap(), lat["p50"].as_f64().unwrap());
    // The first call of the window waits all of it; the calls are spread over it.
    assert!(
        (1350.0..1700.0).contains(&max),
        "max {max} ms ≈ the window (1500 ms)"
    );
    assert!(
        (500.0..1000.0).contains(&p50),
        "p50 {p50} ms ≈ half the window"
    );
    let steady = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phase"] == "steady")
        .unwrap();
    assert!(
        steady["latency_ms"]["max"].as_f64().unwrap() < 200.0,
        "{steady}"
    );
}

#[test]
fn flapping_alternates_refused_and_ok_calls() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = ["{ at: 1025ms, for: 2s, server: timing, flapping: { period: 1s, duty: 50% } }"];
    let path = scenario(dir.path(), "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "4s", None);
    let refused = count(&r, "fault:0", "transport:refused");
    let ok = count(&r, "fault:0", "ok");
    assert_eq!(refused + ok, 40, "{:?}", outcomes(&r, "fault:0"));
    assert!(
        (16..=24).contains(&refused),
        "half down: {:?}",
        outcomes(&r, "fault:0")
    );
    all_ok(&r, "settle:0");
}

/// Outside their windows — in time, and for tools they do not name — faults change nothing.
#[test]
fn outside_its_windows_a_fault_changes_nothing() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = [
        "{ at: 525ms, for: 300ms, server: timing, errors: { rate: 100%, rpc: -32603 } }",
        "{ at: 1525ms, for: 300ms, server: timing, latency: stall }",
        "{ at: 2525ms, for: 300ms, server: timing, malformed: invalid_json }",
        "{ at: 3525ms, for: 300ms, server: timing, outage: refuse }",
        "{ at: 4525ms, for: 300ms, server: timing, latency: { fixed: 500ms } }",
        "{ at: 5525ms, for: 1s, server: timing, tool: slow, errors: { rate: 100%, http: 503 } }",
        "{ at: 5525ms, for: 1s, server: timing, tool: slow, latency: stall }",
    ];
    let path = scenario(dir.path(), "fast", "settle: 100ms\n", &f);
    let r = run(&path, &dir.path().join("out"), "7s", None);
    // Inside the windows the faults bite: failed calls, or slow ones.
    for (i, failing) in [(0, true), (1, false), (2, true), (3, true), (4, false)] {
        let phase = format!("fault:{i}");
        let e = r["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["phase"] == phase);
        let e = e.unwrap_or_else(|| panic!("no {phase} calls"));
        if failing {
            assert_eq!(
                count(&r, &phase, "ok"),
                0,
                "{phase}: {:?}",
                outcomes(&r, &phase)
            );
        } else {
            let p50 = e["latency_ms"]["p50"].as_f64().unwrap();
            assert!(p50 > 100.0, "{phase} is slow: p50 {p50} ms");
        }
        all_ok(&r, &format!("settle:{i}"));
    }
    // Windows on another tool: the called tool's calls in them are untouched.
    all_ok(&r, "fault:6");
    all_ok(&r, "steady");
    let steady = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phase"] == "steady")
        .unwrap();
    assert!(
        steady["latency_ms"]["max"].as_f64().unwrap() < 200.0,
        "{steady}"
    );
    assert_eq!(r["windows"].as_array().unwrap().len(), 7);
}

// ---- in-process mocks with a runner ------------------------------------------------------------

/// Runs a timing-sensitive test body holding `heavy()`, on a runtime of its own.
fn timed(body: impl Future<Output = ()>) {
    let _g = heavy();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(body);
}

fn occ(window: usize, start_ms: u64, len_ms: Option<u64>, kind: FaultKind) -> Scheduled {
    Scheduled {
        window,
        fault: window,
        tool: None,
        start: Duration::from_millis(start_ms),
        end: len_ms.map(|l| Duration::from_millis(start_ms + l)),
        kind,
    }
}

/// Runs `occurrences` on `srv`'s mock from now (t = 0); the token stops the runner.
fn arm(srv: &Srv, occurrences: Vec<Scheduled>) -> (tokio::time::Instant, CancellationToken) {
    let t0 = tokio::time::Instant::now();
    let stop = CancellationToken::new();
    let target = Arc::new(srv.mock.clone());
    let runner = Runner::new(target, occurrences, Arc::new(Mutex::new(Vec::new())));
    tokio::spawn(runner.run(t0, stop.clone()));
    (t0, stop)
}

async fn at(t0: tokio::time::Instant, ms: u64) {
    tokio::time::sleep_until(t0 + Duration::from_millis(ms)).await;
}

/// tools/call with a call id in `_meta`; the response, or the HTTP status when it failed.
async fn call(srv: &Srv, sid: &str, id: u64, tool: &str) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": tool, "arguments": {}, "_meta": {"dev.gauntlet/call-id": id}}});
    let r = srv
        .http
        .post(&srv.url)
        .header("content-type", "application/json")
        .header("accept", inproc::ACCEPT)
        .header("mcp-session-id", sid)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = r.status().as_u16();
    let sse = inproc::is_sse(&r);
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let text = r.text().await.map_err(|e| format!("body: {e}"))?;
    if status != 200 {
        return Err(format!("http {status} retry-after {retry:?}"));
    }
    Ok(if sse {
        inproc::sse_messages(&text).pop().unwrap_or_default()
    } else {
        serde_json::from_str(&text).map_err(|e| format!("json: {e}"))?
    })
}

/// A raw HTTP/1.1 keep-alive exchange on `s`: a ping in the session; true when answered.
async fn ping_on(s: &mut tokio::net::TcpStream, addr: &str, sid: &str) -> bool {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        _ => false,
    }
}

#[test]
fn a_keep_alive_connection_does_not_keep_a_refusing_server_reachable() {
    timed(async {
        let srv = inproc::start(TIMING).await;
        let sid = srv.init().await;
        let addr = srv
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .to_owned();
        let mut kept = tokio::net::TcpStream::connect(&addr).await.unwrap();
        assert!(
            ping_on(&mut kept, &addr, &sid).await,
            "served before the window"
        );
        let (t0, _stop) = arm(
            &srv,
            vec![occ(
                0,
                200,
                Some(600),
                FaultKind::Outage(OutageMode::Refuse),
            )],
        );
        at(t0, 400).await;
        assert!(
            !ping_on(&mut kept, &addr, &sid).await,
            "the pooled connection was reset"
        );
        let refused = tokio::net::TcpStream::connect(&addr).await;
        assert_eq!(
            refused.map(|_| ()).unwrap_err().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
        assert!(
            call(&srv, &sid, 1, "fast")
                .await
                .unwrap_err()
                .starts_with("transport")
        );
        at(t0, 900).await;
        let mut again = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("the same port again");
        assert!(
            ping_on(&mut again, &addr, &sid).await,
            "sessions survive a refuse outage"
        );
        assert!(call(&srv, &sid, 2, "fast").await.is_ok());
    });
}

#[test]
fn errors_answer_rpc_errors_tool_errors_and_http_statuses() {
    timed(async {
        let srv = inproc::start(TIMING).await;
        let sid = srv.init().await;
        let mix = |failure| FaultKind::Errors(vec![ErrorMix { rate: 1.0, failure }]);
        let occurrences = vec![
            occ(
                0,
                0,
                Some(200),
                mix(Failure::Rpc {
                    code: -32000,
                    message: "down".into(),
                }),
            ),
            occ(
                1,
                300,
                Some(200),
                mix(Failure::ToolError("no quote".into())),
            ),
            occ(
                2,
                600,
                Some(200),
                mix(Failure::Http {
                    status: 429,
                    retry_after_s: Some(2),
                }),
            ),
        ];
        let (t0, _stop) = arm(&srv, occurrences);
        at(t0, 100).await;
        let r = call(&srv, &sid, 1, "fast").await.unwrap();
        assert_eq!(r["error"]["code"], -32000, "{r}");
        at(t0, 400).await;
        let r = call(&srv, &sid, 2, "fast").await.unwrap();
        assert_eq!(r["result"]["isError"], true, "{r}");
        at(t0, 700).await;
        let e = call(&srv, &sid, 3, "fast").await.unwrap_err();
        assert_eq!(e, "http 429 retry-after Some(\"2\")");
        at(t0, 900).await;
        assert_eq!(
            call(&srv, &sid, 4, "fast").await.unwrap()["result"]["isError"],
            false
        );
    });
}

/// The call ids (0..200) that an errors fault at 30% fails, calls sent in `order`.
async fn failed_ids(seed: u64, reverse: bool) -> BTreeSet<u64> {
    let srv = inproc::start_seeded(TIMING, seed).await;
    let sid = srv.init().await;
    let mix = vec![ErrorMix {
        rate: 0.3,
        failure: Failure::Rpc {
            code: -32603,
            message: "Internal error".into(),
        },
    }];
    srv.mock
        .server
        .faults
        .activate(&occ(0, 0, Some(60_000), FaultKind::Errors(mix)));
    let mut ids: Vec<u64> = (0..200).collect();
    if reverse {
        ids.reverse();
    }
    let mut failed = BTreeSet::new();
    for chunk in ids.chunks(20) {
        let calls = chunk.iter().map(|&id| {
            let (srv, sid) = (&srv, &sid);
            async move { (id, call(srv, sid, id, "fast").await) }
        });
        for (id, r) in futures_util::future::join_all(calls).await {
            if r.expect("answered")["error"]["code"] == -32603 {
                failed.insert(id);
            }
        }
    }
    failed
}

#[tokio::test]
async fn the_same_seed_fails_the_same_call_ids_however_calls_interleave() {
    let a = failed_ids(42, false).await;
    let b = failed_ids(42, true).await;
    let other = failed_ids(43, false).await;
    assert!(
        (40..=80).contains(&a.len()),
        "about 30% of 200: {}",
        a.len()
    );
    assert_eq!(a, b, "same seed, other order: the same ids");
    assert_ne!(a, other, "another seed: other ids");
}

#[test]
fn list_change_notifies_open_streams_and_changes_the_list() {
    timed(async {
        let srv = inproc::start(TIMING).await;
        let sid = srv.init().await;
        let stream = srv
            .http
            .get(&srv.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &sid)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        let spec = ListChangeSpec {
            add: vec!["fresh".into()],
            remove: vec!["slow".into()],
        };
        let (t0, _stop) = arm(
            &srv,
            vec![occ(0, 100, Some(400), FaultKind::ListChange(spec))],
        );
        let mut body = stream.bytes_stream();
        let mut seen = String::new();
        while !seen.contains("notifications/tools/list_changed") {
            use futures_util::StreamExt;
            let chunk = tokio::time::timeout(Duration::from_secs(5), body.next()).await;
            let chunk = chunk
                .expect("list_changed within 5 s")
                .expect("open")
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        let names = |v: Value| -> Vec<String> {
            v["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let listed = names(srv.rpc(&sid, 9, "tools/list", json!({})).await);
        assert_eq!(listed, vec!["fixed20", "fast", "fresh"]);
        assert_eq!(
            call(&srv, &sid, 1, "slow").await.unwrap()["error"]["code"],
            -32602
        );
        assert_eq!(
            call(&srv, &sid, 2, "fresh").await.unwrap()["result"]["isError"],
            false
        );
        at(t0, 600).await;
        let listed = names(srv.rpc(&sid, 10, "tools/list", json!({})).await);
        assert_eq!(
            listed,
            vec!["fixed20", "fast", "slow"],
            "undone at the window's end"
        );
    });
}

#[test]
fn data_change_moves_the_version_results_carry() {
    timed(async {
        let srv = inproc::start(TIMING).await;
        let sid = srv.init().await;
        let spec = DataChangeSpec {
            version: Some("v2".into()),
        };
        let (t0, _stop) = arm(&srv, vec![occ(0, 300, None, FaultKind::DataChange(spec))]);
        at(t0, 100).await;
        let version = |r: Value| r["result"]["_meta"]["dev.gauntlet/data-version"].clone();
        assert_eq!(version(call(&srv, &sid, 1, "fast").await.unwrap()), "1");
        at(t0, 400).await;
        assert_eq!(version(call(&srv, &sid, 2, "fast").await.unwrap()), "v2");
    });
}

#[test]
fn slow_start_delays_the_first_initialize_only() {
    timed(async {
        let srv = inproc::start(TIMING).await;
        let (t0, _stop) = arm(
            &srv,
            vec![occ(
                0,
                0,
                Some(5_000),
                FaultKind::SlowStart(Duration::from_millis(600)),
            )],
        );
        at(t0, 50).await;
        let started = tokio::time::Instant::now();
        let sid = srv.init().await;
        let first = started.elapsed();
        assert!(
            first >= Duration::from_millis(550),
            "the first initialize waited: {first:?}"
        );
        let started = tokio::time::Instant::now();
        srv.init().await;
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "warm: {:?}",
            started.elapsed()
        );
        assert!(call(&srv, &sid, 1, "fast").await.is_ok());
    });
}

#[test]
fn latency_is_added_per_call_and_only_to_the_named_tool() {
    timed(async {
        let srv = inproc::start(TIMING).await;
        let sid = srv.init().await;
        let added = FaultKind::Latency(LatencyFaultSpec::Add(DurationDist::Fixed(Dur(
            Duration::from_millis(300),
        ))));
        let mut o = occ(0, 0, Some(10_000), added);
        o.tool = Some("fixed20".into());
        srv.mock.server.faults.activate(&o);
        let timed = |tool: &'static str, id| {
            let (srv, sid) = (&srv, &sid);
            async move {
                let t = tokio::time::Instant::now();
                let r = call(srv, sid, id, tool).await.unwrap();
                (t.elapsed(), r)
            }
        };
        let (slow, r) = timed("fixed20", 1).await;
        assert!(
            slow >= Duration::from_millis(320),
            "20 ms + 300 ms: {slow:?}"
        );
        let service_us = r["result"]["_meta"]["dev.gauntlet/service-us"]
            .as_u64()
            .unwrap();
        assert!(
            service_us >= 320_000,
            "the service time includes it: {service_us}"
        );
        let (fast, _) = timed("fast", 2).await;
        assert!(fast < Duration::from_millis(200), "another tool: {fast:?}");
    });
}

#[tokio::test]
async fn malformed_on_a_tool_leaves_the_others_alone() {
    let srv = inproc::start(TIMING).await;
    let sid = srv.init().await;
    let mut o = occ(
        0,
        0,
        Some(10_000),
        FaultKind::Malformed(MalformedSpec::InvalidJson),
    );
    o.tool = Some("fixed20".into());
    srv.mock.server.faults.activate(&o);
    assert!(
        call(&srv, &sid, 1, "fixed20")
            .await
            .unwrap_err()
            .starts_with("json")
    );
    assert!(call(&srv, &sid, 2, "fast").await.is_ok());
}

// ---- the control API (`gauntlet mock --control`) -----------------------------------------------

#[test]
fn control_refuses_a_non_loopback_address() {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("mock")
        .arg(repo_root().join(TIMING))
        .args(["--control", "0.0.0.0:0"]);
    let o = run_with_timeout(&mut cmd, Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(
        o.stderr.contains("--control") && o.stderr.contains("loopback"),
        "{}",
        o.stderr
    );
}

/// A request to the control API: (status, JSON body or Null).
async fn control(http: &reqwest::Client, method: &str, url: &str, body: &str) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = http
        .request(m, url)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn gauntlet_mock_serves_the_control_api_beside_the_servers() {
    let mock = crate::common::MockProc::spawn(&[TIMING], &["--control", "127.0.0.1:0"]);
    let api = mock
        .banner()
        .iter()
        .find_map(|l| l.strip_prefix("control at "))
        .unwrap_or_else(|| panic!("no `control at` line: {:?}", mock.banner()))
        .to_owned();
    let url = mock.url("timing").to_owned();
    timed(async move {
        let http = reqwest::Client::new();
        let (status, servers) = control(&http, "GET", &format!("{api}/servers"), "").await;
        assert_eq!(status, 200);
        assert_eq!(servers["servers"][0]["name"], "timing", "{servers}");
        assert_eq!(servers["servers"][0]["url"], url.as_str(), "{servers}");
        let outage = r#"{"server": "timing", "for": "60s", "outage": "refuse"}"#;
        assert_eq!(
            control(&http, "POST", &format!("{api}/faults"), outage)
                .await
                .0,
            201
        );
        // Answers come once the change is in effect: no wait before either check.
        assert!(http.post(&url).body("{}").send().await.is_err(), "refused");
        assert_eq!(
            control(&http, "POST", &format!("{api}/reset"), "").await.0,
            204
        );
        assert!(http.post(&url).body("{}").send().await.is_ok(), "back");
    });
}

/// The timing mock in-process with a session, and the control API for it: (mock, the API's
/// base URL, a client for it, the session id).
async fn controlled() -> (Srv, String, reqwest::Client, String) {
    let srv = inproc::start(TIMING).await;
    let api = gauntlet::mock::control::Control::new(vec![(srv.mock.clone(), srv.url.clone())]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(api.serve(listener, CancellationToken::new()));
    let sid = srv.init().await;
    (srv, base, reqwest::Client::new(), sid)
}

#[test]
fn control_adds_lists_and_removes_faults() {
    timed(async {
        let (srv, api, http, sid) = controlled().await;
        let typo = r#"{"server": "timin", "for": "10s", "outage": "refuse"}"#;
        let (status, body) = control(&http, "POST", &format!("{api}/faults"), typo).await;
        assert_eq!(status, 400);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("did you mean `timing`"),
            "{body}"
        );
        let (status, body) = control(&http, "POST", &format!("{api}/faults"), "[1]").await;
        assert_eq!(status, 400, "{body}");
        let no_for = r#"{"server": "timing", "latency": "stall"}"#;
        let (status, body) = control(&http, "POST", &format!("{api}/faults"), no_for).await;
        assert_eq!(status, 400);
        assert!(
            body["error"].as_str().unwrap().contains("needs `for:`"),
            "{body}"
        );
        let errors = r#"{"server": "timing", "tool": "fast", "for": "60s", "errors": {"rate": "100%", "rpc": -32000}}"#;
        let (status, added) = control(&http, "POST", &format!("{api}/faults"), errors).await;
        assert_eq!(status, 201, "{added}");
        assert_eq!(added["kind"], "errors", "{added}");
        let id = added["id"].as_u64().unwrap();
        // The answer comes once the fault is on: no wait here, nor after the outage below.
        assert_eq!(
            call(&srv, &sid, 1, "fast").await.unwrap()["error"]["code"],
            -32000
        );
        assert!(
            call(&srv, &sid, 2, "fixed20").await.unwrap()["result"].is_object(),
            "another tool"
        );
        let (_, listed) = control(&http, "GET", &format!("{api}/faults"), "").await;
        assert_eq!(listed["faults"][0]["state"], "active", "{listed}");
        let (_, one) = control(&http, "GET", &format!("{api}/faults/{id}"), "").await;
        assert_eq!(one["id"], id, "{one}");
        let (_, servers) = control(&http, "GET", &format!("{api}/servers"), "").await;
        assert_eq!(servers["servers"][0]["faults"], json!([id]), "{servers}");
        assert_eq!(
            control(&http, "DELETE", &format!("{api}/faults/{id}"), "")
                .await
                .0,
            204
        );
        assert!(
            call(&srv, &sid, 3, "fast").await.unwrap()["result"].is_object(),
            "removed"
        );
        assert_eq!(
            control(&http, "DELETE", &format!("{api}/faults/{id}"), "")
                .await
                .0,
            404
        );
        let outage = r#"{"server": "timing", "for": "60s", "outage": "refuse"}"#;
        for round in 0..5 {
            assert_eq!(
                control(&http, "POST", &format!("{api}/faults"), outage)
                    .await
                    .0,
                201
            );
            let refused = call(&srv, &sid, 4 + 2 * round, "fast").await;
            assert!(
                refused.as_ref().is_err_and(|e| e.starts_with("transport")),
                "round {round}: the port is closed once 201 is back: {refused:?}"
            );
            assert_eq!(
                control(&http, "POST", &format!("{api}/reset"), "").await.0,
                204
            );
            let back = call(&srv, &sid, 5 + 2 * round, "fast").await;
            assert!(
                back.is_ok(),
                "round {round}: back on the same port, same session, once 204 is back: {back:?}"
            );
        }
        let (_, listed) = control(&http, "GET", &format!("{api}/faults"), "").await;
        assert_eq!(listed["faults"], json!([]));
    });
}

/// An answer of the control API means the change is in effect: while another socket holds the
/// port, removing a refusing outage waits for the server to listen again.
#[test]
fn removing_an_outage_answers_once_the_port_listens_again() {
    timed(async {
        let (srv, api, http, sid) = controlled().await;
        let outage = r#"{"server": "timing", "for": "60s", "outage": "refuse"}"#;
        let (status, added) = control(&http, "POST", &format!("{api}/faults"), outage).await;
        assert_eq!(status, 201, "{added}");
        let port = reqwest::Url::parse(&srv.url)
            .ok()
            .and_then(|u| u.port())
            .expect("a port in the URL");
        let squatter = std::net::TcpListener::bind(("127.0.0.1", port))
            .expect("the port is free while it refuses");
        let url = format!("{api}/faults/{}", added["id"]);
        let removing = tokio::spawn(async move { control(&http, "DELETE", &url, "").await.0 });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !removing.is_finished(),
            "no answer while the port cannot be bound"
        );
        drop(squatter);
        let status = tokio::time::timeout(Duration::from_secs(3), removing)
            .await
            .expect("answered once the port is free")
            .expect("no panic");
        assert_eq!(status, 204);
        let back = call(&srv, &sid, 1, "fast").await;
        assert!(back.is_ok(), "listening when 204 came: {back:?}");
    });
}

/// The official Python SDK's client receives notifications/tools/list_changed and the new list.
#[test]
fn the_python_sdk_sees_a_list_change() {
    let _g = heavy();
    let mock = crate::common::MockProc::spawn(&[TIMING], &["--control", "127.0.0.1:0"]);
    let api = mock
        .banner()
        .iter()
        .find_map(|l| l.strip_prefix("control at "))
        .expect("a `control at` line")
        .to_owned();
    let mut cmd = Command::new(crate::common::python_mcp1());
    cmd.arg(crate::common::peer_program("python/list_changed.py"))
        .args([
            "--url",
            mock.url("timing"),
            "--control",
            &api,
            "--server",
            "timing",
        ])
        .args(["--add", "fresh", "--remove", "slow"]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(90));
    out.assert_success("python list_changed.py");
    let got = out.json("python list_changed.py");
    assert_eq!(got["before"], json!(["fixed20", "fast", "slow"]), "{got}");
    assert!(got["notified"].as_u64().unwrap_or(0) >= 1, "{got}");
    assert_eq!(got["after"], json!(["fixed20", "fast", "fresh"]), "{got}");
}

// ---- stdio mocks and the back-channel ----------------------------------------------------------

/// A count in one `calls` entry's outcomes (0 when absent).
fn count_in(entry: &Value, outcome: &str) -> u64 {
    entry["outcomes"][outcome].as_u64().unwrap_or(0)
}

/// The `process` events of a run: (pid, what, reason, calls, at_ns).
fn processes(r: &Value) -> Vec<(u64, String, String, u64, i64)> {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "process")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap(),
                e["what"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
                e["calls"].as_u64().unwrap_or(0),
                e["at_ns"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn stdio_mocks_get_their_faults_and_a_crash_ends_them() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = [
        "{ at: 525ms, for: 500ms, server: timing, errors: { rate: 100%, rpc: -32000 } }",
        "{ at: 2025ms, server: timing, crash: exit }",
    ];
    let path = scenario_over(dir.path(), "stdio", "fast", "settle: 500ms\n", &f);
    let r = run(&path, &dir.path().join("out"), "3s", None);
    assert_eq!(
        count(&r, "fault:0", "rpc_error:-32000"),
        10,
        "{:?}",
        outcomes(&r, "fault:0")
    );
    all_ok(&r, "settle:0");
    // The two sessions' processes: spawned and ready before t = 0, ended by the crash.
    let p = processes(&r);
    let exits: Vec<_> = p.iter().filter(|x| x.1 == "exit").collect();
    assert_eq!(exits.len(), 2, "{p:?}");
    for e in &exits {
        assert_eq!(e.2, "crash", "{p:?}");
        assert!(
            (2_000_000_000..2_300_000_000).contains(&e.4),
            "exit at {} ns",
            e.4
        );
        assert!(
            p.iter().any(|x| x.0 == e.0 && x.1 == "spawn" && x.4 < 0),
            "{p:?}"
        );
        assert!(
            p.iter().any(|x| x.0 == e.0 && x.1 == "ready" && x.4 < 0),
            "{p:?}"
        );
    }
    // Every call answered before the crash (the error window's too) was reported.
    let served: u64 = exits.iter().map(|e| e.3).sum();
    let answered: u64 = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ok"].as_u64().unwrap() + count_in(c, "rpc_error"))
        .sum();
    assert_eq!(answered, 41, "every call before 2.025 s: {}", r["calls"]);
    assert_eq!(served, answered, "{p:?}");
    assert_eq!(
        count(&r, "settle:1", "ok"),
        0,
        "after the crash: {:?}",
        outcomes(&r, "settle:1")
    );
}

#[test]
fn a_crash_after_n_calls_counts_from_its_time() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let f = ["{ at: 1025ms, server: timing, crash: { after_calls: 5 } }"];
    let path = scenario_over(dir.path(), "stdio", "fast", "", &f);
    let r = run(&path, &dir.path().join("out"), "3s", None);
    let p = processes(&r);
    let exits: Vec<_> = p.iter().filter(|x| x.1 == "exit").collect();
    assert_eq!(exits.len(), 2, "{p:?}");
    // 21 calls before 1.025 s over 2 sessions, then 5 more each (a call either way when an
    // answer and the fault's start cross).
    let served: u64 = exits.iter().map(|e| e.3).sum();
    assert!((29..=32).contains(&served), "{p:?}");
    let ok: u64 = ["steady", "settle:0"]
        .iter()
        .map(|ph| count(&r, ph, "ok"))
        .sum();
    assert!(ok <= served && served <= ok + 2, "ok {ok}, served {served}");
}

/// Starts the run's end of the back-channel on `rt`.
fn hub(rt: &tokio::runtime::Runtime) -> (gauntlet::fault::backchannel::Hub, CancellationToken) {
    let stop = CancellationToken::new();
    let hub = rt
        .block_on(gauntlet::fault::backchannel::Hub::start(stop.clone()))
        .expect("a back-channel");
    (hub, stop)
}

/// Waits up to `within` for `child` to exit.
fn exits_within(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + within;
    while std::time::Instant::now() < until {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_stdio_mock_reports_to_gauntlet_run_and_exits_when_it_closes() {
    let _g = heavy();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (hub, stop) = hub(&rt);
    let mut child = Command::new(gauntlet_bin())
        .args(["mock", "--stdio"])
        .arg(repo_root().join(TIMING))
        .env("GAUNTLET_RUN", hub.addr().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..250 {
        seen = hub.events(0);
        if seen.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let whats: Vec<String> = seen
        .iter()
        .map(|e| serde_json::to_value(e).unwrap()["what"].to_string())
        .collect();
    assert_eq!(whats, vec!["\"spawn\"", "\"ready\""], "{seen:?}");
    // The run goes away: the mock follows, though its stdin is still open.
    stop.cancel();
    let status = exits_within(&mut child, Duration::from_secs(10));
    let _ = child.kill();
    assert!(status.is_some(), "the mock outlived the back-channel");
    drop(child.stdin.take());
}

#[test]
fn a_stdio_mock_refuses_a_run_address_off_loopback() {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.args(["mock", "--stdio"])
        .arg(repo_root().join(TIMING))
        .env("GAUNTLET_RUN", "10.1.2.3:9");
    let o = run_with_timeout(&mut cmd, Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("GAUNTLET_RUN"), "{}", o.stderr);
}
