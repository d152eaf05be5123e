//! [`Hold`]: the waiting a request does before its work starts — added latency, stalls until
//! a window closes, a cold start — gathered by the faults on now and waited once.

use crate::mcp::service::Handled;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Waiting a request does before its work starts.
#[derive(Debug, Default)]
pub struct Hold {
    added: Duration,
    stalls: Vec<CancellationToken>,
    until: Option<Instant>,
}

impl Hold {
    pub fn add(&mut self, d: Duration) {
        self.added += d;
    }

    /// Holds until `end` fires (a stall's window closes).
    pub fn stall_until(&mut self, end: CancellationToken) {
        self.stalls.push(end);
    }

    /// Holds until `at` at least.
    pub fn wait_until(&mut self, at: Instant) {
        self.until = Some(self.until.map_or(at, |u| u.max(at)));
    }

    pub fn added(&self) -> Duration {
        self.added
    }

    pub fn stalls(&self) -> usize {
        self.stalls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_zero() && self.stalls.is_empty() && self.until.is_none()
    }

    /// Waits: stalls first, then a cold start, then the added delay.
    pub async fn wait(self) {
        for s in self.stalls {
            s.cancelled().await;
        }
        if let Some(at) = self.until {
            tokio::time::sleep_until(at).await;
        }
        if !self.added.is_zero() {
            tokio::time::sleep(self.added).await;
        }
    }

    /// The request's work, after the hold.
    pub fn wrap(self, h: Handled) -> Handled {
        if self.is_empty() {
            return h;
        }
        let reply = h.reply;
        Handled {
            stream: h.stream,
            reply: Box::pin(async move {
                self.wait().await;
                reply.await
            }),
        }
    }
}
