//! STUB — to be replaced.
#![allow(unused)]
use super::{Candidates, Key, Ranked, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;
/// Stub.
#[derive(Debug, Clone)]
pub struct Maglev;
impl Maglev {
    /// Stub.
    pub fn new(b: &[crate::config::Backend], t: u64) -> Self { Maglev }
}
impl Selector for Maglev {
    fn name(&self) -> &'static str { "consistent_hash" }
    fn select(&mut self, c: &Candidates<'_>, _k: &Key<'_>, _r: &mut dyn Rng, limit: usize) -> Selection {
        let mut r = Ranked::new(c.eligible, limit); r.fill_cyclic(c.len().saturating_sub(1));
        Selection { ranked: r.list, reason: Reason::Random, scores: vec![] }
    }
}
