//! The scenario's mock servers for a run: HTTP servers in-process on their own runtime (so that
//! their CPU is counted apart from the driver's), stdio servers as child processes spawned per
//! session by the driver.

use crate::error::{Error, Result};
use crate::fault::Scheduled;
use crate::fault::backchannel::{self, Hub, Planned};
use crate::fault::runner::{Actual, Runner};
use crate::mcp::conn::Endpoint;
use crate::metrics::FaultWindow;
use crate::mock::{Mock, serve_http};
use crate::plan::build::Plan;
use crate::sample::{Event, EventKind};
use crate::scenario::{Fault, Scenario, Server, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Name prefix of the mock runtime's threads (resource accounting reads it).
pub const THREAD_NAME: &str = "gauntlet-mock";

/// The running mocks of a run.
pub struct Mocks {
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: CancellationToken,
    pub mocks: Vec<Mock>,
    pub endpoints: Vec<(String, Endpoint)>,
    /// The fault runners' records, one per server with faults.
    faults: Mutex<Vec<FaultRun>>,
    /// Where stdio mocks report and get their faults (when the scenario has stdio servers).
    hub: Option<Hub>,
    /// t = 0 on CLOCK_MONOTONIC, once armed.
    t0_ns: Mutex<Option<u64>>,
}

/// One server's occurrences and when they really happened.
struct FaultRun {
    server: String,
    occurrences: Vec<Scheduled>,
    actual: Arc<Mutex<Vec<Actual>>>,
}

impl Mocks {
    /// Starts every HTTP server of the scenario; stdio servers are described, not started.
    pub fn start(s: &Scenario, seed: u64) -> Result<Mocks> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()
            .map_err(|e| Error::Run(format!("cannot start the mock runtime: {e}")))?;
        let shutdown = CancellationToken::new();
        let mut mocks = Vec::new();
        let mut endpoints = Vec::new();
        let hub = if s.servers.iter().any(|x| x.transport == Transport::Stdio) {
            let h = runtime.block_on(Hub::start(shutdown.clone()));
            Some(h.map_err(|e| Error::Run(format!("cannot open the back-channel: {e}")))?)
        } else {
            None
        };
        for server in &s.servers {
            match server.transport {
                Transport::Http | Transport::Sse => {
                    let mock = Mock::new(server.effective_catalog(), seed);
                    if let Some(d) = server.startup {
                        mock.server.faults.starts_cold(d, false);
                    }
                    let addr = SocketAddr::from(([127, 0, 0, 1], server.port.unwrap_or(0)));
                    let listener = runtime.block_on(TcpListener::bind(addr)).map_err(|e| {
                        Error::Run(format!(
                            "cannot listen on {addr} for `{}`: {e}",
                            server.name
                        ))
                    })?;
                    let local = listener
                        .local_addr()
                        .map_err(|e| Error::Run(format!("cannot read a bound address: {e}")))?;
                    let (m, token) = (mock.clone(), shutdown.clone());
                    runtime.spawn(async move { serve_http(&m, listener, token).await });
                    let endpoint = match server.transport {
                        Transport::Sse => Endpoint::Sse(format!("http://{local}/sse")),
                        _ => Endpoint::Http(format!("http://{local}/mcp")),
                    };
                    endpoints.push((server.name.clone(), endpoint));
                    mocks.push(mock);
                }
                Transport::Stdio => {
                    let env = hub
                        .iter()
                        .map(|h| (backchannel::ENV.to_owned(), h.addr().to_string()))
                        .collect();
                    let argv = stdio_argv(s, server, seed)?;
                    endpoints.push((server.name.clone(), Endpoint::Stdio { argv, env }));
                }
            }
        }
        Ok(Mocks {
            runtime: Some(runtime),
            shutdown,
            mocks,
            endpoints,
            faults: Mutex::new(Vec::new()),
            hub,
            t0_ns: Mutex::new(None),
        })
    }

    /// Starts the fault timeline: every HTTP server with faults walks its occurrences from `t0`
    /// (the driver's t = 0) on the mock runtime until the last ends or the mocks stop; stdio
    /// servers get theirs over the back-channel.
    pub fn arm_faults(&self, plan: &Plan, faults: &[Fault], t0: tokio::time::Instant) {
        let Some(rt) = &self.runtime else { return };
        let now = tokio::time::Instant::now();
        let t0_ns = crate::clock::now_ns() + t0.saturating_duration_since(now).as_nanos() as u64;
        *self.t0_ns.lock().unwrap_or_else(|p| p.into_inner()) = Some(t0_ns);
        let mut runs = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        for mock in &self.mocks {
            let occurrences = occurrences_of(plan, faults, mock.name());
            if occurrences.is_empty() {
                continue;
            }
            let actual = Arc::new(Mutex::new(Vec::new()));
            let target = Arc::new(mock.clone());
            let runner = Runner::new(target, occurrences.clone(), actual.clone());
            rt.spawn(runner.run(t0, self.shutdown.clone()));
            let server = mock.name().to_owned();
            runs.push(FaultRun {
                server,
                occurrences,
                actual,
            });
        }
        let Some(hub) = &self.hub else { return };
        let mut by_server = HashMap::new();
        for (name, ep) in &self.endpoints {
            if !matches!(ep, Endpoint::Stdio { .. }) {
                continue;
            }
            let occurrences = occurrences_of(plan, faults, name);
            by_server.insert(name.clone(), occurrences.iter().map(planned).collect());
            // The processes switch these themselves: no actual times come back.
            let actual = Arc::new(Mutex::new(vec![Actual::default(); occurrences.len()]));
            runs.push(FaultRun {
                server: name.clone(),
                occurrences,
                actual,
            });
        }
        hub.arm(t0_ns, by_server);
    }

    /// Every occurrence, planned and actual, in window order (results.json `windows`).
    pub fn fault_windows(&self, plan: &Plan) -> Vec<FaultWindow> {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let ns_ms = |n: i64| (n as f64 / 1e3).round() / 1e3;
        let runs = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for run in runs.iter() {
            let actual = run.actual.lock().unwrap_or_else(|p| p.into_inner());
            for (o, a) in run.occurrences.iter().zip(actual.iter()) {
                let planned = plan.timeline.occurrences().get(o.window);
                out.push(FaultWindow {
                    window: o.window,
                    fault: o.fault,
                    repeat: planned.map_or(0, |p| p.nth),
                    server: run.server.clone(),
                    tool: o.tool.clone(),
                    kind: o.kind.name().to_owned(),
                    fault_spec: serde_json::to_value(&o.kind).unwrap_or_default(),
                    planned_start_ms: ms(o.start),
                    planned_end_ms: o.end.map(ms),
                    actual_start_ms: a.start_ns.map(ns_ms),
                    actual_end_ms: a.end_ns.map(ns_ms),
                    cut: planned.is_some_and(|p| p.cut),
                });
            }
        }
        out.sort_by_key(|w| w.window);
        out
    }

    /// A `fault` event for every actual start and end, and a `process` event for every
    /// spawn, ready and exit stdio mocks reported.
    pub fn fault_events(&self) -> Vec<Event> {
        let runs = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        let t0_ns = *self.t0_ns.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(hub), Some(t0_ns)) = (&self.hub, t0_ns) {
            out.extend(hub.events(t0_ns));
        }
        for run in runs.iter() {
            let actual = run.actual.lock().unwrap_or_else(|p| p.into_inner());
            for (o, a) in run.occurrences.iter().zip(actual.iter()) {
                let edges = [(a.start_ns, true), (a.end_ns, false)];
                for (at, start) in edges {
                    let Some(at_ns) = at else { continue };
                    out.push(Event {
                        at_ns,
                        kind: EventKind::Fault {
                            index: o.window,
                            server: run.server.clone(),
                            kind: o.kind.describe(),
                            start,
                        },
                    });
                }
            }
        }
        out
    }

    /// What the derivation can look up in these mocks: the in-process ledgers, and the stdio
    /// servers' reports when the back-channel is open.
    pub fn backends(&self) -> super::backends::MockBackends {
        // HTTP and SSE servers were started in the order of their endpoints.
        let ledgers = self
            .endpoints
            .iter()
            .filter(|(_, e)| !matches!(e, Endpoint::Stdio { .. }))
            .zip(&self.mocks)
            .map(|((n, _), m)| (n.clone(), m.ledger().clone()))
            .collect();
        let stdio = self
            .endpoints
            .iter()
            .filter(|(_, e)| matches!(e, Endpoint::Stdio { .. }))
            .map(|(n, _)| n.clone())
            .collect();
        super::backends::MockBackends::new(ledgers, stdio, self.hub.as_ref().map(Hub::served))
    }

    /// Stops the HTTP servers (their ledgers stay readable).
    pub fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(3));
        }
    }
}

impl Drop for Mocks {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `server`'s occurrences of the timeline.
fn occurrences_of(plan: &Plan, faults: &[Fault], server: &str) -> Vec<Scheduled> {
    plan.timeline
        .occurrences()
        .iter()
        .filter_map(|o| {
            let f = faults.get(o.fault).filter(|f| f.server == server)?;
            Some(Scheduled {
                window: o.window,
                fault: o.fault,
                tool: f.tool.clone(),
                start: o.start,
                end: o.end,
                kind: o.kind.clone(),
            })
        })
        .collect()
}

/// An occurrence as the back-channel carries it.
fn planned(o: &Scheduled) -> Planned {
    Planned {
        window: o.window,
        fault: o.fault,
        tool: o.tool.clone(),
        start_ns: o.start.as_nanos() as u64,
        end_ns: o.end.map(|e| e.as_nanos() as u64),
        spec: serde_json::to_value(&o.kind).unwrap_or_default(),
    }
}

/// argv for a stdio server: this very binary, `mock --stdio`, the server of this scenario (so
/// that its `latency` and `errors` overrides apply), paths absolute (a gateway may spawn it
/// from a directory of its own).
fn stdio_argv(s: &Scenario, server: &Server, seed: u64) -> Result<Vec<String>> {
    let exe: PathBuf = std::env::current_exe()
        .map_err(|e| Error::Run(format!("cannot find the gauntlet binary: {e}")))?;
    let abs = |p: &std::path::Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    Ok(vec![
        exe.display().to_string(),
        "mock".into(),
        "--stdio".into(),
        "--seed".into(),
        seed.to_string(),
        "--scenario".into(),
        abs(&s.path),
        "--server".into(),
        server.name.clone(),
        abs(&server.catalog.source),
    ])
}
