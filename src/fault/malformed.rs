//! `malformed`: every call the fault covers gets a broken answer (the HTTP front end breaks it:
//! [`crate::mcp::wire_fault`]):
//!
//! | setting | what the client reads |
//! |---|---|
//! | `invalid_json` | a body (or SSE event) that is not JSON |
//! | `wrong_id` | a response whose id is not the request's |
//! | `cut_sse` | an SSE stream cut in the middle of the response (the call is answered as SSE) |
//! | `{ drip: 5s }` | the whole answer, in small chunks spread over 5 s |
//!
//! Only tools/call over Streamable HTTP is affected; the first three are `protocol` outcomes
//! for the driver, a drip is slow but correct.

use crate::mcp::wire_fault::WireFault;
use crate::scenario::spec::MalformedSpec;
use serde::{Serialize, Serializer};

/// What the front end does to the answer.
pub fn wire(m: MalformedSpec) -> WireFault {
    match m {
        MalformedSpec::InvalidJson => WireFault::InvalidJson,
        MalformedSpec::WrongId => WireFault::WrongId,
        MalformedSpec::CutSse => WireFault::CutSse,
        MalformedSpec::Drip(d) => WireFault::Drip(d.0),
    }
}

impl Serialize for MalformedSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MalformedSpec::InvalidJson => s.serialize_str("invalid_json"),
            MalformedSpec::WrongId => s.serialize_str("wrong_id"),
            MalformedSpec::CutSse => s.serialize_str("cut_sse"),
            MalformedSpec::Drip(d) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("drip", &crate::units::format_duration(d.0))?;
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Dur;
    use std::time::Duration;

    #[test]
    fn settings_by_table() {
        let d = Duration::from_secs(2);
        let cases = [
            (MalformedSpec::InvalidJson, WireFault::InvalidJson),
            (MalformedSpec::WrongId, WireFault::WrongId),
            (MalformedSpec::CutSse, WireFault::CutSse),
            (MalformedSpec::Drip(Dur(d)), WireFault::Drip(d)),
        ];
        for (m, w) in cases {
            assert_eq!(wire(m), w);
        }
    }
}
