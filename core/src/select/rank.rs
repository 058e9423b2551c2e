//! Helpers the selectors share to build a ranked list (choice, then
//! fallbacks): [`Ranked`], a bounded de-duplicated list; [`offer`], a top-k
//! insert for the scanning selectors; [`draw_eligible`], a uniform draw for the
//! sampling ones.

use super::Candidates;
use crate::rng::Rng;

/// Rejection attempts before drawing exactly among what is left.
pub(crate) const TRIES: usize = 8;

/// Collects a ranked list: skips duplicates and ineligible backends, stops at
/// the limit (pingora's `UniqueIterator` with `max_iterations`). Duplicates are
/// found by scanning the list itself (at most 17 long), so building one costs
/// O(limit), not O(backends).
#[derive(Debug)]
pub struct Ranked<'a> {
    eligible: &'a [bool],
    limit: usize,
    /// The list so far.
    pub list: Vec<usize>,
}

impl<'a> Ranked<'a> {
    /// An empty list over `eligible`, holding at most `limit`.
    pub fn new(eligible: &'a [bool], limit: usize) -> Self {
        Ranked {
            eligible,
            limit,
            list: Vec::with_capacity(limit.min(eligible.len())),
        }
    }

    /// Add `i` unless seen, ineligible or full. Returns true when added.
    pub fn push(&mut self, i: usize) -> bool {
        if self.is_full()
            || !self.eligible.get(i).copied().unwrap_or(false)
            || self.list.contains(&i)
        {
            return false;
        }
        self.list.push(i);
        true
    }

    /// True when the limit is reached.
    pub fn is_full(&self) -> bool {
        self.list.len() >= self.limit
    }

    /// Fill remaining places with eligible backends in cyclic order after `start`.
    pub fn fill_cyclic(&mut self, start: usize) {
        let n = self.eligible.len();
        if n == 0 {
            return;
        }
        // `(start + k) % n` for `k` in `1..=n`, without a division per step.
        let mut j = start % n;
        for _ in 0..n {
            if self.is_full() {
                break;
            }
            j += 1;
            if j == n {
                j = 0;
            }
            self.push(j);
        }
    }
}

/// Put `item` into `top` (best first, at most `k` long) when it is among the
/// `k` best seen under the strict order `better`; earlier items win ties.
/// O(1) for an item that does not make it, O(k) for one that does.
pub(crate) fn offer<T: Copy>(
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

/// A uniformly drawn eligible backend not in `taken`, or `None` when there is none.
/// Shared by the samplers (least connections with `choices`, least response time).
pub(crate) fn draw_eligible(
    c: &Candidates<'_>,
    rng: &mut dyn Rng,
    taken: &[usize],
) -> Option<usize> {
    let n = c.eligible.len();
    if n == 0 {
        return None;
    }
    let acceptable = |i: usize| c.eligible[i] && !taken.contains(&i);
    for _ in 0..TRIES {
        let i = rng.below(n as u64) as usize;
        if acceptable(i) {
            return Some(i);
        }
    }
    let left = (0..n).filter(|&i| acceptable(i)).count();
    if left == 0 {
        return None;
    }
    let r = rng.below(left as u64) as usize;
    (0..n).filter(|&i| acceptable(i)).nth(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::select::testutil::Fixture;

    #[test]
    fn ranked_skips_duplicates_and_ineligible_and_stops_at_the_limit() {
        let eligible = [true, false, true, true];
        let mut r = Ranked::new(&eligible, 2);
        assert!(r.push(2));
        assert!(!r.push(2), "a duplicate");
        assert!(!r.push(1), "ineligible");
        assert!(!r.push(9), "out of range");
        assert!(r.push(0));
        assert!(r.is_full());
        assert!(!r.push(3), "over the limit");
        assert_eq!(r.list, [2, 0]);
    }

    #[test]
    fn fill_cyclic_wraps_after_start() {
        let eligible = [true, true, false, true];
        let mut r = Ranked::new(&eligible, 4);
        r.push(1);
        r.fill_cyclic(1);
        assert_eq!(r.list, [1, 3, 0]);
        let mut empty = Ranked::new(&[], 3);
        empty.fill_cyclic(5);
        assert!(empty.list.is_empty());
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
    fn offer_lets_the_earlier_of_equals_stay_ahead() {
        let mut top = Vec::new();
        for item in [(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')] {
            offer(&mut top, 3, item, |x, y| x.0 < y.0);
        }
        assert_eq!(top, [(0, 'b'), (0, 'd'), (1, 'a')]);
    }

    #[test]
    fn draw_eligible_never_returns_an_ineligible_or_taken_backend() {
        let mut f = Fixture::new(6);
        f.eligible = vec![false, true, false, true, true, false];
        let c = f.candidates();
        let mut rng = SplitMix64::new(3);
        for _ in 0..200 {
            let i = draw_eligible(&c, &mut rng, &[3]).unwrap();
            assert!(i == 1 || i == 4, "{i}");
        }
        assert_eq!(draw_eligible(&c, &mut rng, &[1, 3, 4]), None);
        let none = Fixture::new(0);
        assert_eq!(draw_eligible(&none.candidates(), &mut rng, &[]), None);
    }

    #[test]
    fn draw_eligible_is_uniform_when_rejection_mostly_misses() {
        // One eligible backend in 40 beside the taken one: most draws take the
        // exact path after TRIES misses; both paths must stay uniform.
        let mut f = Fixture::new(40);
        f.eligible = (0..40).map(|i| i % 10 == 0).collect();
        let c = f.candidates();
        let mut rng = SplitMix64::new(11);
        let mut counts = [0u32; 40];
        let draws = 30_000;
        for _ in 0..draws {
            counts[draw_eligible(&c, &mut rng, &[0]).unwrap()] += 1;
        }
        for i in [10, 20, 30] {
            let share = f64::from(counts[i]) / f64::from(draws);
            assert!((share - 1.0 / 3.0).abs() < 0.02, "backend {i}: {share}");
        }
        assert_eq!(counts.iter().sum::<u32>(), draws);
    }
}
