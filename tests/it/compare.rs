//! `gauntlet compare`: a run against itself, against a run where one server is 300 ms slower
//! all the time (its calls stay `steady`), and two fault-free runs of the same scenario.

use crate::common::{Output, catalogue, gauntlet_bin, heavy, run_with_timeout};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// 35 s at 30/s over two servers, direct to the mocks: 35 steady seconds per server.
fn scenario(dir: &Path, name: &str, freight_extra: &str) -> PathBuf {
    let text = format!(
        "name: compare\nseed: 7\nduration: 35s\ngateway: none\nservers:\n  \
         freight: {{ catalog: {}{freight_extra} }}\n  fraud: {{ catalog: {} }}\n\
         load:\n  rate: 30/s\n  sessions: 4\n  mix:\n    - {{ call: freight.quote, weight: 1 }}\n    \
         - {{ call: fraud.score, weight: 1 }}\n",
        catalogue("mock-servers/freight.yaml").display(),
        catalogue("mock-servers/fraud.yaml").display(),
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn run(path: &Path, out: &Path) -> PathBuf {
    let o = crate::common::gauntlet_run(path, out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    out.join("results.json")
}

fn compare(base: &Path, new: &Path) -> Output {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("compare").arg(base).arg(new);
    run_with_timeout(&mut cmd, Duration::from_secs(60))
}

/// The verdict column of `key metric` in compare's table.
fn verdict(o: &Output, key: &str, metric: &str) -> String {
    o.stdout
        .lines()
        .find(|l| {
            let mut cells = l.split_whitespace();
            cells.next() == Some(key) && cells.next() == Some(metric)
        })
        .unwrap_or_else(|| panic!("no {key} {metric} row in\n{}", o.stdout))
        .split_whitespace()
        .skip(6)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn compare_flags_a_real_slowdown_and_not_noise() {
    let _g = heavy();
    let dir = tempfile::tempdir().unwrap();
    let base = run(&scenario(dir.path(), "base", ""), &dir.path().join("base"));
    let again = run(
        &scenario(dir.path(), "again", ""),
        &dir.path().join("again"),
    );
    let slow_freight = ", latency: { fixed: 300ms }";
    let slow = run(
        &scenario(dir.path(), "slow", slow_freight),
        &dir.path().join("slow"),
    );

    let o = compare(&base, &base);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("0 regression(s)"), "{}", o.stdout);

    let o = compare(&base, &again);
    assert_eq!(
        o.status.code(),
        Some(0),
        "two fault-free runs of one scenario must not differ:\n{}\n{}",
        o.stdout,
        o.stderr
    );

    let html = dir.path().join("compare.html");
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("compare")
        .arg(&base)
        .arg(&slow)
        .arg("--html")
        .arg(&html);
    let o = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(1), "{}\n{}", o.stdout, o.stderr);
    let page = std::fs::read_to_string(&html).expect("--html wrote the page");
    for want in [
        "id=\"chart-spectrum\"",
        "freight (base)",
        "freight (new)",
        "REGRESSION",
    ] {
        assert!(page.contains(want), "no {want} in the compare page");
    }
    assert_eq!(verdict(&o, "freight", "p50"), "REGRESSION", "{}", o.stdout);
    assert_eq!(verdict(&o, "freight", "p99"), "REGRESSION", "{}", o.stdout);
    assert_ne!(verdict(&o, "fraud", "p50"), "REGRESSION", "{}", o.stdout);
    assert!(o.stderr.contains("freight p50"), "{}", o.stderr);
    // The other way round, freight got faster: an improvement, no regression.
    let o = compare(&slow, &base);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
    assert_eq!(verdict(&o, "freight", "p50"), "improved", "{}", o.stdout);
}

#[test]
fn compare_refuses_a_bad_threshold_and_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let o = compare(&missing, &missing);
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("nope.json"), "{}", o.stderr);
    let mut cmd = Command::new(gauntlet_bin());
    cmd.args(["compare", "a.json", "b.json", "--max-regression", "25"]);
    let o = run_with_timeout(&mut cmd, Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", o.stderr);
    assert!(o.stderr.contains("--max-regression"), "{}", o.stderr);
}
