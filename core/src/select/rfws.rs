//! RFWS — request-forwarding web server selection (Hu & Shi, "E-Commerce
//! System Based on Distributed Load Balancing"), steps 3–6 of the paper's rule.
//! Step 2 (the cookie) is the [`crate::Router`]'s; faulty nodes (`W_F = 1`)
//! are already out of [`Candidates::eligible`].
//!
//! 3. Drop every node whose load `V_FS` exceeds `load_threshold`; score the rest
//!    by availability `A = V_net · (1 − V_FS)` with `V_net = B / h` (bottleneck
//!    bandwidth over hop count). The printed formula lost its image; this is the
//!    product form with `V_FS = 1` meaning "availability zero"
//!    (`shared/reference/rfws.md`). During slow start `A` is also multiplied by
//!    `effective weight / configured weight` (0.1 → 1), so a recovering node is
//!    eased back in like every other algorithm does it.
//! 4. Among the nodes tied on `A`, the smallest delay `D` ([`BackendState::delay_ms`]).
//! 5. Then the largest residual bandwidth `B_R` ([`BackendState::residual_mbps`]).
//! 6. Then uniformly at random with `rng`.
//!
//! **Ties.** Measured reals rarely tie exactly, so two values tie when the
//! smaller is within `tie_tolerance` of the larger, relative to the larger:
//! `A ≥ A_best · (1 − tol)`, `D · (1 − tol) ≤ D_min`, `B_R ≥ B_R,max · (1 − tol)`.
//! One relative band for all three steps keeps the rule scale-free (Mbps and ms
//! alike) and makes `tie_tolerance = 0` mean exact comparison everywhere; an
//! absolute delay floor (say 0.5 ms) would break that. Each band is taken
//! against the best of the set that reached the step.
//!
//! **Everything overloaded.** When every eligible node is above the threshold
//! the least loaded one (lowest `V_FS`, then highest `A`, then lowest index) is
//! still chosen, reason `Score { tie: None }`: an answer from a busy node beats
//! refusing the request, and failover needs a target.
//!
//! **Fallbacks.** The other nodes at or below the threshold by `A` descending
//! (exact ties by `D`, then `B_R`, then index), then — if places remain — the
//! overloaded ones by lowest `V_FS`. `scores` holds the `A` that decided, by
//! backend index: every node in the step-3 band and every ranked node (not
//! every eligible node: at 10 000 backends that would be a 10 000-entry list
//! per pick, and an `x-edgepick-decision` header to match).
//!
//! **Cost.** One pass over the backends computes every `A` and the best; a
//! second, over the (compact) list of nodes under the threshold, collects the
//! band and keeps the best `limit` for fallbacks in a bounded buffer (O(limit)
//! per insertion, O(1) per rejection, and both tests rarely true, so they
//! predict well); steps 4–6 then look only at the band, so `D` (an `exp` when latency was measured) and
//! `B_R` are computed only for band nodes (and for exact ties on `A` in the
//! fallback order). Per-backend constants (`B`, `h`, capacity, configured
//! weight) are read once at build time, and `inflight / capacity` and
//! `B · (1 − V_FS) / h` are memoised per backend on their exact inputs, so a
//! pick divides only for nodes whose load changed since the last one. All
//! working memory lives in the struct and is reused: a pick allocates only its
//! result (`ranked` and `scores`).
//!
//! [`BackendState::delay_ms`]: crate::backend::BackendState::delay_ms
//! [`BackendState::residual_mbps`]: crate::backend::BackendState::residual_mbps

use super::least_conn::offer;
use super::{Candidates, Key, Selection, Selector};
use crate::config::Backend;
use crate::decision::{Reason, TieBreak};
use crate::rng::Rng;

/// One eligible node's step-3 inputs.
#[derive(Debug, Clone, Copy)]
struct Node {
    i: usize,
    a: f64,
    v_fs: f64,
}

/// One backend's constants, taken from the configuration once, and a memo of
/// the last load seen: the two divisions of step 3 run only for a node whose
/// in-flight count or `V_FS` changed since the previous pick. The memo is keyed
/// on the exact inputs, so a reused value is bit-for-bit the one a fresh
/// computation would give.
#[derive(Debug, Clone, Copy)]
struct Route {
    /// Bottleneck bandwidth `B`, Mbps.
    bandwidth: f64,
    /// Hop count `h` (at least 1).
    hops: f64,
    /// Capacity (at least 1).
    capacity: f64,
    /// Configured weight.
    weight: f64,
    /// The in-flight count `by_inflight` belongs to.
    inflight: u32,
    /// `inflight / capacity`.
    by_inflight: f64,
    /// The `V_FS` `a` belongs to.
    v_fs: f64,
    /// `B · (1 − V_FS) / h`, before the slow-start ramp.
    a: f64,
}

impl Route {
    fn of(b: &Backend) -> Self {
        let (bandwidth, hops) = (b.link.bandwidth_mbps, f64::from(b.link.hops.max(1)));
        Route {
            bandwidth,
            hops,
            capacity: f64::from(b.capacity.max(1)),
            weight: f64::from(b.weight),
            inflight: 0,
            by_inflight: 0.0,
            v_fs: 0.0,
            a: base_availability(bandwidth, hops, 0.0),
        }
    }
}

/// The paper's selection rule with a configurable tie band and load threshold.
#[derive(Debug, Clone)]
pub struct Rfws {
    tie_tolerance: f64,
    load_threshold: f64,
    /// Per-backend constants and memo, in backend order.
    nodes: Vec<Route>,
    /// Eligible nodes at or below the threshold.
    open: Vec<Node>,
    /// Eligible nodes above it.
    over: Vec<Node>,
    /// Steps 4–6 working set: node and the value compared at that step.
    tied: Vec<(usize, f64)>,
    /// Best `limit` nodes in fallback order.
    top: Vec<Node>,
}

/// `A = B · (1 − V_FS) / h` (before the slow-start ramp).
fn base_availability(bandwidth: f64, hops: f64, v_fs: f64) -> f64 {
    bandwidth * (1.0 - v_fs) / hops
}

fn delay(c: &Candidates<'_>, i: usize) -> f64 {
    c.states[i].delay_ms(&c.backends[i], c.now_ms)
}

fn residual(c: &Candidates<'_>, i: usize) -> f64 {
    c.states[i].residual_mbps(&c.backends[i])
}

/// Fallback order among nodes under the threshold: `A` desc, `D` asc, `B_R` desc, index.
fn open_before(c: &Candidates<'_>, x: &Node, y: &Node) -> bool {
    if x.a != y.a {
        return x.a > y.a;
    }
    let (dx, dy) = (delay(c, x.i), delay(c, y.i));
    if dx != dy {
        return dx < dy;
    }
    let (bx, by) = (residual(c, x.i), residual(c, y.i));
    if bx != by {
        return bx > by;
    }
    x.i < y.i
}

/// Add node `i`'s score to `scores` (ascending by index) unless it is there:
/// a few binary-search inserts instead of a sort of the whole list.
fn note(scores: &mut Vec<(usize, f64)>, i: usize, a: f64) {
    if let Err(at) = scores.binary_search_by_key(&i, |s| s.0) {
        scores.insert(at, (i, a));
    }
}

/// Order among overloaded nodes: `V_FS` asc, `A` desc, index.
fn over_before(x: &Node, y: &Node) -> bool {
    if x.v_fs != y.v_fs {
        return x.v_fs < y.v_fs;
    }
    if x.a != y.a {
        return x.a > y.a;
    }
    x.i < y.i
}

impl Rfws {
    /// `tie_tolerance` in `[0, 1)`, `load_threshold` in `(0, 1)` (validated by
    /// the config), over `backends`: [`Selector::select`] must be given these
    /// backends (a different number of them makes it start again from
    /// `Candidates::backends`).
    pub fn new(tie_tolerance: f64, load_threshold: f64, backends: &[Backend]) -> Self {
        Rfws {
            tie_tolerance: tie_tolerance.clamp(0.0, 1.0),
            load_threshold,
            nodes: backends.iter().map(Route::of).collect(),
            open: Vec::new(),
            over: Vec::new(),
            tied: Vec::new(),
            top: Vec::new(),
        }
    }

    /// Step 3: `A` for every eligible node; overloaded nodes into `over`, the
    /// others into `open` (one pass over the backends); then, over `open`, the
    /// nodes in the band of the best `A` into `tied` and the best `limit` into
    /// `top`.
    fn scan(&mut self, c: &Candidates<'_>, limit: usize) {
        self.over.clear();
        self.open.clear();
        self.tied.clear();
        self.top.clear();
        if self.nodes.len() != c.len() {
            self.nodes = c.backends.iter().map(Route::of).collect();
        }
        let keep = 1.0 - self.tie_tolerance;
        let threshold = self.load_threshold;
        let mut best = f64::NEG_INFINITY;
        let nodes = self
            .nodes
            .iter_mut()
            .zip(c.states)
            .zip(c.eligible)
            .zip(c.weights);
        for (i, (((n, s), &eligible), &w)) in nodes.enumerate() {
            if !eligible {
                continue;
            }
            // `BackendState::v_fs`, with the division memoised.
            if s.inflight != n.inflight {
                n.inflight = s.inflight;
                n.by_inflight = f64::from(s.inflight) / n.capacity;
            }
            let v_fs = n.by_inflight.max(s.reported_load(c.now_ms)).clamp(0.0, 1.0);
            if v_fs.to_bits() != n.v_fs.to_bits() {
                n.v_fs = v_fs;
                n.a = base_availability(n.bandwidth, n.hops, v_fs);
            }
            // The slow-start ramp.
            let a = if n.weight == 0.0 || w == n.weight {
                n.a
            } else {
                n.a * (w / n.weight)
            };
            let node = Node { i, a, v_fs };
            if v_fs > threshold {
                self.over.push(node);
                continue;
            }
            // Written so that it compiles to a `max`, not a branch.
            best = if a > best { a } else { best };
            self.open.push(node);
        }
        // Over the nodes under the threshold, now that the band is known: both
        // tests below are rarely true, so they cost little and predict well.
        let band = best * keep;
        for &node in &self.open {
            if node.a >= band {
                self.tied.push((node.i, node.a));
            }
            // `offer` rejects a node whose `A` is below the `limit`-th (or NaN)
            // without a look at `D` or `B_R`: skip the call.
            if limit > 0 && (self.top.len() < limit || node.a >= self.top[limit - 1].a) {
                offer(&mut self.top, limit, node, |x, y| open_before(c, x, y));
            }
        }
    }

    /// Steps 4–6 over `self.tied`, the nodes in the step-3 band (two or more).
    fn choose(&mut self, c: &Candidates<'_>, rng: &mut dyn Rng) -> (usize, TieBreak) {
        let keep = 1.0 - self.tie_tolerance;
        // Step 4: smallest delay.
        let mut d_min = f64::INFINITY;
        for t in &mut self.tied {
            t.1 = delay(c, t.0);
            d_min = d_min.min(t.1);
        }
        self.tied.retain(|t| t.1 * keep <= d_min);
        if let [(i, _)] = self.tied[..] {
            return (i, TieBreak::Delay);
        }
        // Step 5: largest residual bandwidth.
        let mut b_max = f64::NEG_INFINITY;
        for t in &mut self.tied {
            t.1 = residual(c, t.0);
            b_max = b_max.max(t.1);
        }
        self.tied.retain(|t| t.1 >= b_max * keep);
        if let [(i, _)] = self.tied[..] {
            return (i, TieBreak::ResidualBandwidth);
        }
        // Step 6: at random.
        let r = rng.below(self.tied.len() as u64) as usize;
        (self.tied[r].0, TieBreak::Random)
    }
}

impl Selector for Rfws {
    fn name(&self) -> &'static str {
        "rfws"
    }

    fn select(
        &mut self,
        c: &Candidates<'_>,
        _key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        self.scan(c, limit);
        if limit == 0 || (self.top.is_empty() && self.over.is_empty()) {
            return Selection::none();
        }
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        // The scores that decided, by index: the step-3 band (in index order
        // already, from `scan`), then every ranked node.
        let mut scores = Vec::with_capacity(self.tied.len() + limit.min(c.len()));
        let tie = if self.top.is_empty() {
            TieBreak::None
        } else {
            scores.extend_from_slice(&self.tied);
            let (chosen, tie) = match self.tied[..] {
                [(i, _)] => (i, TieBreak::None),
                _ => self.choose(c, rng),
            };
            ranked.push(chosen);
            for n in self.top.iter().filter(|n| n.i != chosen).take(limit - 1) {
                ranked.push(n.i);
                note(&mut scores, n.i, n.a);
            }
            tie
        };
        if ranked.len() < limit && !self.over.is_empty() {
            // Overloaded nodes last (or first, when nothing else is left).
            self.top.clear();
            let k = limit - ranked.len();
            for n in &self.over {
                offer(&mut self.top, k, *n, over_before);
            }
            for n in &self.top {
                ranked.push(n.i);
                note(&mut scores, n.i, n.a);
            }
        }
        debug_assert!(scores.windows(2).all(|w| w[0].0 < w[1].0));
        Selection {
            ranked,
            reason: Reason::Score { tie },
            scores,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::select::testutil::Fixture;

    fn pick(f: &Fixture, seed: u64, limit: usize) -> Selection {
        Rfws::new(0.05, 0.9, &f.backends).select(
            &f.candidates(),
            &Key::default(),
            &mut SplitMix64::new(seed),
            limit,
        )
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
        f.states[0].latency.observe(80.0, 0, 10_000.0);
        let s = pick(&f, 1, 1);
        assert_eq!((s.ranked[0], s.reason), (1, score(TieBreak::Delay)));
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
}
