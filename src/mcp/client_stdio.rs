//! stdio, client side: a spawned MCP server speaking newline-delimited JSON-RPC on its
//! stdin/stdout.
//!
//! One writer task owns the child's stdin (calls hand it their line over a channel, so no lock
//! is held across a write); one reader task reads stdout and routes each response by id to the
//! call waiting for it (a map of oneshot senders). Notifications and server requests are
//! dropped. Answers are classified as over HTTP ([`super::client`]), without the HTTP rows:
//!
//! - the child's stdout ends (it exited, crashed or closed it): every call in flight, and every
//!   later call, ends in `Transport(Eof)`;
//! - a line that is not JSON or not a JSON-RPC message carries no id that could name the call
//!   it was meant for, so it fails no call: it is counted ([`StdioSession::malformed_lines`])
//!   and the call it was meant for ends in `Timeout` unless a good answer follows;
//! - a response whose id no call is waiting for (a late answer after a timeout, a wrong id) is
//!   counted too ([`StdioSession::stray_responses`]);
//! - lines over 64 MiB count as malformed and are skipped.
//!
//! The child is killed when the session is dropped, and (Linux) when the thread that spawned it
//! exits (`PR_SET_PDEATHSIG`), so that a crashed driver leaves no servers behind; spawn from a
//! runtime thread that lives as long as the session.

use super::client::{
    CallFailure, CallMeta, CallResult, MAX_ANSWER, Requester, classify_io, discovered, encode,
    encode_as, initialize_params, internal_id, negotiated,
};
use super::modern;
use super::outcome::{Outcome, ProtocolError, TransportError};
use super::pending::Pending;
use super::protocol::{Era, Version};
use super::stdio::{Line, read_line};
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where the child's stderr goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StderrTo {
    /// The driver's own stderr.
    #[default]
    Inherit,
    Null,
    /// A file (created, or truncated).
    File(PathBuf),
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StdioCommand {
    /// The program and its arguments (never passed through a shell).
    pub argv: Vec<OsString>,
    /// Variables added to the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    pub stderr: StderrTo,
}

impl StdioCommand {
    pub fn new<I, S>(argv: I) -> StdioCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        StdioCommand {
            argv: argv.into_iter().map(Into::into).collect(),
            ..StdioCommand::default()
        }
    }
}

/// An MCP session with a server process over stdio.
pub struct StdioSession {
    child: Child,
    pid: Option<u32>,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    shared: Arc<Pending>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    version: Version,
    init: Value,
}

impl std::fmt::Debug for StdioSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdioSession")
            .field("pid", &self.pid)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Drop for StdioSession {
    fn drop(&mut self) {
        // The child is killed by its kill_on_drop; the tasks must not outlive the session.
        self.reader.abort();
        self.writer.abort();
    }
}

impl StdioSession {
    /// Spawns the server and initializes the session ([`StdioSession::start`] then
    /// [`StdioSession::initialize`]).
    pub async fn spawn(
        cmd: &StdioCommand,
        version: Version,
        timeout: Duration,
    ) -> Result<StdioSession, CallFailure> {
        let mut s = StdioSession::start(cmd)?;
        if version.era() == Era::Stateless {
            s.discover(timeout).await?;
        } else {
            s.initialize(version, timeout).await?;
        }
        Ok(s)
    }

    /// Spawns the server and finds its era the way the 2026-07-28 revision asks of a client
    /// that speaks both: `server/discover` first (answered: 2026-07-28; a 2026-07-28 error
    /// code: refused, no fallback; any other error or silence for `probe`: initialize).
    pub async fn spawn_auto(
        cmd: &StdioCommand,
        probe: Duration,
        timeout: Duration,
    ) -> Result<StdioSession, CallFailure> {
        let mut s = StdioSession::start(cmd)?;
        match s.discover(probe.min(timeout)).await {
            Ok(()) => Ok(s),
            Err(e) if matches!(e.outcome, Outcome::RpcError(c) if modern::code::is_modern(c)) => {
                Err(e)
            }
            Err(e) if matches!(e.outcome, Outcome::Transport(_)) => Err(e),
            Err(_) => {
                s.initialize(Version::LATEST_SESSION, timeout).await?;
                Ok(s)
            }
        }
    }

    /// 2026-07-28 has no handshake: `server/discover` must list the revision; later requests
    /// carry it in `_meta`.
    pub async fn discover(&mut self, timeout: Duration) -> Result<(), CallFailure> {
        let before = self.version;
        self.version = Version::V2026_07_28;
        let r = self
            .exchange(
                "server/discover",
                &Value::Null,
                internal_id(),
                None,
                timeout,
                true,
            )
            .await;
        let result = match r.outcome {
            Outcome::Ok => discovered(r.result),
            other => Err(CallFailure::new(other, "server/discover")),
        };
        match result {
            Ok(v) => {
                self.init = v;
                Ok(())
            }
            Err(e) => {
                self.version = before;
                Err(e)
            }
        }
    }

    /// Spawns the server without a handshake (inside a Tokio runtime: the reader and writer
    /// are tasks). A command that cannot be started is a `ClientError` (the driver's failure,
    /// not the server's).
    pub fn start(cmd: &StdioCommand) -> Result<StdioSession, CallFailure> {
        let Some((program, args)) = cmd.argv.split_first() else {
            return Err(CallFailure::new(
                Outcome::ClientError,
                "empty stdio command",
            ));
        };
        let stderr = match &cmd.stderr {
            StderrTo::Inherit => Stdio::inherit(),
            StderrTo::Null => Stdio::null(),
            StderrTo::File(path) => std::fs::File::create(path).map(Stdio::from).map_err(|e| {
                CallFailure::new(
                    Outcome::ClientError,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?,
        };
        let mut c = Command::new(program);
        c.args(args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        if let Some(dir) = &cmd.cwd {
            c.current_dir(dir);
        }
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            c.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = c.spawn().map_err(|e| {
            CallFailure::new(
                Outcome::ClientError,
                format!("cannot start {}: {e}", program.to_string_lossy()),
            )
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(CallFailure::new(Outcome::ClientError, "no stdio pipes"));
        };
        let shared = Arc::new(Pending::new());
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(StdioSession {
            pid: child.id(),
            child,
            tx,
            reader: tokio::spawn(read_loop(stdout, shared.clone())),
            writer: tokio::spawn(write_loop(stdin, rx)),
            shared,
            version: Version::LATEST_SESSION,
            init: Value::Null,
        })
    }

    /// initialize (asking for `version`; the session keeps the revision the server chose)
    /// then notifications/initialized.
    pub async fn initialize(
        &mut self,
        version: Version,
        timeout: Duration,
    ) -> Result<(), CallFailure> {
        let params = initialize_params(version);
        let r = self
            .exchange("initialize", &params, internal_id(), None, timeout, true)
            .await;
        if r.outcome != Outcome::Ok {
            return Err(CallFailure::new(r.outcome, "initialize"));
        }
        let chosen = negotiated(r.result.as_ref())?;
        if chosen.era() == Era::Stateless {
            return Err(CallFailure::new(
                Outcome::Protocol(ProtocolError::Unexpected),
                format!("initialize: the server chose {chosen}, which has no initialize"),
            ));
        }
        let mut line = encode(None, "notifications/initialized", &Value::Null, None, 1)
            .ok_or_else(|| CallFailure::new(Outcome::ClientError, "cannot encode"))?;
        line.push(b'\n');
        if self.tx.send(line).is_err() {
            return Err(CallFailure::new(
                Outcome::Transport(TransportError::Eof),
                "notifications/initialized",
            ));
        }
        self.version = chosen;
        self.init = r.result.unwrap_or(Value::Null);
        Ok(())
    }

    /// The revision the server chose.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The initialize result (server info, capabilities).
    pub fn initialize_result(&self) -> &Value {
        &self.init
    }

    /// The child's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether stdout has ended (the server exited or closed it): every later call ends in
    /// `Transport(Eof)`.
    pub fn is_closed(&self) -> bool {
        self.shared.is_ended()
    }

    /// Lines on stdout that were not JSON-RPC messages (no call was failed for them).
    pub fn malformed_lines(&self) -> u64 {
        self.shared.malformed()
    }

    /// Responses no call was waiting for (late after a timeout, or a wrong id).
    pub fn stray_responses(&self) -> u64 {
        self.shared.stray()
    }

    /// One measured call: the call id and traceparent go into `params._meta` (stdio has no
    /// headers); the JSON-RPC id is the call id, which must not be in flight already.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        let ids = Some((meta.call_id, meta.traceparent.as_str()));
        self.exchange(method, &params, meta.call_id, ids, timeout, false)
            .await
    }

    /// [`StdioSession::call`], keeping the result.
    pub async fn call_with_result(
        &self,
        method: &str,
        params: Value,
        meta: CallMeta,
        timeout: Duration,
    ) -> CallResult {
        let ids = Some((meta.call_id, meta.traceparent.as_str()));
        self.exchange(method, &params, meta.call_id, ids, timeout, true)
            .await
    }

    /// A request that is not a measured call: an internal id, the result kept.
    pub async fn request(&self, method: &str, params: Value, timeout: Duration) -> CallResult {
        self.exchange(method, &params, internal_id(), None, timeout, true)
            .await
    }

    /// A request on behalf of another client (the reference gateway forwarding a call): an
    /// internal JSON-RPC id, `params` sent as they are (their `_meta` carries whatever is
    /// forwarded; a progress token is swapped for one of this client's own when the caller
    /// relays progress, [`super::pending::relay_progress`]); the result is kept.
    pub async fn forward(&self, method: &str, params: &Value, timeout: Duration) -> CallResult {
        let relayed = super::pending::relay_progress(&self.shared, params);
        let params = relayed.as_ref().map_or(params, |(p, _)| p);
        self.exchange(method, params, internal_id(), None, timeout, true)
            .await
    }

    /// Calls `f` with every notification the server sends (its JSON bytes), on the reader
    /// task: keep it short. Only the first handler set is kept.
    pub fn on_notification(&self, f: impl Fn(&[u8]) + Send + Sync + 'static) {
        self.shared.on_notification(Box::new(f));
    }

    async fn exchange(
        &self,
        method: &str,
        params: &Value,
        id: u64,
        ids: Option<(u64, &str)>,
        timeout: Duration,
        keep: bool,
    ) -> CallResult {
        let modern = (self.version.era() == Era::Stateless).then_some(self.version);
        let Some(mut line) = encode_as(Some(id), method, params, ids, modern, 1) else {
            return CallResult::failed(Outcome::ClientError);
        };
        line.push(b'\n');
        let (_reg, rx) = match self.shared.register(id, keep) {
            Ok(r) => r,
            Err(o) => return CallResult::failed(o),
        };
        if self.tx.send(line).is_err() {
            return CallResult::failed(Outcome::Transport(TransportError::Eof));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            // The reader is gone without answering (the session is being dropped).
            Ok(Err(_)) => CallResult::failed(Outcome::Transport(TransportError::Eof)),
            Err(_) => CallResult::failed(Outcome::Timeout),
        }
    }

    /// Closes the child's stdin (a server exits when its stdin closes) and waits up to
    /// `grace` for it to exit, then kills it. Returns how it exited, if known.
    pub async fn close(mut self, grace: Duration) -> Option<ExitStatus> {
        // Replacing the only sender ends the writer, which shuts stdin.
        self.tx = mpsc::unbounded_channel().0;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                let _ = self.child.kill().await;
                self.child.wait().await.ok()
            }
        }
    }
}

impl Requester for StdioSession {
    fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> impl Future<Output = CallResult> + Send {
        StdioSession::request(self, method, params, timeout)
    }
}

async fn write_loop(stdin: ChildStdin, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    let mut w = BufWriter::with_capacity(64 * 1024, stdin);
    while let Some(line) = rx.recv().await {
        if w.write_all(&line).await.is_err() {
            return;
        }
        // Whatever else is queued goes out with the same flush.
        while let Ok(more) = rx.try_recv() {
            if w.write_all(&more).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

async fn read_loop(stdout: ChildStdout, shared: Arc<Pending>) {
    let mut r = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    let end = loop {
        match read_line(&mut r, &mut line, MAX_ANSWER).await {
            Ok(Line::Eof) => break Outcome::Transport(TransportError::Eof),
            Ok(Line::TooLong) => shared.count_malformed(),
            Ok(Line::Ok) => deliver(&shared, &line),
            Err(e) => break classify_io(&e),
        }
    };
    shared.end(end);
}

/// Routes one line from the server.
fn deliver(shared: &Pending, line: &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !line.iter().all(u8::is_ascii_whitespace) {
        shared.deliver(line);
    }
}
