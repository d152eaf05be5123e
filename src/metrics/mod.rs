//! Metrics (docs/architecture.md, docs/metrics.md): [`Sample`](crate::sample::Sample)s and
//! [`Event`](crate::sample::Event)s in, a [`Summary`] — results.json — out.
//!
//! - [`hist`]: the HDR histogram conventions (1 µs – 1 h, 3 significant digits, µs) and the
//!   base64 V2 compressed encoding embedded in results.json.
//! - [`recorder`]: [`Recorder::add`] in O(1) amortised; [`Recorder::finish`] → [`Summary`].
//! - [`series`]: the per-second series by intended start, with memory flat in run length.
//! - [`summary`]: the results.json contract; [`figures`]: its derived figures and verdicts.
//! - [`derive`](mod@derive): calls classified ([`classify`]; the setup and the classified call are
//!   [`classified`]'s) and fed to one accumulator per figure:
//!   [`cache`], [`recovery`], [`cold`], [`capacity`], [`overhead`].

pub mod cache;
pub mod capacity;
pub mod classified;
pub mod classify;
pub mod cold;
pub mod derive;
pub mod figures;
pub mod hist;
pub mod overhead;
pub mod recorder;
pub mod recovery;
pub mod series;
pub mod summary;
#[cfg(test)]
pub(crate) mod testkit;

pub use recorder::{Recorder, RunMeta, phase_lengths};
pub use summary::{FaultWindow, Summary};

use crate::mcp::outcome::Outcome;

/// How many outcome classes there are.
pub const CLASS_COUNT: usize = 9;

/// The outcome classes in report order; [`class_index`] maps an outcome into it.
pub const OUTCOME_CLASSES: [&str; CLASS_COUNT] = [
    "ok",
    "tool_error",
    "rpc_error",
    "http_error",
    "transport",
    "timeout",
    "protocol",
    "dropped",
    "client_error",
];

/// The index of `ok` in [`OUTCOME_CLASSES`].
pub const OK: usize = 0;

/// The index of an outcome's class in [`OUTCOME_CLASSES`].
pub fn class_index(o: Outcome) -> usize {
    match o {
        Outcome::Ok => OK,
        Outcome::ToolError => 1,
        Outcome::RpcError(_) => 2,
        Outcome::HttpError(_) => 3,
        Outcome::Transport(_) => 4,
        Outcome::Timeout => 5,
        Outcome::Protocol(_) => 6,
        Outcome::Dropped => 7,
        Outcome::ClientError => 8,
    }
}

/// Whether an outcome carries a detail (`rpc_error:-32603`) besides its class.
pub fn has_detail(o: Outcome) -> bool {
    matches!(
        o,
        Outcome::RpcError(_) | Outcome::HttpError(_) | Outcome::Transport(_) | Outcome::Protocol(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::outcome::{ProtocolError, TransportError};

    #[test]
    fn class_table_matches_the_sample_contract() {
        let all = [
            Outcome::Ok,
            Outcome::ToolError,
            Outcome::RpcError(-32603),
            Outcome::HttpError(503),
            Outcome::Transport(TransportError::Reset),
            Outcome::Timeout,
            Outcome::Protocol(ProtocolError::BadSse),
            Outcome::Dropped,
            Outcome::ClientError,
        ];
        for (i, o) in all.into_iter().enumerate() {
            assert_eq!(class_index(o), i);
            assert_eq!(OUTCOME_CLASSES[i], o.class());
            assert_eq!(has_detail(o), o.to_string().contains(':'), "{o}");
        }
    }
}
