//! nginx's smooth weighted round robin (`ngx_http_upstream_get_peer` in
//! `ngx_http_upstream_round_robin.c`): each pick adds every eligible peer's
//! effective weight to its current weight, takes the highest (first wins ties)
//! and subtracts the total from the winner. Weights 5,1,1 give `a a b a c a a`.
//!
//! Effective weights follow slow start (rounded up, at least 1). Fallbacks are
//! the next eligible peers in configuration order after the choice; computing
//! them does not advance the sequence.

use super::{Candidates, Key, Ranked, Selection, Selector};
use crate::config::Backend;
use crate::decision::Reason;
use crate::rng::Rng;

/// Smooth weighted round robin with nginx's exact sequence.
#[derive(Debug, Clone)]
pub struct RoundRobin {
    current: Vec<i64>,
}

impl RoundRobin {
    /// State for `backends`, every current weight zero.
    pub fn new(backends: &[Backend]) -> Self {
        RoundRobin { current: vec![0; backends.len()] }
    }
}

impl Selector for RoundRobin {
    fn name(&self) -> &'static str {
        "round_robin"
    }

    fn select(&mut self, c: &Candidates<'_>, _key: &Key<'_>, _rng: &mut dyn Rng, limit: usize) -> Selection {
        if self.current.len() != c.len() {
            self.current = vec![0; c.len()];
        }
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for i in c.eligible_indices() {
            let w = (c.weights[i].ceil() as i64).max(1);
            self.current[i] += w;
            total += w;
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let Some(best) = best else { return Selection::none() };
        self.current[best] -= total;
        let mut ranked = Ranked::new(c.eligible, limit);
        ranked.push(best);
        ranked.fill_cyclic(best);
        Selection { ranked: ranked.list, reason: Reason::RoundRobin, scores: Vec::new() }
    }
}
