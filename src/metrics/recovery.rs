//! (being written)

use super::derive::{Call, DeriveSetup};
use super::derived::{BlastRadius, Recovery};
use super::summary::Summary;

pub struct WindowsAcc {}

impl WindowsAcc {
    pub fn new(_setup: &DeriveSetup) -> WindowsAcc {
        WindowsAcc {}
    }

    pub fn add(&mut self, _c: &Call) {}

    pub fn finish(
        &self,
        _setup: &DeriveSetup,
        _summary: &Summary,
    ) -> (Vec<Recovery>, Vec<BlastRadius>) {
        Default::default()
    }
}
