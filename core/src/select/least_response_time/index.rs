//! The index behind [`super::LeastResponseTime`]'s fallbacks: the eligible backends
//! in two ordered sets, so the lowest loads are found without computing every
//! backend's.
//!
//! * Without a latency sample a backend's load is `default_rtt · (inflight + 1)`,
//!   which does not change with time: `fresh` orders those by it, exactly.
//! * With one, its load at `now` is `cost · e^(−(now − updated)/τ) · (inflight + 1)`.
//!   Every such load decays by the same factor, so the order is fixed by the
//!   time-free key `s = ln(cost · (inflight + 1)) + (updated − base)/τ`
//!   (`load = e^(s − (now − base)/τ)`); `measured` orders by `s`. But the
//!   scan compares *computed* loads, whose rounding is not that of `s`, so the
//!   set only proposes: a pick walks `measured` in `s` order computing exact
//!   loads, and stops at the first backend whose `s` exceeds the log of the
//!   `k`-th lowest load seen so far by a margin (1e-9, relative) far above
//!   every rounding error in either computation (below 1e-13 relative):
//!   that backend's computed load, and every later one's, is then strictly
//!   above `k` loads already seen, so none of them can be among the `k` lowest.
//!   The candidates (the walked backends and the `k` first of `fresh`) are
//!   then ranked with the scan's own comparison.
//! * Where that argument fails the pick falls back to the scan: a `k`-th load
//!   below 1e-280 (underflow or zero costs: the relative error bound no longer
//!   holds), a non-finite one, or `now` before some sample's time (the
//!   estimate then does not decay, it stays at `cost`).
//! * Changes come as for the other indexes ([`Changes`]): an in-flight count
//!   or a new sample re-keys one backend (O(log n) at the next pick), an
//!   eligibility change the backends that differ; a rebuild (O(n log n))
//!   also re-bases `base`.
//!
//! So a pick with `k` fallbacks costs O((k + w) log n) where `w` is the number
//! of backends walked, which is `k` plus the backends whose load is within a
//! factor `1 + 1e-9` of the `k`-th (usually none).

use super::LeastResponseTime;
use crate::float::ordered;
use crate::select::changes::Changes;
use crate::select::Candidates;
use std::collections::BTreeSet;

/// Where a backend is.
#[derive(Debug, Clone, Copy, Default)]
enum Place {
    #[default]
    Out,
    /// In `fresh` under this key.
    Fresh(u64),
    /// In `measured` under this `s`.
    Measured(f64),
}

/// The ordered sets and what must be re-keyed before the next pick.
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    fresh: BTreeSet<(u64, usize)>,
    measured: BTreeSet<(u64, usize)>,
    places: Vec<Place>,
    /// What to re-key at the next pick.
    /// What changed since the last pick (the selector's notifications).
    pub(in crate::select) changes: Changes,
    /// The time `s` is measured from.
    base: u64,
    /// The latest sample time keyed (never lowered).
    latest: u64,
    /// Scratch: the `k` lowest loads walked, ascending.
    lowest: Vec<f64>,
}

impl Index {
    fn place(&mut self, sel: &LeastResponseTime, c: &Candidates<'_>, i: usize) -> Place {
        if !c.eligible[i] {
            return Place::Out;
        }
        let s = &c.states[i];
        match s.latency.cost_ms {
            None => Place::Fresh(ordered(sel.load(c, i))),
            Some(cost) => {
                self.latest = self.latest.max(s.latency.updated_ms);
                let since = s.latency.updated_ms as f64 - self.base as f64;
                let p = f64::from(s.inflight) + 1.0;
                Place::Measured((cost * p).ln() + since / sel.tau())
            }
        }
    }

    fn insert(&mut self, i: usize, p: Place) {
        match p {
            Place::Out => {}
            Place::Fresh(k) => {
                self.fresh.insert((k, i));
            }
            Place::Measured(s) => {
                self.measured.insert((ordered(s), i));
            }
        }
        self.places[i] = p;
    }

    /// Bring the sets up to date with `c`.
    pub fn update(&mut self, sel: &LeastResponseTime, c: &Candidates<'_>) {
        let n = c.len();
        if self.changes.begin(c) {
            self.places = vec![Place::Out; n];
            self.fresh.clear();
            self.measured.clear();
            self.base = c.now_ms;
            self.latest = 0;
            for i in 0..n {
                let p = self.place(sel, c, i);
                self.insert(i, p);
            }
            return;
        }
        while let Some(i) = self.changes.next() {
            match self.places[i] {
                Place::Out => {}
                Place::Fresh(k) => {
                    self.fresh.remove(&(k, i));
                }
                Place::Measured(s) => {
                    self.measured.remove(&(ordered(s), i));
                }
            }
            let p = self.place(sel, c, i);
            self.insert(i, p);
        }
    }

    /// Every backend that can be among the `k` lowest loads, with its load,
    /// into `out` (any order); `false` when the index cannot tell (scan).
    pub fn candidates(
        &mut self,
        sel: &LeastResponseTime,
        c: &Candidates<'_>,
        k: usize,
        out: &mut Vec<(usize, f64)>,
    ) -> bool {
        out.clear();
        if c.now_ms < self.latest {
            return false;
        }
        out.extend(self.fresh.iter().take(k).map(|&(_, i)| (i, sel.load(c, i))));
        self.lowest.clear();
        let elapsed = (c.now_ms as f64 - self.base as f64) / sel.tau();
        for &(_, i) in &self.measured {
            let Place::Measured(s) = self.places[i] else {
                unreachable!("the measured set holds measured backends");
            };
            if self.lowest.len() >= k {
                let kth = self.lowest[k - 1];
                if !(1e-280..=f64::MAX).contains(&kth) {
                    return false;
                }
                let bound = kth.ln() + elapsed;
                if s > bound + 1e-9 * (1.0 + bound.abs() + elapsed.abs() + s.abs()) {
                    break;
                }
            }
            let load = sel.load(c, i);
            if !load.is_finite() {
                return false;
            }
            out.push((i, load));
            let at = self.lowest.partition_point(|&l| l <= load);
            if at < k {
                self.lowest.insert(at, load);
                self.lowest.truncate(k);
            }
        }
        true
    }
}
