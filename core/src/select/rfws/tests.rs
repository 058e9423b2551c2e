//! Unit tests of [`super::Rfws`] (indexed; the reference scan is checked
//! against it in `core/tests/properties_index.rs`).

use super::*;
use crate::rng::SplitMix64;
use crate::select::testutil::Fixture;

/// One pick by the indexed selector, checked against the reference scan
/// (same selection, same random draws).
fn pick(f: &Fixture, seed: u64, limit: usize) -> Selection {
    let run = |mut s: Rfws| {
        let mut rng = SplitMix64::new(seed);
        let sel = s.select(&f.candidates(), &Key::default(), &mut rng, limit);
        (sel, rng)
    };
    let indexed = run(Rfws::new(0.05, 0.9, &f.backends));
    assert_eq!(indexed, run(Rfws::reference(0.05, 0.9, &f.backends)));
    indexed.0
}

fn score(tie: TieBreak) -> Reason {
    Reason::Score { tie }
}

#[test]
fn highest_availability_wins_outright() {
    // V_net: 100/1 = 100, 300/2 = 150, 100/4 = 25; all idle.
    let f = Fixture::new(3)
        .link(0, 100.0, 1, 5.0, 100.0)
        .link(1, 300.0, 2, 50.0, 10.0)
        .link(2, 100.0, 4, 1.0, 100.0);
    let s = pick(&f, 1, 3);
    assert_eq!(s.ranked, [1, 0, 2]);
    assert_eq!(s.reason, score(TieBreak::None));
    assert_eq!(s.scores, [(0, 100.0), (1, 150.0), (2, 25.0)]);
}

#[test]
fn scores_are_the_band_and_the_ranked_nodes() {
    // b1 and b3 tie within 5 % (100, 98); b0, b2 and b4 are ranked by nobody.
    let f = Fixture::new(5)
        .link(0, 10.0, 1, 1.0, 10.0)
        .link(1, 100.0, 1, 20.0, 100.0)
        .link(2, 20.0, 1, 1.0, 20.0)
        .link(3, 98.0, 1, 10.0, 98.0)
        .link(4, 30.0, 1, 1.0, 30.0);
    let s = pick(&f, 1, 1);
    assert_eq!(s.ranked, [3]);
    assert_eq!(s.reason, score(TieBreak::Delay));
    assert_eq!(s.scores, [(1, 100.0), (3, 98.0)]);
    let s = pick(&f, 1, 3);
    assert_eq!(s.ranked, [3, 1, 4]);
    assert_eq!(s.scores, [(1, 100.0), (3, 98.0), (4, 30.0)]);
}

#[test]
fn load_lowers_availability() {
    // b0: 200 · (1 − 60/100) = 80 < b1: 100 · (1 − 0) = 100.
    let f = Fixture::new(2)
        .link(0, 200.0, 1, 0.0, 200.0)
        .link(1, 100.0, 1, 0.0, 100.0)
        .inflight(0, 60);
    let s = pick(&f, 1, 2);
    assert_eq!(s.ranked, [1, 0]);
    assert!((s.scores[0].1 - 80.0).abs() < 1e-9);
}

#[test]
fn tie_on_score_goes_to_smaller_delay() {
    // 100 and 97 are within 5 %; b1's delay is smaller. b2 is outside the band.
    let f = Fixture::new(3)
        .link(0, 100.0, 1, 20.0, 100.0)
        .link(1, 97.0, 1, 10.0, 97.0)
        .link(2, 50.0, 1, 1.0, 50.0);
    let s = pick(&f, 1, 3);
    assert_eq!(s.ranked, [1, 0, 2], "fallbacks by A: b0 then b2");
    assert_eq!(s.reason, score(TieBreak::Delay));
}

#[test]
fn tie_on_delay_goes_to_larger_residual_bandwidth() {
    // Delays 10 and 10.4 are within 5 % of each other; residual 400 vs 600.
    let f = Fixture::new(2)
        .link(0, 100.0, 1, 10.0, 400.0)
        .link(1, 100.0, 1, 10.4, 600.0);
    let s = pick(&f, 1, 2);
    assert_eq!(s.ranked, [1, 0]);
    assert_eq!(s.reason, score(TieBreak::ResidualBandwidth));
    // Outside the band the delay decides.
    let f = f.link(1, 100.0, 1, 11.0, 600.0);
    let s = pick(&f, 1, 2);
    assert_eq!((s.ranked[0], s.reason), (0, score(TieBreak::Delay)));
}

#[test]
fn full_tie_is_broken_at_random() {
    let f = Fixture::new(2)
        .link(0, 100.0, 1, 10.0, 500.0)
        .link(1, 100.0, 1, 10.0, 500.0);
    let mut seen = [false; 2];
    for seed in 0..16 {
        let s = pick(&f, seed, 2);
        assert_eq!(s.reason, score(TieBreak::Random));
        seen[s.ranked[0]] = true;
        assert_eq!(s.ranked.len(), 2);
    }
    assert_eq!(
        seen,
        [true, true],
        "both outcomes occur for different seeds"
    );
    // The same seed always gives the same answer.
    assert_eq!(pick(&f, 3, 2), pick(&f, 3, 2));
}

#[test]
fn zero_tolerance_compares_exactly() {
    let f = Fixture::new(2)
        .link(0, 100.0, 1, 20.0, 100.0)
        .link(1, 99.9, 1, 1.0, 100.0);
    let s = Rfws::new(0.0, 0.9, &f.backends).select(
        &f.candidates(),
        &Key::default(),
        &mut SplitMix64::new(1),
        2,
    );
    assert_eq!((s.ranked[0], s.reason), (0, score(TieBreak::None)));
}

#[test]
fn nodes_over_the_threshold_are_skipped_but_kept_for_failover() {
    // b0 has by far the best link but 95/100 in flight (V_FS 0.95 > 0.9);
    // its A = 10000 · 0.05 = 500 is still the highest score.
    let f = Fixture::new(3)
        .link(0, 10_000.0, 1, 0.0, 10_000.0)
        .link(1, 200.0, 1, 0.0, 200.0)
        .link(2, 500.0, 1, 0.0, 500.0)
        .inflight(0, 95);
    let s = pick(&f, 1, 3);
    assert_eq!(s.ranked, [2, 1, 0]);
    assert_eq!(s.reason, score(TieBreak::None));
    assert_eq!(s.scores.len(), 3);
    // At exactly the threshold a node is still in (the paper: "exceeds").
    let f = f.inflight(0, 90);
    assert_eq!(pick(&f, 1, 1).ranked, [0]);
}

#[test]
fn all_overloaded_picks_the_least_loaded() {
    let f = Fixture::new(3)
        .inflight(0, 98)
        .inflight(1, 93)
        .inflight(2, 100);
    let s = pick(&f, 1, 3);
    assert_eq!(s.ranked, [1, 0, 2]);
    assert_eq!(s.reason, score(TieBreak::None));
}

#[test]
fn slow_start_scales_availability() {
    // b0: V_net 100 at half weight → 50; b1: 80 at full weight.
    let mut f = Fixture::new(2)
        .link(0, 100.0, 1, 0.0, 100.0)
        .link(1, 80.0, 1, 0.0, 80.0);
    f.weights[0] = 0.5;
    let s = pick(&f, 1, 2);
    assert_eq!(s.ranked, [1, 0]);
    assert_eq!(s.scores, [(0, 50.0), (1, 80.0)]);
    f.weights[0] = 1.0;
    assert_eq!(pick(&f, 1, 2).ranked, [0, 1]);
}

#[test]
fn ineligible_and_limits() {
    let mut f = Fixture::new(5).link(0, 900.0, 1, 0.0, 900.0);
    f.eligible[0] = false;
    let s = pick(&f, 1, 3);
    assert_eq!(s.ranked.len(), 3);
    assert!(!s.ranked.contains(&0));
    assert!(s.scores.iter().all(|&(i, _)| i != 0));
    assert_eq!(pick(&f, 1, 17).ranked.len(), 4);
    f.eligible = vec![false; 5];
    assert_eq!(pick(&f, 1, 3), Selection::none());
}

#[test]
fn measured_delay_replaces_the_configured_one() {
    let mut f = Fixture::new(2)
        .link(0, 100.0, 1, 5.0, 100.0)
        .link(1, 100.0, 1, 50.0, 100.0);
    assert_eq!(pick(&f, 1, 1).ranked, [0]);
    // Request latency (service time) is load, not the route's delay.
    f.states[0].latency.observe(80.0, 0, 10_000.0);
    assert_eq!(pick(&f, 1, 1).ranked, [0]);
    // Heartbeats measure node 0's route at 80 ms one way.
    f.states[0].health.record_rtt(160.0, 0, 1000);
    let s = pick(&f, 1, 1);
    assert_eq!((s.ranked[0], s.reason), (1, score(TieBreak::Delay)));
    // ... and at 2 ms: it wins again, and holds the value while idle.
    f.states[0].health.record_rtt(4.0, 10, 1000);
    f.now_ms = 1_000_000;
    assert_eq!(pick(&f, 1, 1).ranked, [0]);
}

/// A topology in the spirit of the paper's Figure 2: four web servers behind
/// the forwarding server, routes labelled (residual bandwidth Mbps, delay ms)
/// plus bottleneck bandwidth and hops, servers with different capacities.
#[test]
fn figure_2_like_topology() {
    let mut f = Fixture::new(4)
        .link(0, 100.0, 2, 12.0, 60.0) // WS1: V_net 50
        .link(1, 100.0, 2, 8.0, 30.0) // WS2: V_net 50
        .link(2, 155.0, 3, 8.2, 90.0) // WS3: V_net 51.67
        .link(3, 1000.0, 5, 3.0, 500.0); // WS4: V_net 200, but busy
    f.backends[3].capacity = 50;
    let f = f
        .inflight(0, 2)
        .inflight(1, 2)
        .inflight(2, 2)
        .inflight(3, 48);
    // A: WS1 = WS2 = 49, WS3 = 50.63, WS4 = 200 · (1 − 0.96): over 0.9, out.
    // WS1..3 tie within 5 %; delays 8 and 8.2 tie, 12 does not; WS3 has more
    // residual bandwidth than WS2.
    let s = pick(&f, 1, 4);
    assert_eq!(s.reason, score(TieBreak::ResidualBandwidth));
    // Fallbacks: WS1 and WS2 tie exactly on A (49), WS2's delay is smaller.
    assert_eq!(s.ranked, [2, 1, 0, 3]);
    // WS3 fills up: its A falls out of the band and WS2's delay wins.
    let f = f.inflight(2, 20);
    let s = pick(&f, 1, 4);
    assert_eq!(s.reason, score(TieBreak::Delay));
    assert_eq!(s.ranked, [1, 0, 2, 3]);
    // WS4 drains below the threshold: its bandwidth dominates again.
    let f = f.inflight(3, 10);
    assert_eq!(pick(&f, 1, 4).ranked[0], 3);
}
