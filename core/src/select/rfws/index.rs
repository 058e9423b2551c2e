//! The index behind [`super::Rfws`]: the eligible nodes in two ordered sets, kept
//! equal to what a fresh scan would score.
//!
//! * `open` holds the eligible nodes at or below the threshold ordered by `A`
//!   descending, then index; `over` those above it by `V_FS` ascending, then
//!   `A` descending, then index. So the step-3 band is a prefix of `open`
//!   (walked, then put in index order by [`IndexOrder`]), the fallbacks are
//!   the next few entries of `open` (plus any whose `A` equals the `limit`-th
//!   exactly, which `D`, `B_R` and index then order), and the overloaded
//!   fallbacks a prefix of `over`: a pick costs O(m + n/4096 + limit) for a
//!   band of `m` nodes.
//! * A node's place depends on its in-flight count, its load report, its
//!   effective weight, its eligibility and the time (the report's freshness).
//!   The router reports what changed ([`Changes`]): one backend's state
//!   (re-scored at the next pick, O(log n)), eligibility and weights after it
//!   recomputed them (compared at the next pick, O(n) over two flat arrays,
//!   the backends that differ re-scored), or everything (`states_mut`: a
//!   rebuild, O(n log n)).
//! * **Time.** Of step 3's inputs only a load report depends on `now_ms`: it
//!   counts while `now − at ≤ LOAD_REPORT_TTL_MS`. When a backend is scored
//!   with a fresh report the first instant it will be stale is queued in a
//!   min-heap (at most one entry per backend); a pick first pops every due
//!   instant and re-scores those backends, so a report expires in the index at
//!   exactly the pick the scan would first ignore it. Time going backwards
//!   could revive a report, so it forces a rebuild. Slow-start weights change
//!   with time too, but they reach the selector only through the router's
//!   recomputation, which it reports. `D` decays with time but is not
//!   indexed: it is computed at pick time for the band and for exact ties.
//!
//! Exactness: `A` and `V_FS` are produced by the same [`super::Route::score`]
//! the scan uses and kept as they are; the sets order them by a key that
//! compares exactly as the scan's `<`, `>` and `==` do (finite values, `−0`
//! folded into `+0`), and break ties by index, as the scan's order does.

use super::{offer, open_before, Candidates, Node, Route};
use crate::backend::LOAD_REPORT_TTL_MS;
use crate::float::ordered;
use crate::select::changes::Changes;
use crate::select::ordered_set::OrderedSet;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Place in `open`: `A` descending, then index.
fn open_key(n: &Node) -> (u64, usize) {
    (!ordered(n.a), n.i)
}

/// Place in `over`: `V_FS` ascending, `A` descending, then index.
fn over_key(n: &Node) -> (u64, u64, usize) {
    (ordered(n.v_fs), !ordered(n.a), n.i)
}

/// Both slots put the backend at the same place in the sets.
fn same_place(a: &Slot, b: &Slot) -> bool {
    match (a, b) {
        (Slot::Out, Slot::Out) => true,
        (Slot::Open(x), Slot::Open(y)) => open_key(x) == open_key(y),
        (Slot::Over(x), Slot::Over(y)) => over_key(x) == over_key(y),
        _ => false,
    }
}

/// Where a backend is.
#[derive(Debug, Clone, Copy, Default)]
enum Slot {
    /// Not eligible.
    #[default]
    Out,
    /// At or below the threshold.
    Open(Node),
    /// Above it.
    Over(Node),
}

/// No expiry queued.
const NEVER: u64 = u64::MAX;

/// The ordered sets and what must be re-scored before the next pick.
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    open: OrderedSet<(u64, usize)>,
    over: OrderedSet<(u64, u64, usize)>,
    /// Each backend's place, as scored last.
    slots: Vec<Slot>,
    /// What to re-score at the next pick.
    /// What changed since the last pick (the selector's notifications).
    pub(in crate::select) changes: Changes,
    /// When load reports go stale: (first stale instant, backend).
    expiries: BinaryHeap<Reverse<(u64, usize)>>,
    /// The instant queued for each backend, or [`NEVER`].
    queued: Vec<u64>,
    /// `now_ms` at the last pick.
    last_now: u64,
    /// Puts the band in index order.
    order: IndexOrder,
}

/// A two-level bitmap over backend indices that hands the indices set in it
/// back in ascending order: O(1) per insertion, O(m + n / 4096) to drain `m`.
/// It is empty between picks.
#[derive(Debug, Clone, Default)]
struct IndexOrder {
    /// Bit `i % 64` of word `i / 64`: index `i` is in.
    words: Vec<u64>,
    /// Bit `w % 64` of word `w / 64`: word `w` is not zero.
    summary: Vec<u64>,
}

impl IndexOrder {
    fn reset(&mut self, n: usize) {
        let words = n.div_ceil(64);
        self.words = vec![0; words];
        self.summary = vec![0; words.div_ceil(64)];
    }

    fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
        self.summary[i / 4096] |= 1 << ((i / 64) % 64);
    }

    /// Call `f` on every index in, ascending, and empty the bitmap.
    fn drain(&mut self, mut f: impl FnMut(usize)) {
        for (s, summary) in self.summary.iter_mut().enumerate() {
            let mut sw = core::mem::take(summary);
            while sw != 0 {
                let w = s * 64 + sw.trailing_zeros() as usize;
                sw &= sw - 1;
                let mut x = core::mem::take(&mut self.words[w]);
                while x != 0 {
                    f(w * 64 + x.trailing_zeros() as usize);
                    x &= x - 1;
                }
            }
        }
    }
}

impl Index {
    /// Bring the sets up to date with `c`.
    pub fn update(&mut self, c: &Candidates<'_>, routes: &mut [Route], threshold: f64) {
        if c.now_ms < self.last_now {
            self.changes.resync();
        }
        self.last_now = c.now_ms;
        if self.changes.begin(c) {
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
            self.changes.mark(i);
        }
        while let Some(i) = self.changes.next() {
            let slot = self.score(c, routes, i, threshold);
            if same_place(&self.slots[i], &slot) {
                // Back where it was (an in-flight count up and down again):
                // the sets stay as they are.
                self.slots[i] = slot;
                continue;
            }
            match (self.slots[i], slot) {
                // Moved within a set (an in-flight count up or down).
                (Slot::Open(old), Slot::Open(new)) => {
                    self.open.replace(&open_key(&old), open_key(&new));
                }
                (Slot::Over(old), Slot::Over(new)) => {
                    self.over.replace(&over_key(&old), over_key(&new));
                }
                (old, new) => {
                    match old {
                        Slot::Out => {}
                        Slot::Open(n) => {
                            self.open.remove(&open_key(&n));
                        }
                        Slot::Over(n) => {
                            self.over.remove(&over_key(&n));
                        }
                    }
                    match new {
                        Slot::Out => {}
                        Slot::Open(n) => {
                            self.open.insert(open_key(&n));
                        }
                        Slot::Over(n) => {
                            self.over.insert(over_key(&n));
                        }
                    }
                }
            }
            self.slots[i] = slot;
        }
    }

    fn rebuild(&mut self, c: &Candidates<'_>, routes: &mut [Route], threshold: f64) {
        let n = c.len();
        self.expiries.clear();
        self.queued.clear();
        self.queued.resize(n, NEVER);
        self.order.reset(n);
        let slots: Vec<Slot> = (0..n)
            .map(|i| self.score(c, routes, i, threshold))
            .collect();
        self.open = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Open(n) => Some(open_key(n)),
                _ => None,
            })
            .collect();
        self.over = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Over(n) => Some(over_key(n)),
                _ => None,
            })
            .collect();
        self.slots = slots;
    }

    /// Backend `i`'s place, noting when its load report expires.
    fn score(
        &mut self,
        c: &Candidates<'_>,
        routes: &mut [Route],
        i: usize,
        threshold: f64,
    ) -> Slot {
        if !c.eligible[i] {
            return Slot::Out;
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
        let node = routes[i].score(i, s, c.weights[i], c.now_ms);
        if node.v_fs > threshold {
            Slot::Over(node)
        } else {
            Slot::Open(node)
        }
    }

    /// The node in `open` at `key`.
    fn open_node(&self, key: &(u64, usize)) -> Node {
        match self.slots[key.1] {
            Slot::Open(n) => n,
            _ => unreachable!("the open set holds open nodes"),
        }
    }

    /// The band into `tied` (in index order when `index_order`, else in
    /// `open`'s order) and the best `limit >= 1` open nodes in fallback order
    /// into `top`; returns whether any node is over the threshold.
    pub fn rank(
        &mut self,
        c: &Candidates<'_>,
        keep: f64,
        limit: usize,
        index_order: bool,
        tied: &mut Vec<(usize, f64)>,
        top: &mut Vec<Node>,
    ) -> bool {
        tied.clear();
        top.clear();
        let any_over = !self.over.is_empty();
        let Some(first) = self.open.first() else {
            return any_over;
        };
        let band = self.open_node(first).a * keep;
        // The band: a prefix of `open` (compared on the keys: `a >= band`
        // exactly when `ordered(a) >= ordered(band)`, the keys holding
        // `!ordered(a)`), then in index order.
        let below = !ordered(band);
        let band = self.open.iter().take_while(|&&(key, _)| key <= below);
        if index_order {
            for &(_, i) in band {
                self.order.insert(i);
            }
            let slots = &self.slots;
            self.order.drain(|i| {
                if let Slot::Open(n) = slots[i] {
                    tied.push((i, n.a));
                }
            });
        } else {
            tied.extend(band.map(|key| (key.1, self.open_node(key).a)));
        }
        // The `limit` highest `A`, and every node whose `A` equals the
        // `limit`-th exactly: `D`, `B_R` and index order those.
        let mut last = f64::NAN;
        for (taken, key) in self.open.iter().enumerate() {
            let n = self.open_node(key);
            if taken >= limit && n.a != last {
                break;
            }
            last = n.a;
            offer(top, limit, n, |x, y| open_before(c, x, y));
        }
        any_over
    }

    /// The `k` least loaded overloaded nodes into `top`, in order.
    pub fn overloaded(&self, k: usize, top: &mut Vec<Node>) {
        top.extend(self.over.iter().take(k).map(|key| match self.slots[key.2] {
            Slot::Over(n) => n,
            _ => unreachable!("the over set holds overloaded nodes"),
        }));
    }
}
