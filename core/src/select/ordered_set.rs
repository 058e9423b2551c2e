//! [`OrderedSet`]: the ordered sets behind the indexing selectors, a sorted
//! vector while small and a `BTreeSet` once large.
//!
//! At a few dozen backends (the usual case) a pick moves one or two keys and
//! walks a prefix of the set: a binary search and a short `memmove` in one
//! contiguous array beat a B-tree's node allocations and pointer chasing. At
//! thousands of backends the `memmove` would grow with the set, so past
//! [`FLAT_MAX`] keys the set turns into a `BTreeSet` for good. Both hold the
//! same keys in the same order: which one is in use never changes what a walk
//! yields.

use std::collections::{btree_set, BTreeSet};

/// The most keys kept in the sorted vector.
const FLAT_MAX: usize = 256;

/// A set of `K` in ascending order.
#[derive(Debug, Clone)]
pub(crate) enum OrderedSet<K> {
    /// Sorted ascending, no duplicates, at most [`FLAT_MAX`] keys.
    Flat(Vec<K>),
    /// Larger sets.
    Tree(BTreeSet<K>),
}

impl<K> Default for OrderedSet<K> {
    fn default() -> Self {
        OrderedSet::Flat(Vec::new())
    }
}

impl<K: Ord + Copy> OrderedSet<K> {
    /// Add `k`; false when it was there.
    pub fn insert(&mut self, k: K) -> bool {
        match self {
            OrderedSet::Flat(v) => match v.binary_search(&k) {
                Ok(_) => false,
                Err(at) => {
                    if v.len() < FLAT_MAX {
                        v.insert(at, k);
                    } else {
                        let mut t: BTreeSet<K> = v.drain(..).collect();
                        t.insert(k);
                        *self = OrderedSet::Tree(t);
                    }
                    true
                }
            },
            OrderedSet::Tree(t) => t.insert(k),
        }
    }

    /// Take `k` out; false when it was not there.
    pub fn remove(&mut self, k: &K) -> bool {
        match self {
            OrderedSet::Flat(v) => match v.binary_search(k) {
                Ok(at) => {
                    v.remove(at);
                    true
                }
                Err(_) => false,
            },
            OrderedSet::Tree(t) => t.remove(k),
        }
    }

    /// Move `old` (which must be in) to `new` (which must not be): the keys
    /// between the two places shift by one, not every key after each (an
    /// in-flight count one up or down moves a node a few places).
    pub fn replace(&mut self, old: &K, new: K) {
        match self {
            OrderedSet::Flat(v) => {
                let (Ok(from), Err(to)) = (v.binary_search(old), v.binary_search(&new)) else {
                    debug_assert!(false, "replace: old not in or new already in");
                    self.remove(old);
                    self.insert(new);
                    return;
                };
                if to > from {
                    v[from..to].rotate_left(1);
                    v[to - 1] = new;
                } else {
                    v[to..=from].rotate_right(1);
                    v[to] = new;
                }
            }
            OrderedSet::Tree(t) => {
                t.remove(old);
                t.insert(new);
            }
        }
    }

    /// The smallest key.
    pub fn first(&self) -> Option<&K> {
        match self {
            OrderedSet::Flat(v) => v.first(),
            OrderedSet::Tree(t) => t.first(),
        }
    }

    /// No keys.
    pub fn is_empty(&self) -> bool {
        match self {
            OrderedSet::Flat(v) => v.is_empty(),
            OrderedSet::Tree(t) => t.is_empty(),
        }
    }

    /// The keys, ascending.
    pub fn iter(&self) -> Iter<'_, K> {
        match self {
            OrderedSet::Flat(v) => Iter::Flat(v.iter()),
            OrderedSet::Tree(t) => Iter::Tree(t.iter()),
        }
    }
}

impl<K: Ord + Copy> FromIterator<K> for OrderedSet<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut v: Vec<K> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        if v.len() <= FLAT_MAX {
            OrderedSet::Flat(v)
        } else {
            OrderedSet::Tree(v.into_iter().collect())
        }
    }
}

impl<'a, K: Ord + Copy> IntoIterator for &'a OrderedSet<K> {
    type Item = &'a K;
    type IntoIter = Iter<'a, K>;

    fn into_iter(self) -> Iter<'a, K> {
        self.iter()
    }
}

/// [`OrderedSet::iter`].
pub(crate) enum Iter<'a, K> {
    Flat(core::slice::Iter<'a, K>),
    Tree(btree_set::Iter<'a, K>),
}

impl<'a, K> Iterator for Iter<'a, K> {
    type Item = &'a K;

    fn next(&mut self) -> Option<&'a K> {
        match self {
            Iter::Flat(i) => i.next(),
            Iter::Tree(i) => i.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OrderedSet, FLAT_MAX};
    use crate::rng::{Rng, SplitMix64};
    use std::collections::BTreeSet;

    /// Random inserts and removes across the switch to a tree: always the
    /// same keys, in the same order, as a `BTreeSet`.
    #[test]
    fn walks_as_a_btree_set_does() {
        let mut rng = SplitMix64::new(3);
        let mut set = OrderedSet::default();
        let mut model = BTreeSet::new();
        for step in 0..20_000u64 {
            let k = (rng.below(FLAT_MAX as u64 * 3), rng.below(4));
            // Grow for a while, then shrink.
            let grow = if step < 10_000 { 6 } else { 2 };
            let draw = rng.below(10);
            if draw < grow {
                assert_eq!(set.insert(k), model.insert(k));
            } else if draw == grow {
                // Move a key that is in to one that is not.
                if let Some(&old) = model.iter().nth(rng.below(model.len() as u64 + 1) as usize) {
                    if !model.contains(&k) {
                        set.replace(&old, k);
                        model.remove(&old);
                        model.insert(k);
                    }
                }
            } else {
                assert_eq!(set.remove(&k), model.remove(&k));
            }
            assert_eq!(set.first(), model.first());
            assert_eq!(set.is_empty(), model.is_empty());
            if step % 97 == 0 {
                assert!(set.iter().eq(model.iter()));
                let rebuilt: OrderedSet<_> = model.iter().rev().copied().collect();
                assert!(rebuilt.iter().eq(model.iter()));
            }
        }
        assert!(matches!(set, OrderedSet::Tree(_)));
    }
}
