//! `gauntlet run SCENARIO`: mocks up, sessions open, load driven, every call recorded, reports
//! written — also when interrupted (marked partial, exit 130).

pub mod backends;
pub mod gateway_watch;
pub mod mocks;
pub mod procstat;
pub mod progress;
pub mod record;
pub mod stream;

use crate::driver::baseline;
use crate::driver::engine::{Engine, Record, SessionPool, Setup};
use crate::driver::sessions::{InitRecord, open_mock_targets, open_sessions};
use crate::error::{Error, Result};
use crate::gateway::{lifecycle, targets};
use crate::mcp::client::HttpClient;
use crate::mcp::conn::Endpoint;
use crate::mcp::protocol::Era;
use crate::mcp::protocol::ProtocolChoice;
use crate::metrics::classified::{Backends, DeriveSetup};
use crate::metrics::derive::DeriveState;
use crate::metrics::summary::{PhaseSpan, Propagation, ProtocolServed, ProtocolUsed};
use crate::metrics::{Recorder, RunMeta, Summary, phase_lengths};
use crate::plan::build::{Overrides, Plan};
use crate::scenario::budget::expr::Budget;
use crate::scenario::{Gateway, Model, Scenario};
use backends::MockBackends;
use mocks::Mocks;
use record::{Watch, record};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use stream::Stream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What a run is asked to do besides its scenario.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--duration`, `--rate-scale`, `--seed`.
    pub overrides: Overrides,
    /// The scenario's budgets and those of the command line.
    pub budgets: Vec<Budget>,
    /// The run folder.
    pub out: PathBuf,
    /// junit.xml written here too.
    pub junit: Option<PathBuf>,
    /// The progress line on the terminal.
    pub progress: bool,
}

/// Runs scenario `s` (checked: [`supported`] first) and writes its reports; `Err` carries the
/// exit code (a failed budget, an interrupted run, a gateway that died).
pub fn run(s: &Scenario, opts: &Options) -> Result<()> {
    let version = s.protocol;
    let budgets = &opts.budgets;
    let overrides = opts.overrides;
    let plan = Arc::new(Plan::build(s, overrides)?);
    let baseline_plan = match s.baseline {
        Some(b) => Some(Arc::new(baseline::plan(s, b, &overrides)?)),
        None => None,
    };
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    procstat::raise_nofile_limit();
    // Absolute: a launched gateway runs in its own working directory and is handed paths in it.
    let out = std::path::absolute(&opts.out)
        .map_err(|e| Error::Run(format!("cannot resolve the output folder: {e}")))?;
    let started_at = SystemTime::now();
    let mut mocks = Mocks::start(s, plan.seed)?;
    let mut gateway = lifecycle::bring_up(s, &mocks.endpoints, &out)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(crate::driver::THREAD_NAME)
        .enable_all()
        .build()
        .map_err(|e| Error::Run(format!("cannot start the driver runtime: {e}")))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let progress = opts.progress;
    let driven = rt.block_on(drive(
        s,
        Plans {
            run: plan.clone(),
            baseline: baseline_plan,
            out: out.clone(),
        },
        &mocks,
        gateway.as_mut(),
        version,
        interrupted.clone(),
        progress,
    ));
    if let Some(up) = gateway.as_ref().filter(|g| g.builtin) {
        status_snapshot(&rt, up, &out);
    }
    let teardown = gateway.as_mut().map(lifecycle::GatewayUnderTest::tear_down);
    mocks.stop();
    drop(rt);
    let Driven {
        recorder: mut summary,
        protocols,
        backends,
    } = driven?;
    let gateway_died = teardown.as_ref().and_then(|t| t.exited_during_run);
    if let Some(t) = &teardown {
        note_teardown(&mut summary, t);
    }
    let partial = interrupted.load(Ordering::Acquire);
    for e in mocks.fault_events() {
        summary.add_event(&e);
    }
    let propagation = propagation(&backends, summary.service_time_seen());
    let mut summary = summary.finish(run_meta(s, &plan, started_at, partial));
    summary.protocols = protocols;
    summary.served = served(&mocks);
    summary.propagation = Some(propagation);
    if let (Some(g), Some(t)) = (&gateway, &teardown) {
        summary.gateway = Some(g.info(t));
    }
    summary.windows = mocks.fault_windows(&plan);
    summary.phases = PhaseSpan::of(&plan.phases, plan.duration);
    summary.verdicts = crate::verdict::evaluate(budgets, &summary);
    write_reports(&out, &summary, opts.junit.as_deref())?;
    if partial {
        return Err(Error::Interrupted);
    }
    if let Some(status) = gateway_died {
        return Err(Error::Run(format!(
            "the gateway exited during the run ({status}); see {}",
            out.join("gateway.log").display()
        )));
    }
    failed_budgets(&summary)
}

/// What the run knows about itself once it has ended.
fn run_meta(s: &Scenario, plan: &Plan, started_at: SystemTime, partial: bool) -> RunMeta {
    let mut phase_lengths = phase_lengths(&plan.phases, plan.duration);
    if let Some(b) = s.baseline {
        phase_lengths.insert(crate::plan::phase::Phase::Baseline, b);
    }
    RunMeta {
        scenario: s.name.clone(),
        seed: plan.seed,
        gauntlet_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_hash: s.hash.clone(),
        started_at,
        duration: plan.duration,
        partial,
        phase_lengths,
    }
}

/// Exit 1 when a budget failed, naming each one.
fn failed_budgets(summary: &Summary) -> Result<()> {
    let failed: Vec<String> = summary
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| {
            format!(
                "  {}: {}",
                v.budget,
                crate::report::junit::failure_message(v)
            )
        })
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "{} of {} budget(s) failed:\n{}",
        failed.len(),
        summary.verdicts.len(),
        failed.join("\n")
    )))
}

/// The reference gateway's own account of the run, before it stops: its `/status` as
/// status.json in the run folder, and the `gauntlet status` lines on the terminal.
fn status_snapshot(
    rt: &tokio::runtime::Runtime,
    up: &lifecycle::GatewayUnderTest,
    out: &std::path::Path,
) {
    let read = crate::refgate::status::status_url(up.url())
        .and_then(|uri| rt.block_on(crate::refgate::status::fetch(uri)));
    let doc = match read {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("warning: the gateway's status could not be read: {e}");
            return;
        }
    };
    let path = out.join("status.json");
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    if let Err(e) = std::fs::write(&path, text + "\n") {
        eprintln!("warning: cannot write {}: {e}", path.display());
    }
    for line in crate::refgate::status::render(up.url(), &doc).unwrap_or_default() {
        println!("{line}");
    }
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
pub fn supported(s: &Scenario) -> Result<()> {
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
    Ok(())
}

/// `reports/<scenario>-<date>-<time>`: where a run's reports go unless told otherwise.
pub fn default_out_dir(s: &Scenario) -> PathBuf {
    let stamp: String = crate::metrics::summary::rfc3339_utc(SystemTime::now())
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    PathBuf::from("reports").join(format!("{}-{date}-{time}", s.name))
}

/// The run folder's reports, and junit.xml at `junit` too when asked (an empty suite without
/// budgets); then the table on stdout.
fn write_reports(
    dir: &std::path::Path,
    summary: &Summary,
    junit: Option<&std::path::Path>,
) -> Result<()> {
    let cannot = |what: &std::path::Path, e: std::io::Error| {
        Error::Run(format!(
            "cannot write the reports to {}: {e}",
            what.display()
        ))
    };
    let mut files = crate::report::write_all(dir, summary).map_err(|e| cannot(dir, e))?;
    if let Some(path) = junit {
        crate::report::write_junit(path, summary).map_err(|e| cannot(path, e))?;
        files.push(path.to_path_buf());
    }
    let mut out = std::io::stdout().lock();
    let table = crate::report::render_table(summary);
    let _ = std::io::Write::write_all(&mut out, table.as_bytes());
    for f in files {
        let _ = writeln!(out, "wrote {}", f.display());
    }
    Ok(())
}

use std::io::Write as _;

/// The run's plan and the baseline's, and the folder the streamed views go to.
struct Plans {
    run: Arc<Plan>,
    baseline: Option<Arc<Plan>>,
    out: PathBuf,
}

/// What [`drive`] returns.
struct Driven {
    recorder: Recorder,
    protocols: Vec<ProtocolUsed>,
    /// The mocks as derivation sees them, counting from the run's start (after the baseline).
    backends: Arc<MockBackends>,
}

/// Opens the sessions, runs the baseline and the engine, and returns the recorder with
/// everything in it.
async fn drive(
    s: &Scenario,
    plans: Plans,
    mocks: &Mocks,
    mut gateway: Option<&mut lifecycle::GatewayUnderTest>,
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
            crate::signal::wait_for_signal().await;
            interrupted.store(true, Ordering::Release);
            stop.cancel();
        })
    };
    let baseline = match &plans.baseline {
        Some(p) => {
            let eps = &mocks.endpoints;
            Some(baseline::run(s, p.clone(), eps, &client, version, stop.clone()).await?)
        }
        None => None,
    };
    let backends = Arc::new(mocks.backends());
    backends.mark_run_start();
    let (tx, rx) = mpsc::unbounded_channel();
    let t0 = Instant::now() + Duration::from_millis(50);
    mocks.arm_faults(&plan, &s.faults, t0);
    send_before_t0(&tx, &inits, baseline, t0);
    let open = matches!(s.load.model, Model::Open { .. });
    let recorder = Recorder::new(plan.keys.clone(), open, s.load.timeout).derive_with(Box::new(
        DeriveState::new(DeriveSetup::of_run(s, &plan, Some(backends.clone()))),
    ));
    let done = CancellationToken::new();
    let watch = Watch {
        t0,
        done: done.clone(),
        progress,
        plan: plan.clone(),
        gateway_pid,
        stream: Stream::open(&plans.out, t0, s, &plan.keys, open)?,
    };
    let rec = tokio::spawn(record(rx, recorder, watch));
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
        backends,
    })
}

/// What happened before t = 0, put on the run's clock: each session's initialization and
/// the baseline's records.
fn send_before_t0(
    tx: &mpsc::UnboundedSender<Record>,
    inits: &[InitRecord],
    baseline: Option<baseline::Ran>,
    t0: Instant,
) {
    for i in inits {
        let _ = tx.send(i.event(t0));
    }
    if let Some(b) = baseline {
        let offset = -(t0.saturating_duration_since(b.t0).as_nanos() as i64);
        for r in b.records {
            let _ = tx.send(baseline::shift(r, offset));
        }
    }
}

fn era_name(v: crate::mcp::protocol::Version) -> &'static str {
    match v.era() {
        Era::LegacySse => "legacy-sse",
        Era::Session => "session",
        Era::Stateless => "stateless",
    }
}

/// Propagation (docs/metrics.md) over every mock that can be seen (in-process ledgers, stdio
/// reports), from the run's start: the baseline's calls are left out.
fn propagation(backends: &MockBackends, service_time: (u64, u64)) -> Propagation {
    let (mut calls, mut with_id, mut with_trace) = (0, 0, 0);
    for server in backends.servers() {
        let Some(snap) = backends.snapshot(server) else {
            continue;
        };
        let n = snap.tool_calls();
        calls += n;
        with_id += n.saturating_sub(snap.call_ids.missing);
        with_trace += snap.with_traceparent;
    }
    Propagation::new(calls, with_id, with_trace, service_time)
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

fn protocol_used(t: &SessionPool) -> Option<ProtocolUsed> {
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
    gateway: Option<&mut lifecycle::GatewayUnderTest>,
    client: &HttpClient,
    version: ProtocolChoice,
) -> Result<(Vec<SessionPool>, Routes, Vec<InitRecord>)> {
    let mut inits = Vec::new();
    if let Some(up) = gateway {
        let (at, process) = up.parts();
        let found = targets::ready(s, &plan.keys, client, version, &at, process).await?;
        println!(
            "tool names at the gateway:\n{}",
            targets::describe(&found.mapped)
        );
        let mut opened = Vec::new();
        for (name, url) in &found.endpoints {
            let ep = Endpoint::Http(url.clone());
            let n = s.load.sessions;
            let t = open_sessions(client, name, &ep, n, version, at.headers, &mut inits)
                .await
                .map_err(Error::Run)?;
            opened.push(t);
        }
        up.names = found.mapped;
        return Ok((opened, found.routes, inits));
    }
    let (targets, routes) = open_mock_targets(
        &plan.keys,
        &mocks.endpoints,
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
