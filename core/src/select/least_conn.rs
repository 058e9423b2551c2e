//! Least connections: the fewest in-flight requests per unit of weight.
//!
//! * `choices = None` scans every eligible backend for the lowest load
//!   `(inflight + 1) / weight` (LVS `sed`; nginx `least_conn` compares
//!   `conns / weight`). Equal loads are broken **at random** with `rng`: nginx
//!   breaks them by weighted round robin, which needs per-peer state the
//!   selector would have to keep in step with the router; a uniform draw among
//!   the tied spreads load the same way on average and stays stateless.
//! * `choices = Some(k)` is Envoy's `least_request`: sample `k` eligible
//!   backends uniformly *with replacement* and keep a sample only when it is
//!   strictly better. Envoy compares active requests for equal weights and
//!   `weight / (active + 1)^bias` (bias 1) for unequal ones; with bias 1 both
//!   are "strictly lower `(active + 1) / weight`", the load used here.
//!
//! Loads are compared by cross-multiplication (`(a+1)·w' < (a'+1)·w`), so a
//! scan performs no division. Fallbacks, in both modes, are the remaining
//! eligible backends by ascending load (ties by index), found with a bounded
//! top-`limit` buffer in the same pass: O(n) per pick. `scores` holds the load
//! of every ranked backend (and, with `choices`, of every sample).

use super::random::draw_eligible;
use super::{Candidates, Key, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;

/// Put `item` into `top` (best first, at most `k` long) when it is among the
/// `k` best seen under the strict order `better`; earlier items win ties.
/// O(1) for an item that does not make it, O(k) for one that does.
pub(super) fn offer<T: Copy>(
    top: &mut Vec<T>,
    k: usize,
    item: T,
    mut better: impl FnMut(&T, &T) -> bool,
) {
    if k == 0 {
        return;
    }
    if top.len() >= k {
        if !better(&item, &top[k - 1]) {
            return;
        }
        top.truncate(k - 1);
    }
    let mut pos = top.len();
    while pos > 0 && better(&item, &top[pos - 1]) {
        pos -= 1;
    }
    top.insert(pos, item);
}

/// One backend's load as a fraction kept apart: `(inflight + 1) / weight`.
#[derive(Debug, Clone, Copy)]
struct Load {
    i: usize,
    pending: f64,
    weight: f64,
}

impl Load {
    fn of(c: &Candidates<'_>, i: usize) -> Self {
        Load::new(i, c.states[i].inflight, c.weights[i])
    }

    fn new(i: usize, inflight: u32, weight: f64) -> Self {
        Load {
            i,
            pending: f64::from(inflight) + 1.0,
            weight: weight.max(0.0),
        }
    }

    /// Strictly lower load.
    fn lower(&self, o: &Load) -> bool {
        self.pending * o.weight < o.pending * self.weight
    }

    /// Equal load.
    fn same(&self, o: &Load) -> bool {
        self.pending * o.weight == o.pending * self.weight
    }

    /// Lower load, then lower index: the fallback order.
    fn before(&self, o: &Load) -> bool {
        let (x, y) = (self.pending * o.weight, o.pending * self.weight);
        x < y || (x == y && self.i < o.i)
    }

    /// The load value reported in `scores` (infinite for weight 0).
    fn value(&self) -> f64 {
        self.pending / self.weight
    }
}

/// True when cross-multiplied loads compare exactly (every `pending · weight`
/// is below 2^53 and so rounds to itself), making "same load" transitive:
/// `pending` is at most 2^32, so an integral weight up to 2^21 suffices.
fn exact_weight(w: f64) -> bool {
    w <= 2_097_152.0 && f64::from(w as u32) == w
}

/// Least connections, full scan or Envoy-style sampling.
#[derive(Debug, Clone)]
pub struct LeastConnections {
    choices: Option<u32>,
    top: Vec<Load>,
    /// Indices tied at the lowest load, in order (full scan).
    ties: Vec<usize>,
}

impl LeastConnections {
    /// `None`: scan every eligible backend; `Some(k)`: best of `k` samples.
    pub fn new(choices: Option<u32>) -> Self {
        LeastConnections {
            choices,
            top: Vec::new(),
            ties: Vec::new(),
        }
    }

    /// One pass: the `k` lowest loads into `self.top`, the first lowest load,
    /// and the backends from it on that share it into `self.ties`. Also
    /// returns whether every weight was [`exact_weight`].
    fn scan(&mut self, c: &Candidates<'_>, k: usize, skip: Option<usize>) -> (Option<Load>, bool) {
        self.top.clear();
        self.ties.clear();
        let mut best: Option<Load> = None;
        let mut exact = true;
        let backends = c.states.iter().zip(c.eligible).zip(c.weights);
        for (i, ((s, &eligible), &w)) in backends.enumerate() {
            if !eligible || Some(i) == skip {
                continue;
            }
            let l = Load::new(i, s.inflight, w);
            exact &= exact_weight(l.weight);
            offer(&mut self.top, k, l, Load::before);
            match best {
                Some(b) if l.lower(&b) => {
                    best = Some(l);
                    self.ties.clear();
                    self.ties.push(i);
                }
                Some(b) if l.same(&b) => self.ties.push(i),
                None => {
                    best = Some(l);
                    self.ties.push(i);
                }
                _ => {}
            }
        }
        (best, exact)
    }

    /// Full scan: the lowest load, ties at random.
    fn least(&mut self, c: &Candidates<'_>, rng: &mut dyn Rng, limit: usize) -> Option<Load> {
        let (best, exact) = self.scan(c, limit, None);
        let best = best?;
        let ties = self.ties.len();
        if ties == 1 {
            return Some(best);
        }
        let r = rng.below(ties as u64) as usize;
        if r < self.top.len() {
            // `top` is sorted by (load, index): its first entries are the ties.
            return Some(self.top[r]);
        }
        if exact {
            // Exact comparisons are transitive: no backend before `best`
            // shares its load, so `ties` is every backend that does.
            return Some(Load::of(c, self.ties[r]));
        }
        c.eligible_indices()
            .map(|i| Load::of(c, i))
            .filter(|l| l.same(&best))
            .nth(r)
    }

    /// Envoy `least_request`: `k` samples with replacement, strictly better wins.
    fn sample(
        c: &Candidates<'_>,
        rng: &mut dyn Rng,
        k: u32,
        scores: &mut Vec<(usize, f64)>,
    ) -> Option<Load> {
        let mut chosen: Option<Load> = None;
        for _ in 0..k.max(1) {
            let s = Load::of(c, draw_eligible(c, rng, &[])?);
            if !scores.iter().any(|&(i, _)| i == s.i) {
                scores.push((s.i, s.value()));
            }
            if chosen.is_none_or(|b| s.lower(&b)) {
                chosen = Some(s);
            }
        }
        chosen
    }
}

impl Selector for LeastConnections {
    fn name(&self) -> &'static str {
        "least_connections"
    }

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
        let mut scores = Vec::new();
        self.top.clear();
        let chosen = match self.choices {
            None => self.least(c, rng, limit),
            Some(k) => {
                let s = Self::sample(c, rng, k, &mut scores);
                if let Some(s) = s.filter(|_| limit > 1) {
                    self.scan(c, limit - 1, Some(s.i));
                }
                s
            }
        };
        let Some(chosen) = chosen else {
            return Selection::none();
        };
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        ranked.push(chosen.i);
        if !scores.iter().any(|&(i, _)| i == chosen.i) {
            scores.push((chosen.i, chosen.value()));
        }
        for l in self.top.iter().filter(|l| l.i != chosen.i).take(limit - 1) {
            ranked.push(l.i);
            if !scores.iter().any(|&(i, _)| i == l.i) {
                scores.push((l.i, l.value()));
            }
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
    use crate::rng::SplitMix64;
    use crate::select::testutil::Fixture;

    fn pick(choices: Option<u32>, f: &Fixture, seed: u64, limit: usize) -> Selection {
        LeastConnections::new(choices).select(
            &f.candidates(),
            &Key::default(),
            &mut SplitMix64::new(seed),
            limit,
        )
    }

    #[test]
    fn offer_keeps_the_k_best_in_order() {
        let mut top = Vec::new();
        for x in [5, 3, 9, 1, 3, 7] {
            offer(&mut top, 3, x, |a, b| a < b);
        }
        assert_eq!(top, [1, 3, 3]);
        offer(&mut top, 0, 0, |a, b| a < b);
        assert_eq!(top, [1, 3, 3]);
    }

    #[test]
    fn lowest_load_wins_and_fallbacks_ascend() {
        let f = Fixture::new(4)
            .inflight(0, 5)
            .inflight(1, 2)
            .inflight(2, 9)
            .inflight(3, 0);
        let s = pick(None, &f, 1, 3);
        assert_eq!(s.ranked, [3, 1, 0]);
        assert_eq!(s.reason, Reason::LeastLoaded);
        assert_eq!(s.scores, [(3, 1.0), (1, 3.0), (0, 6.0)]);
    }

    #[test]
    fn weight_divides_the_load() {
        // b0: (4+1)/5 = 1; b1: (0+1)/1 = 1 → tie; b2: (3+1)/2 = 2.
        let f = Fixture::weighted(&[5, 1, 2]).inflight(0, 4).inflight(2, 3);
        let s = pick(None, &f, 1, 3);
        assert!(s.ranked[0] == 0 || s.ranked[0] == 1);
        assert_eq!(s.ranked[2], 2);
        // b0 with one more request loses outright.
        let f = f.inflight(0, 5);
        assert_eq!(pick(None, &f, 1, 3).ranked, [1, 0, 2]);
    }

    #[test]
    fn ties_are_broken_at_random() {
        let f = Fixture::new(4).inflight(1, 3);
        let mut seen = [0u32; 4];
        for seed in 0..400 {
            let s = pick(None, &f, seed, 2);
            seen[s.ranked[0]] += 1;
            assert_ne!(s.ranked[1], 1, "the loaded backend is last");
        }
        assert_eq!(seen[1], 0);
        for i in [0, 2, 3] {
            assert!(seen[i] > 90, "{seen:?}");
        }
    }

    #[test]
    fn ties_beyond_the_top_buffer_are_reachable() {
        // 10 tied backends, limit 1: the draw often lands past the buffer.
        let f = Fixture::new(10);
        let mut seen = [false; 10];
        for seed in 0..200 {
            seen[pick(None, &f, seed, 1).ranked[0]] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn ineligible_backends_are_never_ranked() {
        let mut f = Fixture::new(4).inflight(0, 9).inflight(2, 1);
        f.eligible[3] = false;
        let s = pick(None, &f, 1, 5);
        assert_eq!(s.ranked, [1, 2, 0]);
        f.eligible = vec![false; 4];
        assert_eq!(pick(None, &f, 1, 3), Selection::none());
        assert_eq!(pick(Some(2), &f, 1, 3), Selection::none());
    }

    #[test]
    fn sampling_keeps_strictly_fewer() {
        // Two backends: whenever both are sampled the idle one wins.
        let f = Fixture::new(2).inflight(0, 7);
        let mut idle = 0;
        for seed in 0..400 {
            let s = pick(Some(2), &f, seed, 2);
            assert_eq!(s.ranked.len(), 2);
            if s.ranked[0] == 1 {
                idle += 1;
            }
            // The busy one wins only when both samples were the busy one.
            if s.ranked[0] == 0 {
                assert_eq!(s.scores, [(0, 8.0), (1, 1.0)]);
            }
        }
        // P(idle) = 1 − 1/4.
        assert!((260..340).contains(&idle), "{idle}");
    }

    #[test]
    fn sampling_uses_weight_over_active_plus_one() {
        // b0: weight 4, 2 active → load 3/4 (Envoy: 4/3); b1: weight 1, idle →
        // load 1 (Envoy: 1/1). b0 is lighter despite more active requests.
        let f = Fixture::weighted(&[4, 1]).inflight(0, 2);
        for seed in 0..100 {
            let s = pick(Some(64), &f, seed, 1);
            assert_eq!(s.ranked, [0], "64 samples see both; b0 is lighter");
        }
    }

    #[test]
    fn sampling_fallbacks_are_the_lowest_loads() {
        let f = Fixture::new(5)
            .inflight(0, 1)
            .inflight(1, 2)
            .inflight(2, 3)
            .inflight(3, 4)
            .inflight(4, 5);
        for seed in 0..50 {
            let s = pick(Some(2), &f, seed, 3);
            let expected: Vec<usize> = (0..5).filter(|&i| i != s.ranked[0]).take(2).collect();
            assert_eq!(s.ranked[1..], expected[..]);
        }
    }
}
