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
        RoundRobin {
            current: vec![0; backends.len()],
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

impl Selector for RoundRobin {
    fn name(&self) -> &'static str {
        "round_robin"
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
        }
        let mut total = 0i64;
        // `usize::MAX`: none yet.
        let (mut best, mut best_current) = (usize::MAX, 0i64);
        let peers = self.current.iter_mut().zip(c.eligible).zip(c.weights);
        for (i, ((current, &eligible), &w)) in peers.enumerate() {
            if !eligible {
                continue;
            }
            let w = ceil_weight(w);
            *current += w;
            total += w;
            if best == usize::MAX || *current > best_current {
                best = i;
                best_current = *current;
            }
        }
        if best == usize::MAX {
            return Selection::none();
        }
        self.current[best] -= total;
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
