//! (being written)

use super::derive::{Call, DeriveSetup};
use super::derived::Capacity;
use super::summary::Summary;

pub struct CapacityAcc {}

impl CapacityAcc {
    pub fn new(_setup: &DeriveSetup) -> CapacityAcc {
        CapacityAcc {}
    }

    pub fn add(&mut self, _c: &Call) {}

    pub fn finish(&self, _setup: &DeriveSetup, _summary: &Summary) -> Option<Capacity> {
        Default::default()
    }
}
