//! report.html in a real browser: a short `gauntlet run` of tests/fixtures/reports/scenario.yaml
//! (three servers, an outage, a tool named `<script>alert(1)</script>`), its report opened in
//! headless Chromium. It renders without console errors, its DOM has the expected charts and no
//! script element (the tool name is text), and a screenshot is saved beside it as report.png.
//!
//! Chromium is the Debian package `chromium`, installed by scripts/test; without it the test
//! fails (it never skips).

use crate::common::{gauntlet_bin, heavy, repo_root, run_with_timeout};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The charts report.html draws for a run with faults and process figures.
const CHARTS: [&str; 6] = ["spectrum", "throughput", "errors", "p99", "memory", "cpu"];

fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("chromium missing: run scripts/test (it installs the Debian package chromium)")
        })
}

/// Chromium, headless, with a profile of its own in `profile`.
fn browser(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn run_scenario(out: &Path) {
    let scenario = repo_root().join("tests/fixtures/reports/scenario.yaml");
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(&scenario)
        .args(["--duration", "10s", "--quiet", "--out"])
        .arg(out);
    let o = run_with_timeout(&mut cmd, Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", o.stdout, o.stderr);
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (be(16), be(20))
}

/// Takes a 1366×2400 screenshot of `url` into `png`; returns the console's messages.
fn screenshot(profile: &Path, url: &str, png: &Path) -> Vec<String> {
    let mut shot = browser(profile);
    shot.args([
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1366,2400",
    ])
    .arg(format!("--screenshot={}", png.display()))
    .arg(url);
    let o = run_with_timeout(&mut shot, Duration::from_secs(120));
    o.assert_success("chromium --screenshot");
    o.stderr
        .lines()
        .filter(|l| {
            ["CONSOLE", "Uncaught", "Failed to load resource"]
                .iter()
                .any(|e| l.contains(e))
        })
        .map(str::to_owned)
        .collect()
}

/// The console check above sees an error when there is one.
#[test]
fn browser_console_errors_are_seen() {
    let _heavy = heavy();
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-console");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("mkdir");
    let page = base.join("bad.html");
    std::fs::write(
        &page,
        "<p>x</p><script>throw new Error('on purpose')</script>",
    )
    .expect("write");
    let url = format!("file://{}", page.display());
    let console = screenshot(&base.join("profile"), &url, &base.join("bad.png"));
    assert!(
        console
            .iter()
            .any(|l| l.contains("Uncaught Error: on purpose")),
        "{console:?}"
    );
}

#[test]
fn browser_renders_the_report_of_a_real_run() {
    let _heavy = heavy();
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-report");
    let _ = std::fs::remove_dir_all(&base);
    let run = base.join("run");
    run_scenario(&run);
    let report = run.join("report.html");
    assert!(report.is_file(), "the run wrote report.html");
    let url = format!("file://{}", report.display());
    let profile = base.join("profile");

    // The DOM after parsing: the charts are there, the tool name is text, no script element.
    let mut dom = browser(&profile);
    dom.arg("--dump-dom").arg(&url);
    let o = run_with_timeout(&mut dom, Duration::from_secs(120));
    o.assert_success("chromium --dump-dom");
    for id in CHARTS {
        let tag = format!("<svg id=\"chart-{id}\" class=\"chart\"");
        assert_eq!(o.stdout.matches(&tag).count(), 1, "chart {id} in the DOM");
    }
    assert!(
        o.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the tool name shows as text"
    );
    assert!(
        !o.stdout.contains("<script"),
        "no script element in the DOM"
    );

    // The screenshot, with the console logged to stderr: the page has no script, so any
    // console message is an error.
    let png = run.join("report.png");
    let console = screenshot(&profile, &url, &png);
    assert!(console.is_empty(), "console messages: {console:?}");
    let bytes = std::fs::read(&png).expect("report.png was written");
    assert_eq!(png_size(&bytes), (1366, 2400));
    assert!(
        bytes.len() > 40_000,
        "a page with charts, not a blank one: {} bytes",
        bytes.len()
    );
}
