//! Envoy's view of each host, carried into core's health state.
//!
//! * Envoy's health (health checks, outlier detection, EDS health status):
//!   a host Envoy does not count healthy is core's "faulty" (`W_F`); it comes
//!   back through core's recovery (slow start, passive failures cleared).
//!   Envoy does not announce health flips, so the healthy counts per priority
//!   are compared on every pick, and the hosts re-read every [`RECHECK_MS`]
//!   while one is unhealthy.
//! * Passive outcomes: every [`crate::picker::SCAN_MS`] the hosts' counters
//!   (connect failures, request errors, successes) are read; new failures
//!   count as core passive failures (nginx `max_fails`/`fail_timeout`), and a
//!   success clears them.
//! * Latency: Envoy gives a policy no per-host response times, so each scan
//!   estimates one by Little's law from the same counters ([`littles_law_ms`]:
//!   requests in flight over completions per interval) and feeds it to
//!   core's latency measurement, as the wasm filter feeds measured ones: a
//!   slow node holds its requests longer, and least response time moves
//!   traffic off it (RFWS sees the same node through its in-flight load; its
//!   route delay `D` is the configured one).

use crate::cluster::Cluster;
use crate::hosts::Host;
use crate::picker::SCAN_MS;
use edgepick_core::backend::MEASURE_TAU_MS;
use edgepick_core::{Algorithm, Router};

/// How often host health is re-read while some host is unhealthy, ms.
pub const RECHECK_MS: u64 = 100;

/// What was last seen of each host (core order).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    ok: Vec<bool>,
    all_ok: bool,
    counts: Vec<(usize, usize)>,
    checked_ms: u64,
    outcomes: Vec<(u64, u64, u64)>,
    next_scan_ms: u64,
    scanned_ms: u64,
}

impl Seen {
    /// Nothing seen yet for `n` hosts.
    pub fn new(n: usize) -> Self {
        Seen {
            ok: vec![true; n],
            outcomes: vec![(0, 0, 0); n],
            ..Seen::default()
        }
    }

    /// Host `j` takes what `old` saw of its host `i`.
    pub fn keep(&mut self, j: usize, old: &Seen, i: usize) {
        self.ok[j] = old.ok[i];
        self.outcomes[j] = old.outcomes[i];
    }

    /// Envoy counts host `i` healthy.
    pub fn envoy_ok(&self, i: usize) -> bool {
        self.ok.get(i).copied().unwrap_or(false)
    }

    /// Every host of every priority is healthy (healthy list = host list).
    pub fn all_ok(&self) -> bool {
        self.all_ok
    }
}

/// Bring `seen` and core's health up to date with Envoy at `now_ms`
/// (`fresh`: a new pool, read everything and take counter baselines).
pub fn health(
    router: &mut Router,
    seen: &mut Seen,
    c: &dyn Cluster,
    hosts: &[Host],
    now_ms: u64,
    fresh: bool,
) {
    // Compared in place: no allocation on a pick where nothing moved.
    let priorities = c.priorities() as usize;
    let mut moved = priorities != seen.counts.len();
    let mut all = true;
    for p in 0..priorities {
        let now = (c.healthy_hosts(p as u32), c.hosts(p as u32));
        all &= now.0 == now.1;
        if seen.counts.get(p) != Some(&now) {
            moved = true;
            seen.counts.truncate(p);
            seen.counts.push(now);
        }
    }
    seen.counts.truncate(priorities);
    let due = !all && now_ms >= seen.checked_ms.saturating_add(RECHECK_MS);
    if fresh || moved || due {
        seen.all_ok = all;
        seen.checked_ms = now_ms;
        let mut flips = Vec::new();
        for (j, h) in hosts.iter().enumerate() {
            let ok = all || c.is_healthy(h.priority, h.index);
            if ok != seen.ok[j] || (fresh && !ok) {
                seen.ok[j] = ok;
                flips.push((j, ok));
            }
        }
        if !flips.is_empty() {
            let states = router.states_mut();
            for (j, ok) in flips {
                states[j].health.set_faulty(!ok, now_ms);
            }
        }
    }
    if fresh || now_ms >= seen.next_scan_ms {
        seen.next_scan_ms = now_ms.saturating_add(SCAN_MS);
        let elapsed = now_ms.saturating_sub(seen.scanned_ms);
        seen.scanned_ms = now_ms;
        scan(router, seen, c, hosts, now_ms, (!fresh).then_some(elapsed));
    }
}

/// Host `i` (core order) has connect failures the last scan has not seen:
/// one stat read. A connect that failed is retried at once (`tcp_proxy`'s
/// `max_connect_attempts`, a route's `connect-failure` retry), sooner than
/// the next scan, and would meet the same host again.
pub fn new_connect_failure(seen: &Seen, c: &dyn Cluster, hosts: &[Host], i: usize) -> bool {
    let h = hosts[i];
    c.connect_failures(h.priority, h.index) > seen.outcomes[i].0
}

/// Scan the hosts' counters now (see [`new_connect_failure`]).
pub fn scan_now(
    router: &mut Router,
    seen: &mut Seen,
    c: &dyn Cluster,
    hosts: &[Host],
    now_ms: u64,
) {
    seen.next_scan_ms = 0;
    health(router, seen, c, hosts, now_ms, false);
}

/// A host's mean response time by Little's law (L = λW): `inflight`
/// requests in flight now, `completions` answered in the last `elapsed_ms`.
/// Without completions a host still holding requests has kept them at least
/// `elapsed_ms` (each), so that is its lower bound; an idle host says nothing.
pub fn littles_law_ms(inflight: u64, completions: u64, elapsed_ms: u64) -> Option<f64> {
    match (inflight, completions) {
        (0, 0) => None,
        (l, 0) => Some(l as f64 * elapsed_ms as f64),
        (l, n) => Some(l as f64 * elapsed_ms as f64 / n as f64),
    }
}

/// Fold new outcome counts into core's passive health and latency
/// measurements (`elapsed`: ms since the last scan, `None` for a baseline).
fn scan(
    router: &mut Router,
    seen: &mut Seen,
    c: &dyn Cluster,
    hosts: &[Host],
    now_ms: u64,
    elapsed: Option<u64>,
) {
    let max_fails = router.config().health.max_fails;
    let tau = match router.config().algorithm {
        Algorithm::LeastResponseTime { decay_ms, .. } => decay_ms,
        _ => MEASURE_TAU_MS,
    };
    let mut events = Vec::new();
    let mut latencies = Vec::new();
    for (j, h) in hosts.iter().enumerate() {
        let now = c.outcomes(h.priority, h.index);
        let was = std::mem::replace(&mut seen.outcomes[j], now);
        let Some(elapsed) = elapsed else {
            continue;
        };
        let failures = now.0.saturating_sub(was.0) + now.1.saturating_sub(was.1);
        let successes = now.2.saturating_sub(was.2);
        let inflight = c.active_requests(h.priority, h.index);
        let answered = now.1.saturating_sub(was.1) + successes;
        if let Some(ms) = littles_law_ms(inflight, answered, elapsed) {
            latencies.push((j, ms));
        }
        let passive_fails = router.states()[j].health.passive.fails;
        if failures > 0 {
            events.push((j, true, failures.min(u64::from(max_fails.max(1)))));
        } else if successes > 0 && passive_fails > 0 {
            events.push((j, false, 1));
        }
    }
    if events.is_empty() && latencies.is_empty() {
        return;
    }
    let health_cfg = router.config().health.clone();
    let states = router.states_mut();
    for (j, ms) in latencies {
        states[j].latency.observe(ms, now_ms, tau);
    }
    for (j, failure, times) in events {
        for _ in 0..times {
            states[j].health.observe(failure, now_ms, &health_cfg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::littles_law_ms;

    #[test]
    fn response_time_from_requests_in_flight_and_completions() {
        // One request always in flight, 2 answered in 300 ms: 150 ms each.
        assert_eq!(littles_law_ms(1, 2, 300), Some(150.0));
        // Busy and fast: 8 in flight, 2,000 answered in 250 ms.
        assert_eq!(littles_law_ms(8, 2000, 250), Some(1.0));
        // Holding requests and answering none: at least the interval.
        assert_eq!(littles_law_ms(2, 0, 250), Some(500.0));
        // Idle: no evidence either way.
        assert_eq!(littles_law_ms(0, 0, 250), None);
        assert_eq!(littles_law_ms(0, 5, 250), Some(0.0));
    }
}
