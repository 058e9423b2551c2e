//! The index behind [`Rfws`]: two tournament trees over the backend indices,
//! kept equal to what a fresh scan would score.
//!
//! * `open` ranks the eligible nodes at or below the threshold by `A`
//!   (highest first); `over` the eligible nodes above it by `V_FS` (lowest
//!   first), then `A`. Every other backend is an empty leaf in both.
//! * A node's leaf depends on its in-flight count, its load report, its
//!   effective weight, its eligibility and the time (the report's freshness).
//!   [`Index::changed`] queues one backend (O(1); re-scored at the next pick in
//!   O(log n)); [`Index::resync`] rebuilds everything at the next pick (O(n)).
//!   The router calls `changed` wherever it mutates one backend's state and
//!   `resync` whenever it recomputes eligibility and effective weights (a
//!   failure, a health change, `states_mut`, a slow-start step), so neither
//!   the router nor a pick ever costs O(n) more than the router already pays.
//! * **Time.** Of step 3's inputs only a load report depends on `now_ms`: it
//!   counts while `now − at ≤ LOAD_REPORT_TTL_MS`. When a backend is scored
//!   with a fresh report the first instant it will be stale is queued in a
//!   min-heap (at most one entry per backend); a pick first pops every due
//!   instant and re-scores those backends, so a report expires in the trees at
//!   exactly the pick the scan would first ignore it. Time going backwards
//!   could revive a report, so it forces a rebuild. Slow-start weights change
//!   with time too, but they reach the selector only through the router's
//!   recomputation, which triggers `resync`. `D` decays with time but is not
//!   indexed: it is computed at pick time for the band and for exact ties.
//! * A rebuild is also forced when the candidates' `states` slice moves or the
//!   number of backends changes (a selector reused over other state).
//!
//! Exactness: `A` and `V_FS` are produced by the same [`super::Route::score`]
//! the scan uses; the trees compare them with the same `>`/`<`/`==` the scan
//! does; ties in the trees go to the lower index, as the scan's order does.

use super::{offer, open_before, Candidates, Node, Route};
use crate::backend::LOAD_REPORT_TTL_MS;
use crate::select::tourney::{Entry, Rank, Tourney};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A node ranked by `A`, highest first.
#[derive(Debug, Clone, Copy, Default)]
struct ByA(Node);

impl Rank for ByA {
    fn better(&self, o: &Self) -> bool {
        self.0.a > o.0.a
    }
}

/// An overloaded node ranked by `V_FS` ascending, then `A` descending.
#[derive(Debug, Clone, Copy, Default)]
struct ByLoad(Node);

impl Rank for ByLoad {
    fn better(&self, o: &Self) -> bool {
        let (x, y) = (&self.0, &o.0);
        if x.v_fs != y.v_fs {
            return x.v_fs < y.v_fs;
        }
        x.a > y.a
    }
}

/// No expiry queued.
const NEVER: u64 = u64::MAX;

/// The trees and what must be re-scored before the next pick.
#[derive(Debug, Clone)]
pub(super) struct Index {
    open: Tourney<ByA>,
    over: Tourney<ByLoad>,
    /// Rebuild everything at the next pick.
    all: bool,
    /// Backends to re-score at the next pick, and membership flags.
    dirty: Vec<usize>,
    marked: Vec<bool>,
    /// When load reports go stale: (first stale instant, backend).
    expiries: BinaryHeap<Reverse<(u64, usize)>>,
    /// The instant queued for each backend, or [`NEVER`].
    queued: Vec<u64>,
    /// `now_ms` and `states` address at the last pick.
    last_now: u64,
    states_at: usize,
    /// Scratch for `take`.
    taken: Vec<Entry<ByA>>,
    taken_over: Vec<Entry<ByLoad>>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            open: Tourney::default(),
            over: Tourney::default(),
            all: true,
            dirty: Vec::new(),
            marked: Vec::new(),
            expiries: BinaryHeap::new(),
            queued: Vec::new(),
            last_now: 0,
            states_at: 0,
            taken: Vec::new(),
            taken_over: Vec::new(),
        }
    }
}

impl Index {
    /// Backend `i` changed: re-score it at the next pick.
    pub fn changed(&mut self, i: usize) {
        if self.all {
            return;
        }
        match self.marked.get_mut(i) {
            Some(m) if !*m => {
                *m = true;
                self.dirty.push(i);
                // Past a quarter of the backends a rebuild is cheaper.
                if self.dirty.len() > self.marked.len() / 4 + 16 {
                    self.all = true;
                }
            }
            Some(_) => {}
            None => self.all = true,
        }
    }

    /// Anything may have changed: rebuild at the next pick.
    pub fn resync(&mut self) {
        self.all = true;
    }

    /// Bring the trees up to date with `c`.
    pub fn update(&mut self, c: &Candidates<'_>, routes: &mut [Route], threshold: f64) {
        let n = c.len();
        let at = c.states.as_ptr() as usize;
        if self.marked.len() != n || at != self.states_at || c.now_ms < self.last_now {
            self.all = true;
        }
        self.states_at = at;
        self.last_now = c.now_ms;
        if self.all {
            self.rebuild(c, routes, threshold);
            return;
        }
        while let Some(&Reverse((t, i))) = self.expiries.peek() {
            if t > c.now_ms {
                break;
            }
            self.expiries.pop();
            if self.queued[i] == t {
                self.queued[i] = NEVER;
            }
            if !self.marked[i] {
                self.marked[i] = true;
                self.dirty.push(i);
            }
        }
        while let Some(i) = self.dirty.pop() {
            self.marked[i] = false;
            let node = self.score(c, routes, i);
            let (open, over) = split(node, threshold);
            self.open.set(i, open);
            self.over.set(i, over);
        }
    }

    fn rebuild(&mut self, c: &Candidates<'_>, routes: &mut [Route], threshold: f64) {
        let n = c.len();
        self.all = false;
        self.dirty.clear();
        self.marked.clear();
        self.marked.resize(n, false);
        self.expiries.clear();
        self.queued.clear();
        self.queued.resize(n, NEVER);
        let nodes: Vec<Option<Node>> = (0..n).map(|i| self.score(c, routes, i)).collect();
        let parts = nodes.iter().map(|&node| split(node, threshold));
        self.open = Tourney::build(n, parts.clone().map(|p| p.0));
        self.over = Tourney::build(n, parts.map(|p| p.1));
    }

    /// Backend `i`'s node when eligible, noting when its load report expires.
    fn score(&mut self, c: &Candidates<'_>, routes: &mut [Route], i: usize) -> Option<Node> {
        if !c.eligible[i] {
            return None;
        }
        let s = &c.states[i];
        if let Some(r) = s.load {
            if c.now_ms.saturating_sub(r.at_ms) <= LOAD_REPORT_TTL_MS {
                let stale = r.at_ms.saturating_add(LOAD_REPORT_TTL_MS + 1);
                if stale < self.queued[i] {
                    self.queued[i] = stale;
                    self.expiries.push(Reverse((stale, i)));
                }
            }
        }
        Some(routes[i].score(i, s, c.weights[i], c.now_ms))
    }

    /// The band (index order) into `tied` and the best `limit >= 1` open
    /// nodes in fallback order into `top`; returns whether any node is over
    /// the threshold.
    pub fn rank(
        &mut self,
        c: &Candidates<'_>,
        keep: f64,
        limit: usize,
        tied: &mut Vec<(usize, f64)>,
        top: &mut Vec<Node>,
    ) -> bool {
        tied.clear();
        top.clear();
        let any_over = self.over.best().is_some();
        let Some(best) = self.open.best() else {
            return any_over;
        };
        let band = best.key.0.a * keep;
        self.open
            .visit(&|k: &ByA| k.0.a >= band, &mut |i, k| tied.push((i, k.0.a)));
        // The `limit` highest `A`, and every node whose `A` equals the
        // `limit`-th exactly: `D`, `B_R` and index order those.
        self.taken.clear();
        self.open.take(&mut self.taken, |t, next| {
            t.len() < limit || next.0.a == t[limit - 1].key.0.a
        });
        for e in &self.taken {
            offer(top, limit, e.key.0, |x, y| open_before(c, x, y));
        }
        any_over
    }

    /// The `k` least loaded overloaded nodes into `top`, in order.
    pub fn overloaded(&mut self, k: usize, top: &mut Vec<Node>) {
        self.taken_over.clear();
        self.over.take(&mut self.taken_over, |t, _| t.len() < k);
        top.extend(self.taken_over.iter().map(|e| e.key.0));
    }
}

/// Which tree a node goes in.
fn split(node: Option<Node>, threshold: f64) -> (Option<ByA>, Option<ByLoad>) {
    match node {
        Some(n) if n.v_fs > threshold => (None, Some(ByLoad(n))),
        Some(n) => (Some(ByA(n)), None),
        None => (None, None),
    }
}
