//! Unit tests of [`super::LeastConnections`].

use super::*;
use crate::rng::SplitMix64;
use crate::select::testutil::Fixture;

/// One pick by the indexed selector, checked against the reference scan
/// (same selection, same random draws).
fn pick(choices: Option<u32>, f: &Fixture, seed: u64, limit: usize) -> Selection {
    let run = |mut s: LeastConnections| {
        let mut rng = SplitMix64::new(seed);
        let sel = s.select(&f.candidates(), &Key::default(), &mut rng, limit);
        (sel, rng)
    };
    let indexed = run(LeastConnections::new(choices));
    assert_eq!(indexed, run(LeastConnections::reference(choices)));
    indexed.0
}

#[test]
fn fractional_weights_fall_back_to_the_scan() {
    // Slow-start weights: cross-multiplied loads are not exact, the tree
    // stands aside and the scan answers.
    let mut f = Fixture::new(5).inflight(0, 2).inflight(3, 1);
    f.weights = vec![0.3, 0.7, 1.0, 0.1, 0.55];
    for seed in 0..20 {
        assert_eq!(pick(None, &f, seed, 3).ranked.len(), 3);
        assert_eq!(pick(Some(2), &f, seed, 3).ranked.len(), 3);
    }
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
