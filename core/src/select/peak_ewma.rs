//! STUB — to be replaced.
#![allow(unused)]
use super::{Candidates, Key, Ranked, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;
/// Stub.
#[derive(Debug, Clone)]
pub struct LeastResponseTime;
impl LeastResponseTime {
    /// Stub.
    pub fn new(d: f64, r: f64) -> Self { LeastResponseTime }
}
impl Selector for LeastResponseTime {
    fn name(&self) -> &'static str { "least_response_time" }
    fn select(&mut self, c: &Candidates<'_>, _k: &Key<'_>, _r: &mut dyn Rng, limit: usize) -> Selection {
        let mut r = Ranked::new(c.eligible, limit); r.fill_cyclic(c.len().saturating_sub(1));
        Selection { ranked: r.list, reason: Reason::Random, scores: vec![] }
    }
}
