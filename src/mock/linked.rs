//! A stdio mock linked to its run over the back-channel (`GAUNTLET_RUN`,
//! [`crate::fault::backchannel`]): it says hello and ready, runs the faults the run sends on the
//! run's clock, reports the call ids it served (and the calls without one, per tool and
//! arguments hash) every 100 ms, and reports its exit — when stdin
//! closes, when the back-channel closes, or when a `crash` fault ends it.
//!
//! Over stdio there is one session and no port, so of the kinds only the in-band ones (latency,
//! errors, slow start), list and data changes, and `crash` act; the run refuses the others.

use super::Mock;
use crate::clock;
use crate::fault::backchannel::{FromMock, Link, Planned, ToMock};
use crate::fault::runner::Runner;
use crate::fault::served::Unmarked;
use crate::fault::target::FaultTarget;
use crate::fault::{Live, Scheduled};
use crate::mcp::jsonrpc::{Message, Notification};
use crate::mcp::session::Session;
use crate::scenario::FaultKind;
use crate::scenario::spec::CrashSpec;
use crate::scenario::{Server, Transport};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Exit status of a mock ended by a `crash` fault.
pub const CRASH_STATUS: i32 = 70;

/// The stdio mock as the fault runner sees it.
pub struct StdioTarget {
    mock: Mock,
    session: Arc<Session>,
    link: Link,
    runtime: tokio::runtime::Handle,
    /// tools/call answered so far.
    answered: AtomicU64,
    /// Exit once `answered` reaches this (`crash: { after_calls: N }`); `u64::MAX`: never.
    crash_at: AtomicU64,
    /// Call ids served and not reported yet.
    pending: Mutex<Vec<u64>>,
    /// Calls without an id served and not reported yet, per (tool, arguments hash).
    unmarked: Mutex<HashMap<(String, u64), u64>>,
    /// Calls with a traceparent served and not reported yet.
    traced: AtomicU64,
}

impl StdioTarget {
    pub fn new(mock: Mock, session: Arc<Session>, link: Link) -> Arc<StdioTarget> {
        Arc::new(StdioTarget {
            mock,
            session,
            link,
            runtime: tokio::runtime::Handle::current(),
            answered: AtomicU64::new(0),
            crash_at: AtomicU64::new(u64::MAX),
            pending: Mutex::new(Vec::new()),
            unmarked: Mutex::new(HashMap::new()),
            traced: AtomicU64::new(0),
        })
    }

    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Fires when the run closes the back-channel.
    pub fn closed(&self) -> CancellationToken {
        self.link.closed.clone()
    }

    /// Reports the call ids served since the last report.
    pub fn flush(&self) {
        let ids = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let unmarked: Vec<Unmarked> =
            std::mem::take(&mut *self.unmarked.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .map(|((tool, args_hash), n)| Unmarked { tool, args_hash, n })
                .collect();
        let traced = self.traced.swap(0, Ordering::AcqRel);
        if !ids.is_empty() || !unmarked.is_empty() {
            self.link.send(FromMock::Calls {
                ids,
                unmarked,
                traced,
            });
        }
    }

    /// A tools/call answered: its call id, or its tool and arguments hash when it had none.
    fn served(&self, h: Head) {
        if h.traceparent.is_some() {
            self.traced.fetch_add(1, Ordering::AcqRel);
        }
        let (id, tool, args_hash) = (h.call_id, h.tool, h.args_hash);
        match id {
            Some(id) => self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(id),
            None => {
                let mut u = self.unmarked.lock().unwrap_or_else(|p| p.into_inner());
                *u.entry((tool.unwrap_or_default(), args_hash)).or_insert(0) += 1;
            }
        }
        self.answered(1);
    }

    /// Reports the exit, then ends the process.
    fn die(&self) {
        self.flush();
        let link = self.link.clone();
        self.runtime.spawn(async move {
            link.exit("crash").await;
            eprintln!("crash fault: exiting");
            std::process::exit(CRASH_STATUS);
        });
    }

    /// Counts answered calls; a crash after N calls happens here.
    fn answered(&self, n: u64) {
        let now = self.answered.fetch_add(n, Ordering::AcqRel) + n;
        if now >= self.crash_at.load(Ordering::Acquire) {
            self.crash_at.store(u64::MAX, Ordering::Release);
            self.die();
        }
    }
}

impl FaultTarget for StdioTarget {
    fn live(&self) -> &Live {
        &self.mock.server.faults
    }

    /// One session, without an id: nothing to forget.
    fn forget_sessions(&self) {}

    /// The stdio session is not in the HTTP session table: its stdout gets the notification.
    fn tools_changed(&self) {
        let n = Notification::new("notifications/tools/list_changed", Value::Null);
        self.session.push(Message::Notification(n));
    }

    fn crash(&self, spec: CrashSpec) {
        match spec {
            CrashSpec::Exit => self.die(),
            CrashSpec::AfterCalls(n) => {
                let at = self.answered.load(Ordering::Acquire).saturating_add(n);
                self.crash_at.store(at, Ordering::Release);
                self.answered(0);
            }
        }
    }
}

/// Runs the faults the run sends, each batch on a runner of its own, until `stop` fires.
pub async fn run_faults(
    target: Arc<StdioTarget>,
    mut faults: UnboundedReceiver<ToMock>,
    stop: CancellationToken,
) {
    loop {
        let msg = tokio::select! {
            m = faults.recv() => m,
            _ = stop.cancelled() => return,
        };
        let Some(ToMock::Faults { t0_ns, faults }) = msg else {
            return;
        };
        let t0 = instant_of(t0_ns);
        // A process spawned after a crash's time (a gateway started it again) is not the one
        // that crashed.
        let now = Instant::now();
        let mut scheduled = schedule(&target.mock, &faults);
        scheduled.retain(|o| !matches!(o.kind, FaultKind::Crash(_)) || t0 + o.start >= now);
        let runner = Runner::new(target.clone(), scheduled, Arc::new(Mutex::new(Vec::new())));
        tokio::spawn(runner.run(t0, stop.clone()));
    }
}

/// The windows as the runner takes them; a window whose setting this mock cannot read is
/// skipped (and said on stderr).
fn schedule(mock: &Mock, faults: &[Planned]) -> Vec<Scheduled> {
    let server = Server {
        name: mock.name().to_owned(),
        catalog: mock.server.catalog.clone(),
        transport: Transport::Stdio,
        port: None,
        startup: None,
        latency: None,
        errors: None,
    };
    let mut out = Vec::new();
    for p in faults {
        let mut fault = json!({"at": "0s", "server": mock.name(), "tool": p.tool});
        if let (Some(end), Some(f)) = (p.end_ns, fault.as_object_mut()) {
            let len = Duration::from_nanos(end.saturating_sub(p.start_ns));
            f.insert("for".into(), json!(crate::units::format_duration(len)));
        }
        if let (Value::Object(spec), Some(f)) = (&p.spec, fault.as_object_mut()) {
            f.extend(spec.clone());
        }
        let text = fault.to_string();
        match crate::scenario::validate::fault(&text, std::slice::from_ref(&server), "run".as_ref())
        {
            Ok(f) => out.push(Scheduled {
                window: p.window,
                fault: p.fault,
                tool: p.tool.clone(),
                start: Duration::from_nanos(p.start_ns),
                end: p.end_ns.map(Duration::from_nanos),
                kind: f.kind,
            }),
            Err(e) => eprintln!("fault {} skipped: {e}", p.fault),
        }
    }
    out
}

/// A CLOCK_MONOTONIC time as this process's `Instant`.
fn instant_of(at_ns: u64) -> Instant {
    let (now, now_ns) = (Instant::now(), clock::now_ns());
    if at_ns >= now_ns {
        now + Duration::from_nanos(at_ns - now_ns)
    } else {
        now.checked_sub(Duration::from_nanos(now_ns - at_ns))
            .unwrap_or(now)
    }
}

/// What the reports need of a ledger line.
#[derive(serde::Deserialize)]
struct Head {
    method: String,
    #[serde(default)]
    call_id: Option<u64>,
    #[serde(default)]
    tool: Option<String>,
    #[serde(default)]
    args_hash: u64,
    #[serde(default)]
    traceparent: Option<String>,
}

/// Reports the call ids the ledger saw answered, every 100 ms, and passes the ledger's lines on
/// to `forward` (`--ledger`). Runs on a thread of its own until the ledger is gone (it holds
/// the target weakly, so that the ledger can go).
pub fn report_calls(
    lines: std::sync::mpsc::Receiver<String>,
    forward: Option<std::sync::mpsc::Sender<String>>,
    target: std::sync::Weak<StdioTarget>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gauntlet-backchannel".into())
        .spawn(move || {
            let every = crate::fault::backchannel::BATCH_EVERY;
            let mut due = std::time::Instant::now() + every;
            loop {
                let wait = due.saturating_duration_since(std::time::Instant::now());
                match lines.recv_timeout(wait) {
                    Ok(line) => {
                        if let Ok(h) = serde_json::from_str::<Head>(&line)
                            && h.method == "tools/call"
                            && let Some(t) = target.upgrade()
                        {
                            t.served(h);
                        }
                        if let Some(f) = &forward {
                            let _ = f.send(line);
                        }
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if std::time::Instant::now() >= due {
                    if let Some(t) = target.upgrade() {
                        t.flush();
                    }
                    due = std::time::Instant::now() + every;
                }
            }
        })
}
