//! `errors`: a call answered with a failure instead of its result — a JSON-RPC error (code,
//! message), a result with `isError: true`, or an HTTP status (500, 502, 503, 429 with
//! Retry-After) — each entry of the mix at its rate. Which failure a call gets, if any, is
//! one draw of its own key: the same calls fail with the same seed.
//!
//! Only tools/call is affected; with `tool:`, only that tool's calls.

use crate::catalog::{ErrorMix, Failure};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The failure for a draw `u` in [0, 1): the entry whose share of [0, 1) it falls in.
pub fn pick(mix: &[ErrorMix], u: f64) -> Option<Failure> {
    let mut cumulative = 0.0;
    mix.iter().find_map(|e| {
        cumulative += e.rate;
        (u < cumulative).then(|| e.failure.clone())
    })
}

/// As written in a scenario: `{ rate: 20%, rpc: { code: -32603, message: … } }`,
/// `{ rate: 5%, tool_error: … }`, `{ rate: 1%, http: 429, retry_after: 2s }`.
impl Serialize for ErrorMix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rate", &format!("{}%", (self.rate * 1e6).round() / 1e4))?;
        match &self.failure {
            Failure::Rpc { code, message } => {
                m.serialize_entry(
                    "rpc",
                    &serde_json::json!({"code": code, "message": message}),
                )?;
            }
            Failure::ToolError(message) => m.serialize_entry("tool_error", message)?,
            Failure::Http {
                status,
                retry_after_s,
            } => {
                m.serialize_entry("http", status)?;
                if let Some(r) = retry_after_s {
                    m.serialize_entry("retry_after", &format!("{r}s"))?;
                }
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::mix;

    fn entry(rate: f64, failure: Failure) -> ErrorMix {
        ErrorMix { rate, failure }
    }

    #[test]
    fn each_entry_takes_its_share() {
        let rpc = Failure::Rpc {
            code: -32603,
            message: "Internal error".into(),
        };
        let http = Failure::Http {
            status: 503,
            retry_after_s: None,
        };
        let m = vec![entry(0.2, rpc.clone()), entry(0.1, http.clone())];
        // (draw, failure)
        let cases = [
            (0.0, Some(rpc.clone())),
            (0.199, Some(rpc.clone())),
            (0.2, Some(http.clone())),
            (0.299, Some(http)),
            (0.31, None),
            (0.999, None),
        ];
        for (u, want) in cases {
            assert_eq!(pick(&m, u), want, "u = {u}");
        }
        let n = 10_000u64;
        let failed = (0..n)
            .filter(|&k| pick(&m, super::super::draw(3, 0, mix(k), 0)).is_some())
            .count();
        assert!((failed as f64 / n as f64 - 0.3).abs() < 0.02);
    }

    #[test]
    fn entries_serialize_as_written() {
        let e = entry(
            0.2,
            Failure::Http {
                status: 429,
                retry_after_s: Some(2),
            },
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"rate":"20%","http":429,"retry_after":"2s"}"#
        );
        let e = entry(0.005, Failure::ToolError("down".into()));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"rate":"0.5%","tool_error":"down"}"#
        );
    }
}
