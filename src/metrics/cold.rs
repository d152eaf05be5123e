//! (being written)

use super::derive::{Call, DeriveSetup};
use super::derived::ColdStarts;
use super::summary::Summary;

pub struct ColdAcc {}

impl ColdAcc {
    pub fn new(_setup: &DeriveSetup) -> ColdAcc {
        ColdAcc {}
    }

    pub fn add(&mut self, _c: &Call) {}

    pub fn finish(&self, _setup: &DeriveSetup, _summary: &Summary) -> ColdStarts {
        Default::default()
    }
}
