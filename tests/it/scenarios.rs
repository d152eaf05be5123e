//! `gauntlet check` on scenario files: every broken file in `tests/scenarios/broken/` is refused
//! with exit 2 and an `error: FILE:LINE:COL: message` that points into the file (its full text
//! is pinned by a snapshot in `snapshots/`), and every ready-to-run scenario in `scenarios/`
//! passes and prints its plan.

use crate::common::{Output, gauntlet_bin, repo_root, run_with_timeout};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one `gauntlet check` may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// The folder of broken scenarios, from the repository root.
const BROKEN_DIR: &str = "tests/scenarios/broken";

/// The repository's ready-to-run scenarios, from the repository root.
const READY_DIR: &str = "scenarios";

/// Broken scenarios whose first error is in another file than the scenario itself: the stem of
/// the scenario and the file (from the repository root) the error must point into.
const ERROR_ELSEWHERE: &[(&str, &str)] = &[(
    "broken-catalogue",
    "tests/scenarios/broken/catalogues/freight-broken.yaml",
)];

/// The `.yaml` files directly in `dir` (from the repository root), sorted, as paths from the
/// repository root (so that every message names them the same way on every machine).
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let abs = repo_root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&abs)
        .unwrap_or_else(|e| panic!("reading {}: {e}", abs.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| Path::new(dir).join(p.file_name().expect("a file name")))
        .collect();
    files.sort();
    files
}

/// `gauntlet check FILE`, run from the repository root with `file` relative to it.
fn check(file: &Path) -> Output {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.current_dir(repo_root())
        .env("NO_COLOR", "1")
        .arg("check")
        .arg(file);
    run_with_timeout(&mut cmd, CHECK_TIMEOUT)
}

/// stderr made machine-independent: the absolute repository path becomes `<repo>`. Scenarios
/// are passed relative to the repository root (see [`check`]) because the snippet wraps messages
/// at 100 columns: an absolute path, whose length differs between machines, would move the line
/// breaks of any message that contains it; the replacement catches a path that is still absolute.
fn normalise(stderr: &str) -> String {
    let root = repo_root();
    let root = root.to_str().expect("the repository path is UTF-8");
    stderr.replace(root, "<repo>")
}

/// The first line of a broken file: its `# what is wrong` comment (lossily, for the non-UTF-8 one).
fn leading_comment(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let first = text.lines().next().unwrap_or("");
    first.trim().to_string()
}

/// Checks that `LINE:COL` exists in `file` (1-based; the column may be one past the line's end,
/// and the line one past the last, at column 1, for an error at the end of the file).
fn assert_place_exists(file: &Path, line: usize, col: usize, context: &str) {
    let bytes = std::fs::read(repo_root().join(file))
        .unwrap_or_else(|e| panic!("{context}: reading {}: {e}", file.display()));
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        line >= 1 && col >= 1,
        "{context}: {line}:{col} is not 1-based"
    );
    if line == lines.len() + 1 {
        assert_eq!(
            col, 1,
            "{context}: past the last line, only column 1 exists"
        );
        return;
    }
    let Some(text_line) = lines.get(line - 1) else {
        panic!(
            "{context}: line {line} does not exist in {} ({} lines)",
            file.display(),
            lines.len()
        );
    };
    let width = text_line.chars().count();
    assert!(
        col <= width + 1,
        "{context}: column {col} is past the end of line {line} ({width} characters: {text_line:?})"
    );
}

/// The `name:` a scenario file declares.
fn scenario_name(file: &Path) -> String {
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
    }
    let path = repo_root().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let named: Named = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: no top-level `name`: {e}", path.display()));
    named.name
}

/// `LINE:COL: ` at the start of `rest` → (line, col).
fn line_col(rest: &str) -> Option<(usize, usize)> {
    let (line, rest) = rest.split_once(':')?;
    let (col, rest) = rest.split_once(':')?;
    if !rest.starts_with(' ') {
        return None;
    }
    Some((line.parse().ok()?, col.parse().ok()?))
}

#[test]
fn broken_scenarios_are_refused_at_their_place() {
    let files = yaml_files(BROKEN_DIR);
    assert!(
        files.len() >= 24,
        "expected at least 24 broken scenarios in {BROKEN_DIR}, found {}",
        files.len()
    );
    for file in &files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file stem")
            .to_string();
        let bytes = std::fs::read(repo_root().join(file)).expect("reading a broken scenario");
        let comment = leading_comment(&bytes);
        assert!(
            comment.starts_with("# ") && comment.len() > 2,
            "{}: the first line must be a `# what is wrong` comment, found {comment:?}",
            file.display()
        );
        if stem == "non-utf8" {
            assert!(
                std::str::from_utf8(&bytes).is_err(),
                "{} must hold a byte that is not valid UTF-8",
                file.display()
            );
        }

        let out = check(file);
        let context = format!(
            "gauntlet check {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            file.display(),
            out.stdout,
            out.stderr
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "exit code 2 (bad input) expected: {context}"
        );
        assert!(
            !out.stderr.contains("panicked"),
            "gauntlet panicked: {context}"
        );

        let expected_file = ERROR_ELSEWHERE
            .iter()
            .find(|(s, _)| *s == stem)
            .map_or_else(|| file.to_path_buf(), |(_, f)| PathBuf::from(f));
        let head = format!("error: {}:", expected_file.display());
        let Some(rest) = out.stderr.strip_prefix(&head) else {
            panic!("stderr must start with `{head}`: {context}");
        };
        // Every file here can be read, so every error has a line: `FILE:LINE:COL: message`.
        let Some((line, col)) = line_col(rest) else {
            panic!("`{head}LINE:COL: message` expected: {context}");
        };
        assert_place_exists(&expected_file, line, col, &context);

        insta::with_settings!({
            description => comment,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem, normalise(&out.stderr));
        });
    }
}

#[test]
fn ready_scenarios_pass_the_check_and_print_a_plan() {
    let mut files = yaml_files(READY_DIR);
    assert!(!files.is_empty(), "no scenarios in {READY_DIR}");
    // Valid scenarios that use sections a run cannot execute yet (faults, launched gateways).
    files.extend(yaml_files("tests/scenarios/valid"));
    assert!(
        files.len() >= 2,
        "expected the ready-to-run scenarios in {READY_DIR}, found {}",
        files.len()
    );
    for file in &files {
        let out = check(file);
        let context = format!(
            "gauntlet check {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            file.display(),
            out.stdout,
            out.stderr
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "exit code 0 expected: {context}"
        );
        assert!(
            !out.stdout.trim().is_empty(),
            "a plan on stdout expected: {context}"
        );
        let name = scenario_name(file);
        assert!(
            out.stdout.contains(&name),
            "the plan should name the scenario `{name}`: {context}"
        );
    }
}
