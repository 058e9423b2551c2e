//! One worker's load balancer: core's [`Router`] over the cluster's hosts.
//!
//! Per pick: Envoy's health (and the hosts' passive outcomes, scanned every
//! [`SCAN_MS`]) goes into core's health state, Envoy's active-request counts
//! into core's in-flight counts (algorithms that read them), core ranks the
//! backends, and the first ranked host Envoy counts healthy and the retry
//! predicates accept is the answer. Time and randomness are passed into core.

use crate::cluster::Cluster;
use crate::hosts::{self, Host};
use crate::settings::Settings;
use crate::sync::{self, Seen};
use edgepick_core::config::HashKey;
use edgepick_core::{Algorithm, Request, Router, SplitMix64};
use std::net::IpAddr;
use std::sync::Arc;

/// How often Envoy's per-host outcome counters are read into core's passive health, ms.
pub const SCAN_MS: u64 = 250;

/// In-flight counts (algorithms that read them) are Envoy's per-host active
/// requests, read for every host on one pick in [`INFLIGHT_EVERY`] of a
/// worker's picks, and at least every [`INFLIGHT_MAX_AGE_MS`]; between reads
/// each of this worker's picks adds one to the host it chose. So the count a
/// pick uses is Envoy's exact cross-worker count read at most
/// `INFLIGHT_EVERY - 1` picks and `INFLIGHT_MAX_AGE_MS` ago, plus this
/// worker's own picks since (requests answered since are not seen until the
/// next read: the error only ever counts a host busier). Reading every host
/// on every pick costs ~100 instructions per host (64 hosts: 6,400).
///
/// Clusters of at most [`EXACT_UP_TO_HOSTS`] hosts are read on every pick
/// (at most ~800 instructions): there the stale count's error would be large
/// beside a host's capacity (with `capacity` 4, eight picks of a fast host
/// between reads look like twice its capacity), and exact costs little.
pub const INFLIGHT_EVERY: u32 = 8;
/// See [`INFLIGHT_EVERY`], ms.
pub const INFLIGHT_MAX_AGE_MS: u64 = 20;
/// See [`INFLIGHT_EVERY`]: up to this many hosts, counts are read on every pick.
pub const EXACT_UP_TO_HOSTS: usize = 8;

/// What a request must supply for the configured algorithm.
#[derive(Debug, Clone, Default)]
struct Needs {
    client: bool,
    cookie: bool,
    path: bool,
    header: Option<String>,
}

impl Needs {
    fn of(cfg: &edgepick_core::Config) -> Self {
        let mut n = Needs {
            client: matches!(cfg.algorithm, Algorithm::IpHash),
            cookie: cfg.cookie.is_some(),
            ..Needs::default()
        };
        if let Algorithm::ConsistentHash { key, .. } = &cfg.algorithm {
            match key {
                HashKey::ClientAddress => n.client = true,
                HashKey::Cookie(_) => n.cookie = true,
                HashKey::Path => n.path = true,
                HashKey::Header(h) => n.header = Some(h.to_ascii_lowercase()),
            }
        }
        n
    }
}

/// The router and what it knows of the hosts.
struct Pool {
    router: Router,
    /// Hosts in core order.
    hosts: Vec<Host>,
    seen: Seen,
    needs: Needs,
    inflight: bool,
    /// Picks since Envoy's active-request counts were read (`None`: never).
    since_read: Option<u32>,
    read_ms: u64,
}

impl Pool {
    /// Bring core's in-flight counts up to date ([`INFLIGHT_EVERY`]).
    fn refresh_inflight(&mut self, c: &dyn Cluster, now_ms: u64) {
        let due = match self.since_read {
            _ if self.hosts.len() <= EXACT_UP_TO_HOSTS => true,
            None => true,
            Some(n) => n + 1 >= INFLIGHT_EVERY || now_ms >= self.read_ms + INFLIGHT_MAX_AGE_MS,
        };
        if !due {
            self.since_read = self.since_read.map(|n| n + 1);
            return;
        }
        for (i, h) in self.hosts.iter().enumerate() {
            let n = c.active_requests(h.priority, h.index);
            self.router
                .set_inflight(i, u32::try_from(n).unwrap_or(u32::MAX));
        }
        self.since_read = Some(0);
        self.read_ms = now_ms;
    }

    /// This worker sent a request to host `i` (until the next read).
    fn count_pick(&mut self, i: usize) {
        let n = self.router.states().get(i).map_or(0, |s| s.inflight);
        self.router.set_inflight(i, n.saturating_add(1));
    }
}

/// A worker's policy.
pub struct Picker {
    settings: Arc<Settings>,
    pool: Option<Pool>,
    /// Membership changed since the pool was built.
    stale: bool,
    rng: SplitMix64,
    next: usize,
}

/// Why a pick fell back to the first healthy host.
#[derive(Debug, Clone, PartialEq)]
pub enum Fallback {
    /// The hosts did not make a valid configuration (core's message).
    Config(String),
}

impl Picker {
    /// A policy for one worker; `seed` feeds core's random choices.
    pub fn new(settings: Arc<Settings>, seed: u64) -> Self {
        Picker {
            settings,
            pool: None,
            stale: true,
            rng: SplitMix64::new(seed),
            next: 0,
        }
    }

    /// Envoy added or removed hosts: rebuild before the next pick.
    pub fn membership_changed(&mut self) {
        self.stale = true;
    }

    /// Core's router, once built (for tests and logs).
    pub fn router(&self) -> Option<&Router> {
        self.pool.as_ref().map(|p| &p.router)
    }

    /// Rebuild the pool from Envoy's hosts, keeping the state of hosts that stay.
    fn rebuild(&mut self, c: &dyn Cluster, now_ms: u64) -> Result<(), Fallback> {
        self.stale = false;
        let found = hosts::read(c);
        let (order, entries) = hosts::backends(&self.settings, c, &found);
        if order.is_empty() {
            self.pool = None;
            return Ok(());
        }
        let env = |k: &str| std::env::var(k).ok();
        let cfg = self.settings.with_backends(entries, &env).map_err(|e| {
            self.pool = None;
            Fallback::Config(e.to_string())
        })?;
        let needs = Needs::of(&cfg);
        let inflight = cfg.algorithm.uses_inflight();
        let mut router = Router::new(cfg);
        let mut seen = Seen::new(order.len());
        if let Some(old) = &self.pool {
            let states = router.states_mut();
            for (j, h) in order.iter().enumerate() {
                if let Some(i) = old.hosts.iter().position(|o| o.address == h.address) {
                    states[j] = old.router.states()[i].clone();
                    seen.keep(j, &old.seen, i);
                }
            }
        }
        sync::health(&mut router, &mut seen, c, &order, now_ms, true);
        self.pool = Some(Pool {
            router,
            hosts: order,
            seen,
            needs,
            inflight,
            since_read: None,
            read_ms: 0,
        });
        Ok(())
    }

    /// Choose a host for this request: `(priority, index in its healthy list)`,
    /// or None when Envoy has no healthy host to give.
    pub fn choose(
        &mut self,
        c: &dyn Cluster,
        now_ms: u64,
    ) -> (Option<(u32, u32)>, Option<Fallback>) {
        let mut fallback = None;
        // A failed rebuild is retried on the next membership change, not per
        // pick (so its error is logged once).
        if self.stale {
            if let Err(f) = self.rebuild(c, now_ms) {
                fallback = Some(f);
            }
        }
        let Some(pool) = self.pool.as_mut() else {
            return (first_healthy(c, &mut self.next), fallback);
        };
        sync::health(
            &mut pool.router,
            &mut pool.seen,
            c,
            &pool.hosts,
            now_ms,
            false,
        );
        if pool.inflight {
            pool.refresh_inflight(c, now_ms);
        }
        let needs = &pool.needs;
        let trusted = usize::from(pool.router.config().trusted_hops);
        let client = if needs.client {
            c.header("x-forwarded-for")
                .and_then(|x| client_of(x, trusted))
                .or_else(|| c.hash_key().map(hashed_client))
        } else {
            None
        };
        let header_pair;
        let headers: &[(&str, &str)] = match needs
            .header
            .as_deref()
            .and_then(|n| Some((n, c.header(n)?)))
        {
            Some(pair) => {
                header_pair = [pair];
                &header_pair
            }
            None => &[],
        };
        let cookie_line = needs.cookie.then(|| c.joined_header("cookie")).flatten();
        let req = Request {
            peer: client,
            forwarded_for: None,
            cookie: cookie_line.as_deref(),
            path: if needs.path {
                c.header(":path").unwrap_or("/")
            } else {
                "/"
            },
            headers,
        };
        let mut chosen = rank(
            &mut pool.router,
            &pool.seen,
            &pool.hosts,
            c,
            &req,
            now_ms,
            &mut self.rng,
        );
        if let Some(i) = chosen {
            if sync::new_connect_failure(&pool.seen, c, &pool.hosts, i) {
                // A failure the passive state has not seen yet: read it first.
                sync::scan_now(&mut pool.router, &mut pool.seen, c, &pool.hosts, now_ms);
                chosen = rank(
                    &mut pool.router,
                    &pool.seen,
                    &pool.hosts,
                    c,
                    &req,
                    now_ms,
                    &mut self.rng,
                );
            }
        }
        let chosen = chosen.or_else(|| {
            let n = pool.hosts.len();
            (0..n)
                .map(|k| (self.next + k) % n)
                .find(|&i| {
                    pool.seen.envoy_ok(i) && !c.reject(pool.hosts[i].priority, pool.hosts[i].index)
                })
                .inspect(|_| self.next = self.next.wrapping_add(1))
        });
        let Some(i) = chosen else {
            return (first_healthy(c, &mut self.next), fallback);
        };
        if pool.inflight {
            pool.count_pick(i);
        }
        (healthy_index(c, &pool.hosts, &pool.seen, i), fallback)
    }
}

/// The client: Envoy appends the connection's peer to `X-Forwarded-For`
/// (`use_remote_address: true`), so with `trusted` proxies in front the client
/// is entry `trusted` counted from the right (0 = the peer itself).
pub fn client_of(xff: &str, trusted: usize) -> Option<IpAddr> {
    let entry = xff.rsplit(',').nth(trusted)?.trim();
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// Core's ranked list, the first host Envoy counts healthy and its retry
/// predicates accept.
fn rank(
    router: &mut Router,
    seen: &Seen,
    hosts: &[Host],
    c: &dyn Cluster,
    req: &Request<'_>,
    now_ms: u64,
    rng: &mut SplitMix64,
) -> Option<usize> {
    let ticket = router.pick(req, now_ms, rng);
    let chosen = ticket
        .ranked()
        .iter()
        .copied()
        .find(|&i| seen.envoy_ok(i) && !c.reject(hosts[i].priority, hosts[i].index));
    // Envoy's own counts are the in-flight truth: release core's.
    router.abandon(ticket);
    chosen
}

/// Without headers (`tcp_proxy`) the source address never reaches the
/// policy: Envoy 1.40's context gives only its own hash of it
/// (`hash_policy: source_ip`, an xxHash64 of the address text). That hash
/// stands in for the client as the IPv6 address `::<hash>`: the same source
/// always gets the same backend, but not the backend nginx's `ip_hash` or
/// `hash $remote_addr` would give it (those hash the address itself).
pub fn hashed_client(hash: u64) -> IpAddr {
    IpAddr::V6(std::net::Ipv6Addr::from(u128::from(hash)))
}

/// Host `i` (core order) as `(priority, index in the healthy list)`: hosts
/// Envoy counts healthy are its healthy list in order, so the index is the
/// number of healthy hosts before it; checked against Envoy's list.
fn healthy_index(c: &dyn Cluster, hosts: &[Host], seen: &Seen, i: usize) -> Option<(u32, u32)> {
    let h = hosts[i];
    if seen.all_ok() {
        // Every host healthy: the healthy lists are the host lists.
        return Some((h.priority, h.index as u32));
    }
    let k = hosts
        .iter()
        .enumerate()
        .filter(|(j, o)| o.priority == h.priority && o.index < h.index && seen.envoy_ok(*j))
        .count();
    let want = h.address.to_string();
    if c.healthy_address(h.priority, k) == Some(want.as_str()) {
        return Some((h.priority, k as u32));
    }
    (0..c.healthy_hosts(h.priority))
        .find(|&k| c.healthy_address(h.priority, k) == Some(want.as_str()))
        .map(|k| (h.priority, k as u32))
}

/// Without a pool (no hosts parsed, or a configuration core refused): Envoy's
/// healthy hosts in turn, lowest priority first.
fn first_healthy(c: &dyn Cluster, next: &mut usize) -> Option<(u32, u32)> {
    for p in 0..c.priorities() {
        let n = c.healthy_hosts(p);
        if n > 0 {
            *next = next.wrapping_add(1);
            return Some((p, (*next % n) as u32));
        }
    }
    None
}
