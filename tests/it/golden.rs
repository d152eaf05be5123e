//! Golden tests of every report view. A fixed results.json (tests/fixtures/reports/results.json:
//! a real run of tests/fixtures/reports/scenario.yaml — three servers, an outage, a tool named
//! `<script>alert(1)</script>` — with derived figures of every kind, passing and failing
//! verdicts, a gateway and its process figures filled in by hand) goes through
//! `gauntlet::report::write_all`; each file it writes must equal its copy in tests/golden/.
//!
//! After an intended change to a view, regenerate the copies and review the diff:
//!
//!     GAUNTLET_UPDATE_GOLDEN=1 cargo test --test it golden

use crate::common::repo_root;
use gauntlet::metrics::Summary;
use gauntlet::report::{self, html};
use std::path::PathBuf;

const FIXTURE: &str = "tests/fixtures/reports/results.json";
const GOLDEN: &str = "tests/golden";
const UPDATE: &str = "GAUNTLET_UPDATE_GOLDEN";

fn fixture() -> Summary {
    gauntlet::report::rebuild::read_checked(&repo_root().join(FIXTURE))
        .expect("the fixture reads back and its histograms check")
}

fn updating() -> bool {
    std::env::var_os(UPDATE).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The first line where two texts differ, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let (mut w, mut g) = (want.lines(), got.lines());
    for line in 1.. {
        match (w.next(), g.next()) {
            (None, None) => return "the same lines, different line ends".to_owned(),
            (a, b) if a == b => {}
            (a, b) => {
                return format!("line {line}:\n  golden: {a:?}\n  now:    {b:?}");
            }
        }
    }
    unreachable!("the loop returns")
}

#[test]
fn golden_views_of_the_fixture() {
    let summary = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let written = report::write_all(dir.path(), &summary).expect("write_all");
    let golden_dir = repo_root().join(GOLDEN);
    let mut failures = Vec::new();
    let mut names = Vec::new();
    for path in &written {
        let name = path
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        let got = std::fs::read_to_string(path).expect("a written view");
        if name == "results.json" {
            // The fixture itself: reading and writing it back changes nothing.
            let want = std::fs::read_to_string(repo_root().join(FIXTURE)).expect("fixture");
            assert!(
                want == got,
                "results.json does not survive a round trip: {}",
                first_difference(&want, &got)
            );
            continue;
        }
        names.push(name.clone());
        let golden: PathBuf = golden_dir.join(&name);
        if updating() {
            std::fs::create_dir_all(&golden_dir).expect("mkdir tests/golden");
            std::fs::write(&golden, &got).expect("write golden");
            eprintln!("updated {}", golden.display());
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Err(e) => failures.push(format!("{name}: no golden copy ({e})")),
            Ok(want) if want != got => {
                failures.push(format!("{name}: {}", first_difference(&want, &got)))
            }
            Ok(_) => {}
        }
    }
    assert!(
        names.contains(&html::FILE_NAME.to_owned()),
        "write_all writes report.html: {names:?}"
    );
    let stale: Vec<String> = std::fs::read_dir(&golden_dir)
        .expect("tests/golden")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !names.contains(n))
        .collect();
    assert!(
        stale.is_empty(),
        "golden copies of views no longer written: {stale:?}"
    );
    assert!(
        failures.is_empty(),
        "views differ from tests/golden (if the change is intended: {UPDATE}=1 cargo test --test it golden, then review the diff):\n{}",
        failures.join("\n")
    );
}

#[test]
fn golden_fixture_is_schema_valid() {
    let text = std::fs::read_to_string(repo_root().join(FIXTURE)).expect("fixture");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let errors = crate::results::schema_errors(&crate::results::validator(), &value);
    assert!(errors.is_empty(), "{errors:?}");
}

/// What the golden copy is meant to show, checked on its own so that a regenerated copy that
/// lost a section fails here.
#[test]
fn golden_report_shows_every_section() {
    let s = fixture();
    let page = html::render(&s);
    assert_eq!(
        page,
        html::render(&s),
        "the same summary gives the same bytes"
    );
    assert!(page.starts_with("<!DOCTYPE html>"));
    for id in ["spectrum", "throughput", "errors", "p99", "memory", "cpu"] {
        assert_eq!(
            page.matches(&format!("<svg id=\"chart-{id}\" class=\"chart\""))
                .count(),
            1,
            "chart {id}"
        );
    }
    assert_eq!(page.matches("<svg").count(), 6, "one svg per chart");
    for section in [
        "verdicts",
        "latency",
        "over-time",
        "recovery",
        "cache",
        "cold-starts",
        "process",
        "propagation",
        "other",
        "gateway",
        "events",
        "calls",
    ] {
        assert!(
            page.contains(&format!("id=\"{section}\"")),
            "section {section}"
        );
    }
    // Verdicts first: the banner comes before every chart.
    let banner = page.find("id=\"verdicts\"").expect("banner");
    assert!(banner < page.find("<svg").expect("charts"));
    assert!(page.contains("<span class=\"big\">FAIL</span>3 of 5 budgets failed"));
    assert!(page.contains("id=\"generator-saturated\""));
    assert!(page.contains("<span class=\"est\">estimated</span>"));
    assert!(page.contains("unavailable: the backend&#39;s ledger was not reachable"));
    assert!(page.contains("recovered in 998.6ms"), "the recovery card");
    assert!(
        page.contains("<title>translation p99:"),
        "spectrum tooltips"
    );
    assert!(
        page.contains(">#0 outage translation</text>"),
        "the fault window's label"
    );
    // Every string from the data is text: the tool name, notes, reasons, the command.
    assert!(page.contains("quirk.&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("gateway said: &lt;i&gt;reloading&lt;/i&gt; &amp; &quot;warm&quot;"));
    assert!(page.contains("/tmp/run/&lt;gw&gt;&amp;config.json"));
    for raw in ["<script", "<i>", "<gw>"] {
        assert!(!page.contains(raw), "{raw} unescaped");
    }
    for fetch in ["<link", " src=", "url(", "@import"] {
        assert!(!page.contains(fetch), "self-contained: {fetch}");
    }
}
