//! [`Live`]: one mock server's faults at this moment. The [`runner`](super::runner) switches
//! them; the request path asks [`Live::effects`] what they do to a request as it arrives.
//!
//! With no fault on (the usual case), [`Live::effects`] reads one atomic flag and returns: a
//! timeline of inactive windows costs the request path nothing else.

use super::data_change::Versions;
use super::hold::Hold;
use super::list_change::Changed;
use super::slow_start::{self, Cold};
use super::{Scheduled, draw, errors, latency, malformed};
use crate::catalog::Failure;
use crate::mcp::gate::{Gate, Reach};
use crate::mcp::wire_fault::WireFault;
use crate::scenario::FaultKind;
use crate::scenario::spec::ListChangeSpec;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One server's faults now.
pub struct Live {
    /// The run's seed mixed with the server's name.
    seed: u64,
    /// Whether the server can be reached (outages, flapping).
    pub gate: Arc<Gate>,
    /// Anything on: in-band windows, a changed tool list, data versions.
    busy: AtomicBool,
    state: RwLock<State>,
    /// Windows keeping the server unreachable, latest last: (window, reach).
    down: std::sync::Mutex<Vec<(usize, Reach)>>,
}

#[derive(Default)]
struct State {
    active: Vec<Active>,
    lists: Option<Arc<Changed>>,
    versions: Option<Versions>,
    /// The server's own cold start (`servers.X.startup`), until it is warm.
    startup: Option<Startup>,
}

/// A cold start of the server itself: a slow start that needs no window.
struct Startup {
    delay: Duration,
    cold: Cold,
}

/// An in-band fault whose window is open.
struct Active {
    window: usize,
    fault: usize,
    tool: Option<String>,
    kind: FaultKind,
    /// Fires when the window closes (stalled requests go on then).
    ends: CancellationToken,
    cold: Cold,
}

impl Active {
    /// Whether the fault covers a request: a server-wide one covers every request, a tool's
    /// only that tool's calls.
    fn covers(&self, is_call: bool, tool: Option<&str>) -> bool {
        match &self.tool {
            None => true,
            Some(t) => is_call && tool == Some(t.as_str()),
        }
    }
}

impl Startup {
    /// Holds a waking request until the server is ready; true once it is warm.
    fn wait(&self, method: &str, stateless: bool, hold: &mut Hold) -> bool {
        let now = Instant::now();
        if !slow_start::wakes(method, stateless) {
            return self.cold.is_warm(now);
        }
        match self.cold.hold(self.delay, now) {
            Some(at) => {
                hold.wait_until(at);
                false
            }
            None => true,
        }
    }
}

/// What the faults do to one request.
#[derive(Debug, Default)]
pub struct Effects {
    /// Waiting before the work starts.
    pub hold: Hold,
    /// A tools/call answered with this instead of its result.
    pub failure: Option<Failure>,
    /// A tools/call answer broken on the wire.
    pub wire: Option<WireFault>,
    /// The data version a tools/call result carries.
    pub version: Option<String>,
}

impl Live {
    pub fn new(seed: u64) -> Live {
        Live {
            seed,
            gate: Arc::new(Gate::default()),
            busy: AtomicBool::new(false),
            state: RwLock::new(State::default()),
            down: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let mut s = self.write();
        f(&mut s);
        let busy = !s.active.is_empty()
            || s.lists.is_some()
            || s.versions.is_some()
            || s.startup.is_some();
        self.busy.store(busy, Ordering::Release);
    }

    /// Whether any fault is on (the request path skips everything else when not).
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// What the faults on now do to a request: `method`, the tool of a tools/call, the call's
    /// key (its call id, or what stands in for one), and whether it is a 2026-07-28 request.
    pub fn effects(&self, method: &str, tool: Option<&str>, key: u64, stateless: bool) -> Effects {
        let mut fx = Effects::default();
        if !self.busy.load(Ordering::Acquire) {
            return fx;
        }
        let is_call = method == "tools/call";
        let s = self.read();
        let warm = s
            .startup
            .as_ref()
            .is_some_and(|st| st.wait(method, stateless, &mut fx.hold));
        if is_call {
            fx.version = s.versions.as_ref().map(|v| v.of(tool).to_owned());
        }
        for a in s.active.iter().filter(|a| a.covers(is_call, tool)) {
            match &a.kind {
                FaultKind::Latency(l) => {
                    latency::apply(l, self.seed, a.fault, key, &a.ends, &mut fx.hold);
                }
                FaultKind::Errors(mix) if is_call && fx.failure.is_none() => {
                    fx.failure = errors::pick(mix, draw(self.seed, a.fault, key, 0));
                }
                FaultKind::Malformed(m) if is_call && fx.wire.is_none() => {
                    fx.wire = Some(malformed::wire(*m));
                }
                FaultKind::SlowStart(d) if slow_start::wakes(method, stateless) => {
                    if let Some(at) = a.cold.hold(*d, Instant::now()) {
                        fx.hold.wait_until(at);
                    }
                }
                _ => {}
            }
        }
        drop(s);
        if warm {
            self.update(|s| s.startup = None);
        }
        fx
    }

    /// The server starts cold (`servers.X.startup`, docs/scenario.md, "Servers"): waking requests
    /// (initialize; any request in the 2026-07-28 era) wait until `delay` after the first of them,
    /// as in a `slow_start` window. `booting`: the clock starts now instead (a process that starts
    /// up as it is spawned); the instant it is ready is returned then.
    pub fn starts_cold(&self, delay: Duration, booting: bool) -> Option<Instant> {
        if delay.is_zero() {
            return None;
        }
        let cold = Cold::default();
        let ready = booting.then(|| cold.hold(delay, Instant::now())).flatten();
        self.update(|s| s.startup = Some(Startup { delay, cold }));
        ready
    }

    /// Opens an in-band window.
    pub fn activate(&self, o: &Scheduled) {
        let a = Active {
            window: o.window,
            fault: o.fault,
            tool: o.tool.clone(),
            kind: o.kind.clone(),
            ends: CancellationToken::new(),
            cold: Cold::default(),
        };
        self.update(|s| s.active.push(a));
    }

    /// Closes an in-band window; requests it stalls go on.
    pub fn deactivate(&self, window: usize) {
        self.update(|s| {
            s.active.retain(|a| {
                let keep = a.window != window;
                if !keep {
                    a.ends.cancel();
                }
                keep
            });
        });
    }

    /// Window `window` makes the server unreachable (`Some`) or no longer does (`None`); the
    /// latest window still down decides the gate.
    pub fn set_down(&self, window: usize, reach: Option<Reach>) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        down.retain(|&(w, _)| w != window);
        if let Some(r) = reach {
            down.push((window, r));
        }
        self.gate.set(down.last().map_or(Reach::Up, |&(_, r)| r));
    }

    /// Applies (or undoes) a list change.
    pub fn change_lists(&self, spec: &ListChangeSpec, undo: bool) {
        self.update(|s| {
            let now = s.lists.as_deref().cloned().unwrap_or_default();
            let next = now.with(spec, undo);
            s.lists = (!next.is_empty()).then(|| Arc::new(next));
        });
    }

    /// The tool list as changed now, if it is.
    pub fn lists(&self) -> Option<Arc<Changed>> {
        if !self.busy.load(Ordering::Acquire) {
            return None;
        }
        self.read().lists.clone()
    }

    /// From now on, results carry data versions (a data change is on the timeline).
    pub fn track_versions(&self) {
        self.update(|s| {
            s.versions.get_or_insert_with(Versions::default);
        });
    }

    /// A data change.
    pub fn change_version(&self, tool: Option<&str>, to: Option<&str>) {
        self.update(|s| {
            s.versions
                .get_or_insert_with(Versions::default)
                .change(tool, to)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ErrorMix;
    use crate::dist::DurationDist;
    use crate::scenario::spec::{LatencyFaultSpec, MalformedSpec};
    use crate::units::Dur;

    fn on(window: usize, tool: Option<&str>, kind: FaultKind) -> Scheduled {
        Scheduled {
            window,
            fault: window,
            tool: tool.map(str::to_owned),
            start: Duration::ZERO,
            end: Some(Duration::from_secs(1)),
            kind,
        }
    }

    fn errors_all() -> FaultKind {
        FaultKind::Errors(vec![ErrorMix {
            rate: 1.0,
            failure: Failure::Rpc {
                code: -32603,
                message: "boom".into(),
            },
        }])
    }

    fn fixed(ms: u64) -> FaultKind {
        FaultKind::Latency(LatencyFaultSpec::Add(DurationDist::Fixed(Dur(
            Duration::from_millis(ms),
        ))))
    }

    #[test]
    fn nothing_on_changes_nothing() {
        let live = Live::new(1);
        let fx = live.effects("tools/call", Some("a"), 5, false);
        assert!(fx.hold.is_empty() && fx.failure.is_none() && fx.wire.is_none());
        assert!(fx.version.is_none() && live.lists().is_none());
        live.activate(&on(0, None, errors_all()));
        live.deactivate(0);
        let fx = live.effects("tools/call", Some("a"), 5, false);
        assert!(fx.failure.is_none(), "a closed window changes nothing");
    }

    #[test]
    fn scope_by_table() {
        // (fault's tool, method, call's tool, failure?, added ms)
        let cases = [
            (None, "tools/call", Some("a"), true, 10),
            (None, "tools/list", None, false, 10),
            (Some("a"), "tools/call", Some("a"), true, 10),
            (Some("a"), "tools/call", Some("b"), false, 0),
            (Some("a"), "ping", None, false, 0),
        ];
        for (ftool, method, tool, fails, added) in cases {
            let live = Live::new(1);
            live.activate(&on(0, ftool, errors_all()));
            live.activate(&on(1, ftool, fixed(10)));
            let fx = live.effects(method, tool, 5, false);
            let what = format!("{ftool:?} {method} {tool:?}");
            assert_eq!(fx.failure.is_some(), fails, "{what}");
            assert_eq!(fx.hold.added(), Duration::from_millis(added), "{what}");
        }
    }

    #[test]
    fn malformed_and_versions_reach_calls_only() {
        let live = Live::new(1);
        live.activate(&on(0, None, FaultKind::Malformed(MalformedSpec::WrongId)));
        live.track_versions();
        let fx = live.effects("tools/call", Some("a"), 5, false);
        assert_eq!(fx.wire, Some(WireFault::WrongId));
        assert_eq!(fx.version.as_deref(), Some("1"));
        live.change_version(Some("a"), None);
        assert_eq!(
            live.effects("tools/call", Some("a"), 5, false)
                .version
                .as_deref(),
            Some("2")
        );
        let fx = live.effects("tools/list", None, 5, false);
        assert!(fx.wire.is_none() && fx.version.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_holds_until_its_window_closes() {
        let live = Arc::new(Live::new(1));
        live.activate(&on(3, None, FaultKind::Latency(LatencyFaultSpec::Stall)));
        let fx = live.effects("tools/call", Some("a"), 5, false);
        let t = Instant::now();
        let closer = {
            let live = live.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(4)).await;
                live.deactivate(3);
            })
        };
        fx.hold.wait().await;
        assert_eq!(t.elapsed(), Duration::from_secs(4));
        closer.await.unwrap();
        assert!(
            live.effects("tools/call", Some("a"), 6, false)
                .hold
                .is_empty()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn startup_holds_the_first_initialize_then_costs_nothing() {
        let live = Live::new(1);
        assert_eq!(live.starts_cold(Duration::ZERO, true), None);
        assert!(!live.is_busy(), "no startup: nothing on");
        live.starts_cold(Duration::from_millis(800), false);
        assert!(
            live.effects("tools/call", Some("a"), 1, false)
                .hold
                .is_empty()
        );
        let t = Instant::now();
        let first = live.effects("initialize", None, 2, false);
        tokio::time::advance(Duration::from_millis(300)).await;
        let waiting = live.effects("tools/call", Some("a"), 3, true);
        assert!(!waiting.hold.is_empty(), "a 2026-07-28 request waits too");
        first.hold.wait().await;
        assert_eq!(t.elapsed(), Duration::from_millis(800));
        assert!(live.is_busy(), "warm, not yet seen warm");
        assert!(live.effects("ping", None, 4, false).hold.is_empty());
        assert!(!live.is_busy(), "warm: the request path skips faults again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_booting_startup_counts_from_now() {
        let live = Live::new(1);
        let t = Instant::now();
        let ready = live.starts_cold(Duration::from_millis(500), true);
        assert_eq!(ready, Some(t + Duration::from_millis(500)));
        tokio::time::advance(Duration::from_millis(200)).await;
        let fx = live.effects("initialize", None, 1, false);
        fx.hold.wait().await;
        assert_eq!(t.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_start_holds_initialize_only() {
        let live = Live::new(1);
        live.activate(&on(
            0,
            None,
            FaultKind::SlowStart(Duration::from_millis(800)),
        ));
        assert!(
            live.effects("tools/call", Some("a"), 1, false)
                .hold
                .is_empty()
        );
        let t = Instant::now();
        live.effects("initialize", None, 2, false).hold.wait().await;
        assert_eq!(t.elapsed(), Duration::from_millis(800));
        assert!(
            live.effects("initialize", None, 3, false).hold.is_empty(),
            "warm now"
        );
    }
}
