//! The backends as the DNS server sees them: one core [`Router`] per client
//! region (each over the document with that region's links), fed the same
//! heartbeats, so every region shares one health model and differs only in
//! route metrics.
//!
//! A DNS answer sends no request through the server: each pick is closed at
//! once ([`Router::abandon`]), so in-flight counts stay zero and RFWS scores
//! by route alone (`V_FS = 0`); least connections and least response time
//! have no signal and fall to their tie-breaks. Passive signals do not exist
//! here: health is the active probes' heartbeats (fault windows, slow start,
//! panic mode as in the core).

use crate::settings::Settings;
use crate::subnet::Subnet;
use edgepick_core::config::{Algorithm, HashKey};
use edgepick_core::{Reason, Request, Router, SplitMix64};
use std::net::IpAddr;

/// One pick: backend indices (choice first) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// Ranked backend indices, the choice first.
    pub ranked: Vec<usize>,
    /// The reason label for metrics (`panic` when health was ignored).
    pub reason: &'static str,
    /// The client's region, if any.
    pub region: Option<usize>,
}

/// Routers (index 0: the document's own links; `r + 1`: region `r`) and the
/// random source.
pub struct Pool {
    routers: Vec<Router>,
    rng: SplitMix64,
    last_change_ms: Option<u64>,
}

impl Pool {
    /// Every backend healthy, nothing heard yet.
    pub fn new(settings: &Settings) -> Pool {
        let mut routers = vec![Router::new(settings.base.clone())];
        routers.extend(
            settings
                .regions
                .iter()
                .map(|r| Router::new(r.config.clone())),
        );
        Pool {
            routers,
            rng: SplitMix64::new(settings.seed),
            last_change_ms: None,
        }
    }

    /// Take over the health of backends that keep their name across a reload.
    pub fn carry_health(&mut self, old: &Pool) {
        let (Some(new0), Some(old0)) = (self.routers.first(), old.routers.first()) else {
            return;
        };
        let moved: Vec<(usize, usize)> = new0
            .config()
            .backends
            .iter()
            .enumerate()
            .filter_map(|(i, b)| old0.config().backend_index(&b.name).map(|j| (i, j)))
            .collect();
        for router in &mut self.routers {
            for &(i, j) in &moved {
                if let (Some(s), Some(o)) = (router.states_mut().get_mut(i), old0.states().get(j)) {
                    s.health = o.health.clone();
                }
            }
        }
        self.last_change_ms = old.last_change_ms;
    }

    /// A probe of backend `i` succeeded at `now_ms`.
    pub fn heartbeat(&mut self, i: usize, now_ms: u64) {
        for r in &mut self.routers {
            r.heartbeat(i, now_ms);
        }
    }

    /// Re-evaluate the fault flags; returns the backends whose flag changed
    /// (the same in every region: they share heartbeats).
    pub fn evaluate(&mut self, now_ms: u64) -> Vec<usize> {
        let mut changed = Vec::new();
        for (k, r) in self.routers.iter_mut().enumerate() {
            let c = r.evaluate_health(now_ms);
            if k == 0 {
                changed = c;
            }
        }
        if !changed.is_empty() {
            self.last_change_ms = Some(now_ms);
        }
        changed
    }

    /// Whether backend `i` is faulty (heartbeat verdict).
    pub fn faulty(&self, i: usize) -> bool {
        self.routers[0]
            .states()
            .get(i)
            .is_some_and(|s| s.health.faulty)
    }

    /// Whether a fault flag changed within the last `window_ms`.
    pub fn changing(&self, now_ms: u64, window_ms: u64) -> bool {
        self.last_change_ms
            .is_some_and(|t| now_ms.saturating_sub(t) < window_ms)
    }

    /// The core's pick for a client at `client` (already truncated to the
    /// granularity answered) in `region`.
    pub fn pick(&mut self, client: IpAddr, region: Option<usize>, now_ms: u64) -> Pick {
        let k = region.map_or(0, |r| r + 1).min(self.routers.len() - 1);
        let router = &mut self.routers[k];
        let req = Request {
            peer: Some(client),
            ..Request::default()
        };
        let ticket = router.pick(&req, now_ms, &mut self.rng);
        let d = ticket.decision();
        let pick = Pick {
            ranked: d.ranked.clone(),
            reason: if d.panic {
                "panic"
            } else {
                reason_label(d.reason)
            },
            region,
        };
        router.abandon(ticket);
        pick
    }
}

/// The metrics label of a decision reason.
pub fn reason_label(r: Reason) -> &'static str {
    match r {
        Reason::Cookie => "cookie",
        Reason::Score { .. } => "score",
        Reason::LeastLoaded => "least_loaded",
        Reason::Hash { .. } => "hash",
        Reason::HashFallback => "hash_fallback",
        Reason::RoundRobin => "round_robin",
        Reason::Random => "random",
        Reason::NoBackend => "no_backend",
    }
}

/// The region of a client: the longest matching subnet, else the default region.
pub fn region_of(settings: &Settings, ip: IpAddr) -> Option<usize> {
    settings
        .regions
        .iter()
        .enumerate()
        .flat_map(|(r, reg)| reg.subnets.iter().map(move |s| (r, s)))
        .filter(|(_, s)| s.contains(ip))
        .max_by_key(|(_, s)| s.len)
        .map(|(r, _)| r)
        .or(settings.default_region)
}

/// Whether answers depend on the client's address (then an EDNS Client
/// Subnet answer carries a non-zero scope).
pub fn address_dependent(settings: &Settings) -> bool {
    !settings.regions.is_empty()
        || matches!(
            settings.base.algorithm,
            Algorithm::IpHash
                | Algorithm::ConsistentHash {
                    key: HashKey::ClientAddress,
                    ..
                }
        )
}

/// The prefix length the server answers at for a family: /24 for IPv4
/// (nginx ip_hash's granularity), /56 for IPv6, or longer when a region's
/// subnet is longer.
pub fn granularity(settings: &Settings, v4: bool) -> u8 {
    let base = if v4 { 24 } else { 56 };
    settings
        .regions
        .iter()
        .flat_map(|r| r.subnets.iter())
        .filter(|s: &&Subnet| s.addr.is_ipv4() == v4)
        .map(|s| s.len)
        .fold(base, u8::max)
}
