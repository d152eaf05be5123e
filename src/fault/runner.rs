//! The runner: walks one server's fault occurrences on the run's clock (t = 0 is the driver's,
//! handed over as a [`tokio::time::Instant`]), switches each on and off at its time, and records
//! when it really did ([`Actual`]) — results.json shows planned and actual times side by side.
//!
//! At one instant, ends come before switches and starts, so back-to-back windows hand over
//! cleanly. When the runner stops (the run ends, is interrupted, or the fault is removed), every
//! window it opened and has not closed is closed: stalled requests go on, the server is
//! reachable again (unless another runner's window keeps it down). Several runners may act on
//! one server (the control API starts one per fault added), as long as their window numbers
//! differ.

use super::target::FaultTarget;
use super::{Scheduled, flapping, outage, session_loss};
use crate::mcp::gate::Reach;
use crate::scenario::FaultKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// When one occurrence really started and ended: nanoseconds from t = 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actual {
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
}

/// What happens at one instant, in the order of the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    End,
    Switch(Switch),
    Start,
}

/// A flapping window goes down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Switch {
    Down,
    Up,
}

/// Every step of `occurrences`, in time order: (when, edge, which occurrence).
fn steps(occurrences: &[Scheduled]) -> Vec<(Duration, Edge, usize)> {
    let mut out = Vec::new();
    for (i, o) in occurrences.iter().enumerate() {
        out.push((o.start, Edge::Start, i));
        if let Some(end) = o.end {
            out.push((end, Edge::End, i));
            if let FaultKind::Flapping { period, duty } = o.kind {
                for (at, reach) in flapping::switches(o.start, end, period, duty) {
                    let s = if reach == Reach::Up {
                        Switch::Up
                    } else {
                        Switch::Down
                    };
                    out.push((at, Edge::Switch(s), i));
                }
            }
        }
    }
    out.sort_by_key(|&(at, edge, i)| (at, edge, i));
    out
}

/// One server's occurrences being run.
pub struct Runner {
    target: Arc<dyn FaultTarget>,
    occurrences: Vec<Scheduled>,
    actual: Arc<Mutex<Vec<Actual>>>,
    /// Occurrences started and not yet ended.
    open: Vec<usize>,
    /// Told once every step due when the run starts has been taken.
    ready: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Runner {
    /// `actual` gets one entry per occurrence, filled in as they happen.
    pub fn new(
        target: Arc<dyn FaultTarget>,
        occurrences: Vec<Scheduled>,
        actual: Arc<Mutex<Vec<Actual>>>,
    ) -> Runner {
        if let Ok(mut a) = actual.lock() {
            *a = vec![Actual::default(); occurrences.len()];
        }
        Runner {
            target,
            occurrences,
            actual,
            open: Vec::new(),
            ready: None,
        }
    }

    /// Resolves once the steps due when the run starts have been taken: when the runner first
    /// waits for a later step, or ends (the receiver then fails; that means the same).
    pub fn ready(&mut self) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.ready = Some(tx);
        rx
    }

    /// Runs the occurrences from `t0` until the last ends or `stop` fires.
    pub async fn run(mut self, t0: Instant, stop: CancellationToken) {
        if self
            .occurrences
            .iter()
            .any(|o| matches!(o.kind, FaultKind::DataChange(_)))
        {
            self.target.live().track_versions();
        }
        for (at, edge, i) in steps(&self.occurrences) {
            if t0 + at > Instant::now()
                && let Some(ready) = self.ready.take()
            {
                let _ = ready.send(());
            }
            tokio::select! {
                _ = tokio::time::sleep_until(t0 + at) => {}
                _ = stop.cancelled() => break,
            }
            let now_ns = ns_since(t0);
            self.apply(edge, i);
            self.note(edge, i, now_ns);
        }
        for i in std::mem::take(&mut self.open) {
            self.apply(Edge::End, i);
            self.note(Edge::End, i, ns_since(t0));
        }
    }

    fn note(&self, edge: Edge, i: usize, at_ns: i64) {
        let mut a = self.actual.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = a.get_mut(i) {
            match edge {
                Edge::Start => entry.start_ns = Some(at_ns),
                Edge::End => entry.end_ns = Some(at_ns),
                Edge::Switch(_) => {}
            }
        }
    }

    fn apply(&mut self, edge: Edge, i: usize) {
        let o = &self.occurrences[i];
        match edge {
            Edge::Start if o.end.is_some() => self.open.push(i),
            Edge::End => self.open.retain(|&j| j != i),
            _ => {}
        }
        let live = self.target.live();
        match (edge, &o.kind) {
            (Edge::Start, k) if k.in_band() => live.activate(o),
            (Edge::End, k) if k.in_band() => live.deactivate(o.window),
            (Edge::Start, FaultKind::Outage(mode)) => {
                if outage::forgets_sessions(*mode) {
                    self.target.forget_sessions();
                }
                live.set_down(o.window, Some(outage::reach(*mode)));
            }
            (Edge::Switch(Switch::Down), _) => live.set_down(o.window, Some(Reach::Refuse)),
            (Edge::Switch(Switch::Up), _) => live.set_down(o.window, None),
            (Edge::End, FaultKind::Outage(_) | FaultKind::Flapping { .. }) => {
                live.set_down(o.window, None);
            }
            (Edge::Start, FaultKind::SessionLoss) => session_loss::apply(&*self.target),
            (Edge::Start, FaultKind::ListChange(spec)) => {
                live.change_lists(spec, false);
                self.target.tools_changed();
            }
            (Edge::End, FaultKind::ListChange(spec)) => {
                live.change_lists(spec, true);
                self.target.tools_changed();
            }
            (Edge::Start, FaultKind::Crash(spec)) => self.target.crash(*spec),
            (Edge::Start, FaultKind::DataChange(spec)) => {
                live.change_version(o.tool.as_deref(), spec.version.as_deref());
            }
            _ => {}
        }
    }
}

fn ns_since(t0: Instant) -> i64 {
    let now = Instant::now();
    if now >= t0 {
        (now - t0).as_nanos() as i64
    } else {
        -((t0 - now).as_nanos() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::live::Live;
    use crate::scenario::spec::{DataChangeSpec, LatencyFaultSpec, ListChangeSpec, OutageMode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Fake {
        live: Live,
        forgotten: AtomicUsize,
        told: AtomicUsize,
    }

    impl Default for Live {
        fn default() -> Self {
            Live::new(0)
        }
    }

    impl FaultTarget for Fake {
        fn live(&self) -> &Live {
            &self.live
        }
        fn forget_sessions(&self) {
            self.forgotten.fetch_add(1, Ordering::SeqCst);
        }
        fn tools_changed(&self) {
            self.told.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn occ(window: usize, start: u64, end: Option<u64>, kind: FaultKind) -> Scheduled {
        Scheduled {
            window,
            fault: window,
            tool: None,
            start: Duration::from_millis(start),
            end: end.map(Duration::from_millis),
            kind,
        }
    }

    /// Runs `occurrences` under paused time; `probe` is called at each listed time (ms).
    async fn run_with(
        occurrences: Vec<Scheduled>,
        probes: &[u64],
        mut probe: impl FnMut(u64, &Fake),
    ) -> Vec<Actual> {
        let fake = Arc::new(Fake::default());
        let actual = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let runner = Runner::new(fake.clone(), occurrences, actual.clone());
        let task = tokio::spawn(runner.run(t0, CancellationToken::new()));
        for &p in probes {
            tokio::time::sleep_until(t0 + Duration::from_millis(p)).await;
            tokio::task::yield_now().await;
            probe(p, &fake);
        }
        task.await.unwrap();
        actual.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn outages_switch_the_gate_and_kill_forgets_sessions() {
        let occurrences = vec![
            occ(0, 100, Some(200), FaultKind::Outage(OutageMode::Refuse)),
            occ(1, 300, Some(400), FaultKind::Outage(OutageMode::Kill)),
            occ(2, 350, Some(500), FaultKind::Outage(OutageMode::Blackhole)),
        ];
        let want = [
            (50, Reach::Up, 0),
            (150, Reach::Refuse, 0),
            (250, Reach::Up, 0),
            (320, Reach::Refuse, 1),
            (370, Reach::Blackhole, 1),
            (450, Reach::Blackhole, 1),
            (550, Reach::Up, 1),
        ];
        let probes: Vec<u64> = want.iter().map(|w| w.0).collect();
        let actual = run_with(occurrences, &probes, |t, f| {
            let (_, reach, forgotten) = want.iter().find(|w| w.0 == t).copied().unwrap();
            assert_eq!(f.live.gate.state().reach, reach, "at {t} ms");
            assert_eq!(f.forgotten.load(Ordering::SeqCst), forgotten, "at {t} ms");
        })
        .await;
        assert_eq!(actual[0].start_ns, Some(100_000_000));
        assert_eq!(actual[2].end_ns, Some(500_000_000));
    }

    #[tokio::test(start_paused = true)]
    async fn flapping_goes_down_then_up_each_period() {
        let flap = FaultKind::Flapping {
            period: Duration::from_millis(100),
            duty: 0.5,
        };
        let probes = [10, 60, 110, 160, 210];
        let want = [
            Reach::Refuse,
            Reach::Up,
            Reach::Refuse,
            Reach::Up,
            Reach::Up,
        ];
        run_with(vec![occ(0, 0, Some(200), flap)], &probes, |t, f| {
            let i = probes.iter().position(|&p| p == t).unwrap();
            assert_eq!(f.live.gate.state().reach, want[i], "at {t} ms");
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn lists_sessions_versions_and_in_band_windows() {
        let lc = ListChangeSpec {
            add: vec!["new".into()],
            remove: vec![],
        };
        let occurrences = vec![
            occ(0, 100, None, FaultKind::SessionLoss),
            occ(1, 200, Some(300), FaultKind::ListChange(lc)),
            occ(
                2,
                250,
                None,
                FaultKind::DataChange(DataChangeSpec { version: None }),
            ),
            occ(
                3,
                400,
                Some(500),
                FaultKind::Latency(LatencyFaultSpec::Stall),
            ),
        ];
        let probes = [0, 150, 260, 350, 450, 550];
        let actual = run_with(occurrences, &probes, |t, f| {
            let fx = f.live.effects("tools/call", Some("x"), 1, false);
            let forgotten = f.forgotten.load(Ordering::SeqCst);
            let told = f.told.load(Ordering::SeqCst);
            let lists = f.live.lists().is_some();
            let stalled = fx.hold.stalls();
            let version = fx.version.unwrap_or_default();
            let got = (forgotten, told, lists, version.as_str(), stalled);
            let want = match t {
                0 => (0, 0, false, "1", 0),
                150 => (1, 0, false, "1", 0),
                260 => (1, 1, true, "2", 0),
                350 => (1, 2, false, "2", 0),
                450 => (1, 2, false, "2", 1),
                _ => (1, 2, false, "2", 0),
            };
            assert_eq!(got, want, "at {t} ms");
        })
        .await;
        assert_eq!(actual[0].start_ns, Some(100_000_000));
        assert_eq!(actual[0].end_ns, None, "a point event has no end");
    }

    #[tokio::test(start_paused = true)]
    async fn a_runner_stopping_leaves_another_runners_outage_on() {
        let fake = Arc::new(Fake::default());
        let start = |window, mode| {
            let occurrences = vec![occ(window, 0, Some(10_000), FaultKind::Outage(mode))];
            let stop = CancellationToken::new();
            let r = Runner::new(fake.clone(), occurrences, Arc::new(Mutex::new(Vec::new())));
            (tokio::spawn(r.run(Instant::now(), stop.clone())), stop)
        };
        let (a, stop_a) = start(0, OutageMode::Refuse);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (b, stop_b) = start(1, OutageMode::Blackhole);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            fake.live.gate.state().reach,
            Reach::Blackhole,
            "the latest decides"
        );
        stop_b.cancel();
        b.await.unwrap();
        assert_eq!(
            fake.live.gate.state().reach,
            Reach::Refuse,
            "the other is still on"
        );
        stop_a.cancel();
        a.await.unwrap();
        assert_eq!(fake.live.gate.state().reach, Reach::Up);
    }

    #[tokio::test(start_paused = true)]
    async fn ready_comes_once_the_steps_due_now_are_taken() {
        let fake = Arc::new(Fake::default());
        let occurrences = vec![
            occ(0, 0, Some(100), FaultKind::Outage(OutageMode::Refuse)),
            occ(1, 50, None, FaultKind::SessionLoss),
        ];
        let mut runner = Runner::new(fake.clone(), occurrences, Arc::new(Mutex::new(Vec::new())));
        let ready = runner.ready();
        let t0 = Instant::now();
        let task = tokio::spawn(runner.run(t0, CancellationToken::new()));
        ready.await.expect("told, not dropped");
        assert_eq!(t0.elapsed(), Duration::ZERO, "no wait for the later steps");
        assert_eq!(fake.live.gate.state().reach, Reach::Refuse);
        assert_eq!(fake.forgotten.load(Ordering::SeqCst), 0, "not yet due");
        task.await.unwrap();
        let mut done = Runner::new(fake.clone(), Vec::new(), Arc::new(Mutex::new(Vec::new())));
        let ready = done.ready();
        done.run(Instant::now(), CancellationToken::new()).await;
        assert!(
            ready.await.is_err(),
            "a runner with nothing to wait for ends, and that tells"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_closes_what_is_open() {
        let fake = Arc::new(Fake::default());
        let occurrences = vec![
            occ(0, 0, Some(10_000), FaultKind::Outage(OutageMode::Reset)),
            occ(
                1,
                0,
                Some(10_000),
                FaultKind::Latency(LatencyFaultSpec::Stall),
            ),
        ];
        let stop = CancellationToken::new();
        let runner = Runner::new(fake.clone(), occurrences, Arc::new(Mutex::new(Vec::new())));
        let task = tokio::spawn(runner.run(Instant::now(), stop.clone()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(fake.live.gate.state().reach, Reach::Reset);
        stop.cancel();
        task.await.unwrap();
        assert_eq!(fake.live.gate.state().reach, Reach::Up);
        assert!(fake.live.effects("ping", None, 1, false).hold.is_empty());
    }
}
