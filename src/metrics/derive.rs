//! Derivation (docs/metrics.md): the stage between the recorder and the [`Derived`] figures.
//!
//! Every sample the [`Recorder`](super::Recorder) takes also enters here. The [`Classifier`]
//! holds ok calls until the backends' ledgers can say whether their call id reached a backend
//! (back-channel batches arrive late), then hands each call on, classified, to the
//! accumulators — one per figure, each in its own file, each O(1) per call:
//!
//! - [`cache`](super::cache): cache hits per tool, routing, retry amplification, stale reads;
//! - [`recovery`](super::recovery): recovery and blast radius per fault window;
//! - [`cold`](super::cold): cold starts per server, spawned vs used;
//! - [`capacity`](super::capacity): the stepped ramp's capacity;
//! - [`overhead`](super::overhead): the gateway's overhead per tool.
//!
//! [`DeriveState::finish`] computes every figure once, at the end, from the accumulators and
//! the rest of the summary.

use super::cache::CacheAcc;
use super::capacity::CapacityAcc;
use super::classified::{Call, DeriveSetup};
use super::classify::Classifier;
use super::cold::ColdAcc;
use super::figures::Derived;
use super::overhead::OverheadAcc;
use super::recorder::Derivation;
use super::recovery::WindowsAcc;
use super::summary::Summary;
use crate::sample::Sample;

/// One accumulator per figure; every classified call goes to each.
struct Accumulators {
    cache: CacheAcc,
    windows: WindowsAcc,
    cold: ColdAcc,
    capacity: CapacityAcc,
    overhead: OverheadAcc,
}

impl Accumulators {
    fn add(&mut self, c: &Call) {
        self.cache.add(c);
        self.windows.add(c);
        self.cold.add(c);
        self.capacity.add(c);
        self.overhead.add(c);
    }
}

/// The classifier and the accumulators it feeds.
pub struct DeriveState {
    setup: DeriveSetup,
    classifier: Classifier,
    accs: Accumulators,
}

impl DeriveState {
    pub fn new(setup: DeriveSetup) -> DeriveState {
        DeriveState {
            classifier: Classifier::new(&setup),
            accs: Accumulators {
                cache: CacheAcc::new(&setup),
                windows: WindowsAcc::new(&setup),
                cold: ColdAcc::new(&setup),
                capacity: CapacityAcc::new(&setup),
                overhead: OverheadAcc::new(&setup),
            },
            setup,
        }
    }
}

impl Derivation for DeriveState {
    /// One sample (O(1) amortised); calls whose classification is due go on to the
    /// accumulators.
    fn add(&mut self, s: &Sample) {
        let accs = &mut self.accs;
        self.classifier
            .push(&self.setup, s, &mut |c: &Call| accs.add(c));
    }

    /// Every figure, from the accumulators and the summary (which has everything else:
    /// calls, series, events, windows).
    fn finish(mut self: Box<Self>, summary: &Summary) -> Derived {
        let accs = &mut self.accs;
        self.classifier
            .flush(&self.setup, &mut |c: &Call| accs.add(c));
        let (setup, a) = (&self.setup, &mut self.accs);
        let (cache, routing, retries, stale_reads) = a.cache.finish(setup, summary);
        let (recovery, blast_radius) = a.windows.finish(setup, summary);
        Derived {
            capacity: a.capacity.finish(setup, summary),
            overhead: a.overhead.finish(setup, summary),
            cache,
            stale_reads,
            cold_start: a.cold.finish(setup, summary),
            recovery,
            blast_radius,
            routing,
            retries,
        }
    }
}
