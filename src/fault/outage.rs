//! `outage`: the server cannot be reached for the window.
//!
//! At the window's start every open connection is reset — calls in flight get a transport
//! error, and pooled keep-alive connections cannot keep a down server reachable — then:
//!
//! | mode | during the window | sessions |
//! |---|---|---|
//! | `refuse` | the port is closed: connecting is refused | kept |
//! | `reset` | connections are accepted, then reset | kept |
//! | `blackhole` | connections are accepted and read; nothing is answered | kept |
//! | `kill` | the port is closed, as for a dead process | all forgotten: 404 for the old ids |
//!
//! At the end the server is back on the same port (bound again for `refuse` and `kill`), and
//! connections accepted during the window are reset.

use crate::mcp::gate::Reach;
use crate::scenario::spec::OutageMode;

/// How the server answers connections during the window.
pub fn reach(mode: OutageMode) -> Reach {
    match mode {
        OutageMode::Refuse | OutageMode::Kill => Reach::Refuse,
        OutageMode::Reset => Reach::Reset,
        OutageMode::Blackhole => Reach::Blackhole,
    }
}

/// Whether the server forgets its sessions (it went away as a process would).
pub fn forgets_sessions(mode: OutageMode) -> bool {
    mode == OutageMode::Kill
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_by_table() {
        let cases = [
            (OutageMode::Refuse, Reach::Refuse, false),
            (OutageMode::Reset, Reach::Reset, false),
            (OutageMode::Blackhole, Reach::Blackhole, false),
            (OutageMode::Kill, Reach::Refuse, true),
        ];
        for (mode, r, forgets) in cases {
            assert_eq!(reach(mode), r, "{mode:?}");
            assert_eq!(forgets_sessions(mode), forgets, "{mode:?}");
        }
    }
}
