//! The back-channel between a run and its stdio mocks. A stdio mock cannot be reached over HTTP,
//! and it may be spawned by a gateway rather than by gauntlet; it finds the run through the
//! `GAUNTLET_RUN` environment variable (an address on 127.0.0.1), receives its faults there,
//! and reports its life and the call ids it served.
//!
//! Newline-delimited JSON, both ways; times are CLOCK_MONOTONIC nanoseconds ([`crate::clock`]),
//! one clock for every process of the run:
//!
//! | from | message | when |
//! |---|---|---|
//! | mock | `{"type":"hello","server":S,"pid":N,"at_ns":T}` | on connecting; T: when the process started (spawn) |
//! | mock | `{"type":"ready","at_ns":T}` | serving stdin |
//! | run | `{"type":"faults","t0_ns":T,"faults":[…]}` | once t = 0 is known: the server's windows, each `{window, fault, tool, start_ns, end_ns, spec}` with `spec` the fault as a scenario writes it (`{"crash": "exit"}`) and times from t = 0 |
//! | mock | `{"type":"calls","ids":[…],"unmarked":[{"tool":T,"args_hash":H,"n":N},…],"traced":N}` | every 100 ms while it answers calls: the call ids of the tools/call it answered, how many calls without an id it answered per tool and arguments hash, how many carried a traceparent (`unmarked` and `traced` absent when none) |
//! | mock | `{"type":"exit","at_ns":T,"reason":R}` | when it exits: `stdin closed`, `crash`, `back-channel closed`, `signal` |
//!
//! A mock exits when its stdin or the back-channel closes; the run records a connection that
//! ends without `exit` as an exit too (`back-channel closed`).

use super::served::{Served, Unmarked};
use crate::clock;
use crate::sample::{Event, EventKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// The variable that carries the run's address to stdio mocks.
pub const ENV: &str = "GAUNTLET_RUN";
/// How often a mock reports the call ids it served.
pub const BATCH_EVERY: Duration = Duration::from_millis(100);
/// Longest line either side accepts.
const MAX_LINE: u64 = 4 * 1024 * 1024;

/// What a mock tells the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromMock {
    Hello {
        server: String,
        pid: u32,
        at_ns: u64,
    },
    Ready {
        at_ns: u64,
    },
    Calls {
        ids: Vec<u64>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unmarked: Vec<Unmarked>,
        /// How many of these calls carried a traceparent.
        #[serde(default, skip_serializing_if = "is_zero")]
        traced: u64,
    },
    Exit {
        at_ns: u64,
        reason: String,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the run tells a mock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToMock {
    Faults { t0_ns: u64, faults: Vec<Planned> },
}

/// One window of a stdio server's faults; times in ns from t = 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub window: usize,
    pub fault: usize,
    pub tool: Option<String>,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    /// The fault as a scenario writes it: `{"crash": "exit"}`.
    pub spec: Value,
}

// ---- the run's side ----------------------------------------------------------------------------

/// The run's end: accepts mocks, hands them their faults once armed, records what they report.
pub struct Hub {
    addr: SocketAddr,
    armed: watch::Sender<Option<Arc<Armed>>>,
    log: Arc<Mutex<Vec<Report>>>,
    served: Arc<Served>,
}

/// The faults of every stdio server, and t = 0.
struct Armed {
    t0_ns: u64,
    by_server: HashMap<String, Vec<Planned>>,
}

/// Something a mock reported.
#[derive(Debug, Clone)]
struct Report {
    server: String,
    pid: u32,
    at_ns: u64,
    what: &'static str,
    reason: Option<String>,
    calls: Option<u64>,
}

impl Hub {
    /// Binds 127.0.0.1:0 and accepts mocks (on the current runtime) until `shutdown` fires.
    pub async fn start(shutdown: CancellationToken) -> std::io::Result<Hub> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (armed, _) = watch::channel(None);
        let log = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Served::default());
        let (rx, log2) = (armed.subscribe(), log.clone());
        let sink = Sink {
            log: log2,
            served: served.clone(),
        };
        tokio::spawn(accept(listener, rx, sink, shutdown));
        Ok(Hub {
            addr,
            armed,
            log,
            served,
        })
    }

    /// What the stdio mocks served, per server (shared: it keeps filling while the run goes).
    pub fn served(&self) -> Arc<Served> {
        self.served.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// t = 0 is known: every mock (connected or still to come) gets its server's faults.
    pub fn arm(&self, t0_ns: u64, by_server: HashMap<String, Vec<Planned>>) {
        self.armed
            .send_replace(Some(Arc::new(Armed { t0_ns, by_server })));
    }

    /// A `process` event for every spawn, ready and exit reported, timed from `t0_ns`.
    pub fn events(&self, t0_ns: u64) -> Vec<Event> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter()
            .map(|r| Event {
                at_ns: r.at_ns as i64 - t0_ns as i64,
                kind: EventKind::Process {
                    server: r.server.clone(),
                    pid: r.pid,
                    what: r.what.to_owned(),
                    reason: r.reason.clone(),
                    calls: r.calls,
                },
            })
            .collect()
    }
}

/// Where a connection's reports go.
#[derive(Clone)]
struct Sink {
    log: Arc<Mutex<Vec<Report>>>,
    served: Arc<Served>,
}

async fn accept(
    listener: TcpListener,
    armed: watch::Receiver<Option<Arc<Armed>>>,
    sink: Sink,
    shutdown: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => match a {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let (armed, sink, stop) = (armed.clone(), sink.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = mock_connection(stream, armed, sink) => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

/// One mock: its hello, its faults once armed, then its reports until it goes. The write half
/// stays with this future, so that when the run stops (and drops it) the mock sees the
/// back-channel close.
async fn mock_connection(
    stream: TcpStream,
    mut armed: watch::Receiver<Option<Arc<Armed>>>,
    sink: Sink,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let Some(FromMock::Hello { server, pid, at_ns }) = next_line(&mut lines).await else {
        return;
    };
    let Sink { log, served } = sink;
    served.hello(&server);
    let record = |what: &'static str, at_ns: u64, reason: Option<String>, calls: Option<u64>| {
        let r = Report {
            server: server.clone(),
            pid,
            at_ns,
            what,
            reason,
            calls,
        };
        log.lock().unwrap_or_else(|p| p.into_inner()).push(r);
    };
    record("spawn", at_ns, None, None);
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(m) = next_line::<FromMock>(&mut lines).await {
            if tx.send(m).is_err() {
                return;
            }
        }
    });
    let (mut sent, mut calls, mut exited) = (false, 0u64, false);
    loop {
        tokio::select! {
            a = async { armed.wait_for(Option::is_some).await.ok().and_then(|a| a.clone()) },
                if !sent =>
            {
                sent = true;
                if let Some(a) = a {
                    let faults = a.by_server.get(&server).cloned().unwrap_or_default();
                    let _ = send(&mut write, &ToMock::Faults { t0_ns: a.t0_ns, faults }).await;
                }
            }
            m = rx.recv() => match m {
                None => break,
                Some(FromMock::Ready { at_ns }) => record("ready", at_ns, None, None),
                Some(FromMock::Calls {
                    ids,
                    unmarked,
                    traced,
                }) => {
                    calls += ids.len() as u64 + unmarked.iter().map(|u| u.n).sum::<u64>();
                    served.record(&server, &ids, &unmarked, traced);
                }
                Some(FromMock::Exit { at_ns, reason }) => {
                    record("exit", at_ns, Some(reason), Some(calls));
                    exited = true;
                }
                Some(FromMock::Hello { .. }) => {}
            },
        }
    }
    if !exited {
        record(
            "exit",
            clock::now_ns(),
            Some("back-channel closed".into()),
            Some(calls),
        );
    }
}

async fn next_line<T: serde::de::DeserializeOwned>(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<T> {
    use tokio::io::AsyncReadExt;
    loop {
        let mut line = Vec::new();
        let n = (&mut *r)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .ok()?;
        if n == 0 || !line.ends_with(b"\n") {
            return None;
        }
        // A line that is not a message is skipped: a misbehaving peer is not a reason to stop.
        if let Ok(m) = serde_json::from_slice(&line) {
            return Some(m);
        }
    }
}

async fn send<W: AsyncWriteExt + Unpin, T: Serialize>(w: &mut W, m: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(m).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    w.flush().await
}

// ---- the mock's side ---------------------------------------------------------------------------

/// A stdio mock's link to the run.
#[derive(Clone)]
pub struct Link {
    tx: mpsc::UnboundedSender<(FromMock, Option<oneshot::Sender<()>>)>,
    /// Fires when the run's side closes the connection.
    pub closed: CancellationToken,
}

impl Link {
    /// Connects to the run at `addr` and says hello; the faults arrive on the receiver.
    pub async fn connect(
        addr: SocketAddr,
        server: &str,
        spawn_ns: u64,
    ) -> std::io::Result<(Link, mpsc::UnboundedReceiver<ToMock>)> {
        let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| std::io::Error::other(format!("{addr} did not answer within 5 s")))??;
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<(FromMock, Option<oneshot::Sender<()>>)>();
        let closed = CancellationToken::new();
        tokio::spawn(async move {
            while let Some((m, ack)) = rx.recv().await {
                let _ = send(&mut write, &m).await;
                if let Some(ack) = ack {
                    let _ = ack.send(());
                }
            }
        });
        let (faults_tx, faults_rx) = mpsc::unbounded_channel();
        let done = closed.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(read);
            while let Some(m) = next_line::<ToMock>(&mut lines).await {
                let _ = faults_tx.send(m);
            }
            done.cancel();
        });
        let link = Link { tx, closed };
        let pid = std::process::id();
        link.send(FromMock::Hello {
            server: server.to_owned(),
            pid,
            at_ns: spawn_ns,
        });
        Ok((link, faults_rx))
    }

    pub fn send(&self, m: FromMock) {
        let _ = self.tx.send((m, None));
    }

    /// Reports the exit and waits (up to a second) until it is on the wire.
    pub async fn exit(&self, reason: &str) {
        let (ack, done) = oneshot::channel();
        let m = FromMock::Exit {
            at_ns: clock::now_ns(),
            reason: reason.to_owned(),
        };
        if self.tx.send((m, Some(ack))).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), done).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_lines() {
        let m = FromMock::Hello {
            server: "fraud".into(),
            pid: 7,
            at_ns: 5,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"hello","server":"fraud","pid":7,"at_ns":5}"#
        );
        let f = ToMock::Faults {
            t0_ns: 1,
            faults: vec![Planned {
                window: 0,
                fault: 2,
                tool: None,
                start_ns: 3,
                end_ns: None,
                spec: serde_json::json!({"crash": "exit"}),
            }],
        };
        let back: ToMock = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[tokio::test]
    async fn a_mock_says_hello_gets_its_faults_and_its_exit_is_recorded() {
        let stop = CancellationToken::new();
        let hub = Hub::start(stop.clone()).await.unwrap();
        let (link, mut faults) = Link::connect(hub.addr(), "fraud", 100).await.unwrap();
        link.send(FromMock::Ready { at_ns: 200 });
        let planned = Planned {
            window: 0,
            fault: 0,
            tool: None,
            start_ns: 1_000,
            end_ns: None,
            spec: serde_json::json!({"crash": "exit"}),
        };
        let mut by_server = HashMap::new();
        by_server.insert("fraud".to_owned(), vec![planned.clone()]);
        hub.arm(150, by_server);
        let got = tokio::time::timeout(Duration::from_secs(5), faults.recv())
            .await
            .unwrap();
        assert_eq!(
            got,
            Some(ToMock::Faults {
                t0_ns: 150,
                faults: vec![planned]
            })
        );
        link.send(FromMock::Calls {
            ids: vec![1, 2, 3],
            unmarked: Vec::new(),
            traced: 0,
        });
        link.exit("crash").await;
        drop(link);
        let mut events = Vec::new();
        for _ in 0..100 {
            events = hub.events(150);
            if events.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let whats: Vec<String> = events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Process { what, calls, .. } => format!("{what}:{calls:?}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(whats, vec!["spawn:None", "ready:None", "exit:Some(3)"]);
        assert_eq!(events[0].at_ns, -50, "spawned before t = 0");
        stop.cancel();
    }
}
