//! `crash`: a stdio server's process exits — at the fault's time (`crash: exit`) or once it has
//! answered N more calls from then (`crash: { after_calls: N }`). The process reports its exit
//! over the back-channel first (`process` event, reason `crash`) and exits with status 70
//! (the stdio mock linked to its run does it). Every process of the server does so (the driver spawns one per
//! session; each counts its own calls). HTTP servers have `outage: kill` instead.

use crate::scenario::spec::CrashSpec;
use serde::{Serialize, Serializer};

impl Serialize for CrashSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CrashSpec::Exit => s.serialize_str("exit"),
            CrashSpec::AfterCalls(n) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("after_calls", n)?;
                m.end()
            }
        }
    }
}
