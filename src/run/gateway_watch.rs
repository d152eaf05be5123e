//! A launched gateway watched from /proc once a second: its tree's CPU, RSS, processes and
//! stdio backends, and its exit as an event.

use super::procstat;
use crate::gateway::process;
use crate::metrics::Recorder;
use crate::sample::{Event, EventKind};
use tokio::time::Instant;

/// A launched gateway, seen from /proc once a second.
pub struct GatewayWatch {
    pid: Option<u32>,
    cpu_ticks: u64,
    exited: bool,
}

impl GatewayWatch {
    pub fn new(pid: Option<u32>) -> GatewayWatch {
        let cpu_ticks = pid.map_or(0, |p| process::usage(p).cpu_ticks);
        GatewayWatch {
            pid,
            cpu_ticks,
            exited: false,
        }
    }

    pub fn tick(&mut self, recorder: &mut Recorder, second: i64, wall_s: f64, t0: Instant) {
        let Some(pid) = self.pid else { return };
        let u = process::usage(pid);
        let ticks = u.cpu_ticks.saturating_sub(self.cpu_ticks);
        self.cpu_ticks = u.cpu_ticks.max(self.cpu_ticks);
        let pct = 100.0 * ticks as f64 / procstat::clock_ticks_per_s() / wall_s;
        recorder.record_gateway(second, pct, u.rss_bytes, u.processes, u.backends);
        if !self.exited && !process::alive(pid) {
            self.exited = true;
            recorder.add_event(&Event {
                at_ns: t0.elapsed().as_nanos() as i64,
                kind: EventKind::Note {
                    text: "the gateway process exited".into(),
                },
            });
        }
    }
}
