//! (being written)

use super::derive::{Call, DeriveSetup};
use super::derived::Overhead;
use super::summary::Summary;

pub struct OverheadAcc {}

impl OverheadAcc {
    pub fn new(_setup: &DeriveSetup) -> OverheadAcc {
        OverheadAcc {}
    }

    pub fn add(&mut self, _c: &Call) {}

    pub fn finish(&self, _setup: &DeriveSetup, _summary: &Summary) -> Vec<Overhead> {
        Default::default()
    }
}
