//! Stable hashes shared by every process of a run: FNV-1a 64 over bytes, and over the compact
//! JSON of a call's arguments (the driver and the mocks compute the same value).

use serde_json::Value;
use std::io::Write;

/// FNV-1a 64 of some bytes (stable across processes and runs).
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FNV-1a over the compact JSON of the arguments: stable across processes and runs, so the
/// driver and the mocks compute the same hash. Object keys are sorted (serde_json's map).
pub fn args_hash(args: Option<&serde_json::Map<String, Value>>) -> u64 {
    struct Fnv(u64);
    impl Write for Fnv {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for b in buf {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    match args {
        Some(a) => {
            let _ = serde_json::to_writer(&mut h, a);
        }
        None => {
            let _ = h.write(b"{}");
        }
    }
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn args_hash_ignores_key_order() {
        let a = json!({"x": 1, "y": "z"});
        let b = json!({"y": "z", "x": 1});
        assert_eq!(args_hash(a.as_object()), args_hash(b.as_object()));
        assert_ne!(args_hash(a.as_object()), args_hash(None));
    }
}
