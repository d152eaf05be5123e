//! The retry budget: retries of cacheable (idempotent) calls are paid from a token bucket that
//! every call fills by `budget` tokens (10 % by default: one retry per ten calls, over time),
//! holding at most [`CAP`] tokens and starting with [`START`], so that a failing backend sees
//! at most that share of extra calls instead of a retry storm.

use std::sync::atomic::{AtomicU64, Ordering};

/// Retries the bucket starts with (a few before traffic has paid for them).
pub const START: u64 = 10;
/// Retries the bucket holds at most.
pub const CAP: u64 = 100;

/// Tokens are counted in thousandths of a retry.
const ONE: u64 = 1000;

#[derive(Debug)]
pub struct Budget {
    per_call: u64,
    tokens: AtomicU64,
}

impl Budget {
    /// `share`: retries per call (0.1 = 10 %).
    pub fn new(share: f64) -> Budget {
        Budget {
            per_call: (share.clamp(0.0, 1.0) * ONE as f64).round() as u64,
            tokens: AtomicU64::new(START * ONE),
        }
    }

    /// A call was made: pay into the bucket.
    pub fn deposit(&self) {
        if self.per_call > 0 {
            let _ = self
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                    Some((t + self.per_call).min(CAP * ONE))
                });
        }
    }

    /// Takes one retry from the bucket, if there is one.
    pub fn withdraw(&self) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(ONE))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_a_share_of_calls() {
        let b = Budget::new(0.1);
        let start: usize = (0..1000).take_while(|_| b.withdraw()).count();
        assert_eq!(start, 10);
        for _ in 0..100 {
            b.deposit();
        }
        let earned: usize = (0..1000).take_while(|_| b.withdraw()).count();
        assert_eq!(earned, 10, "100 calls at 10% pay for 10 retries");
        let none = Budget::new(0.0);
        for _ in 0..100 {
            none.deposit();
        }
        assert_eq!((0..1000).take_while(|_| none.withdraw()).count(), 10);
    }
}
