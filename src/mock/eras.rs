//! What a mock's clients spoke: requests counted per (revision, transport), for results.json
//! (`served`) — under a gateway, how the gateway reached each server.

use crate::mcp::protocol::Version;
use crate::mcp::service::TransportKind;
use std::sync::atomic::{AtomicU64, Ordering};

const TRANSPORTS: [TransportKind; 3] = [
    TransportKind::Http,
    TransportKind::HttpSse,
    TransportKind::Stdio,
];

/// Requests per (revision, transport); one relaxed increment per request.
pub struct Eras {
    counts: [AtomicU64; Version::ALL.len() * TRANSPORTS.len()],
}

impl Default for Eras {
    fn default() -> Self {
        Eras {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

fn slot(v: Version, t: TransportKind) -> usize {
    let ti = TRANSPORTS.iter().position(|x| *x == t).unwrap_or(0);
    v as usize * TRANSPORTS.len() + ti
}

impl Eras {
    pub fn count(&self, v: Version, t: TransportKind) {
        self.counts[slot(v, t)].fetch_add(1, Ordering::Relaxed);
    }

    /// Every (revision, transport) seen, with its request count, oldest revision first.
    pub fn seen(&self) -> Vec<(Version, TransportKind, u64)> {
        let mut out = Vec::new();
        for v in Version::ALL {
            for t in TRANSPORTS {
                let n = self.counts[slot(v, t)].load(Ordering::Relaxed);
                if n > 0 {
                    out.push((v, t, n));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_revision_and_transport() {
        let e = Eras::default();
        e.count(Version::V2026_07_28, TransportKind::Http);
        e.count(Version::V2026_07_28, TransportKind::Http);
        e.count(Version::V2024_11_05, TransportKind::HttpSse);
        e.count(Version::V2025_06_18, TransportKind::Stdio);
        assert_eq!(
            e.seen(),
            [
                (Version::V2024_11_05, TransportKind::HttpSse, 1),
                (Version::V2025_06_18, TransportKind::Stdio, 1),
                (Version::V2026_07_28, TransportKind::Http, 2),
            ]
        );
    }
}
