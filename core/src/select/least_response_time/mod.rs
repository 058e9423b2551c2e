//! Least response time: peak-EWMA latency × pending requests, power of two
//! choices (Finagle `PeakEwma.scala` with `P2CBalancer`; tower
//! `balance/p2c` over `load/peak_ewma.rs`; Linkerd's default balancer).
//!
//! Load of backend `i` is `latency.estimate(now, τ, default_rtt) · (inflight + 1)`:
//! the peak-sensitive moving average of its response time (see
//! [`crate::backend::PeakEwma`]), decayed to now, times the requests it would
//! have with this one. Two **distinct** eligible backends are drawn uniformly
//! (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing",
//! 2001) and the lower load wins; on equal loads the first draw wins (tower's
//! `if aload <= bload`). With one eligible backend it is chosen.
//!
//! Fallbacks are the remaining eligible backends by ascending load (ties by
//! index). `scores` holds the two loads compared.
//!
//! **Cost.** The choice is O(1) (two draws, two loads). The fallbacks were a
//! pass over every eligible backend, O(n), because a decayed load changes with
//! `now`; the [`index`] keeps the backends ordered by a time-free key and
//! proposes the few that can be among the lowest, whose loads are then
//! computed exactly and ranked as the scan ranks them: O((limit + w) log n)
//! (`w` near-ties, usually none), with a fallback to the scan
//! ([`LeastResponseTime::reference`]) where the key cannot be trusted.

mod index;

use super::rank::{draw_eligible, offer};
use super::{Candidates, Key, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;
use index::Index;

/// Peak-EWMA power-of-two-choices.
#[derive(Debug, Clone)]
pub struct LeastResponseTime {
    decay_ms: f64,
    default_rtt_ms: f64,
    top: Vec<(usize, f64)>,
    /// Fallback candidates (indexed).
    near: Vec<(usize, f64)>,
    /// The index; `None` for the reference scan.
    index: Option<Box<Index>>,
}

impl LeastResponseTime {
    /// Decay constant τ (ms) and the RTT assumed before any sample (ms). The
    /// selector keeps an index over the backends: whoever reuses it across
    /// picks must report state changes through [`Selector::changed`],
    /// [`Selector::reweighed`] and [`Selector::resync`] (the router does).
    pub fn new(decay_ms: f64, default_rtt_ms: f64) -> Self {
        LeastResponseTime {
            index: Some(Box::default()),
            ..Self::reference(decay_ms, default_rtt_ms)
        }
    }

    /// The same rule with the fallbacks found by a full scan, O(n): the
    /// reference the indexed selector is tested against.
    #[doc(hidden)]
    pub fn reference(decay_ms: f64, default_rtt_ms: f64) -> Self {
        LeastResponseTime {
            decay_ms,
            default_rtt_ms,
            top: Vec::new(),
            near: Vec::new(),
            index: None,
        }
    }

    /// τ as [`crate::backend::PeakEwma::estimate`] uses it.
    fn tau(&self) -> f64 {
        self.decay_ms.max(1e-9)
    }

    /// The `k` lowest loads but `chosen`'s into `top`, by the index when it can
    /// tell, else by a scan.
    fn fallbacks(
        &mut self,
        c: &Candidates<'_>,
        chosen: usize,
        k: usize,
        top: &mut Vec<(usize, f64)>,
    ) {
        top.clear();
        if let Some(mut ix) = self.index.take() {
            ix.update(self, c);
            let mut near = core::mem::take(&mut self.near);
            let ok = ix.candidates(self, c, k + 1, &mut near);
            self.index = Some(ix);
            if ok {
                for &(i, l) in near.iter().filter(|&&(i, _)| i != chosen) {
                    offer(top, k, (i, l), before);
                }
                self.near = near;
                return;
            }
            self.near = near;
        }
        for i in c.eligible_indices().filter(|&i| i != chosen) {
            offer(top, k, (i, self.load(c, i)), before);
        }
    }

    /// `cost · (pending + 1)` for backend `i`.
    fn load(&self, c: &Candidates<'_>, i: usize) -> f64 {
        let s = &c.states[i];
        s.latency
            .estimate(c.now_ms, self.decay_ms, self.default_rtt_ms)
            * (f64::from(s.inflight) + 1.0)
    }
}

/// Lower load, then lower index.
fn before(a: &(usize, f64), b: &(usize, f64)) -> bool {
    a.1 < b.1 || (a.1 == b.1 && a.0 < b.0)
}

impl Selector for LeastResponseTime {
    super::forward_to_index!();

    fn select(
        &mut self,
        c: &Candidates<'_>,
        _key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        if limit == 0 {
            return Selection::none();
        }
        let Some(a) = draw_eligible(c, rng, &[]) else {
            return Selection::none();
        };
        let la = self.load(c, a);
        let mut scores = vec![(a, la)];
        let mut chosen = a;
        if let Some(b) = draw_eligible(c, rng, &[a]) {
            let lb = self.load(c, b);
            scores.push((b, lb));
            if lb < la {
                chosen = b;
            }
        }
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        ranked.push(chosen);
        if limit > 1 {
            let mut top = core::mem::take(&mut self.top);
            self.fallbacks(c, chosen, limit - 1, &mut top);
            ranked.extend(top.iter().map(|&(i, _)| i));
            self.top = top;
        }
        Selection {
            ranked,
            reason: Reason::LeastLoaded,
            scores,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::PeakEwma;
    use crate::rng::SplitMix64;
    use crate::select::testutil::Fixture;

    fn lrt() -> LeastResponseTime {
        LeastResponseTime::new(10_000.0, 30.0)
    }

    /// One pick by the indexed selector, checked against the reference scan
    /// (same selection, same random draws).
    fn pick(f: &Fixture, seed: u64, limit: usize) -> Selection {
        let run = |mut s: LeastResponseTime| {
            let mut rng = SplitMix64::new(seed);
            let sel = s.select(&f.candidates(), &Key::default(), &mut rng, limit);
            (sel, rng)
        };
        let indexed = run(lrt());
        assert_eq!(indexed, run(LeastResponseTime::reference(10_000.0, 30.0)));
        indexed.0
    }

    fn latency(f: &mut Fixture, i: usize, ms: f64) {
        f.states[i].latency = PeakEwma {
            cost_ms: Some(ms),
            updated_ms: f.now_ms,
        };
    }

    #[test]
    fn two_distinct_choices_lower_load_wins() {
        // Two backends: both are always compared, so the faster always wins.
        let mut f = Fixture::new(2);
        latency(&mut f, 0, 50.0);
        latency(&mut f, 1, 10.0);
        for seed in 0..100 {
            let s = pick(&f, seed, 2);
            assert_eq!(s.ranked, [1, 0]);
            assert_eq!(s.reason, Reason::LeastLoaded);
            assert_eq!(s.scores.len(), 2, "two distinct backends compared");
            assert_ne!(s.scores[0].0, s.scores[1].0);
        }
    }

    #[test]
    fn pending_requests_multiply_latency() {
        // b0: 10 ms × (4 + 1) = 50; b1: 30 ms default × 1 = 30.
        let mut f = Fixture::new(2).inflight(0, 4);
        latency(&mut f, 0, 10.0);
        let s = pick(&f, 1, 2);
        assert_eq!(s.ranked, [1, 0]);
        let mut sc = s.scores.clone();
        sc.sort_by_key(|p| p.0);
        assert_eq!(sc, [(0, 50.0), (1, 30.0)]);
    }

    #[test]
    fn peaks_decay_with_time() {
        let mut f = Fixture::new(2);
        latency(&mut f, 0, 300.0);
        latency(&mut f, 1, 40.0);
        assert_eq!(pick(&f, 1, 1).ranked, [1]);
        // 30 s later without samples b0's peak has decayed to 300·e⁻³ ≈ 15 ms,
        // b1's to 40·e⁻³ ≈ 2 ms: b1 still wins; refresh b1's sample to 40 ms.
        f.now_ms = 30_000;
        latency(&mut f, 1, 40.0);
        assert_eq!(pick(&f, 1, 1).ranked, [0]);
    }

    #[test]
    fn single_eligible_backend_is_chosen() {
        let mut f = Fixture::new(3);
        f.eligible = vec![false, true, false];
        let s = pick(&f, 7, 3);
        assert_eq!(s.ranked, [1]);
        assert_eq!(s.scores, [(1, 30.0)]);
        f.eligible = vec![false; 3];
        assert_eq!(pick(&f, 7, 3), Selection::none());
    }

    #[test]
    fn the_worst_is_never_chosen_and_fallbacks_ascend() {
        let mut f = Fixture::new(4);
        for (i, ms) in [(0, 40.0), (1, 10.0), (2, 90.0), (3, 20.0)] {
            latency(&mut f, i, ms);
        }
        let mut counts = [0u32; 4];
        for seed in 0..600 {
            let s = pick(&f, seed, 3);
            counts[s.ranked[0]] += 1;
            let rest: Vec<usize> = [1, 3, 0, 2]
                .into_iter()
                .filter(|&i| i != s.ranked[0])
                .take(2)
                .collect();
            assert_eq!(s.ranked[1..], rest[..]);
        }
        assert_eq!(counts[2], 0, "the slowest loses every comparison");
        // P(win) = P(best among the two drawn): b1 = 3/6, b3 = 2/6, b0 = 1/6.
        assert!(
            counts[1] > counts[3] && counts[3] > counts[0] && counts[0] > 0,
            "{counts:?}"
        );
    }
}
