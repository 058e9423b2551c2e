//! The index behind [`super::LeastConnections`]: a tournament tree over the backend
//! indices, leaf `i` holding backend `i`'s load `(inflight + 1) / weight` when
//! it is eligible.
//!
//! A load depends only on the in-flight count, the effective weight and
//! eligibility, none of which changes with time by itself: the router reports
//! in-flight changes one backend at a time and eligibility and weight
//! recomputations as a whole ([`Changes`]); the backends that changed are
//! re-keyed at the next pick, O(log n) each.
//!
//! The tree compares loads with [`Load::lower`], the scan's own comparison.
//! It answers only while every eligible weight is [`exact_weight`] (counted as
//! leaves change): then that comparison is exact, "same load" is transitive,
//! and the tree's winner, tie count and (load, index) order are the scan's.

use super::{exact_weight, Candidates, Load};
use crate::rng::Rng;
use crate::select::changes::Changes;
use crate::select::tourney::{Entry, Rank, Tourney};

impl Rank for Load {
    fn better(&self, o: &Self) -> bool {
        self.lower(o)
    }
}

/// The tree and what must be re-scored before the next pick.
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    tree: Tourney<Load>,
    /// What to re-key at the next pick.
    /// What changed since the last pick (the selector's notifications).
    pub(in crate::select) changes: Changes,
    /// Per leaf: present with a weight that is not [`exact_weight`].
    inexact: Vec<bool>,
    /// How many leaves are.
    inexact_count: usize,
    /// Scratch for `take`.
    taken: Vec<Entry<Load>>,
    frontier: Vec<usize>,
}

fn leaf(c: &Candidates<'_>, i: usize) -> Option<Load> {
    c.eligible[i].then(|| Load::of(c, i))
}

fn is_inexact(l: &Option<Load>) -> bool {
    l.is_some_and(|l| !exact_weight(l.weight))
}

impl Index {
    /// True when the tree can answer exactly (every eligible weight exact).
    pub fn exact(&self) -> bool {
        self.inexact_count == 0
    }

    /// Bring the tree up to date with `c`.
    pub fn update(&mut self, c: &Candidates<'_>) {
        let n = c.len();
        if self.changes.begin(c) {
            let leaves: Vec<Option<Load>> = (0..n).map(|i| leaf(c, i)).collect();
            self.inexact = leaves.iter().map(is_inexact).collect();
            self.inexact_count = self.inexact.iter().filter(|&&x| x).count();
            self.tree = Tourney::build(n, leaves.into_iter());
            return;
        }
        while let Some(i) = self.changes.next() {
            let l = leaf(c, i);
            let inexact = is_inexact(&l);
            if inexact != self.inexact[i] {
                self.inexact[i] = inexact;
                if inexact {
                    self.inexact_count += 1;
                } else {
                    self.inexact_count -= 1;
                }
            }
            self.tree.set(i, l);
        }
    }

    /// The lowest load, ties at random (one draw, as the scan does, only when
    /// two or more backends share it): the `r`-th tied backend in index order.
    pub fn least(&self, c: &Candidates<'_>, rng: &mut dyn Rng) -> Option<Load> {
        let best = self.tree.best()?;
        if best.count == 1 {
            return Some(best.key);
        }
        let r = rng.below(best.count as u64) as usize;
        Some(Load::of(c, self.tree.nth_tied(r)))
    }

    /// The `k` lowest loads in (load, index) order, `skip` left out, into `top`.
    pub fn lowest(&mut self, k: usize, skip: Option<usize>, top: &mut Vec<Load>) {
        let want = k + usize::from(skip.is_some());
        self.taken.clear();
        if self.tree.best().is_some_and(|b| b.count >= want) {
            // The lowest load is shared by enough backends: the first of them.
            self.tree.first_tied(want, &mut self.taken);
        } else {
            self.tree
                .take(&mut self.taken, &mut self.frontier, |t, _| t.len() < want);
        }
        top.clear();
        top.extend(
            self.taken
                .iter()
                .map(|e| e.key)
                .filter(|l| Some(l.i) != skip)
                .take(k),
        );
    }
}
