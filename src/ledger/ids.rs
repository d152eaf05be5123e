//! Call-id bookkeeping shared by the request ledger (in-process mocks) and the back-channel hub
//! (stdio mocks): which of the driver's dense call ids a backend saw, once or more, in sparse
//! bitsets whose memory follows the ids touched, not the run's length; and how many calls
//! without an id arrived per (tool, arguments hash), in a bounded map.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

/// The call ids a run issues (the driver's dense sequence from 0); ids outside it — the
/// baseline's, from `1 << 40`, and the driver's own requests — are foreign.
pub const ISSUED: Range<u64> = 0..u32::MAX as u64;

/// A set of u64 over pages of 65 536 bits, allocated as ids are touched.
#[derive(Default)]
pub struct SparseBits {
    pages: HashMap<u64, Box<[u64; 1024]>>,
}

impl SparseBits {
    /// Sets `id`; returns whether it was already set.
    pub fn insert(&mut self, id: u64) -> bool {
        let page = self
            .pages
            .entry(id >> 16)
            .or_insert_with(|| Box::new([0; 1024]));
        let (word, bit) = (((id >> 6) & 1023) as usize, id & 63);
        let was = page[word] >> bit & 1 == 1;
        page[word] |= 1 << bit;
        was
    }

    /// Whether `id` is set.
    pub fn contains(&self, id: u64) -> bool {
        self.pages
            .get(&(id >> 16))
            .is_some_and(|p| p[((id >> 6) & 1023) as usize] >> (id & 63) & 1 == 1)
    }

    /// Pages allocated (for tests of the memory bound).
    pub fn pages(&self) -> usize {
        self.pages.len()
    }
}

/// How one arrival of an id counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrived {
    /// The id's first arrival.
    First,
    /// Its second.
    Second,
    /// A third or later.
    Again,
}

/// The ids a backend saw: "seen" and "seen twice" (docs/metrics.md, "Cache hits, routing,
/// retries, stale reads").
#[derive(Default)]
pub struct IdSet {
    seen: SparseBits,
    twice: SparseBits,
}

impl IdSet {
    /// Records one arrival of `id`.
    pub fn arrive(&mut self, id: u64) -> Arrived {
        if !self.seen.insert(id) {
            Arrived::First
        } else if !self.twice.insert(id) {
            Arrived::Second
        } else {
            Arrived::Again
        }
    }

    /// 0, 1, or 2 for twice or more.
    pub fn count(&self, id: u64) -> u8 {
        if !self.seen.contains(id) {
            0
        } else if self.twice.contains(id) {
            2
        } else {
            1
        }
    }
}

/// Counts per key in a map of at most `cap` keys; arrivals of keys beyond it are counted as
/// overflow (and make the per-key counts incomplete).
pub struct KeyCounts<K> {
    map: HashMap<K, u64>,
    cap: usize,
    overflow: u64,
}

/// Keys a [`KeyCounts`] holds by default: enough for a zipf over 100 000 values per run.
pub const KEY_CAP: usize = 100_000;

impl<K: Hash + Eq + Clone> KeyCounts<K> {
    pub fn new(cap: usize) -> KeyCounts<K> {
        KeyCounts {
            map: HashMap::new(),
            cap,
            overflow: 0,
        }
    }

    /// Counts one arrival of `key`; returns how many came before it (`None` when the map is
    /// full and `key` is not in it).
    pub fn add(&mut self, key: &K) -> Option<u64> {
        if let Some(n) = self.map.get_mut(key) {
            *n += 1;
            return Some(*n - 1);
        }
        if self.map.len() >= self.cap {
            self.overflow += 1;
            return None;
        }
        self.map.insert(key.clone(), 1);
        Some(0)
    }

    /// Adds `n` arrivals of `key` (as [`KeyCounts::add`] does one).
    pub fn add_n(&mut self, key: &K, n: u64) {
        if let Some(c) = self.map.get_mut(key) {
            *c += n;
        } else if self.map.len() >= self.cap {
            self.overflow += n;
        } else {
            self.map.insert(key.clone(), n);
        }
    }

    /// The count of `key`.
    pub fn get(&self, key: &K) -> u64 {
        self.map.get(key).copied().unwrap_or(0)
    }

    /// Arrivals whose key did not fit.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &u64)> {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_paged_not_linear() {
        let mut b = SparseBits::default();
        assert!(!b.insert(3));
        assert!(b.insert(3));
        assert!(!b.insert(1 << 40));
        assert_eq!(b.pages(), 2);
        assert!(b.contains(1 << 40) && b.contains(3));
        assert!(!b.contains(4) && !b.contains(1 << 41));
    }

    #[test]
    fn ids_count_once_twice_and_more() {
        let mut s = IdSet::default();
        let got: Vec<Arrived> = [5, 5, 5, 6].iter().map(|i| s.arrive(*i)).collect();
        assert_eq!(
            got,
            vec![
                Arrived::First,
                Arrived::Second,
                Arrived::Again,
                Arrived::First
            ]
        );
        assert_eq!((s.count(5), s.count(6), s.count(7)), (2, 1, 0));
    }

    #[test]
    fn key_counts_are_bounded() {
        let mut k = KeyCounts::new(2);
        assert_eq!(k.add(&"a"), Some(0));
        assert_eq!(k.add(&"a"), Some(1));
        assert_eq!(k.add(&"b"), Some(0));
        assert_eq!(k.add(&"c"), None);
        k.add_n(&"d", 3);
        k.add_n(&"b", 2);
        assert_eq!((k.get(&"a"), k.get(&"b"), k.get(&"c")), (2, 3, 0));
        assert_eq!(k.overflow(), 4);
    }
}
