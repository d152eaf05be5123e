//! `slow_start`: the server starts cold. In the window, the first initialize — or, in the
//! 2026-07-28 era, which has no initialize, the first request — is answered after the delay, as
//! a lazily started server would be; requests that would wake it and arrive while it warms up
//! wait with it. Once warm, nothing more is delayed in that window.
//!
//! A server's own `startup` (docs/scenario.md, "Servers") is the same cold start for the server's
//! whole life ([`super::Live::starts_cold`]).

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Whether a request wakes a cold server.
pub fn wakes(method: &str, stateless: bool) -> bool {
    method == "initialize" || stateless
}

/// One window's cold start: when the server is ready, once something woke it.
#[derive(Debug, Default)]
pub struct Cold {
    ready_at: Mutex<Option<Instant>>,
}

impl Cold {
    /// Until when a waking request that arrives `now` is held (`None`: the server is warm).
    pub fn hold(&self, delay: Duration, now: Instant) -> Option<Instant> {
        let mut ready = self.ready_at.lock().unwrap_or_else(|p| p.into_inner());
        match *ready {
            None => {
                let at = now + delay;
                *ready = Some(at);
                Some(at)
            }
            Some(at) if now < at => Some(at),
            Some(_) => None,
        }
    }

    /// Whether the server was woken and is ready by `now`.
    pub fn is_warm(&self, now: Instant) -> bool {
        let ready = self.ready_at.lock().unwrap_or_else(|p| p.into_inner());
        ready.is_some_and(|at| now >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_waking_request_starts_the_clock_and_later_ones_share_it() {
        let cold = Cold::default();
        let d = Duration::from_millis(800);
        let t = Instant::now();
        assert_eq!(cold.hold(d, t), Some(t + d));
        tokio::time::advance(Duration::from_millis(300)).await;
        assert_eq!(
            cold.hold(d, Instant::now()),
            Some(t + d),
            "waits with the first"
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(cold.is_warm(Instant::now()));
        assert_eq!(cold.hold(d, Instant::now()), None, "warm");
        assert!(!Cold::default().is_warm(Instant::now()), "never woken");
        assert!(wakes("initialize", false) && wakes("tools/call", true));
        assert!(!wakes("tools/call", false));
    }
}
