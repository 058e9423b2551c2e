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
//! 4. Among the nodes tied on `A`, the smallest delay `D` ([`BackendState::delay_ms`]):
//!    the route's one-way delay, measured from heartbeat round trips where
//!    heartbeats run ([`crate::health::LinkRtt`]), else configured. Service
//!    time is not part of it (it is load: requests in flight).
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
//! **Cost.** A pick does not look at every backend. Two ordered sets
//! ([`index`]) hold the eligible nodes: those at or below the threshold by `A`
//! (highest first), those above it by (`V_FS`, `A`). The router tells the
//! selector what changed ([`Selector::changed`], [`Selector::reweighed`],
//! [`Selector::resync`]); at the next pick each changed backend is scored
//! again and moved, O(log n) each. The step-3 band is then a prefix of the
//! first set (put back in index order through a two-level bitmap, O(m + n/4096)
//! for `m` nodes in it), the fallbacks the next few entries (plus any node
//! whose `A` equals the `limit`-th exactly, re-ordered by `D`, `B_R`, index),
//! and `D` and `B_R` are computed only for those: a pick is O(m + limit), in
//! practice whatever the number of backends (the band itself is part of the
//! answer, in `scores`). `D` is never stored here: it is read at pick time
//! for the nodes that need it. See [`index`] for the time-driven
//! inputs (load reports going stale, slow start) and why the sets always
//! equal a fresh scan. The full scan the sets replace is kept
//! ([`Rfws::reference`]): the property tests compare the two pick for pick.
//!
//! Per-backend constants (`B`, `h`, capacity, configured weight) are read once
//! at build time, and `inflight / capacity` and `B · (1 − V_FS) / h` are
//! memoised per backend on their exact inputs, so scoring the same inputs
//! twice gives bit-for-bit the same `A`. All working memory lives in the
//! struct and is reused: a pick allocates only its result (`ranked` and
//! `scores`; `scores` not at all when turned off with
//! [`Selector::record_scores`]).
//!
//! [`BackendState::delay_ms`]: crate::backend::BackendState::delay_ms
//! [`BackendState::residual_mbps`]: crate::backend::BackendState::residual_mbps

mod index;
mod scan;
#[cfg(test)]
mod tests;

use super::rank::offer;
use super::{Candidates, Key, Selection, Selector};
use crate::backend::BackendState;
use crate::config::Backend;
use crate::decision::{Reason, TieBreak};
use crate::rng::Rng;
use index::Index;

/// One eligible node's step-3 inputs.
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    i: usize,
    a: f64,
    v_fs: f64,
}

/// One backend's constants, taken from the configuration once, and a memo of
/// the last load seen: the two divisions of step 3 run only for a node whose
/// in-flight count or `V_FS` changed since it was last scored. The memo is
/// keyed on the exact inputs, so a reused value is bit-for-bit the one a fresh
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
    /// Configured delay `D`, ms (used until the link's delay is measured).
    delay: f64,
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
            delay: b.link.delay_ms,
            inflight: 0,
            by_inflight: 0.0,
            v_fs: 0.0,
            a: base_availability(bandwidth, hops, 0.0),
        }
    }

    /// Step 3 for backend `i` with state `s` and effective weight `w`: its
    /// `V_FS` and `A` (slow-start ramp included). The scan and the index both
    /// score through here, so they see the same bits.
    fn score(&mut self, i: usize, s: &BackendState, w: f64, now_ms: u64) -> Node {
        // `BackendState::v_fs`, with the division memoised.
        if s.inflight != self.inflight {
            self.inflight = s.inflight;
            self.by_inflight = f64::from(s.inflight) / self.capacity;
        }
        let v_fs = self
            .by_inflight
            .max(s.reported_load(now_ms))
            .clamp(0.0, 1.0);
        if v_fs.to_bits() != self.v_fs.to_bits() {
            self.v_fs = v_fs;
            self.a = base_availability(self.bandwidth, self.hops, v_fs);
        }
        // The slow-start ramp.
        let a = if self.weight == 0.0 || w == self.weight {
            self.a
        } else {
            self.a * (w / self.weight)
        };
        Node { i, a, v_fs }
    }
}

/// The paper's selection rule with a configurable tie band and load threshold.
#[derive(Debug, Clone)]
pub struct Rfws {
    tie_tolerance: f64,
    load_threshold: f64,
    /// Per-backend constants and memo, in backend order.
    nodes: Vec<Route>,
    /// Eligible nodes at or below the threshold (reference scan only).
    open: Vec<Node>,
    /// Eligible nodes above it (reference scan only).
    over: Vec<Node>,
    /// Steps 4–6 working set: node and the value compared at that step.
    tied: Vec<(usize, f64)>,
    /// Best `limit` nodes in fallback order.
    top: Vec<Node>,
    /// The trees; `None` for the reference scan.
    index: Option<Box<Index>>,
    /// Fill [`Selection::scores`] ([`Selector::record_scores`]).
    scores: bool,
}

/// `A = B · (1 − V_FS) / h` (before the slow-start ramp).
fn base_availability(bandwidth: f64, hops: f64, v_fs: f64) -> f64 {
    bandwidth * (1.0 - v_fs) / hops
}

fn delay(c: &Candidates<'_>, i: usize) -> f64 {
    c.states[i].delay_ms(&c.backends[i])
}

/// [`delay`] for a node in the band, with the configured delay read from its
/// (compact) route rather than the backend: the same value.
fn route_delay(c: &Candidates<'_>, r: &Route, i: usize) -> f64 {
    c.states[i].delay_or(r.delay)
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
    /// `Candidates::backends`). The selector keeps an index over the backends:
    /// whoever reuses it across picks must report state changes through
    /// [`Selector::changed`], [`Selector::reweighed`] and [`Selector::resync`]
    /// (the router does).
    pub fn new(tie_tolerance: f64, load_threshold: f64, backends: &[Backend]) -> Self {
        Rfws {
            index: Some(Box::default()),
            ..Self::reference(tie_tolerance, load_threshold, backends)
        }
    }

    /// The same rule by a full scan of the backends on every pick, O(n): the
    /// reference the indexed selector is tested against. Needs no change
    /// notifications.
    #[doc(hidden)]
    pub fn reference(tie_tolerance: f64, load_threshold: f64, backends: &[Backend]) -> Self {
        Rfws {
            tie_tolerance: tie_tolerance.clamp(0.0, 1.0),
            load_threshold,
            nodes: backends.iter().map(Route::of).collect(),
            open: Vec::new(),
            over: Vec::new(),
            tied: Vec::new(),
            top: Vec::new(),
            index: None,
            scores: true,
        }
    }

    /// Step 3 into `tied` (the band: in index order when the scores are
    /// recorded, else in any order) and `top` (the best `limit`
    /// in fallback order); returns whether any node is above the threshold.
    fn rank(&mut self, c: &Candidates<'_>, limit: usize) -> bool {
        if self.nodes.len() != c.len() {
            self.nodes = c.backends.iter().map(Route::of).collect();
        }
        let keep = 1.0 - self.tie_tolerance;
        match &mut self.index {
            None => self.scan(c, limit),
            Some(ix) => {
                ix.update(c, &mut self.nodes, self.load_threshold);
                // The band in index order only for the scores: `choose`
                // orders what is left of it before drawing (step 6).
                ix.rank(c, keep, limit, self.scores, &mut self.tied, &mut self.top)
            }
        }
    }

    /// The best `k` overloaded nodes into `top`, least loaded first.
    fn overloaded(&mut self, k: usize) {
        self.top.clear();
        match &mut self.index {
            None => {
                for n in &self.over {
                    offer(&mut self.top, k, *n, over_before);
                }
            }
            Some(ix) => ix.overloaded(k, &mut self.top),
        }
    }

    /// Steps 4–6 over `self.tied`, the nodes in the step-3 band (two or more,
    /// in any order: steps 4 and 5 keep a subset whatever the order, and step
    /// 6 draws from it in index order).
    fn choose(&mut self, c: &Candidates<'_>, rng: &mut dyn Rng) -> (usize, TieBreak) {
        let keep = 1.0 - self.tie_tolerance;
        // Step 4: smallest delay.
        let mut d_min = f64::INFINITY;
        for t in &mut self.tied {
            t.1 = route_delay(c, &self.nodes[t.0], t.0);
            debug_assert_eq!(t.1.to_bits(), delay(c, t.0).to_bits());
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
        // Step 6: at random, among the still-tied in index order.
        if !self.tied.is_sorted_by_key(|t| t.0) {
            self.tied.sort_unstable_by_key(|t| t.0);
        }
        let r = rng.below(self.tied.len() as u64) as usize;
        (self.tied[r].0, TieBreak::Random)
    }
}

impl Selector for Rfws {
    super::forward_to_index!();

    fn record_scores(&mut self, on: bool) {
        self.scores = on;
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
        let any_over = self.rank(c, limit);
        if self.top.is_empty() && !any_over {
            return Selection::none();
        }
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        // The scores that decided, by index: the step-3 band (in index order
        // already), then every ranked node.
        // (None at all when no one reads them: `Selector::record_scores`.)
        let record = self.scores;
        let mut scores = match record {
            true => Vec::with_capacity(self.tied.len() + limit.min(c.len())),
            false => Vec::new(),
        };
        let tie = if self.top.is_empty() {
            TieBreak::None
        } else {
            if record {
                scores.extend_from_slice(&self.tied);
            }
            let (chosen, tie) = match self.tied[..] {
                [(i, _)] => (i, TieBreak::None),
                _ => self.choose(c, rng),
            };
            ranked.push(chosen);
            for n in self.top.iter().filter(|n| n.i != chosen).take(limit - 1) {
                ranked.push(n.i);
                if record {
                    note(&mut scores, n.i, n.a);
                }
            }
            tie
        };
        if ranked.len() < limit && any_over {
            // Overloaded nodes last (or first, when nothing else is left).
            self.overloaded(limit - ranked.len());
            for n in &self.top {
                ranked.push(n.i);
                if record {
                    note(&mut scores, n.i, n.a);
                }
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
