//! The scenario library (`scenarios/`): each scenario states in its header the shortest
//! duration that still shows what it demonstrates (`# Test cap: D`) and the verdict of each of
//! its budgets on the reference gateway (`# Expect: pass|fail BUDGET`). Each is run at its cap
//! and held to that promise: every budget has an expectation, every verdict matches it, and the
//! exit code is 1 exactly when a budget is expected to fail. A scenario without a cap (the soak)
//! is a benchmark and is only checked.

use crate::common::{gauntlet_run, heavy, repo_root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a scenario's header promises.
#[derive(Debug)]
pub struct Promise {
    pub cap: Option<String>,
    /// Budget text → expected to pass.
    pub expect: BTreeMap<String, bool>,
}

/// Reads the `# Test cap:` and `# Expect:` lines of a scenario's leading comment.
pub fn promise(path: &Path) -> Promise {
    let text = std::fs::read_to_string(path).expect("the scenario is readable");
    let mut p = Promise {
        cap: None,
        expect: BTreeMap::new(),
    };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let body = line.trim_start_matches('#').trim();
        if let Some(cap) = body.strip_prefix("Test cap:") {
            p.cap = Some(cap.trim().to_owned());
        } else if let Some(rest) = body.strip_prefix("Expect:") {
            let rest = rest.trim();
            let (word, budget) = rest.split_once(' ').expect("`Expect: pass|fail BUDGET`");
            let pass = match word {
                "pass" => true,
                "fail" => false,
                other => panic!("{}: `Expect: {other} …`: pass or fail", path.display()),
            };
            p.expect.insert(budget.trim().to_owned(), pass);
        }
    }
    p
}

/// The library's scenarios (top level of `scenarios/`), sorted.
pub fn library() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Runs `path` at its cap and checks its verdicts against its promise.
fn keeps_its_promise(path: &Path, out: &Path) -> Option<crate::common::Output> {
    let name = path.display();
    let p = promise(path);
    let cap = p.cap?;
    let o = gauntlet_run(path, out, &["--duration", &cap]);
    let results: Value = std::fs::read_to_string(out.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("{name}: no results.json\n{}\n{}", o.stdout, o.stderr));
    let verdicts: BTreeMap<String, (bool, String)> = results["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|v| {
            let why = format!(
                "measured {} (limit {}) {}",
                v["measured_text"],
                v["limit_text"],
                v["reason"].as_str().unwrap_or("")
            );
            let text = v["budget"].as_str().expect("budget text").to_owned();
            (text, (v["passed"] == true, why))
        })
        .collect();
    let promised: Vec<&String> = p.expect.keys().collect();
    let got: Vec<&String> = verdicts.keys().collect();
    assert_eq!(
        got, promised,
        "{name}: the header promises a verdict for each budget"
    );
    for (budget, want) in &p.expect {
        let (passed, why) = &verdicts[budget];
        assert_eq!(
            passed,
            want,
            "{name}: `{budget}` was expected to {} but {why}\n{}",
            if *want { "pass" } else { "fail" },
            o.stdout
        );
    }
    let any_fail = p.expect.values().any(|pass| !pass);
    assert_eq!(
        o.status.code(),
        Some(if any_fail { 1 } else { 0 }),
        "{name}\n{}\n{}",
        o.stdout,
        o.stderr
    );
    Some(o)
}

/// cluster-status: the gateway's listing, as `gauntlet status` prints it, at the end of the run.
fn lists_the_cluster(o: &crate::common::Output) {
    for line in [
        "[SERVICE] sales: ONLINE (12 tools)",
        "[SERVICE] inventory: ONLINE (8 tools)",
        "[SERVICE] billing: OFFLINE (Error: ",
        "[WARNING] billing tools are currently unavailable!",
    ] {
        assert!(
            o.stdout.contains(line),
            "cluster-status: no `{line}` in\n{}",
            o.stdout
        );
    }
}

#[test]
fn every_library_scenario_keeps_its_promise_at_its_cap() {
    let _g = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = library();
    assert!(files.len() >= 9, "the library: {files:?}");
    let mut failures = Vec::new();
    for path in &files {
        let out = dir.path().join(path.file_stem().expect("a name"));
        let cluster = path.file_stem().is_some_and(|s| s == "cluster-status");
        let run = std::panic::catch_unwind(|| {
            let o = keeps_its_promise(path, &out);
            if let (true, Some(o)) = (cluster, &o) {
                lists_the_cluster(o);
            }
        });
        if let Err(e) = run {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(msg);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_library_scenario_says_what_it_shows() {
    for path in library() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let header: String = text.lines().take_while(|l| l.starts_with('#')).collect();
        for part in [
            "Demonstrates:",
            "shows:",
            "Budgets:",
            "Shortest duration that still shows it:",
        ] {
            assert!(
                header.contains(part),
                "{}: no `{part}` in its header",
                path.display()
            );
        }
        let p = promise(&path);
        assert!(
            p.cap.is_none() || !p.expect.is_empty() || !text.contains("\nbudgets:"),
            "{}: a capped scenario with budgets promises their verdicts",
            path.display()
        );
    }
}
