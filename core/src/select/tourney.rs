//! A tournament tree (a segment tree of winners) over backend indices: the
//! index behind [`super::LeastConnections`].
//!
//! Leaf `i` holds backend `i`'s key, or nothing when the backend does not take
//! part (ineligible, or in another tree). Every inner node holds the best key
//! of its subtree, the lowest index holding it, and how many leaves of the
//! subtree share it. So, for `n` backends:
//!
//! * the best key, its lowest index and the number of backends tied with it
//!   are read at the root in O(1);
//! * changing one leaf is O(log n) (the path to the root is recomputed);
//! * the `r`-th tied backend in index order is found in O(log n) by descending
//!   through the counts (the seeded random tie-break);
//! * the `k` best in (key, index) order are taken without writing, from a
//!   frontier of subtrees, in O(k² log n) comparisons (`k` is a handful).
//!
//! Keys need only a strict order `better` whose "neither is better" is an
//! equivalence (a total preorder): then the tree's winner, counts and orders are
//! exactly those a linear scan in index order finds.

/// The order a [`Tourney`] ranks by.
pub(crate) trait Rank: Copy + Default {
    /// Strictly better than `o`.
    fn better(&self, o: &Self) -> bool;
}

/// A subtree's winner: its key, its lowest index, how many leaves share the
/// key (0: an empty subtree).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Entry<K> {
    /// The best key.
    pub key: K,
    /// The lowest index holding it.
    pub i: usize,
    /// Leaves holding an equally good key; 0 when the subtree is empty.
    pub count: usize,
}

fn play<K: Rank>(a: Entry<K>, b: Entry<K>) -> Entry<K> {
    if a.count == 0 {
        return b;
    }
    if b.count == 0 || a.key.better(&b.key) {
        return a;
    }
    if b.key.better(&a.key) {
        return b;
    }
    Entry {
        count: a.count + b.count,
        ..a
    }
}

/// Winners over `n` leaves, stored as an implicit binary heap (root at 1,
/// leaf `i` at `width + i`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tourney<K> {
    width: usize,
    nodes: Vec<Entry<K>>,
}

impl<K: Rank> Tourney<K> {
    /// Leaves `0..n`, filled from `keys` in one O(n) bottom-up pass.
    pub fn build(n: usize, keys: impl Iterator<Item = Option<K>>) -> Self {
        let width = n.max(1).next_power_of_two();
        let mut nodes = vec![Entry::default(); 2 * width];
        for (i, k) in keys.take(n).enumerate() {
            if let Some(key) = k {
                nodes[width + i] = Entry { key, i, count: 1 };
            }
        }
        for p in (1..width).rev() {
            nodes[p] = play(nodes[2 * p], nodes[2 * p + 1]);
        }
        Tourney { width, nodes }
    }

    /// Set leaf `i` (`None` empties it). O(log n).
    pub fn set(&mut self, i: usize, key: Option<K>) {
        let mut p = self.width + i;
        self.nodes[p] = match key {
            Some(key) => Entry { key, i, count: 1 },
            None => Entry::default(),
        };
        while p > 1 {
            p /= 2;
            self.nodes[p] = play(self.nodes[2 * p], self.nodes[2 * p + 1]);
        }
    }

    /// The overall winner, unless every leaf is empty.
    pub fn best(&self) -> Option<Entry<K>> {
        self.nodes.get(1).copied().filter(|e| e.count > 0)
    }

    /// The index of the `r`-th (from 0, in index order) leaf tied with the
    /// winner; `r` must be below the winner's count.
    pub fn nth_tied(&self, mut r: usize) -> usize {
        let root = self.nodes[1];
        let mut p = 1;
        while p < self.width {
            let left = self.nodes[2 * p];
            let tied = left.count > 0 && !root.key.better(&left.key);
            if tied && r < left.count {
                p *= 2;
            } else {
                if tied {
                    r -= left.count;
                }
                p = 2 * p + 1;
            }
        }
        p - self.width
    }

    /// The first `k` leaves (in index order) tied with the winner, into
    /// `out`: a depth-first walk that skips every subtree without a tie,
    /// O(k log n).
    pub fn first_tied(&self, k: usize, out: &mut Vec<Entry<K>>) {
        let Some(root) = self.best() else {
            return;
        };
        let start = out.len();
        // Right children wait on the stack: at most one per level.
        let mut stack = [0usize; usize::BITS as usize + 1];
        let (mut top, mut p) = (0, 1);
        loop {
            let e = self.nodes[p];
            if e.count > 0 && !root.key.better(&e.key) {
                if p >= self.width {
                    out.push(e);
                    if out.len() - start == k {
                        return;
                    }
                } else {
                    stack[top] = 2 * p + 1;
                    top += 1;
                    p *= 2;
                    continue;
                }
            }
            if top == 0 {
                return;
            }
            top -= 1;
            p = stack[top];
        }
    }

    /// Take winners in (key, index) order into `out` while `more(out, next)`
    /// says so. The tree is only read: a frontier of subtrees holds the
    /// candidates (at first the root); the best of it is taken and replaced
    /// by the siblings along the path from it down to its winner's leaf.
    /// O(|out|² log n) comparisons, for the handful of fallbacks a pick wants.
    pub fn take(
        &self,
        out: &mut Vec<Entry<K>>,
        frontier: &mut Vec<usize>,
        mut more: impl FnMut(&[Entry<K>], &K) -> bool,
    ) {
        let start = out.len();
        frontier.clear();
        if self.best().is_some() {
            frontier.push(1);
        }
        while !frontier.is_empty() {
            let mut j = 0;
            for (k, &p) in frontier.iter().enumerate().skip(1) {
                let (e, b) = (&self.nodes[p], &self.nodes[frontier[j]]);
                if e.key.better(&b.key) || (!b.key.better(&e.key) && e.i < b.i) {
                    j = k;
                }
            }
            let p = frontier.swap_remove(j);
            let e = self.nodes[p];
            if !more(&out[start..], &e.key) {
                break;
            }
            out.push(Entry { count: 1, ..e });
            let mut x = self.width + e.i;
            while x > p {
                if self.nodes[x ^ 1].count > 0 {
                    frontier.push(x ^ 1);
                }
                x /= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Rank for u32 {
        fn better(&self, o: &Self) -> bool {
            self < o
        }
    }

    #[test]
    fn winner_ties_and_order() {
        let keys = [5u32, 3, 9, 3, 7, 3];
        let mut t = Tourney::build(keys.len(), keys.iter().map(|&k| Some(k)));
        let b = t.best().unwrap();
        assert_eq!((b.key, b.i, b.count), (3, 1, 3));
        assert_eq!([t.nth_tied(0), t.nth_tied(1), t.nth_tied(2)], [1, 3, 5]);
        let mut out = Vec::new();
        t.take(&mut out, &mut Vec::new(), |o, _| o.len() < 4);
        let got: Vec<usize> = out.iter().map(|e| e.i).collect();
        assert_eq!(got, [1, 3, 5, 0]);
        out.clear();
        t.take(&mut out, &mut Vec::new(), |o, _| o.len() < 9);
        let got: Vec<usize> = out.iter().map(|e| e.i).collect();
        assert_eq!(got, [1, 3, 5, 0, 4, 2]);
        out.clear();
        t.first_tied(2, &mut out);
        let got: Vec<usize> = out.iter().map(|e| e.i).collect();
        assert_eq!(got, [1, 3]);
        out.clear();
        t.first_tied(5, &mut out);
        assert_eq!(out.len(), 3);
        t.set(1, None);
        t.set(3, Some(1));
        let b = t.best().unwrap();
        assert_eq!((b.key, b.i, b.count), (1, 3, 1));
        let empty: Tourney<u32> = Tourney::build(0, core::iter::empty());
        assert!(empty.best().is_none());
    }
}
