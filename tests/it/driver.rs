//! `gauntlet run` end to end: honest latency (coordinated omission), accuracy, dropped calls,
//! the driver's own failures, reports that match their schema, Ctrl-C. Timing-sensitive: each
//! test holds the shared `heavy()` lock so that they run one at a time.

use crate::common::{MockProc, gauntlet_bin, heavy, repo_root, run_with_timeout};
use gauntlet::catalog::Catalog;
use gauntlet::mcp::http::serve;
use gauntlet::mcp::http_parts::HttpFront;
use gauntlet::mcp::jsonrpc::{Notification, Request};
use gauntlet::mcp::service::{CallContext, Handled, Service};
use gauntlet::mcp::session::{Session, SessionTable};
use gauntlet::mock::Mock;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TIMING: &str = "tests/fixtures/timing.yaml";

fn timing_catalog() -> PathBuf {
    repo_root().join(TIMING)
}

/// Writes a scenario into `dir` and returns its path.
fn scenario(dir: &Path, name: &str, gateway: &str, load: &str) -> PathBuf {
    let text = format!(
        "name: {name}\nduration: 10s\nservers:\n  timing: {{ catalog: {} }}\ngateway: {gateway}\nload:\n{load}",
        timing_catalog().display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Runs `gauntlet run` and returns results.json.
fn run(path: &Path, out: &Path, extra: &[&str]) -> Value {
    let o = crate::common::gauntlet_run(path, out, extra);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    serde_json::from_str(&text).expect("results.json is JSON")
}

/// The one `calls` entry of `tool` in `phase`.
fn entry<'a>(results: &'a Value, phase: &str, tool: &str) -> &'a Value {
    results["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .find(|c| c["phase"] == phase && c["tool"] == tool)
        .unwrap_or_else(|| panic!("no {phase} {tool} in {results}"))
}

/// A mock whose tools/call answers are all held until the end of a 2 s window that opens
/// 4 s after the first call.
struct Stalling {
    inner: Mock,
    window: Mutex<Option<(Instant, Instant)>>,
}

impl Service for Stalling {
    fn request(&self, req: Request, ctx: CallContext) -> Handled {
        let is_call = req.method == "tools/call";
        let h = self.inner.server.request(req, ctx);
        if !is_call {
            return h;
        }
        let now = Instant::now();
        let (from, to) = *self
            .window
            .lock()
            .unwrap()
            .get_or_insert((now + Duration::from_secs(4), now + Duration::from_secs(6)));
        if now < from || now >= to {
            return h;
        }
        let reply = h.reply;
        Handled {
            stream: h.stream,
            reply: Box::pin(async move {
                tokio::time::sleep_until(to).await;
                reply.await
            }),
        }
    }

    fn notification(&self, n: Notification, s: &Arc<Session>) {
        self.inner.server.notification(n, s);
    }
}

/// Starts a stalling mock on its own runtime; returns its URL and the runtime (dropping it
/// stops the server).
fn stalling_server() -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let catalog = Catalog::load(&timing_catalog()).unwrap();
    let url = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let svc = Arc::new(Stalling {
            inner: Mock::new(catalog, 0),
            window: Mutex::new(None),
        });
        let front = HttpFront::new(svc, Arc::new(SessionTable::default()));
        tokio::spawn(serve(listener, front, CancellationToken::new()));
        url
    });
    (url, rt)
}

#[test]
fn open_model_measures_from_the_intended_start() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let (url, _rt) = stalling_server();
    let load = "  model: open\n  rate: 100/s\n  sessions: 8\n  timeout: 5s\n  mix: [ { call: timing.fast } ]\n";
    let path = scenario(
        dir.path(),
        "co-open",
        &format!("{{ url: \"{url}\" }}"),
        load,
    );
    let r = run(&path, &dir.path().join("out"), &[]);
    let e = entry(&r, "steady", "fast");
    let lat = &e["latency_ms"];
    assert!(e["count"].as_u64().unwrap() >= 990, "{e}");
    assert!(
        lat["p99"].as_f64().unwrap() >= 1500.0,
        "the stall shows in p99: {lat}"
    );
    assert!(
        lat["p50"].as_f64().unwrap() < 50.0,
        "most calls were fast: {lat}"
    );
}

#[test]
fn closed_model_hides_the_stall_in_a_handful_of_samples() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let (url, _rt) = stalling_server();
    let load = "  model: closed\n  sessions: 1\n  timeout: 5s\n  mix: [ { call: timing.fast } ]\n";
    let path = scenario(
        dir.path(),
        "co-closed",
        &format!("{{ url: \"{url}\" }}"),
        load,
    );
    let r = run(&path, &dir.path().join("out"), &[]);
    let e = entry(&r, "steady", "fast");
    let lat = &e["latency_ms"];
    assert!(
        lat["max"].as_f64().unwrap() >= 1500.0,
        "one call waited out the stall: {lat}"
    );
    assert!(
        lat["p99"].as_f64().unwrap() < 100.0,
        "the closed model hides it: {lat}"
    );
    let h = gauntlet::metrics::hist::decode(e["histogram"].as_str().unwrap()).unwrap();
    let slow = h.count_between(1_000_000, h.max());
    assert!(slow <= 3, "{slow} slow samples");
}

#[test]
fn latency_is_accurate_for_a_fixed_service_time() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let load = "  rate: 50/s\n  sessions: 4\n  mix: [ { call: timing.fixed20 } ]\n";
    let path = scenario(dir.path(), "accuracy", "none", load);
    let r = run(&path, &dir.path().join("out"), &["--duration", "5s"]);
    let e = entry(&r, "steady", "fixed20");
    assert_eq!(e["count"], 250);
    assert_eq!(e["ok"], 250);
    let p50 = e["latency_ms"]["p50"].as_f64().unwrap();
    assert!((20.0..=26.0).contains(&p50), "p50 {p50} ms");
}

#[test]
fn calls_over_max_in_flight_are_dropped_never_queued() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let load =
        "  rate: 50/s\n  sessions: 2\n  max_in_flight: 2\n  mix: [ { call: timing.slow } ]\n";
    let path = scenario(dir.path(), "dropped", "none", load);
    let r = run(&path, &dir.path().join("out"), &["--duration", "2s"]);
    let e = entry(&r, "steady", "slow");
    assert_eq!(e["count"], 100, "every due call is counted");
    let dropped = e["outcomes"]["dropped"].as_u64().unwrap_or(0);
    assert!(dropped >= 80, "about 2 in flight of 25 due per 500 ms: {e}");
    assert_eq!(e["ok"].as_u64().unwrap() + dropped, 100, "{e}");
}

#[test]
fn the_drivers_own_failures_are_client_errors() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let mock = MockProc::spawn(&[TIMING], &[]);
    let url = mock.url("timing").to_string();
    let load = "  rate: 200/s\n  sessions: 1\n  mix: [ { call: timing.slow } ]\n";
    let path = scenario(dir.path(), "fds", &format!("{{ url: \"{url}\" }}"), load);
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(&path)
        .args(["--quiet", "--duration", "2s", "--out"])
        .arg(dir.path().join("out"))
        .stdin(Stdio::null());
    // SAFETY: setrlimit in the child between fork and exec touches only the child.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 48,
                rlim_max: 48,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let o = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    let text = std::fs::read_to_string(dir.path().join("out/results.json")).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    let e = entry(&r, "steady", "slow");
    let client_errors = e["outcomes"]["client_error"].as_u64().unwrap_or(0);
    assert!(
        client_errors > 0,
        "out of descriptors is the driver's failure: {e}"
    );
    assert_eq!(
        e["outcomes"]["transport"],
        Value::Null,
        "never blamed on the target: {e}"
    );
}

#[test]
fn ctrl_c_writes_partial_reports_and_exits_130() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(gauntlet_bin())
        .current_dir(repo_root())
        .args(["run", "scenarios/quickstart.yaml", "--quiet", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "no exit after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["partial"], true);
    let calls: u64 = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert!(
        calls > 50 && calls < 1000,
        "what ran before the signal: {calls}"
    );
}

#[test]
fn every_ready_scenario_runs_and_writes_schema_valid_results() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let validator = crate::results::validator();
    let mut n = 0;
    for entry in std::fs::read_dir(repo_root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        n += 1;
        let out = dir.path().join(path.file_stem().unwrap());
        // Cut to 4 s, a scenario's budgets may fail (exit 1): its reports are written all the same.
        let o = crate::common::gauntlet_run(&path, &out, &["--duration", "4s"]);
        let results = crate::results::read_json(&out.join("results.json"));
        let failed = results["verdicts"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["passed"] == false));
        let want = if failed { 1 } else { 0 };
        assert_eq!(o.status.code(), Some(want), "{}\n{}", o.stdout, o.stderr);
        let errors = crate::results::schema_errors(&validator, &results);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert_eq!(
            crate::results::hlog_counts(&out.join("latency.hlog")),
            crate::results::ok_counts(&results),
            "{}: latency.hlog and results.json count the same ok calls",
            path.display()
        );
        crate::results::check_report_rebuilds(&out);
        let mut summary: gauntlet::metrics::Summary =
            serde_json::from_value(results.clone()).expect("results.json reads back");
        let before = summary.calls.clone();
        summary.rebuild_percentiles().expect("histograms decode");
        for (a, b) in before.iter().zip(&summary.calls) {
            assert!(
                a.latency_ms.approx_eq(&b.latency_ms, 0.01),
                "{a:?} vs {b:?}"
            );
        }
    }
    assert!(n >= 1);
}

#[test]
fn the_driver_speaks_the_2024_11_05_transport() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let mock = MockProc::spawn(&[TIMING], &[]);
    // Only the legacy transport is served at /sse: a run that works there spoke it.
    let sse = mock.url("timing").replace("/mcp", "/sse");
    let load = "  rate: 20/s\n  sessions: 2\n  mix: [ { call: timing.fast } ]\n";
    let path = scenario(dir.path(), "legacy", &format!("{{ url: \"{sse}\" }}"), load);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("duration: 10s", "duration: 10s\nprotocol: 2024-11-05"),
    )
    .unwrap();
    let r = run(&path, &dir.path().join("out"), &["--duration", "2s"]);
    let e = entry(&r, "steady", "fast");
    assert_eq!(e["count"], 40, "{e}");
    assert_eq!(e["ok"], 40, "{e}");
}

#[test]
fn a_relative_out_folder_works_with_a_launched_gateway() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name: rel\nduration: 3s\nservers:\n  timing: {{ catalog: {} }}\ngateway: builtin\n\
         load:\n  rate: 20/s\n  mix: [ {{ call: timing.fast }} ]\n",
        timing_catalog().display()
    );
    std::fs::write(dir.path().join("rel.yaml"), text).unwrap();
    let mut cmd = Command::new(gauntlet_bin());
    cmd.current_dir(dir.path())
        .args(["run", "rel.yaml", "--out", "relative/run", "--quiet"])
        .stdin(Stdio::null());
    let o = run_with_timeout(&mut cmd, Duration::from_secs(90));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    assert!(dir.path().join("relative/run/results.json").is_file());
    assert!(dir.path().join("relative/run/gateway/mcp.json").is_file());
}
