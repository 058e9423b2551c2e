//! STUB — to be replaced.
use super::{Candidates, Key, Ranked, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;
/// Uniform random.
#[derive(Debug, Clone, Copy)]
pub struct Random;
/// Weighted random.
#[derive(Debug, Clone, Copy)]
pub struct WeightedRandom;
impl Selector for Random {
    fn name(&self) -> &'static str { "random" }
    fn select(&mut self, c: &Candidates<'_>, _k: &Key<'_>, _r: &mut dyn Rng, limit: usize) -> Selection {
        let mut r = Ranked::new(c.eligible, limit); r.fill_cyclic(c.len().saturating_sub(1));
        Selection { ranked: r.list, reason: Reason::Random, scores: vec![] }
    }
}
impl Selector for WeightedRandom {
    fn name(&self) -> &'static str { "weighted_random" }
    fn select(&mut self, c: &Candidates<'_>, k: &Key<'_>, r: &mut dyn Rng, limit: usize) -> Selection { Random.select(c, k, r, limit) }
}
