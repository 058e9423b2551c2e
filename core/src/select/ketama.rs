//! nginx's `hash $key consistent` (ketama; `ngx_http_upstream_update_chash` and
//! `ngx_http_upstream_get_chash_peer` in
//! `src/http/modules/ngx_http_upstream_hash_module.c`), compatible with
//! Cache::Memcached::Fast.
//!
//! - Ring: each backend gets `weight * 160` points from its server string
//!   (`address`, canonical `ip:port` form; `[v6]:port` for IPv6), split at the
//!   last `:` when only digits follow: `base = crc32(host + "\0" + port)`, then
//!   `point_j = crc32(base ‖ LE32(point_{j-1}))` with `point_{-1} = 0`. Points are
//!   sorted and duplicate hashes dropped (the backend earlier in configuration
//!   order keeps a shared point; nginx's `qsort` leaves that unspecified).
//! - Lookup: `h = crc32(key)`, the first point `>= h`, wrapping. An ineligible
//!   backend costs a try and the walk moves to the next point; after 20 tries,
//!   round robin ([`Reason::HashFallback`]).
//! - The key is [`Key::hash`]; without one, the client address as text. With
//!   neither, an empty key or fewer than 2 backends: round robin, as nginx.
//! - Fallbacks are the next distinct eligible backends along the ring.
//!
//! Rings above [`MAX_POINTS`] (only from extreme weights) are scaled down
//! proportionally, at least one point per weighted backend; below it the ring
//! is exactly nginx's.

use super::{Candidates, Key, Ranked, RoundRobin, Selection, Selector};
use crate::config::Backend;
use crate::decision::Reason;
use crate::hash::crc32;
use crate::rng::Rng;

/// Points per unit of weight (nginx, libketama).
const POINTS_PER_WEIGHT: u64 = 160;
/// Ring steps before falling back to round robin (nginx's `tries > 20`).
const MAX_TRIES: u32 = 20;
/// Largest ring built (32 MiB of points).
pub const MAX_POINTS: u64 = 1 << 22;
/// Ring steps spent looking for fallbacks before filling in configuration order.
const MAX_FALLBACK_STEPS: usize = 4096;

/// One point of the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    hash: u32,
    backend: u32,
}

/// Ketama consistent hashing with nginx's exact ring.
#[derive(Debug, Clone)]
pub struct Ketama {
    ring: Vec<Point>,
    backends: usize,
    rr: RoundRobin,
}

/// `host` and `port` of a server string, split as nginx does.
fn split_server(server: &str) -> (&str, &str) {
    match server.rfind(':') {
        Some(i) if server[i + 1..].bytes().all(|c| c.is_ascii_digit()) => {
            (&server[..i], &server[i + 1..])
        }
        _ => (server, ""),
    }
}

/// The first `n` ring points of `server`.
fn server_points(server: &str, n: u64) -> impl Iterator<Item = u32> {
    let (host, port) = split_server(server);
    let mut base = crc32::Hasher::new();
    base.update(host.as_bytes());
    base.update(&[0]);
    base.update(port.as_bytes());
    let mut prev = 0u32;
    (0..n).map(move |_| {
        let mut h = base.clone();
        h.update(&prev.to_le_bytes());
        prev = h.finalize();
        prev
    })
}

/// nginx's ring (`ngx_http_upstream_update_chash`), scaled down above `max_points`.
fn build_ring(backends: &[Backend], max_points: u64) -> Vec<Point> {
    let total: u64 = backends.iter().map(|b| u64::from(b.weight)).sum::<u64>() * POINTS_PER_WEIGHT;
    let points = |w: u32| -> u64 {
        let exact = u64::from(w) * POINTS_PER_WEIGHT;
        if total <= max_points || w == 0 {
            exact
        } else {
            ((u128::from(exact) * u128::from(max_points) / u128::from(total)) as u64).max(1)
        }
    };
    // Each point as `hash << 32 | backend`: one unique u64 key, so the plain
    // unstable sort (fast on big rings, one small instantiation in the filter)
    // orders by hash and, on equal hashes, puts the earlier backend first.
    let mut keys =
        Vec::with_capacity(total.min(max_points.saturating_add(backends.len() as u64)) as usize);
    for (i, b) in backends.iter().enumerate() {
        let server = b.address.to_string();
        let backend = i as u64;
        keys.extend(server_points(&server, points(b.weight)).map(|h| u64::from(h) << 32 | backend));
    }
    keys.sort_unstable();
    // On equal hashes the earlier backend is kept.
    keys.dedup_by_key(|k| *k >> 32);
    keys.into_iter()
        .map(|k| Point {
            hash: (k >> 32) as u32,
            backend: k as u32,
        })
        .collect()
}

impl Ketama {
    /// Builds the ring of `backends` from their configured weights.
    pub fn new(backends: &[Backend]) -> Self {
        Ketama {
            ring: build_ring(backends, MAX_POINTS),
            backends: backends.len(),
            rr: RoundRobin::new(backends),
        }
    }

    /// Index of the first point `>= hash` (may equal the ring length: wraps to 0).
    fn find(&self, hash: u32) -> usize {
        self.ring.partition_point(|p| p.hash < hash)
    }

    /// Backend at ring position `i` (wrapping).
    fn at(&self, i: usize) -> usize {
        self.ring[i % self.ring.len()].backend as usize
    }
}

impl Selector for Ketama {
    super::forward_to_round_robin!();

    fn select(
        &mut self,
        c: &Candidates<'_>,
        key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        if self.backends != c.len() {
            *self = Ketama::new(c.backends);
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
        if bytes.is_empty() || c.len() < 2 || self.ring.is_empty() {
            return self.rr.select_as(c, key, rng, limit, Reason::RoundRobin);
        }
        let start = self.find(crc32::hash(bytes));
        let mut tries = 0u32;
        let mut pos = start;
        let first = loop {
            let b = self.at(pos);
            if c.eligible.get(b).copied().unwrap_or(false) {
                break b;
            }
            pos += 1;
            tries += 1;
            if tries > MAX_TRIES {
                return self.rr.select_as(c, key, rng, limit, Reason::HashFallback);
            }
        };
        let mut ranked = Ranked::new(c.eligible, limit);
        ranked.push(first);
        let steps = self.ring.len().min(MAX_FALLBACK_STEPS);
        for k in 1..steps {
            if ranked.is_full() {
                break;
            }
            ranked.push(self.at(pos + k));
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

    fn pick_with(
        k: &mut Ketama,
        b: &[Backend],
        eligible: &[bool],
        key: &str,
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
        k.select(
            &c,
            &Key {
                client: None,
                hash: Some(key.as_bytes()),
            },
            &mut SplitMix64::new(1),
            limit,
        )
    }

    fn pick(eligible: &[bool], key: &str, limit: usize) -> Selection {
        let b = backends(&[1; 3]);
        pick_with(&mut Ketama::new(&b), &b, eligible, key, limit)
    }

    #[test]
    fn split_like_nginx() {
        assert_eq!(split_server("127.0.0.1:9001"), ("127.0.0.1", "9001"));
        assert_eq!(split_server("[::1]:80"), ("[::1]", "80"));
        assert_eq!(split_server("example.com"), ("example.com", ""));
        assert_eq!(split_server("host:"), ("host", ""));
    }

    #[test]
    fn first_point_is_crc_of_host_nul_port_zero() {
        let mut bytes = b"127.0.0.1\x009001".to_vec();
        bytes.extend_from_slice(&0u32.to_le_bytes());
        let p0 = crc32::hash(&bytes);
        bytes.truncate(bytes.len() - 4);
        bytes.extend_from_slice(&p0.to_le_bytes());
        let p1 = crc32::hash(&bytes);
        let pts: Vec<u32> = server_points("127.0.0.1:9001", 2).collect();
        assert_eq!(pts, [p0, p1]);
    }

    #[test]
    fn ring_size_and_order() {
        let k = Ketama::new(&backends(&[1, 2, 1]));
        assert!(k.ring.len() <= 4 * 160 && k.ring.len() > 4 * 160 - 3);
        assert!(k.ring.windows(2).all(|w| w[0].hash < w[1].hash));
        let owned = |i| k.ring.iter().filter(|p| p.backend == i).count();
        assert_eq!(owned(1), 320);
    }

    #[test]
    fn reference_vectors() {
        let all = [true; 3];
        for (key, want) in [
            ("foo", 0),
            ("bar", 1),
            ("/index.html", 1),
            ("user:42", 2),
            ("abc123", 2),
        ] {
            let sel = pick(&all, key, 1);
            assert_eq!(sel.ranked, [want], "{key}");
            assert_eq!(sel.reason, Reason::Hash { rehashes: 0 }, "{key}");
        }
    }

    #[test]
    fn skip_ineligible_along_the_ring() {
        // With a out, "foo" moves to the next point owned by b or c; others stay.
        let sel = pick(&[false, true, true], "foo", 1);
        assert_ne!(sel.ranked[0], 0);
        assert!(matches!(sel.reason, Reason::Hash { rehashes } if (1..=20).contains(&rehashes)));
        assert_eq!(pick(&[false, true, true], "bar", 1).ranked, [1]);
        assert_eq!(pick(&[false, true, true], "user:42", 1).ranked, [2]);
    }

    #[test]
    fn fallbacks_are_ring_successors() {
        let b = backends(&[1; 3]);
        let k = Ketama::new(&b);
        let sel = pick(&[true; 3], "foo", 3);
        let start = k.find(crc32::hash(b"foo"));
        let mut want = Vec::new();
        for i in start.. {
            let x = k.at(i);
            if !want.contains(&x) {
                want.push(x);
            }
            if want.len() == 3 {
                break;
            }
        }
        assert_eq!(sel.ranked, want);
        let sel = pick(&[true, false, true], "foo", 3);
        assert_eq!(sel.ranked.len(), 2);
        assert!(!sel.ranked.contains(&1));
    }

    #[test]
    fn key_falls_back_to_client_then_round_robin() {
        let b = backends(&[1; 3]);
        let states = vec![BackendState::default(); 3];
        let w = [1.0; 3];
        let c = Candidates {
            backends: &b,
            states: &states,
            eligible: &[true; 3],
            weights: &w,
            now_ms: 0,
        };
        let mut k = Ketama::new(&b);
        let mut rng = SplitMix64::new(1);
        let client = Key {
            client: Some("10.0.0.1".parse().unwrap()),
            hash: None,
        };
        let by_text = Key {
            client: None,
            hash: Some(b"10.0.0.1"),
        };
        assert_eq!(
            k.select(&c, &client, &mut rng, 3),
            k.select(&c, &by_text, &mut rng, 3)
        );
        let none = k.select(&c, &Key::default(), &mut rng, 1);
        assert_eq!(none.reason, Reason::RoundRobin);
        let empty = k.select(
            &c,
            &Key {
                client: None,
                hash: Some(b""),
            },
            &mut rng,
            1,
        );
        assert_eq!(empty.reason, Reason::RoundRobin);
    }

    #[test]
    fn unreachable_eligible_peer_falls_back_to_round_robin() {
        // c has weight 0 (no points) yet is marked eligible; a and b are out.
        let b = backends(&[1, 1, 0]);
        let sel = pick_with(&mut Ketama::new(&b), &b, &[false, false, true], "foo", 2);
        assert_eq!(sel.ranked, [2]);
        assert_eq!(sel.reason, Reason::HashFallback);
        let none = pick_with(&mut Ketama::new(&b), &b, &[false; 3], "foo", 2);
        assert!(none.ranked.is_empty());
    }

    #[test]
    fn huge_weights_are_scaled_to_the_cap() {
        let b = backends(&[10, 30, 1]);
        let ring = build_ring(&b, 1_600);
        let owned = |i| ring.iter().filter(|p| p.backend == i).count();
        // 160 · w · 1 600 / 6 560, rounded down.
        assert_eq!([owned(0), owned(1), owned(2)], [390, 1_170, 39]);
        let tiny = build_ring(&backends(&[100_000, 1]), 1_000);
        assert_eq!(
            tiny.iter().filter(|p| p.backend == 1).count(),
            1,
            "every weighted backend keeps a point"
        );
        // At or under the cap the ring is exactly nginx's.
        assert_eq!(build_ring(&b, u64::MAX), build_ring(&b, 41 * 160));
        assert_eq!(build_ring(&b, 41 * 160).len(), 41 * 160);
    }
}
