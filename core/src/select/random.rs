//! Random and weighted random selection (the "random" methods of seeds 002/004).
//!
//! Both draw the choice and then further distinct backends as fallbacks
//! (sampling without replacement), so a retry never repeats a backend.
//!
//! Draws use rejection: pick a position uniformly (or by weight) over *all*
//! backends and accept it if it is eligible and not yet taken; after
//! [`TRIES`](super::rank::TRIES) misses, count what is left and draw exactly among it. A draw that
//! is accepted is uniform over (proportional to weight among) the acceptable
//! backends, and the exact fallback is too, so the result is exactly uniform
//! (weighted) whichever path ran. When most backends are eligible — the usual
//! case — a uniform pick costs O(limit) whatever the number of backends.

use super::rank::{draw_eligible, TRIES};
use super::{Candidates, Key, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;

/// Uniform random over eligible backends; fallbacks are further distinct draws.
#[derive(Debug, Clone, Copy)]
pub struct Random;

/// Random with probability proportional to the effective weight
/// ([`Candidates::weights`], slow start included); fallbacks are drawn without
/// replacement.
#[derive(Debug, Clone, Copy)]
pub struct WeightedRandom;

impl Selector for Random {
    fn select(
        &mut self,
        c: &Candidates<'_>,
        _key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        while ranked.len() < limit {
            match draw_eligible(c, rng, &ranked) {
                Some(i) => ranked.push(i),
                None => break,
            }
        }
        if ranked.is_empty() {
            return Selection::none();
        }
        Selection {
            ranked,
            reason: Reason::Random,
            scores: Vec::new(),
        }
    }
}

/// The weight a backend takes part with: its effective weight when eligible
/// and positive, else 0 (NaN counts as 0).
fn share(c: &Candidates<'_>, i: usize) -> f64 {
    let w = c.weights[i];
    if c.eligible[i] && w > 0.0 {
        w
    } else {
        0.0
    }
}

/// The backend where the running sum of shares first exceeds `x` (in
/// `[0, total)`), skipping `taken`; the last candidate if rounding leaves `x`
/// at the very end.
fn locate(c: &Candidates<'_>, x: f64, taken: &[usize]) -> Option<usize> {
    let mut acc = 0.0;
    let mut last = None;
    for i in 0..c.eligible.len() {
        let w = share(c, i);
        if w == 0.0 || taken.contains(&i) {
            continue;
        }
        acc += w;
        last = Some(i);
        if acc > x {
            return last;
        }
    }
    last
}

/// A backend drawn with probability proportional to its share among those not
/// in `taken` (`total` is the sum of all shares, taken or not).
fn draw_weighted(
    c: &Candidates<'_>,
    rng: &mut dyn Rng,
    taken: &[usize],
    total: f64,
) -> Option<usize> {
    // Rejection over the whole distribution: no per-backend `taken` checks.
    for _ in 0..TRIES {
        let i = locate(c, rng.unit() * total, &[])?;
        if !taken.contains(&i) {
            return Some(i);
        }
    }
    let left: f64 = (0..c.eligible.len())
        .filter(|i| !taken.contains(i))
        .map(|i| share(c, i))
        .sum();
    if left <= 0.0 {
        return None;
    }
    locate(c, rng.unit() * left, taken)
}

impl Selector for WeightedRandom {
    fn select(
        &mut self,
        c: &Candidates<'_>,
        key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        let total: f64 = (0..c.eligible.len()).map(|i| share(c, i)).sum();
        if !(total > 0.0 && total.is_finite()) {
            // No usable weights (only possible with hand-built candidates): uniform.
            return Random.select(c, key, rng, limit);
        }
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        while ranked.len() < limit {
            match draw_weighted(c, rng, &ranked, total) {
                Some(i) => ranked.push(i),
                None => break,
            }
        }
        if ranked.is_empty() {
            return Selection::none();
        }
        Selection {
            ranked,
            reason: Reason::Random,
            scores: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::select::testutil::Fixture;

    fn pick(s: &mut dyn Selector, f: &Fixture, seed: u64, limit: usize) -> Vec<usize> {
        s.select(
            &f.candidates(),
            &Key::default(),
            &mut SplitMix64::new(seed),
            limit,
        )
        .ranked
    }

    #[test]
    fn random_skips_ineligible_and_never_repeats() {
        let mut f = Fixture::new(6);
        f.eligible = vec![true, false, true, false, true, false];
        for seed in 0..200 {
            let mut r = pick(&mut Random, &f, seed, 5);
            assert_eq!(r.len(), 3, "only three eligible");
            r.sort_unstable();
            assert_eq!(r, [0, 2, 4]);
        }
        f.eligible = vec![false; 6];
        assert!(pick(&mut Random, &f, 1, 3).is_empty());
        assert_eq!(
            Random
                .select(&f.candidates(), &Key::default(), &mut SplitMix64::new(1), 3)
                .reason,
            Reason::NoBackend
        );
    }

    #[test]
    fn random_is_uniform_even_when_few_are_eligible() {
        // 2 of 64 eligible: the rejection path mostly misses and the exact path runs.
        let mut f = Fixture::new(64);
        f.eligible = (0..64).map(|i| i == 7 || i == 50).collect();
        let mut counts = [0u32; 64];
        let mut rng = SplitMix64::new(3);
        for _ in 0..10_000 {
            let s = Random.select(&f.candidates(), &Key::default(), &mut rng, 1);
            counts[s.ranked[0]] += 1;
        }
        assert_eq!(counts[7] + counts[50], 10_000);
        // σ = 50; 3σ band.
        assert!((counts[7] as i64 - 5_000).abs() < 150, "{}", counts[7]);
    }

    #[test]
    fn random_exact_picks_for_a_seed() {
        // SplitMix64(42) draws below(4) = 2, 0, 1: all eligible, all accepted.
        // Pins the draw procedure so every target makes the same decisions.
        let f = Fixture::new(4);
        let s = Random.select(
            &f.candidates(),
            &Key::default(),
            &mut SplitMix64::new(42),
            3,
        );
        assert_eq!(s.ranked, [2, 0, 1]);
        assert_eq!(s.reason, Reason::Random);
    }

    #[test]
    fn weighted_random_follows_weights() {
        let f = Fixture::weighted(&[5, 1, 0, 2]);
        let mut counts = [0u32; 4];
        let mut rng = SplitMix64::new(9);
        let n = 16_000.0f64;
        for _ in 0..16_000 {
            counts[WeightedRandom
                .select(&f.candidates(), &Key::default(), &mut rng, 1)
                .ranked[0]] += 1;
        }
        assert_eq!(counts[2], 0, "weight 0 is never drawn");
        for (i, w) in [(0, 5.0), (1, 1.0), (3, 2.0)] {
            let p = w / 8.0;
            let sigma = (n * p * (1.0 - p)).sqrt();
            assert!(
                (f64::from(counts[i]) - n * p).abs() < 3.0 * sigma,
                "backend {i}: {}",
                counts[i]
            );
        }
    }

    #[test]
    fn weighted_random_fallbacks_are_without_replacement() {
        // One dominant weight: later draws must still reach the light backends.
        let f = Fixture::weighted(&[1000, 1, 1]);
        for seed in 0..50 {
            let mut r = pick(&mut WeightedRandom, &f, seed, 3);
            r.sort_unstable();
            assert_eq!(r, [0, 1, 2]);
        }
    }

    #[test]
    fn weighted_random_uses_effective_weights() {
        let mut f = Fixture::weighted(&[1, 1]);
        f.weights = vec![0.1, 1.0]; // backend 0 in slow start
        let mut zero = 0;
        let mut rng = SplitMix64::new(5);
        for _ in 0..11_000 {
            if WeightedRandom
                .select(&f.candidates(), &Key::default(), &mut rng, 1)
                .ranked[0]
                == 0
            {
                zero += 1;
            }
        }
        // p = 1/11, n = 11000: mean 1000, σ ≈ 30.
        assert!((zero - 1000i32).abs() < 90, "{zero}");
    }
}
