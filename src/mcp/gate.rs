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
//!
//! Closing and binding the port again take the server a moment; it reports the reach it has put
//! into effect ([`Gate::served`]), and [`Gate::settled`] waits for it, so that whoever switched
//! the gate (the control API) can answer only once the port does what it was told.

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
    /// The reach the server following the gate has put into effect; `None` while none does.
    served: watch::Sender<Option<Reach>>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            tx: watch::Sender::new(GateState {
                reach: Reach::Up,
                epoch: 0,
            }),
            served: watch::Sender::new(None),
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

    /// The server following the gate now does `reach` (its port is closed or listening as
    /// `reach` wants); `None` when it stops following.
    pub fn served(&self, reach: Option<Reach>) {
        self.served.send_if_modified(|s| {
            let changed = *s != reach;
            *s = reach;
            changed
        });
    }

    /// Resolves once the server following the gate does what the gate says now (at once when
    /// no server follows it).
    pub async fn settled(&self) {
        let mut want = self.tx.subscribe();
        let mut served = self.served.subscribe();
        loop {
            let reach = want.borrow_and_update().reach;
            if served.borrow_and_update().is_none_or(|r| r == reach) {
                return;
            }
            // Both senders live as long as `self`: neither wait can fail.
            tokio::select! {
                _ = want.changed() => {}
                _ = served.changed() => {}
            }
        }
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
    use std::time::Duration;

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

    #[tokio::test(start_paused = true)]
    async fn settled_waits_for_the_server_to_follow() {
        let g = std::sync::Arc::new(Gate::default());
        g.set(Reach::Refuse);
        tokio::time::timeout(Duration::from_secs(1), g.settled())
            .await
            .expect("no server follows: settled at once");
        g.served(Some(Reach::Up));
        let waiting = tokio::spawn({
            let g = g.clone();
            async move { g.settled().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the port is still open");
        g.served(Some(Reach::Refuse));
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("settled once the port closed")
            .expect("no panic");
        g.set(Reach::Up);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), g.settled())
                .await
                .is_err(),
            "not bound again yet"
        );
    }
}
