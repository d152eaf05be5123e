//! `session_loss`: at its time the server forgets every session, as a server that lost its
//! session store would: a request with an old `Mcp-Session-Id` gets 404, and the client must
//! initialize again. Connections, the port and everything else are untouched. A point event
//! (`for:` is not needed; given, it changes nothing).

use super::target::FaultTarget;

/// What happens at the fault's time.
pub fn apply(target: &dyn FaultTarget) {
    target.forget_sessions();
}
