//! `gauntlet run SCENARIO`: mocks up, sessions open, load driven, every call recorded, reports
//! written — also when interrupted (marked partial, exit 130).

use crate::cli::RunArgs;
use crate::driver::baseline;
use crate::driver::conn::{InitRecord, open_mock_targets};
use crate::driver::engine::{Engine, Record, Setup, Target};
use crate::driver::mocks::{self, Mocks};
use crate::driver::procstat;
use crate::error::{Error, Result};
use crate::gateway::{lifecycle, targets};
use crate::mcp::client::HttpClient;
use crate::mcp::protocol::Era;
use crate::metrics::derive::DeriveSetup;
use crate::metrics::summary::{Propagation, ProtocolServed, ProtocolUsed};
use crate::metrics::{Recorder, RunMeta, Summary, phase_lengths};
use crate::plan::build::{Overrides, Plan};
use crate::plan::schedule::Schedule;
use crate::scenario::{
    self, Endpoint as GatewayEndpoint, Gateway, Model, ProtocolChoice, Scenario,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Name prefix of the driver runtime's threads (resource accounting reads it).
pub const DRIVER_THREADS: &str = "gauntlet-driver";

pub fn run(args: &RunArgs) -> Result<()> {
    let mut s = scenario::load(&args.scenario)?;
    if let Some(url) = &args.gateway_url {
        s.gateway = Gateway::Url(Box::new(GatewayEndpoint {
            url: url.clone(),
            ..GatewayEndpoint::default()
        }));
    }
    let version = supported(&s, args)?;
    let overrides = Overrides::from_flags(args.duration.as_deref(), args.rate_scale, args.seed)?;
    let plan = Arc::new(Plan::build(&s, overrides)?);
    let baseline_plan = match s.baseline {
        Some(b) => Some(Arc::new(baseline::plan(&s, b, &overrides)?)),
        None => None,
    };
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    procstat::raise_nofile_limit();
    let out = out_dir(args, &s);
    let started_at = SystemTime::now();
    let mut mocks = Mocks::start(&s, plan.seed)?;
    let mut gateway = lifecycle::bring_up(&s, &mocks, &out)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(DRIVER_THREADS)
        .enable_all()
        .build()
        .map_err(|e| Error::Run(format!("cannot start the driver runtime: {e}")))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let progress = !args.quiet && std::io::stdout().is_terminal();
    let driven = rt.block_on(drive(
        &s,
        Plans {
            run: plan.clone(),
            baseline: baseline_plan,
        },
        &mocks,
        gateway.as_mut(),
        version,
        interrupted.clone(),
        progress,
    ));
    let teardown = gateway.as_mut().map(lifecycle::Up::tear_down);
    mocks.stop();
    drop(rt);
    let Driven {
        recorder: mut summary,
        protocols,
        before_run,
    } = driven?;
    let gateway_died = teardown.as_ref().and_then(|t| t.exited_during_run);
    if let Some(t) = &teardown {
        note_teardown(&mut summary, t);
    }
    let partial = interrupted.load(Ordering::Acquire);
    for e in mocks.fault_events() {
        summary.add_event(&e);
    }
    let propagation = propagation(&mocks, before_run, summary.service_time_seen());
    let mut summary = summary.finish(RunMeta {
        scenario: s.name.clone(),
        seed: plan.seed,
        gauntlet_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_hash: s.hash.clone(),
        started_at,
        duration: plan.duration,
        partial,
        phase_lengths: {
            let mut l = phase_lengths(&plan.phases, plan.duration);
            if let Some(b) = s.baseline {
                l.insert(crate::plan::phase::Phase::Baseline, b);
            }
            l
        },
    });
    summary.protocols = protocols;
    summary.served = served(&mocks);
    summary.propagation = Some(propagation);
    if let (Some(g), Some(t)) = (&gateway, &teardown) {
        summary.gateway = Some(g.info(t));
    }
    summary.windows = mocks.fault_windows(&plan);
    write_reports(&out, &summary)?;
    if partial {
        return Err(Error::Interrupted);
    }
    if let Some(status) = gateway_died {
        return Err(Error::Run(format!(
            "the gateway exited during the run ({status}); see {}",
            out.join("gateway.log").display()
        )));
    }
    Ok(())
}

/// What tearing the gateway down found, as notes in the results.
fn note_teardown(recorder: &mut Recorder, t: &lifecycle::Teardown) {
    let mut note = |text: String| {
        recorder.add_event(&crate::sample::Event {
            at_ns: 0,
            kind: crate::sample::EventKind::Note { text },
        })
    };
    if let Some(status) = t.exited_during_run {
        note(format!("the gateway exited during the run: {status}"));
    }
    if t.killed > 0 {
        note(format!(
            "{} process(es) of the gateway were still running after SIGTERM and were killed",
            t.killed
        ));
    }
    if t.swept > 0 {
        note(format!(
            "{} process(es) the gateway left behind were killed at the end",
            t.swept
        ));
    }
}

/// Sections a later part of gauntlet executes are refused clearly, never ignored.
fn supported(s: &Scenario, args: &RunArgs) -> Result<ProtocolChoice> {
    let not_yet = |what: &str| Err(Error::Input(format!("{what} is not supported yet")));
    // Stdio servers get their faults over the back-channel, whose address travels in their
    // environment: set by the driver (`gateway: none`) or by a launched gateway's rendered
    // mcpServers JSON (`env`); a running gateway or a config template cannot carry it.
    let reaches_stdio = match &s.gateway {
        Gateway::None | Gateway::Builtin(_) => true,
        Gateway::Launch(l) => matches!(
            l.config,
            Some(crate::scenario::ConfigFormat::McpServersJson)
        ),
        _ => false,
    };
    if let Some(f) = s.faults.iter().find(|f| {
        !reaches_stdio
            && s.server(&f.server)
                .is_some_and(|srv| srv.transport == crate::scenario::Transport::Stdio)
    }) {
        return not_yet(&format!(
            "faults on a stdio server a gateway spawns without `config: mcp-servers-json` \
             (`{}`, fault `{}`)",
            f.server,
            f.kind.name()
        ));
    }
    if !s.budgets.is_empty() || !args.budget.is_empty() || args.junit.is_some() {
        return not_yet("evaluating budgets (`budgets:`, --budget, --junit)");
    }
    if args.ledger.is_some() {
        return not_yet("--ledger for a run");
    }
    Ok(s.protocol)
}

fn out_dir(args: &RunArgs, s: &Scenario) -> PathBuf {
    if let Some(d) = &args.out {
        return d.clone();
    }
    let stamp: String = crate::metrics::summary::rfc3339_utc(SystemTime::now())
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    PathBuf::from("reports").join(format!("{}-{date}-{time}", s.name))
}

fn write_reports(dir: &std::path::Path, summary: &Summary) -> Result<()> {
    let files = crate::report::write_all(dir, summary).map_err(|e| {
        Error::Run(format!(
            "cannot write the reports to {}: {e}",
            dir.display()
        ))
    })?;
    let mut out = std::io::stdout().lock();
    let table = crate::report::render_table(summary);
    let _ = std::io::Write::write_all(&mut out, table.as_bytes());
    for f in files {
        let _ = writeln!(out, "wrote {}", f.display());
    }
    Ok(())
}

use std::io::Write as _;

/// The run's plan and the baseline's.
struct Plans {
    run: Arc<Plan>,
    baseline: Option<Arc<Plan>>,
}

/// What [`drive`] returns.
struct Driven {
    recorder: Recorder,
    protocols: Vec<ProtocolUsed>,
    /// The mocks' ledger counts when the run started (after the baseline).
    before_run: (u64, u64, u64),
}

/// Opens the sessions, runs the baseline and the engine, and returns the recorder with
/// everything in it.
async fn drive(
    s: &Scenario,
    plans: Plans,
    mocks: &Mocks,
    mut gateway: Option<&mut lifecycle::Up>,
    version: ProtocolChoice,
    interrupted: Arc<AtomicBool>,
    progress: bool,
) -> Result<Driven> {
    let plan = plans.run;
    let client = HttpClient::with_max_idle(s.load.sessions.max(1) as usize * 4);
    let (targets, routes, inits) =
        connect(s, &plan, mocks, gateway.as_deref_mut(), &client, version).await?;
    let gateway_pid = gateway.as_ref().and_then(|g| g.pid());
    let protocols = targets.iter().filter_map(protocol_used).collect();
    let stop = CancellationToken::new();
    let watcher = {
        let (stop, interrupted) = (stop.clone(), interrupted.clone());
        tokio::spawn(async move {
            crate::mock::cli::wait_for_signal().await;
            interrupted.store(true, Ordering::Release);
            stop.cancel();
        })
    };
    let baseline = match &plans.baseline {
        Some(p) => Some(baseline::run(s, p.clone(), mocks, &client, version, stop.clone()).await?),
        None => None,
    };
    let before_run = ledger_counts(mocks);
    let (tx, rx) = mpsc::unbounded_channel();
    let t0 = Instant::now() + Duration::from_millis(50);
    mocks.arm_faults(&plan, &s.faults, t0);
    for i in &inits {
        let _ = tx.send(i.event(t0));
    }
    if let Some(b) = baseline {
        let offset = -(t0.saturating_duration_since(b.t0).as_nanos() as i64);
        for r in b.records {
            let _ = tx.send(baseline::shift(r, offset));
        }
    }
    let open = matches!(s.load.model, Model::Open { .. });
    let recorder = Recorder::new(plan.keys.clone(), open, s.load.timeout)
        .derive_with(DeriveSetup::of_run(s, &plan, None));
    let done = CancellationToken::new();
    let rec = tokio::spawn(record(
        rx,
        recorder,
        Watch {
            t0,
            done: done.clone(),
            progress,
            plan: plan.clone(),
            gateway_pid,
        },
    ));
    let engine = Engine::new(Setup {
        plan: plan.clone(),
        targets,
        routes,
        t0,
        timeout: s.load.timeout,
        max_in_flight: s.load.max_in_flight as usize,
        open_model: open,
        tx,
        stop: stop.clone(),
        label: None,
        id_base: 0,
    });
    engine.run().await;
    watcher.abort();
    done.cancel();
    let recorder = rec
        .await
        .map_err(|e| Error::Run(format!("the recorder failed: {e}")))?;
    close(engine).await;
    Ok(Driven {
        recorder,
        protocols,
        before_run,
    })
}

fn era_name(v: crate::mcp::protocol::Version) -> &'static str {
    match v.era() {
        Era::LegacySse => "legacy-sse",
        Era::Session => "session",
        Era::Stateless => "stateless",
    }
}

/// The in-process mocks' tools/call requests so far: (all, with a call id, with a traceparent).
fn ledger_counts(mocks: &Mocks) -> (u64, u64, u64) {
    let (mut calls, mut with_id, mut with_trace) = (0, 0, 0);
    for m in &mocks.mocks {
        let snap = m.ledger().snapshot();
        let n: u64 = snap.tools.values().map(|t| t.calls).sum();
        calls += n;
        with_id += n.saturating_sub(snap.call_ids.missing);
        with_trace += snap.with_traceparent;
    }
    (calls, with_id, with_trace)
}

/// Design §7 propagation, over the in-process mocks' ledgers, the baseline's calls (`before`)
/// left out.
fn propagation(mocks: &Mocks, before: (u64, u64, u64), service_time: (u64, u64)) -> Propagation {
    let (calls, with_id, with_trace) = ledger_counts(mocks);
    Propagation::new(
        calls.saturating_sub(before.0),
        with_id.saturating_sub(before.1),
        with_trace.saturating_sub(before.2),
        service_time,
    )
}

/// What the in-process mocks' clients spoke (stdio mocks are separate processes: not here).
fn served(mocks: &Mocks) -> Vec<ProtocolServed> {
    let mut out = Vec::new();
    for m in &mocks.mocks {
        for (v, t, requests) in m.server.eras.seen() {
            out.push(ProtocolServed {
                server: m.name().to_string(),
                revision: v.to_string(),
                era: era_name(v).to_string(),
                transport: t.as_str().to_string(),
                requests,
            });
        }
    }
    out
}

fn protocol_used(t: &Target) -> Option<ProtocolUsed> {
    let r = t.reached?;
    Some(ProtocolUsed {
        target: t.server.clone(),
        revision: r.version.to_string(),
        era: era_name(r.version).to_string(),
        transport: r.transport.as_str().to_string(),
        probed: t.probed,
    })
}

type Routes = Vec<(usize, String)>;

/// Sessions to every target, and each key's route.
async fn connect(
    s: &Scenario,
    plan: &Plan,
    mocks: &Mocks,
    gateway: Option<&mut lifecycle::Up>,
    client: &HttpClient,
    version: ProtocolChoice,
) -> Result<(Vec<Target>, Routes, Vec<InitRecord>)> {
    let mut inits = Vec::new();
    if let Some(up) = gateway {
        let (at, process) = up.parts();
        let c = targets::connect(s, &plan.keys, client, version, &at, process, &mut inits).await?;
        println!(
            "tool names at the gateway:\n{}",
            targets::describe(&c.mapped)
        );
        up.names = c.mapped;
        return Ok((c.targets, c.routes, inits));
    }
    let (targets, routes) = open_mock_targets(
        &plan.keys,
        mocks,
        client,
        s.load.sessions,
        version,
        &mut inits,
    )
    .await?;
    Ok((targets, routes, inits))
}

async fn close(engine: Arc<Engine>) {
    let Ok(engine) = Arc::try_unwrap(engine) else {
        return;
    };
    for t in engine.targets {
        for c in t.sessions {
            if let Ok(c) = Arc::try_unwrap(c) {
                let _ = tokio::time::timeout(Duration::from_secs(3), c.close()).await;
            }
        }
    }
}

/// What the recorder task watches besides the samples.
struct Watch {
    t0: Instant,
    done: CancellationToken,
    progress: bool,
    plan: Arc<Plan>,
    /// A launched gateway: its tree's RSS, CPU and processes every second, and its exit.
    gateway_pid: Option<u32>,
}

/// The recorder task: samples in, process figures every second, a progress line on a terminal.
async fn record(
    mut rx: mpsc::UnboundedReceiver<Record>,
    mut recorder: Recorder,
    w: Watch,
) -> Recorder {
    let t0 = w.t0;
    let mut tick = tokio::time::interval_at(t0 + Duration::from_secs(1), Duration::from_secs(1));
    let prefixes = [DRIVER_THREADS, mocks::THREAD_NAME];
    let mut cpu = procstat::cpu_by_thread_prefix(&prefixes);
    let mut gw = GatewayWatch::new(w.gateway_pid);
    let mut last = std::time::Instant::now();
    let mut live = Live::default();
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(r) => add(&mut recorder, &mut live, r),
                None => break,
            },
            _ = tick.tick() => {
                let now = procstat::cpu_by_thread_prefix(&prefixes);
                let wall = last.elapsed().as_secs_f64().max(1e-3);
                let pct = |i: usize| 100.0 * (now[i].saturating_sub(cpu[i])).as_secs_f64() / wall;
                let second = (t0.elapsed().as_secs() as i64) - 1;
                recorder.record_process(second, pct(0), pct(1), procstat::rss_bytes());
                gw.tick(&mut recorder, second, wall, t0);
                (cpu, last) = (now, std::time::Instant::now());
                if w.progress {
                    live.print(t0.elapsed(), &w.plan);
                }
            }
            _ = w.done.cancelled() => {
                while let Ok(r) = rx.try_recv() {
                    add(&mut recorder, &mut live, r);
                }
                break;
            }
        }
    }
    if w.progress {
        eprintln!();
    }
    recorder
}

/// A launched gateway, seen from /proc once a second.
struct GatewayWatch {
    pid: Option<u32>,
    cpu_ticks: u64,
    exited: bool,
}

impl GatewayWatch {
    fn new(pid: Option<u32>) -> GatewayWatch {
        let cpu_ticks = pid.map_or(0, |p| crate::gateway::process::usage(p).cpu_ticks);
        GatewayWatch {
            pid,
            cpu_ticks,
            exited: false,
        }
    }

    fn tick(&mut self, recorder: &mut Recorder, second: i64, wall_s: f64, t0: Instant) {
        let Some(pid) = self.pid else { return };
        let u = crate::gateway::process::usage(pid);
        let ticks = u.cpu_ticks.saturating_sub(self.cpu_ticks);
        self.cpu_ticks = u.cpu_ticks.max(self.cpu_ticks);
        let pct = 100.0 * ticks as f64 / procstat::clock_ticks_per_s() / wall_s;
        recorder.record_gateway(second, pct, u.rss_bytes, u.processes, u.backends);
        if !self.exited && !crate::gateway::process::alive(pid) {
            self.exited = true;
            recorder.add_event(&crate::sample::Event {
                at_ns: t0.elapsed().as_nanos() as i64,
                kind: crate::sample::EventKind::Note {
                    text: "the gateway process exited".into(),
                },
            });
        }
    }
}

fn add(recorder: &mut Recorder, live: &mut Live, r: Record) {
    match r {
        Record::Sample(s) => {
            live.add(&s);
            recorder.add(&s);
        }
        Record::Event(e) => recorder.add_event(&e),
    }
}

/// The figures of the progress line, for the last second.
#[derive(Default)]
struct Live {
    calls: u64,
    errors: u64,
    latencies_us: Vec<u64>,
}

impl Live {
    fn add(&mut self, s: &crate::sample::Sample) {
        self.calls += 1;
        if s.outcome.is_ok() {
            if self.latencies_us.len() < 100_000 {
                self.latencies_us
                    .push((s.latency_from_intended_ns().max(0) / 1000) as u64);
            }
        } else {
            self.errors += 1;
        }
    }

    fn print(&mut self, elapsed: Duration, plan: &Plan) {
        self.latencies_us.sort_unstable();
        let p99 = self
            .latencies_us
            .get(
                (self.latencies_us.len() * 99 / 100).min(self.latencies_us.len().saturating_sub(1)),
            )
            .map_or("-".to_string(), |us| {
                format!("{:.1}ms", *us as f64 / 1000.0)
            });
        let errors = if self.calls == 0 {
            0.0
        } else {
            100.0 * self.errors as f64 / self.calls as f64
        };
        let total = match &plan.schedule {
            Schedule::Open(o) => o.end(),
            Schedule::Closed { duration, .. } => *duration,
        };
        eprint!(
            "\r{:>5.0}s/{:.0}s  {:<9} {:>7} calls/s  p99 {:>8}  errors {:>5.1}%   ",
            elapsed.as_secs_f64(),
            total.as_secs_f64(),
            plan.phase_at(elapsed).to_string(),
            self.calls,
            p99,
            errors
        );
        *self = Live::default();
    }
}
