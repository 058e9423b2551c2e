//! The index behind [`super::LeastConnections`]: a tournament tree over the backend
//! indices, leaf `i` holding backend `i`'s load `(inflight + 1) / weight` when
//! it is eligible.
//!
//! A load depends only on the in-flight count, the effective weight and
//! eligibility, none of which changes with time by itself: the router calls
//! [`Index::changed`] when an in-flight count changes (re-scored at the next
//! pick, O(log n)) and [`Index::resync`] when it recomputes eligibility and
//! weights (rebuilt at the next pick, O(n)). A rebuild is also forced when the
//! candidates' `states` slice moves or the number of backends changes.
//!
//! The tree compares loads with [`Load::lower`], the scan's own comparison.
//! It answers only while every eligible weight is [`exact_weight`] (counted as
//! leaves change): then that comparison is exact, "same load" is transitive,
//! and the tree's winner, tie count and (load, index) order are the scan's.

use super::{exact_weight, Candidates, Load};
use crate::rng::Rng;
use crate::select::tourney::{Entry, Rank, Tourney};

impl Rank for Load {
    fn better(&self, o: &Self) -> bool {
        self.lower(o)
    }
}

/// The tree and what must be re-scored before the next pick.
#[derive(Debug, Clone)]
pub(super) struct Index {
    tree: Tourney<Load>,
    /// Rebuild at the next pick.
    all: bool,
    /// Backends to re-score at the next pick, and membership flags.
    dirty: Vec<usize>,
    marked: Vec<bool>,
    /// Per leaf: present with a weight that is not [`exact_weight`].
    inexact: Vec<bool>,
    /// How many leaves are.
    inexact_count: usize,
    /// The `states` address at the last pick.
    states_at: usize,
    /// Scratch for `take`.
    taken: Vec<Entry<Load>>,
    frontier: Vec<usize>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            tree: Tourney::default(),
            all: true,
            dirty: Vec::new(),
            marked: Vec::new(),
            inexact: Vec::new(),
            inexact_count: 0,
            states_at: 0,
            taken: Vec::new(),
            frontier: Vec::new(),
        }
    }
}

fn leaf(c: &Candidates<'_>, i: usize) -> Option<Load> {
    c.eligible[i].then(|| Load::of(c, i))
}

fn is_inexact(l: &Option<Load>) -> bool {
    l.is_some_and(|l| !exact_weight(l.weight))
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

    /// True when the tree can answer exactly (every eligible weight exact).
    pub fn exact(&self) -> bool {
        self.inexact_count == 0
    }

    /// Bring the tree up to date with `c`.
    pub fn update(&mut self, c: &Candidates<'_>) {
        let n = c.len();
        let at = c.states.as_ptr() as usize;
        if self.marked.len() != n || at != self.states_at {
            self.all = true;
        }
        self.states_at = at;
        if self.all {
            self.all = false;
            self.dirty.clear();
            self.marked.clear();
            self.marked.resize(n, false);
            let leaves: Vec<Option<Load>> = (0..n).map(|i| leaf(c, i)).collect();
            self.inexact = leaves.iter().map(is_inexact).collect();
            self.inexact_count = self.inexact.iter().filter(|&&x| x).count();
            self.tree = Tourney::build(n, leaves.into_iter());
            return;
        }
        while let Some(i) = self.dirty.pop() {
            self.marked[i] = false;
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
