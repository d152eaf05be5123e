//! [`FaultTarget`]: what a fault acts on — a mock server, in process or over stdio.

use super::live::Live;

/// What a fault acts on: a mock server.
pub trait FaultTarget: Send + Sync + 'static {
    /// Its faults now.
    fn live(&self) -> &Live;
    /// Forgets every session (404 for the old ids).
    fn forget_sessions(&self);
    /// Tells every open stream that the tool list changed.
    fn tools_changed(&self);
    /// Ends the server's process (stdio servers; nothing for others).
    fn crash(&self, _spec: crate::scenario::spec::CrashSpec) {}
}
