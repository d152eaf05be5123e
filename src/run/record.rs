//! The recorder task: samples and events in, process figures every second, latency.hlog
//! flushed every second, the progress line on a terminal.

use super::gateway_watch::GatewayWatch;
use super::mocks;
use super::procstat;
use super::progress::Progress;
use super::stream::Stream;
use crate::driver::engine::Record;
use crate::metrics::Recorder;
use crate::plan::build::Plan;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the recorder task watches besides the samples.
pub struct Watch {
    pub t0: Instant,
    pub done: CancellationToken,
    pub progress: bool,
    pub plan: Arc<Plan>,
    /// A launched gateway: its tree's RSS, CPU and processes every second, and its exit.
    pub gateway_pid: Option<u32>,
    pub stream: Stream,
}

/// The recorder task: samples in, process figures every second, a progress line on a terminal.
pub async fn record(
    mut rx: mpsc::UnboundedReceiver<Record>,
    mut recorder: Recorder,
    mut w: Watch,
) -> Recorder {
    let t0 = w.t0;
    let mut tick = tokio::time::interval_at(t0 + Duration::from_secs(1), Duration::from_secs(1));
    let prefixes = [crate::driver::THREAD_NAME, mocks::THREAD_NAME];
    let mut cpu = procstat::cpu_by_thread_prefix(&prefixes);
    let mut gw = GatewayWatch::new(w.gateway_pid);
    let mut last = std::time::Instant::now();
    let mut progress = Progress::default();
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(r) => add(&mut recorder, &mut progress, &mut w.stream, r),
                None => break,
            },
            _ = tick.tick() => {
                let now = procstat::cpu_by_thread_prefix(&prefixes);
                let wall = last.elapsed().as_secs_f64().max(1e-3);
                let pct = |i: usize| 100.0 * (now[i].saturating_sub(cpu[i])).as_secs_f64() / wall;
                let second = (t0.elapsed().as_secs() as i64) - 1;
                recorder.record_process(second, pct(0), pct(1), procstat::rss_bytes());
                gw.tick(&mut recorder, second, wall, t0);
                w.stream.flush();
                (cpu, last) = (now, std::time::Instant::now());
                if w.progress {
                    progress.print(t0.elapsed(), &w.plan);
                }
            }
            _ = w.done.cancelled() => {
                while let Ok(r) = rx.try_recv() {
                    add(&mut recorder, &mut progress, &mut w.stream, r);
                }
                break;
            }
        }
    }
    if w.progress {
        eprintln!();
    }
    w.stream.finish();
    recorder
}

fn add(recorder: &mut Recorder, progress: &mut Progress, stream: &mut Stream, r: Record) {
    match r {
        Record::Sample(s) => {
            progress.add(&s);
            stream.intervals.add(&s);
            recorder.add(&s);
        }
        Record::Event(e) => recorder.add_event(&e),
    }
}
