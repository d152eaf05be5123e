//! Recovery and blast radius from `gauntlet run` through the reference gateway
//! (`gateway: builtin`, the default): the marketplace trio at 60 calls/s, translation refused
//! for a while. The servers' own error mixes are switched off (`errors: { rate: 0% }`), so that
//! every error comes from the fault: at 10 to 30 calls a second per server one stray error
//! would be several percentage points on its own.
//!
//! Translation is called through `translate_batch`, which the gateway does not cache (every call
//! reaches the server) nor retry; its circuit breaker opens during the outage and fails calls
//! fast. Runs hold `heavy()` and are capped with `--duration`.

use crate::common::{heavy, repo_root};
use crate::faults::run;
use serde_json::Value;
use std::path::Path;

/// The marketplace scenario with `faults` (YAML flow maps, one per line).
fn scenario(dir: &Path, faults: &[&str]) -> std::path::PathBuf {
    let server = |name: &str| {
        let catalog = repo_root().join(format!("mock-servers/{name}.yaml"));
        format!(
            "  {name}: {{ catalog: {}, errors: {{ rate: 0%, rpc: -32603 }} }}\n",
            catalog.display()
        )
    };
    let mut text = String::from("name: recovery\nseed: 42\nduration: 30s\nwarmup: 2s\nservers:\n");
    for name in ["translation", "freight", "fraud"] {
        text.push_str(&server(name));
    }
    text.push_str(
        "load:\n  model: open\n  rate: 60/s\n  sessions: 4\n  timeout: 5s\n  mix:\n\
         \x20   - { call: translation.translate_batch, weight: 5 }\n\
         \x20   - { call: freight.quote, weight: 3 }\n\
         \x20   - { call: fraud.score, weight: 2 }\nfaults:\n",
    );
    for f in faults {
        text.push_str(&format!("  - {f}\n"));
    }
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).expect("write the scenario");
    path
}

/// Outcome counts of `server`'s calls in `phase`.
fn outcomes(r: &Value, phase: &str, server: &str) -> (u64, u64) {
    let calls = r["calls"].as_array().expect("calls");
    let of = calls
        .iter()
        .filter(|c| c["phase"] == phase && c["server"] == server);
    of.fold((0, 0), |(n, ok), c| {
        let count = c["count"].as_u64().unwrap_or(0);
        (n + count, ok + c["ok"].as_u64().unwrap_or(0))
    })
}

fn f64_of(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

#[test]
fn the_reference_gateway_recovers_and_the_others_are_untouched() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let f = ["{ at: 10s, for: 10s, server: translation, outage: refuse }"];
    let path = scenario(dir.path(), &f);
    let r = run(&path, &dir.path().join("out"), "30s", None);
    // The run really failed during the window and came back after it.
    let (during, during_ok) = outcomes(&r, "fault:0", "translation");
    assert!(
        during > 100 && during_ok == 0,
        "{during} calls, {during_ok} ok"
    );
    let (settle, settle_ok) = outcomes(&r, "settle:0", "translation");
    assert!(
        settle_ok * 10 >= settle * 8,
        "{settle_ok} of {settle} ok after the window"
    );

    let rec = &r["derived"]["recovery"][0];
    assert_eq!(rec["server"], "translation", "{rec:#}");
    assert_ne!(rec["quality"], "unavailable", "{rec:#}");
    assert_eq!(rec["during"]["error_rate"], 1.0, "{rec:#}");
    assert_eq!(
        rec["before_error_rate"].as_f64().map(|e| e < 0.05),
        Some(true),
        "{rec:#}"
    );
    assert_eq!(rec["never"], false, "{rec:#}");
    let recovery = f64_of(&rec["recovery_ms"], "recovery_ms");
    assert!((0.0..=7000.0).contains(&recovery), "{rec:#}");
    let first = f64_of(&rec["first_success_ms"], "first_success_ms");
    assert!(first <= recovery + 1000.0, "{rec:#}");
    assert_eq!(f64_of(&rec["observed_s"], "observed_s"), 10.0, "{rec:#}");

    let blast = &r["derived"]["blast_radius"][0];
    assert_eq!(blast["quality"], "exact", "{blast:#}");
    let others = blast["others"].as_array().expect("others");
    let names: Vec<&str> = others.iter().filter_map(|o| o["server"].as_str()).collect();
    assert_eq!(names, ["freight", "fraud"], "{blast:#}");
    for o in others {
        assert!(o["calls"].as_u64().is_some_and(|n| n > 50), "{o}");
        assert!(f64_of(&o["points"], "points") < 1.0, "{o}");
    }
    assert!(f64_of(&blast["points"], "points") < 1.0, "{blast:#}");
}

/// A target that keeps failing after the window: translation is refused for 3 s, answers for
/// 2 s, then is refused again to the run's end (a second window that outlasts the run). Two
/// seconds cannot make three healthy ones in a row, and everything after them fails: window 0
/// never recovers, observed to the run's end across the later window; window 1 has no calls
/// after it.
#[test]
fn a_target_that_keeps_failing_never_recovers() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let f = [
        "{ at: 5s, for: 3s, server: translation, outage: refuse }",
        "{ at: 10s, for: 60s, server: translation, outage: refuse }",
    ];
    let path = scenario(dir.path(), &f);
    let out = dir.path().join("out");
    let budget = "recovery(translation) < 5s";
    let o = crate::common::gauntlet_run(&path, &out, &["--duration", "20s", "--budget", budget]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", o.stdout, o.stderr);
    let r = crate::results::checked_results(&out);
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    assert!(
        junit.contains("failures=\"1\"") && junit.contains("never recovered"),
        "{junit}"
    );
    assert_eq!(r["verdicts"][0]["passed"], false, "{:#}", r["verdicts"]);
    let (during, during_ok) = outcomes(&r, "fault:1", "translation");
    assert!(
        during > 100 && during_ok == 0,
        "{during} calls, {during_ok} ok"
    );

    let rec = &r["derived"]["recovery"][0];
    assert_ne!(rec["quality"], "unavailable", "{rec:#}");
    assert_eq!(rec["never"], true, "{rec:#}");
    assert_eq!(rec["recovery_ms"], Value::Null, "{rec:#}");
    assert_eq!(f64_of(&rec["observed_s"], "observed_s"), 12.0, "{rec:#}");

    let last = &r["derived"]["recovery"][1];
    assert_eq!(last["quality"], "unavailable", "{last:#}");
    assert_eq!(last["never"], false, "{last:#}");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|x| x.contains("after the window")),
        "{last:#}"
    );
}
