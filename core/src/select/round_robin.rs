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
    /// Current weights by backend, for backends not in `peers` (an
    /// ineligible peer keeps its current weight, as in nginx); the peers'
    /// own are in `peers` until the list is rebuilt.
    current: Vec<i64>,
    /// The eligible peers in configuration order and their total weight,
    /// rebuilt at the first pick after [`Selector::reweighed`] or
    /// [`Selector::resync`]: a pick then walks one contiguous list, touching
    /// only eligible peers, rounding no weight and indexing nothing else.
    peers: Vec<Peer>,
    total: i64,
    stale: bool,
}

/// One eligible peer: its backend, rounded weight and current weight.
#[derive(Debug, Clone, Copy)]
struct Peer {
    index: usize,
    weight: i64,
    current: i64,
}

impl RoundRobin {
    /// State for `backends`, every current weight zero.
    pub fn new(backends: &[Backend]) -> Self {
        RoundRobin {
            current: vec![0; backends.len()],
            peers: Vec::new(),
            total: 0,
            stale: true,
        }
    }
}

/// `(w.ceil() as i64).max(1)` without a call to libm's `ceil` (a function call
/// per peer on x86-64 without SSE4.1): truncate, then add one when the
/// truncation lost a positive fraction. Equal for every `f64`, NaN and
/// infinities included (the conversion saturates, the add does too).
fn ceil_weight(w: f64) -> i64 {
    let t = w as i64;
    let t = if (t as f64) < w {
        t.saturating_add(1)
    } else {
        t
    };
    t.max(1)
}

impl RoundRobin {
    /// A pick reported with reason `why` (hash algorithms fall back to round
    /// robin as nginx does, and say so).
    pub fn select_as(
        &mut self,
        c: &Candidates<'_>,
        key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
        why: Reason,
    ) -> Selection {
        let mut sel = self.select(c, key, rng, limit);
        if !sel.ranked.is_empty() {
            sel.reason = why;
        }
        sel
    }
}

impl RoundRobin {
    /// The peer list from `c`'s eligibility and weights; the old peers'
    /// current weights go back to `current` first.
    fn rebuild(&mut self, c: &Candidates<'_>) {
        for p in self.peers.drain(..) {
            self.current[p.index] = p.current;
        }
        let weights = c.eligible.iter().zip(c.weights).enumerate();
        for (i, (&eligible, &w)) in weights {
            if eligible {
                self.peers.push(Peer {
                    index: i,
                    weight: ceil_weight(w),
                    current: self.current[i],
                });
            }
        }
        self.total = self
            .peers
            .iter()
            .map(|p| p.weight)
            .fold(0i64, i64::saturating_add);
        self.stale = false;
    }
}

impl Selector for RoundRobin {
    fn reweighed(&mut self) {
        self.stale = true;
    }

    fn resync(&mut self) {
        self.stale = true;
    }

    fn select(
        &mut self,
        c: &Candidates<'_>,
        _key: &Key<'_>,
        _rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        if self.current.len() != c.len() {
            self.current = vec![0; c.len()];
            self.peers.clear();
            self.stale = true;
        }
        if self.stale {
            self.rebuild(c);
        }
        let Some(first) = self.peers.first_mut() else {
            return Selection::none();
        };
        first.current = first.current.saturating_add(first.weight);
        // The first highest wins ties.
        let (mut best, mut best_current) = (0, first.current);
        for (k, p) in self.peers.iter_mut().enumerate().skip(1) {
            p.current = p.current.saturating_add(p.weight);
            if p.current > best_current {
                best = k;
                best_current = p.current;
            }
        }
        let winner = &mut self.peers[best];
        winner.current = winner.current.saturating_sub(self.total);
        let best = winner.index;
        let mut ranked = Ranked::new(c.eligible, limit);
        ranked.push(best);
        ranked.fill_cyclic(best);
        Selection {
            ranked: ranked.list,
            reason: Reason::RoundRobin,
            scores: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::select::testutil::Fixture;

    /// nginx's loop as written: every pick walks every peer and rounds every
    /// weight, no cached list.
    fn reference(current: &mut [i64], eligible: &[bool], weights: &[f64]) -> Option<usize> {
        let (mut total, mut best) = (0i64, None::<usize>);
        for i in 0..current.len() {
            if !eligible[i] {
                continue;
            }
            let w = ceil_weight(weights[i]);
            current[i] += w;
            total += w;
            if best.is_none_or(|b| current[i] > current[b]) {
                best = Some(i);
            }
        }
        current[best?] -= total;
        best
    }

    #[test]
    fn the_cached_peer_list_picks_as_nginx_through_changes() {
        let mut rng = SplitMix64::new(7);
        for n in [1usize, 2, 3, 7, 64] {
            let mut f = Fixture::new(n);
            let mut rr = RoundRobin::new(&f.backends);
            let mut current = vec![0i64; n];
            for step in 0..3_000 {
                // Now and then a node fails, recovers or ramps (slow start),
                // reported as the router reports it.
                if rng.next_u64().is_multiple_of(7) {
                    let i = (rng.next_u64() % n as u64) as usize;
                    f.eligible[i] = !f.eligible[i];
                    f.weights[i] = 1.0 + (rng.next_u64() % 40) as f64 / 10.0;
                    rr.reweighed();
                }
                let want = reference(&mut current, &f.eligible, &f.weights);
                let got = rr.select(&f.candidates(), &Key::default(), &mut rng, 1);
                assert_eq!(got.ranked.first().copied(), want, "n={n} step={step}");
            }
        }
    }

    #[test]
    fn ceil_weight_is_ceil_as_i64_at_least_one() {
        let cases = [
            0.0,
            -0.0,
            0.1,
            0.5,
            1.0,
            1.0000001,
            2.5,
            3.0,
            7.999999999,
            -0.5,
            -1.5,
            -3.0,
            1e15 + 0.5,
            4503599627370496.0,
            2f64.powi(63),
            1e19,
            -1e19,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
        ];
        for w in cases {
            assert_eq!(ceil_weight(w), (w.ceil() as i64).max(1), "{w}");
        }
        for k in 0..10_000 {
            let w = f64::from(k) * 0.0137;
            assert_eq!(ceil_weight(w), (w.ceil() as i64).max(1), "{w}");
        }
    }
}
