//! Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
//! Software Network Load Balancer", NSDI 2016, §3.4, pseudocode listing 1) as
//! Envoy builds it (`source/extensions/load_balancing_policies/maglev/maglev_lb.cc`,
//! `OriginalMaglevTable`).
//!
//! - Each backend with weight > 0 is named by its address (`ip:port`,
//!   `[v6]:port`; Envoy's default, `use_hostname_for_hashing: false`). Entries are
//!   sorted by that name; `offset = xxh64(name, 0) % M`,
//!   `skip = xxh64(name, 1) % (M − 1) + 1`; permutation `(offset + skip · next) % M`.
//! - Weighted filling as Envoy: weights normalised by their sum; in iteration
//!   `t = 1, 2, …` an entry takes a slot only when `t · w ≥ target`, after which
//!   `target += max_w`. The table uses configured weights, not slow start, so
//!   a ramp never moves keys.
//! - Lookup: `xxh64(key, 0) % M`. The table is built once, from every backend;
//!   an ineligible slot is skipped by walking the table forward (at most
//!   [`MAX_PROBES`] slots, then round robin, [`Reason::HashFallback`]). Envoy
//!   instead rebuilds its table from the healthy hosts.
//! - The key is [`Key::hash`]; without one, the client address as text. With
//!   neither, or an empty key: round robin.
//! - Fallbacks are the next distinct eligible backends further along the table.

use super::{Candidates, Key, Ranked, RoundRobin, Selection, Selector};
use crate::config::Backend;
use crate::decision::Reason;
use crate::hash::xxh64;
use crate::rng::Rng;

/// Slots walked past ineligible backends before falling back to round robin.
pub const MAX_PROBES: usize = 128;
/// Slots walked looking for fallbacks before filling in configuration order.
const MAX_FALLBACK_PROBES: usize = 4096;
/// The paper's recommended (and Envoy's default) table size.
pub const DEFAULT_TABLE_SIZE: u64 = 65_537;

/// A Maglev lookup table over the configured backends.
#[derive(Debug, Clone)]
pub struct Maglev {
    /// Backend index per slot; empty when no backend has weight.
    table: Vec<u32>,
    backends: usize,
    rr: RoundRobin,
}

struct Entry {
    backend: u32,
    offset: u64,
    skip: u64,
    weight: f64,
    target: f64,
    next: u64,
}

impl Maglev {
    /// Builds the table of prime size `table_size` for `backends`.
    pub fn new(backends: &[Backend], table_size: u64) -> Self {
        Maglev {
            table: build_table(backends, table_size),
            backends: backends.len(),
            rr: RoundRobin::new(backends),
        }
    }

    /// Slots owned by each backend (for statistics and tests).
    pub fn slots(&self) -> Vec<usize> {
        let mut n = vec![0; self.backends];
        for &b in &self.table {
            n[b as usize] += 1;
        }
        n
    }
}

/// Envoy's `OriginalMaglevTable::constructImplementationInternals`.
fn build_table(backends: &[Backend], m: u64) -> Vec<u32> {
    let sum: u64 = backends.iter().map(|b| u64::from(b.weight)).sum();
    if m < 2 || sum == 0 {
        return Vec::new();
    }
    let mut named: Vec<(String, usize)> = backends
        .iter()
        .enumerate()
        .filter(|(_, b)| b.weight > 0)
        .map(|(i, b)| (b.address.to_string(), i))
        .collect();
    named.sort_unstable(); // addresses are unique
    let mut entries: Vec<Entry> = named
        .iter()
        .map(|(name, i)| Entry {
            backend: *i as u32,
            offset: xxh64::hash(name.as_bytes(), 0) % m,
            skip: xxh64::hash(name.as_bytes(), 1) % (m - 1) + 1,
            // Envoy: weight * normalized_locality_weight (1.0) / sum.
            weight: f64::from(backends[*i].weight) / sum as f64,
            target: 0.0,
            next: 0,
        })
        .collect();
    let max_weight = entries.iter().map(|e| e.weight).fold(0.0, f64::max);
    let size = m as usize;
    let mut table = vec![u32::MAX; size];
    let mut filled = 0usize;
    let mut iteration = 1u64;
    while filled < size {
        for e in entries.iter_mut() {
            if filled >= size {
                break;
            }
            if (iteration as f64) * e.weight < e.target {
                continue;
            }
            e.target += max_weight;
            let mut slot = permutation(e, m);
            while table[slot] != u32::MAX {
                e.next += 1;
                slot = permutation(e, m);
            }
            table[slot] = e.backend;
            e.next += 1;
            filled += 1;
        }
        iteration += 1;
    }
    table
}

fn permutation(e: &Entry, m: u64) -> usize {
    ((e.offset + e.skip.wrapping_mul(e.next) % m) % m) as usize
}

impl Selector for Maglev {
    super::forward_to_round_robin!();

    fn select(
        &mut self,
        c: &Candidates<'_>,
        key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        if self.backends != c.len() {
            let m = if self.table.is_empty() {
                DEFAULT_TABLE_SIZE
            } else {
                self.table.len() as u64
            };
            *self = Maglev::new(c.backends, m);
        }
        let text;
        let bytes: &[u8] = match (key.hash, key.client) {
            (Some(h), _) => h,
            (None, Some(ip)) => {
                text = ip.to_string();
                text.as_bytes()
            }
            (None, None) => &[],
        };
        if bytes.is_empty() || self.table.is_empty() {
            return self.rr.select_as(c, key, rng, limit, Reason::RoundRobin);
        }
        let m = self.table.len();
        let start = (xxh64::hash(bytes, 0) % m as u64) as usize;
        let at = |k: usize| self.table[(start + k) % m] as usize;
        let Some(skipped) =
            (0..MAX_PROBES.min(m)).find(|&k| c.eligible.get(at(k)).copied().unwrap_or(false))
        else {
            return self.rr.select_as(c, key, rng, limit, Reason::HashFallback);
        };
        let first = at(skipped);
        let mut ranked = Ranked::new(c.eligible, limit);
        ranked.push(first);
        for k in skipped + 1..(skipped + MAX_FALLBACK_PROBES).min(skipped + m) {
            if ranked.is_full() {
                break;
            }
            ranked.push(at(k));
        }
        ranked.fill_cyclic(first);
        Selection {
            ranked: ranked.list,
            reason: Reason::Hash {
                rehashes: skipped as u32,
            },
            scores: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendState;
    use crate::rng::SplitMix64;

    fn backends(weights: &[u32]) -> Vec<Backend> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Backend {
                name: format!("b{i}"),
                address: format!("10.0.{}.{}:8080", i / 250, i % 250 + 1)
                    .parse()
                    .unwrap(),
                url: None,
                weight: w,
                capacity: 100,
                link: Default::default(),
                down: false,
            })
            .collect()
    }

    fn select(
        t: &mut Maglev,
        b: &[Backend],
        eligible: &[bool],
        key: &[u8],
        limit: usize,
    ) -> Selection {
        let states = vec![BackendState::default(); b.len()];
        let w: Vec<f64> = b.iter().map(|x| f64::from(x.weight)).collect();
        let c = Candidates {
            backends: b,
            states: &states,
            eligible,
            weights: &w,
            now_ms: 0,
        };
        t.select(
            &c,
            &Key {
                client: None,
                hash: Some(key),
            },
            &mut SplitMix64::new(7),
            limit,
        )
    }

    #[test]
    fn table_is_full_and_even() {
        for n in [3usize, 7, 10] {
            let t = Maglev::new(&backends(&vec![1; n]), DEFAULT_TABLE_SIZE);
            assert!(t.table.iter().all(|&b| (b as usize) < n));
            let ideal = DEFAULT_TABLE_SIZE as f64 / n as f64;
            for (i, &s) in t.slots().iter().enumerate() {
                assert!(
                    (s as f64 - ideal).abs() <= ideal * 0.01,
                    "n={n} backend {i}: {s} slots, ideal {ideal}"
                );
            }
        }
    }

    #[test]
    fn weighted_table_follows_weights() {
        let t = Maglev::new(&backends(&[3, 1, 0, 2]), DEFAULT_TABLE_SIZE);
        let s = t.slots();
        assert_eq!(s[2], 0, "weight 0 owns no slot");
        let m = DEFAULT_TABLE_SIZE as f64;
        for (i, w) in [(0, 3.0), (1, 1.0), (3, 2.0)] {
            let ideal = m * w / 6.0;
            assert!(
                (s[i] as f64 - ideal).abs() <= ideal * 0.01,
                "backend {i}: {} vs {ideal}",
                s[i]
            );
        }
    }

    #[test]
    fn deterministic_and_order_independent() {
        let b = backends(&[1, 2, 1, 1]);
        let t1 = Maglev::new(&b, 1009);
        let t2 = Maglev::new(&b, 1009);
        assert_eq!(t1.table, t2.table);
        // Entries are sorted by address, so reordering the configuration only
        // renames indices.
        let mut rev = b.clone();
        rev.reverse();
        let t3 = Maglev::new(&rev, 1009);
        let n = b.len() as u32;
        assert!(t1
            .table
            .iter()
            .zip(&t3.table)
            .all(|(&x, &y)| x == n - 1 - y));
    }

    #[test]
    fn small_table_by_hand() {
        // M = 7, one backend: every slot is backend 0.
        let t = Maglev::new(&backends(&[1]), 7);
        assert_eq!(t.table, vec![0; 7]);
        // Slot of a key is xxh64(key) % M.
        let b = backends(&[1, 1, 1]);
        let mut t = Maglev::new(&b, 7);
        let want = t.table[(xxh64::hash(b"k", 0) % 7) as usize] as usize;
        assert_eq!(select(&mut t, &b, &[true; 3], b"k", 1).ranked, [want]);
    }

    #[test]
    fn skip_ineligible_and_fallbacks() {
        let b = backends(&[1, 1, 1]);
        let mut t = Maglev::new(&b, 1009);
        for k in 0..200u32 {
            let key = k.to_string();
            let all = select(&mut t, &b, &[true; 3], key.as_bytes(), 3);
            assert_eq!(all.reason, Reason::Hash { rehashes: 0 });
            assert_eq!(all.ranked.len(), 3);
            let mut sorted = all.ranked.clone();
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2]);
            let first = all.ranked[0];
            let mut el = [true; 3];
            el[first] = false;
            let moved = select(&mut t, &b, &el, key.as_bytes(), 3);
            // Losing the choice promotes the first fallback: the walk is the same.
            assert_eq!(moved.ranked, all.ranked[1..]);
            assert!(matches!(moved.reason, Reason::Hash { rehashes } if rehashes >= 1));
        }
    }

    #[test]
    fn no_key_and_nothing_eligible() {
        let b = backends(&[1, 1]);
        let mut t = Maglev::new(&b, 7);
        let sel = select(&mut t, &b, &[true; 2], b"", 1);
        assert_eq!(sel.reason, Reason::RoundRobin);
        let sel = select(&mut t, &b, &[false; 2], b"x", 2);
        assert!(sel.ranked.is_empty());
        // An eligible backend without slots (weight 0) is reached by round robin only.
        let b = backends(&[1, 0]);
        let mut t = Maglev::new(&b, 7);
        let sel = select(&mut t, &b, &[false, true], b"x", 2);
        assert_eq!((sel.ranked, sel.reason), (vec![1], Reason::HashFallback));
    }
}
