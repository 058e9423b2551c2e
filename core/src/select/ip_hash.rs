//! nginx's `ip_hash` (`ngx_http_upstream_get_ip_hash_peer` in
//! `src/http/modules/ngx_http_upstream_ip_hash_module.c`), decision for decision.
//!
//! - Key: an IPv4 client's first **3** octets (a whole /24 maps to one peer), an
//!   IPv6 client's 16 bytes.
//! - `hash = 89`; per key byte `hash = (hash * 113 + b) % 6271`; then
//!   `w = hash % total_weight` walks the peers in configuration order
//!   (`while w >= weight { w -= weight; next }`). `total_weight` sums the
//!   *configured* weight of every backend, eligible or not, as nginx counts its
//!   `down` peers; slow start does not move the map.
//! - An ineligible peer costs a try and the byte loop runs again, starting from
//!   the current hash; after 20 tries nginx gives up and uses round robin
//!   ([`Reason::HashFallback`]).
//! - Fewer than 2 backends: plain round robin, as nginx. A request without a
//!   client address (nginx always has one; it hashes `{0,0,0}` for non-IP
//!   families) is also sent by round robin ([`Reason::RoundRobin`]).
//!
//! Fallbacks continue the re-hash walk, as nginx's next attempt would, collecting
//! distinct eligible peers for at most 20 more fruitless rounds; any places
//! still open are filled in configuration order after the choice.

use super::{Candidates, Key, Ranked, RoundRobin, Selection, Selector};
use crate::config::Backend;
use crate::decision::Reason;
use crate::rng::Rng;
use std::net::IpAddr;

/// Re-hash rounds before falling back to round robin (nginx's `tries > 20`).
const MAX_TRIES: u32 = 20;

/// nginx `ip_hash`.
#[derive(Debug, Clone)]
pub struct IpHash {
    /// `ends[p]` = sum of configured weights of peers `0..=p`.
    ends: Vec<u64>,
    /// Round robin for the cases nginx hands to it.
    rr: RoundRobin,
}

impl IpHash {
    /// The weight map of `backends` (configured weights, configuration order).
    pub fn new(backends: &[Backend]) -> Self {
        IpHash {
            ends: cumulative(backends),
            rr: RoundRobin::new(backends),
        }
    }

    /// Sum of configured weights of every backend.
    fn total(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The peer nginx's walk lands on for `hash` (`total > 0`).
    fn peer(&self, hash: u64) -> usize {
        let w = hash % self.total();
        // First peer whose range [end - weight, end) holds w; weight-0 peers own none.
        self.ends.partition_point(|&end| end <= w)
    }
}

fn cumulative(backends: &[Backend]) -> Vec<u64> {
    backends
        .iter()
        .scan(0u64, |sum, b| {
            *sum += u64::from(b.weight);
            Some(*sum)
        })
        .collect()
}

/// The bytes nginx hashes for `ip`.
fn key_bytes(ip: IpAddr, buf: &mut [u8; 16]) -> &[u8] {
    match ip {
        IpAddr::V4(v4) => {
            buf[..3].copy_from_slice(&v4.octets()[..3]);
            &buf[..3]
        }
        IpAddr::V6(v6) => {
            *buf = v6.octets();
            &buf[..]
        }
    }
}

/// One round of nginx's byte loop, continuing from `hash`.
fn rehash(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h * 113 + u64::from(b)) % 6271)
}

impl Selector for IpHash {
    super::forward_to_round_robin!();

    fn select(
        &mut self,
        c: &Candidates<'_>,
        key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        if self.ends.len() != c.len() {
            *self = IpHash::new(c.backends);
        }
        let Some(ip) = key.client else {
            return self.rr.select_as(c, key, rng, limit, Reason::RoundRobin);
        };
        if c.len() < 2 || self.total() == 0 {
            return self.rr.select_as(c, key, rng, limit, Reason::RoundRobin);
        }
        let mut buf = [0u8; 16];
        let bytes = key_bytes(ip, &mut buf);
        let mut hash = 89u64;
        let mut tries = 0u32;
        let first = loop {
            hash = rehash(hash, bytes);
            let p = self.peer(hash);
            if c.eligible.get(p).copied().unwrap_or(false) {
                break p;
            }
            tries += 1;
            if tries > MAX_TRIES {
                return self.rr.select_as(c, key, rng, limit, Reason::HashFallback);
            }
        };
        let mut ranked = Ranked::new(c.eligible, limit);
        ranked.push(first);
        let mut fruitless = 0u32;
        while !ranked.is_full() && fruitless < MAX_TRIES {
            hash = rehash(hash, bytes);
            if !ranked.push(self.peer(hash)) {
                fruitless += 1;
            }
        }
        ranked.fill_cyclic(first);
        Selection {
            ranked: ranked.list,
            reason: Reason::Hash { rehashes: tries },
            scores: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendState;
    use crate::rng::SplitMix64;

    use crate::select::testutil::lettered as backends;

    /// Picks for `client` with `eligible`; returns (ranked, reason).
    fn pick(
        weights: &[u32],
        eligible: &[bool],
        client: Option<&str>,
        limit: usize,
    ) -> (Vec<usize>, Reason) {
        let b = backends(weights);
        let states = vec![BackendState::default(); b.len()];
        let w: Vec<f64> = b.iter().map(|x| f64::from(x.weight)).collect();
        let c = Candidates {
            backends: &b,
            states: &states,
            eligible,
            weights: &w,
            now_ms: 0,
        };
        let key = Key {
            client: client.map(|s| s.parse().unwrap()),
            hash: None,
        };
        let sel = IpHash::new(&b).select(&c, &key, &mut SplitMix64::new(1), limit);
        (sel.ranked, sel.reason)
    }

    fn hash_of(ip: &str) -> u64 {
        let mut buf = [0u8; 16];
        rehash(89, key_bytes(ip.parse().unwrap(), &mut buf))
    }

    const ALL: [bool; 3] = [true; 3];

    #[test]
    fn reference_hashes() {
        assert_eq!(hash_of("192.168.1.10"), 154);
        assert_eq!(hash_of("10.0.0.1"), 2565);
        assert_eq!(hash_of("2001:db8::1"), 2600);
        let mut buf = [0u8; 16];
        assert_eq!(
            rehash(154, key_bytes("192.168.1.10".parse().unwrap(), &mut buf)),
            5654
        );
    }

    #[test]
    fn reference_vectors() {
        let one = |ip: &str| pick(&[1, 1, 1], &ALL, Some(ip), 1).0[0];
        assert_eq!(one("192.168.1.10"), 1, "b (hash 154)");
        assert_eq!(one("192.168.1.200"), 1, "b (same /24)");
        assert_eq!(one("10.0.0.1"), 0, "a (hash 2565)");
        assert_eq!(one("2001:db8::1"), 2, "c (hash 2600)");
        assert_eq!(
            pick(&[5, 1, 1], &ALL, Some("192.168.1.10"), 1).0,
            [0],
            "weights 5,1,1 → a"
        );
    }

    #[test]
    fn rehash_when_down() {
        let (ranked, reason) = pick(&[1, 1, 1], &[true, false, true], Some("192.168.1.10"), 1);
        assert_eq!(ranked, [2], "c (re-hash 5654)");
        assert_eq!(reason, Reason::Hash { rehashes: 1 });
        assert_eq!(
            pick(&[1, 1, 1], &ALL, Some("192.168.1.10"), 1).1,
            Reason::Hash { rehashes: 0 }
        );
    }

    #[test]
    fn ineligible_weight_still_counts_in_total() {
        // total 3 with b out: 154 % 3 = 1 still lands on b first, then re-hashes.
        // Were b left out of the total, 154 % 2 = 0 would give a.
        assert_eq!(
            pick(&[1, 1, 1], &[true, false, true], Some("192.168.1.10"), 1).0,
            [2]
        );
    }

    #[test]
    fn zero_weight_peer_owns_no_slot() {
        // Weights 1,0,1: total 2; 154 % 2 = 0 → a; 2565 % 2 = 1 → c (b skipped).
        let e = [true, false, true];
        assert_eq!(pick(&[1, 0, 1], &e, Some("192.168.1.10"), 1).0, [0]);
        assert_eq!(pick(&[1, 0, 1], &e, Some("10.0.0.1"), 1).0, [2]);
    }

    #[test]
    fn fallbacks_follow_rehash_walk() {
        let (ranked, reason) = pick(&[1, 1, 1], &ALL, Some("192.168.1.10"), 3);
        assert_eq!(reason, Reason::Hash { rehashes: 0 });
        // 154 → b, 5654 % 3 = 2 → c, then a.
        assert_eq!(ranked, [1, 2, 0]);
        let (ranked, _) = pick(&[1, 1, 1], &[true, false, true], Some("192.168.1.10"), 3);
        assert_eq!(ranked, [2, 0]);
    }

    #[test]
    fn all_out_but_unreachable_falls_back_to_round_robin() {
        // Weight 0 peers are never hashed to; with a and b out, the only eligible
        // peer has no slot, so 21 tries fail and round robin takes over.
        let (ranked, reason) = pick(&[1, 1, 0], &[false, false, true], Some("192.168.1.10"), 2);
        assert_eq!(ranked, [2]);
        assert_eq!(reason, Reason::HashFallback);
    }

    #[test]
    fn no_client_or_single_backend_is_round_robin() {
        let (ranked, reason) = pick(&[5, 1, 1], &ALL, None, 1);
        assert_eq!((ranked, reason), (vec![0], Reason::RoundRobin));
        let (ranked, reason) = pick(&[1], &[true], Some("10.0.0.1"), 2);
        assert_eq!((ranked, reason), (vec![0], Reason::RoundRobin));
    }

    #[test]
    fn nothing_eligible_is_empty() {
        let (ranked, reason) = pick(&[1, 1, 1], &[false; 3], Some("10.0.0.1"), 3);
        assert!(ranked.is_empty());
        assert_eq!(reason, Reason::NoBackend);
    }

    #[test]
    fn same_slash_24_same_peer_for_many_addresses() {
        for last in 0..=255u8 {
            let ip = format!("172.16.5.{last}");
            assert_eq!(
                pick(&[2, 3, 1], &ALL, Some(&ip), 1).0,
                pick(&[2, 3, 1], &ALL, Some("172.16.5.0"), 1).0
            );
        }
    }
}
