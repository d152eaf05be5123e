//! (being written)

use super::derive::{Call, DeriveSetup};
use super::derived::{CacheHits, Retries, Routing, StaleRead};
use super::summary::Summary;

pub struct CacheAcc {}

impl CacheAcc {
    pub fn new(_setup: &DeriveSetup) -> CacheAcc {
        CacheAcc {}
    }

    pub fn add(&mut self, _c: &Call) {}

    pub fn finish(
        &self,
        _setup: &DeriveSetup,
        _summary: &Summary,
    ) -> (Vec<CacheHits>, Routing, Vec<Retries>, Vec<StaleRead>) {
        Default::default()
    }
}
