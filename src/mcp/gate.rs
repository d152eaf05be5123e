//! Whether an HTTP server can be reached: the switch that connection-level faults (outages,
//! flapping, a killed server) turn. [`super::http::serve_gated`] follows it:
//!
//! | [`Reach`] | the port | a connection |
//! |---|---|---|
//! | `Up` | listening | served |
//! | `Refuse` | closed: connecting is refused; bound again (same port) when the gate opens | — |
//! | `Reset` | listening | accepted, then reset (RST) |
//! | `Blackhole` | listening | accepted and read; nothing is ever answered |
//!
//! Every change of reach drops every open connection (RST), so that neither a call in flight
//! nor a pooled keep-alive connection outlives the change.

use tokio::sync::watch;

/// How a server answers connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Up,
    Refuse,
    Reset,
    Blackhole,
}

/// The gate's state: its reach, and how many times connections were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateState {
    pub reach: Reach,
    /// Bumped whenever every open connection must go.
    pub epoch: u64,
}

/// The switch. Cheap to watch: connections compare epochs only when it changes.
pub struct Gate {
    tx: watch::Sender<GateState>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            tx: watch::Sender::new(GateState {
                reach: Reach::Up,
                epoch: 0,
            }),
        }
    }
}

impl Gate {
    /// Sets the reach; a change drops every open connection.
    pub fn set(&self, reach: Reach) {
        self.tx.send_if_modified(|s| {
            if s.reach == reach {
                return false;
            }
            s.reach = reach;
            s.epoch += 1;
            true
        });
    }

    /// Drops every open connection without changing the reach.
    pub fn drop_connections(&self) {
        self.tx.send_modify(|s| s.epoch += 1);
    }

    pub fn state(&self) -> GateState {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<GateState> {
        self.tx.subscribe()
    }
}

/// Resolves when the gate's epoch moves past `epoch` (never, if the gate is gone).
pub async fn dropped(rx: &mut watch::Receiver<GateState>, epoch: u64) {
    if rx.wait_for(|s| s.epoch != epoch).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_of_reach_bumps_the_epoch_once() {
        let g = Gate::default();
        let mut rx = g.subscribe();
        g.set(Reach::Up);
        assert_eq!(g.state().epoch, 0, "no change, no drop");
        g.set(Reach::Refuse);
        g.set(Reach::Refuse);
        assert_eq!(
            g.state(),
            GateState {
                reach: Reach::Refuse,
                epoch: 1
            }
        );
        dropped(&mut rx, 0).await;
        g.drop_connections();
        assert_eq!(g.state().epoch, 2);
        g.set(Reach::Up);
        assert_eq!(
            g.state(),
            GateState {
                reach: Reach::Up,
                epoch: 3
            }
        );
    }
}
