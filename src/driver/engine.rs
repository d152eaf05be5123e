//! The load loop: one pacer abstraction for both models (docs/architecture.md, "What exists now").
//!
//! Open model: one pacer walks the schedule; each due call is launched as its own task (or
//! counted `dropped` when `max_in_flight` calls are open); latency runs from the *intended*
//! start. Closed model: one pacer per session, each awaiting its call before asking the
//! schedule for the next; latency runs from the actual start. Both go through
//! [`Engine::pacer`] — only what "firing" a call means differs.

use crate::mcp::client::CallMeta;
use crate::mcp::conn::Conn;
use crate::mcp::outcome::Outcome;
use crate::plan::build::Plan;
use crate::plan::phase::Phase;
use crate::sample::{Event, EventKind, Sample};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the engine reports to the recorder.
#[derive(Debug)]
pub enum Record {
    Sample(Sample),
    Event(Event),
}

/// Where calls for one server go: its sessions.
pub struct SessionPool {
    pub server: String,
    pub sessions: Vec<Arc<Conn>>,
    /// The revision and transport its sessions speak.
    pub reached: Option<crate::mcp::conn::Reached>,
    /// Whether they were found by `protocol: auto`.
    pub probed: bool,
}

pub struct Engine {
    pub plan: Arc<Plan>,
    pub targets: Vec<SessionPool>,
    /// For each key: (target index, the tool's name at the target).
    pub routes: Vec<(usize, String)>,
    pub t0: Instant,
    pub timeout: Duration,
    pub max_in_flight: usize,
    pub open_model: bool,
    pub tx: mpsc::UnboundedSender<Record>,
    pub stop: CancellationToken,
    /// Every call's phase, when the run labels its own (the baseline); else the plan's.
    pub label: Option<Phase>,
    /// Added to the schedule's sequence number to make the call id (keeps the baseline's ids
    /// apart from the run's).
    pub id_base: u64,
    in_flight: AtomicUsize,
    next_id: AtomicU64,
    /// The driver runtime, where calls run (the open model's pacer has a thread of its own).
    workers: tokio::runtime::Handle,
}

fn ns_since(t0: Instant, t: Instant) -> i64 {
    if t >= t0 {
        (t - t0).as_nanos() as i64
    } else {
        -((t0 - t).as_nanos() as i64)
    }
}

/// What an engine runs.
pub struct Setup {
    pub plan: Arc<Plan>,
    pub targets: Vec<SessionPool>,
    /// For each key: (target index, the tool's name at the target).
    pub routes: Vec<(usize, String)>,
    pub t0: Instant,
    pub timeout: Duration,
    pub max_in_flight: usize,
    pub open_model: bool,
    pub tx: mpsc::UnboundedSender<Record>,
    pub stop: CancellationToken,
    pub label: Option<Phase>,
    pub id_base: u64,
}

impl Engine {
    pub fn new(s: Setup) -> Arc<Engine> {
        Arc::new(Engine {
            plan: s.plan,
            targets: s.targets,
            routes: s.routes,
            t0: s.t0,
            timeout: s.timeout,
            max_in_flight: s.max_in_flight,
            open_model: s.open_model,
            tx: s.tx,
            stop: s.stop,
            label: s.label,
            id_base: s.id_base,
            in_flight: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            workers: tokio::runtime::Handle::current(),
        })
    }

    /// Runs every pacer to the schedule's end (or until stopped), then drains the calls in
    /// flight for up to the call timeout.
    pub async fn run(self: &Arc<Self>) {
        if self.open_model {
            self.open_pacer().await;
        } else {
            let mut tasks = Vec::new();
            for p in 0..self.plan.schedule.pacers() {
                let me = self.clone();
                tasks.push(tokio::spawn(async move { me.pacer(p).await }));
            }
            for t in tasks {
                let _ = t.await;
            }
        }
        let deadline = Instant::now() + self.timeout + Duration::from_secs(1);
        while self.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The open model's one pacer runs on a thread of its own, so that busy workers (answers
    /// to parse, samples to record) never delay a send: its calls are spawned onto the driver
    /// runtime.
    async fn open_pacer(self: &Arc<Self>) {
        let me = self.clone();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("{}-pace", super::THREAD_NAME))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(me.pacer(0));
                }
                let _ = done_tx.send(());
            });
        match spawned {
            Ok(_) => {
                let _ = done_rx.await;
            }
            // No thread to spare: pace from the workers.
            Err(_) => self.pacer(0).await,
        }
    }

    /// One pacer: ask the schedule when the next call is due, wait, fire it.
    async fn pacer(self: &Arc<Self>, pacer: u32) {
        let mut sent = 0u64;
        loop {
            let elapsed = self.t0.elapsed();
            let pace = self.plan.schedule.pace(elapsed, sent);
            if pace.stop || self.stop.is_cancelled() {
                return;
            }
            let due = self.t0 + elapsed + pace.wait;
            // Before t = 0 the first call is due at t = 0, not at once.
            if due > Instant::now() {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = self.stop.cancelled() => return,
                }
            }
            if self.open_model {
                self.launch(sent, due);
            } else {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                self.call(id, Instant::now(), pacer).await;
            }
            sent += 1;
        }
    }

    /// Open model: starts call `seq` as its own task, or counts it dropped.
    fn launch(self: &Arc<Self>, seq: u64, intended: Instant) {
        let open = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if open >= self.max_in_flight {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            let key = self.plan.pick(seq).key;
            let at = ns_since(self.t0, intended);
            let s = self.sample(self.id_base + seq, key, [at; 3], Outcome::Dropped);
            let _ = self.tx.send(Record::Sample(s));
            return;
        }
        let me = self.clone();
        let session = (seq % u64::from(self.sessions_per_target().max(1))) as u32;
        self.workers.spawn(async move {
            me.call(seq, intended, session).await;
            me.in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    fn sessions_per_target(&self) -> u32 {
        self.targets
            .iter()
            .map(|t| t.sessions.len() as u32)
            .min()
            .unwrap_or(1)
    }

    /// Makes one call and records it.
    async fn call(&self, seq: u64, intended: Instant, session: u32) {
        let planned = self.plan.pick(seq);
        let key = planned.key;
        let (target, tool) = &self.routes[key as usize];
        let target = &self.targets[*target];
        let conn = &target.sessions[session as usize % target.sessions.len()];
        let mut params = Map::with_capacity(2);
        params.insert("name".into(), Value::String(tool.clone()));
        let args = planned.args.render(self.plan.seed, u64::from(key), seq);
        // The hash the mocks' ledgers take of the arguments that arrive.
        let args_hash = crate::hash::args_hash(args.as_object());
        params.insert("arguments".into(), args);
        let meta = CallMeta::new(self.plan.seed, self.id_base + seq);
        let start = Instant::now();
        let r = conn
            .call("tools/call", Value::Object(params), meta, self.timeout)
            .await;
        let end = Instant::now();
        let times = [intended, start, end].map(|t| ns_since(self.t0, t));
        let mut sample = self.sample(self.id_base + seq, key, times, r.outcome);
        sample.service_us = r.service_us;
        sample.data_version = r.data_version;
        sample.args_hash = args_hash;
        sample.session = session;
        let _ = self.tx.send(Record::Sample(sample));
        if r.outcome == Outcome::HttpError(404) && conn.needs_reinit() {
            self.reinit(conn, &target.server, session).await;
        }
    }

    /// A sample of call `call_id` with its times (intended, start, end; ns from t = 0) and
    /// outcome, phase labelled; what came back with the answer is for the caller to fill.
    fn sample(&self, call_id: u64, key: u32, times: [i64; 3], outcome: Outcome) -> Sample {
        let [intended_ns, start_ns, end_ns] = times;
        let phase = self.label.unwrap_or_else(|| {
            self.plan
                .phase_at(Duration::from_nanos(intended_ns.max(0) as u64))
        });
        Sample {
            call_id,
            key,
            phase,
            intended_ns,
            start_ns,
            end_ns,
            outcome,
            service_us: None,
            session: 0,
            args_hash: 0,
            data_version: None,
        }
    }

    /// A 404 on a session: record `reinit` and initialize it again for later calls.
    async fn reinit(&self, conn: &Conn, server: &str, session: u32) {
        let at_ns = ns_since(self.t0, Instant::now());
        if let Ok(true) = conn.reinit().await {
            let _ = self.tx.send(Record::Event(Event {
                at_ns,
                kind: EventKind::Reinit {
                    server: server.to_string(),
                    session,
                },
            }));
        }
    }
}
