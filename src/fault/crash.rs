//! `crash`: a stdio server's process exits — at the fault's time (`crash: exit`) or after it
//! has answered N calls (`crash: { after_calls: N }`). Checked by `gauntlet check`; running it
//! needs the stdio back-channel, which is not built yet, so `gauntlet run` refuses it.

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
