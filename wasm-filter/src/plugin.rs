//! One worker's plugin instance: the configured [`Router`], its view of shared
//! data, its random stream and worker id. Every method takes the [`Store`] so
//! the whole per-request and per-tick logic runs natively against an
//! in-memory store in tests; `root.rs` and `http.rs` only add Envoy I/O.

use crate::shared::{acquire_lease, update_health, Keys, Store, StoreError, Transition};
use crate::sync::{Flip, SharedView, StatIds};
use edgepick_core::{Attribution, Config, Mode, Outcome, Request, Router, SplitMix64, Ticket};

/// Lease time-to-live for `tick_ms`: three ticks, at least one second, so one
/// late tick never hands probing over.
pub fn lease_ttl_ms(tick_ms: u64) -> u64 {
    tick_ms.saturating_mul(3).max(1000)
}

/// Tick period: the heartbeat interval, or one second for gauge refreshes.
pub fn tick_ms(config: &Config) -> u64 {
    config
        .health
        .heartbeat
        .as_ref()
        .map_or(1000, |h| h.interval_ms)
}

/// A heartbeat verdict that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Backend index.
    pub backend: usize,
    /// `W_F` now.
    pub faulty: bool,
}

/// A worker's plugin state.
#[derive(Debug)]
pub struct Plugin {
    /// Configuration and live state.
    pub router: Router,
    /// Shared-data key names.
    pub keys: Keys,
    view: SharedView,
    rng: SplitMix64,
    /// This worker's id in the probe lease.
    pub worker: u64,
    /// Backend addresses as Envoy writes them (`ip:port`, `[v6]:port`),
    /// formatted once: every request writes some and reads one back.
    addresses: Vec<String>,
}

impl Plugin {
    /// A plugin over a validated `config`, shared data namespaced by
    /// `plugin_name`, sharing the stats `ids`.
    pub fn new(config: Config, plugin_name: &str, seed: u64, ids: StatIds) -> Plugin {
        let keys = Keys::new(
            plugin_name,
            config
                .backends
                .iter()
                .map(|b| (b.name.as_str(), b.address.to_string())),
        );
        let n = config.backends.len();
        let view = SharedView::new(&keys, n, ids);
        let mut rng = SplitMix64::new(seed);
        let worker = edgepick_core::Rng::next_u64(&mut rng) | 1;
        let addresses = config
            .backends
            .iter()
            .map(|b| b.address.to_string())
            .collect();
        Plugin {
            addresses,
            router: Router::new(config),
            keys,
            view,
            rng,
            worker,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.router.config()
    }

    /// `ip:port,ip:port,…` of `ranked`, for Envoy's `override_host` header
    /// (what `Decision::endpoints` gives, without formatting addresses).
    pub fn endpoints(&self, ranked: &[usize]) -> String {
        let mut out = String::with_capacity(ranked.len() * 22);
        for (n, a) in ranked
            .iter()
            .filter_map(|&i| self.addresses.get(i))
            .enumerate()
        {
            if n > 0 {
                out.push(',');
            }
            out.push_str(a);
        }
        out
    }

    /// The backend at `address` (the `upstream.address` property): compared
    /// as Envoy writes it, else parsed (so `127.0.0.1:80 ` or another spelling
    /// of the same IPv6 address still matches).
    pub fn backend_at(&self, address: &[u8]) -> Option<usize> {
        self.addresses
            .iter()
            .position(|a| a.as_bytes() == address)
            .or_else(|| {
                let a = crate::headers::parse_socket(&crate::headers::text(address))?;
                self.config().backend_by_address(&a)
            })
    }

    /// Number of backends.
    pub fn len(&self) -> usize {
        self.config().backends.len()
    }

    /// True when there are no backends (never, for a validated configuration).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Create the health record if it does not exist yet (all healthy).
    pub fn init_shared(&self, store: &dyn Store) {
        let k = self.keys.health();
        if store.get(&k).0.is_none() {
            let _ = store.set(
                &k,
                &crate::shared::HealthRecord::new(self.len()).encode(),
                None,
            );
        }
    }

    /// Pull all shared state into the router, the health record read
    /// whatever the counter says (ticks: gauges and probes).
    pub fn sync(&mut self, store: &dyn Store, now_ms: u64) -> Vec<Flip> {
        self.view.pull(store, &mut self.router, now_ms, true, true)
    }

    /// Pull what the next pick reads: health when it was written since,
    /// in-flight counts only for algorithms that use them (each is one
    /// hostcall).
    pub fn sync_for_pick(&mut self, store: &dyn Store, now_ms: u64) -> Vec<Flip> {
        let inflight = self.router.config().algorithm.uses_inflight();
        self.view
            .pull(store, &mut self.router, now_ms, inflight, false)
    }

    /// Pick for `req` (after [`Plugin::sync`]). The ticket holds an
    /// in-flight count on the primary, here and (proxy mode) in its shared
    /// gauge (one atomic add for every worker), until [`Plugin::finish`] or
    /// [`Plugin::abandon`].
    pub fn pick(&mut self, store: &dyn Store, req: &Request<'_>, now_ms: u64) -> Ticket {
        let ticket = self.router.pick(req, now_ms, &mut self.rng);
        self.gauge(store, &ticket, 1);
        ticket
    }

    /// Close `ticket`: the router's accounting ([`Router::finish`]) and the
    /// shared gauge. Returns the passive observations to publish.
    pub fn finish(
        &mut self,
        store: &dyn Store,
        ticket: Ticket,
        served: Option<usize>,
        outcome: Option<&Outcome>,
        now_ms: u64,
    ) -> Attribution {
        self.gauge(store, &ticket, -1);
        self.router.finish(ticket, served, outcome, now_ms)
    }

    /// Close `ticket` with nothing to account but its in-flight count.
    pub fn abandon(&mut self, store: &dyn Store, ticket: Ticket) {
        self.gauge(store, &ticket, -1);
        self.router.abandon(ticket);
    }

    /// Requests only go through Envoy's list in proxy mode; a redirect is
    /// answered at once, so its gauges are left alone.
    fn gauge(&self, store: &dyn Store, ticket: &Ticket, delta: i64) {
        if self.config().mode != Mode::Proxy {
            return;
        }
        if let Some(id) = ticket.primary().and_then(|i| self.view.inflight_id(i)) {
            store.add_metric(id, delta);
        }
    }

    /// After writing the health record: tell the other workers to re-read it.
    fn wrote(&mut self, store: &dyn Store, rec: Option<crate::shared::HealthRecord>) {
        if let Some(rec) = rec {
            self.view.remember(rec);
            if let Some(id) = self.view.health_writes_id() {
                store.add_metric(id, 1);
            }
        }
    }

    /// Record a passive outcome for backend `i` in shared data.
    pub fn passive(
        &mut self,
        store: &dyn Store,
        i: usize,
        failure: bool,
        now_ms: u64,
    ) -> Result<Transition, StoreError> {
        if i >= self.len() {
            return Err(StoreError::Failed);
        }
        // A success on a node nobody counted failures for writes nothing.
        if !failure
            && self.router.states()[i].health.passive.fails == 0
            && self.view.record().entries[i].fails == 0
        {
            return Ok(Transition::Unchanged);
        }
        let max_fails = self.config().health.max_fails;
        let mut t = Transition::Unchanged;
        let rec = update_health(store, self.view.health_key(), self.len(), |r| {
            t = r.entries[i].observe(failure, now_ms, max_fails);
            t != Transition::Unchanged
        })?;
        self.wrote(store, rec);
        Ok(t)
    }

    /// Take or renew the prober lease.
    pub fn lease(&self, store: &dyn Store, now_ms: u64) -> bool {
        let ttl = lease_ttl_ms(tick_ms(self.config()));
        acquire_lease(store, &self.keys.probe_lease(), self.worker, now_ms, ttl)
    }

    /// A heartbeat from backend `i` arrived (prober only).
    pub fn heartbeat(&mut self, i: usize, now_ms: u64) {
        self.router.heartbeat(i, now_ms);
    }

    /// Prober: re-evaluate heartbeat windows (after [`Plugin::sync`]) and
    /// publish changed verdicts. Returns what changed.
    pub fn evaluate(&mut self, store: &dyn Store, now_ms: u64) -> Result<Vec<Verdict>, StoreError> {
        let changed = self.router.evaluate_health(now_ms);
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        let verdicts: Vec<Verdict> = changed
            .iter()
            .map(|&i| Verdict {
                backend: i,
                faulty: self.router.states()[i].health.faulty,
            })
            .collect();
        let rec = update_health(store, self.view.health_key(), self.len(), |r| {
            let mut any = false;
            for v in &verdicts {
                any |= r.entries[v.backend].set_faulty(v.faulty, now_ms);
            }
            any
        })?;
        self.wrote(store, rec);
        Ok(verdicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::tests::MemStore;
    use crate::shared::HealthRecord;
    use edgepick_core::Decision;

    const CFG: &str = r#"{
      "algorithm": {"name": "round_robin"},
      "health": {"max_fails": 2, "fail_timeout_ms": 5000,
                 "heartbeat": {"interval_ms": 100, "window_ms": 300, "threshold": 2}},
      "backends": [{"name": "a", "address": "127.0.0.1:9001"}, {"name": "b", "address": "127.0.0.1:9002"}]
    }"#;

    /// A worker, its stats defined in `s` as the root context does.
    fn plugin(s: &MemStore, seed: u64) -> Plugin {
        let ids = StatIds {
            inflight: vec![Some(s.define("in.a")), Some(s.define("in.b"))],
            health_writes: Some(s.define("writes")),
        };
        Plugin::new(Config::from_json(CFG).unwrap(), "edgepick", seed, ids)
    }

    #[test]
    fn inflight_is_shared_between_workers() {
        let s = MemStore::default();
        let (mut w1, mut w2) = (plugin(&s, 1), plugin(&s, 2));
        w1.init_shared(&s);
        w2.init_shared(&s);
        let t1 = w1.pick(&s, &Request::default(), 0);
        let t2 = w2.pick(&s, &Request::default(), 0);
        assert_eq!((t1.primary(), t2.primary()), (Some(0), Some(0)));
        assert_eq!(s.stat("in.a"), 2);
        w2.sync(&s, 0);
        assert_eq!(w2.router.states()[0].inflight, 2);
        // A retry served by b: a's count goes, a is blamed.
        let ok = Outcome {
            status: Some(200),
            ..Outcome::default()
        };
        let a = w1.finish(&s, t1, Some(1), Some(&ok), 1);
        assert_eq!(a.passive().collect::<Vec<_>>(), [(0, true), (1, false)]);
        w2.abandon(&s, t2);
        assert_eq!((s.stat("in.a"), s.stat("in.b")), (0, 0));
    }

    #[test]
    fn endpoints_and_served_addresses() {
        let s = MemStore::default();
        let p = plugin(&s, 1);
        let cfg = p.config().clone();
        for ranked in [vec![1, 0], vec![0], vec![]] {
            let d = Decision {
                ranked: ranked.clone(),
                algorithm: "round_robin",
                reason: edgepick_core::Reason::RoundRobin,
                scores: Vec::new(),
                panic: false,
            };
            assert_eq!(p.endpoints(&ranked), d.endpoints(&cfg), "{ranked:?}");
        }
        assert_eq!(p.backend_at(b"127.0.0.1:9002"), Some(1));
        assert_eq!(p.backend_at(b" 127.0.0.1:9001"), Some(0), "parsed fallback");
        assert_eq!(p.backend_at(b"127.0.0.1:9003"), None);
        assert_eq!(p.backend_at(b"\xff"), None);
    }

    #[test]
    fn health_writes_are_announced() {
        let s = MemStore::default();
        let (mut w1, mut w2) = (plugin(&s, 1), plugin(&s, 2));
        w1.init_shared(&s);
        w2.sync(&s, 0);
        assert_eq!(w1.passive(&s, 1, true, 10), Ok(Transition::Counted));
        assert_eq!(s.stat("writes"), 1);
        assert_eq!(w1.passive(&s, 0, false, 11), Ok(Transition::Unchanged));
        assert_eq!(s.stat("writes"), 1, "nothing written, nothing announced");
        w2.sync_for_pick(&s, 12);
        assert_eq!(w2.router.states()[1].health.passive.fails, 1);
    }

    #[test]
    fn passive_failures_from_two_workers_add_up() {
        let s = MemStore::default();
        let (mut w1, mut w2) = (plugin(&s, 1), plugin(&s, 2));
        w1.init_shared(&s);
        assert_eq!(w1.passive(&s, 1, true, 10), Ok(Transition::Counted));
        w2.sync(&s, 11);
        assert_eq!(w2.passive(&s, 1, true, 11), Ok(Transition::WentOut));
        let flips = w1.sync(&s, 12);
        assert!(flips.contains(&Flip {
            backend: 1,
            healthy: false
        }));
        for _ in 0..3 {
            let t = w1.pick(&s, &Request::default(), 12);
            assert_eq!(t.primary(), Some(0));
            w1.abandon(&s, t);
        }
        // A success anywhere brings it back (and starts slow start).
        w2.sync(&s, 20);
        assert_eq!(w2.passive(&s, 1, false, 20), Ok(Transition::CameBack));
        w1.sync(&s, 21);
        assert!(w1.router.states()[1].is_healthy(21, &w1.config().health));
        assert_eq!(w1.router.states()[1].health.recovered_at_ms, Some(20));
        assert_eq!(
            w1.passive(&s, 1, false, 22),
            Ok(Transition::Unchanged),
            "nothing to clear: no write"
        );
    }

    #[test]
    fn only_one_worker_probes() {
        let s = MemStore::default();
        let (w1, w2) = (plugin(&s, 1), plugin(&s, 2));
        assert_ne!(w1.worker, w2.worker);
        assert!(w1.lease(&s, 0));
        assert!(!w2.lease(&s, 100));
        assert!(w1.lease(&s, 100));
        assert!(w2.lease(&s, 100 + lease_ttl_ms(100)), "w1 stopped renewing");
        assert!(!w1.lease(&s, 200 + lease_ttl_ms(100)));
    }

    #[test]
    fn heartbeat_verdicts_reach_other_workers() {
        let s = MemStore::default();
        let (mut prober, mut other) = (plugin(&s, 1), plugin(&s, 2));
        prober.init_shared(&s);
        prober.sync(&s, 0);
        assert_eq!(
            prober.evaluate(&s, 0),
            Ok(vec![]),
            "no verdict before a window"
        );
        // a answers heartbeats, b does not.
        for t in [100, 200, 300] {
            prober.heartbeat(0, t);
        }
        prober.sync(&s, 301);
        assert_eq!(
            prober.evaluate(&s, 301),
            Ok(vec![Verdict {
                backend: 1,
                faulty: true
            }])
        );
        let rec = HealthRecord::decode(&s.get(&prober.keys.health()).0.unwrap(), 2).unwrap();
        assert!(rec.entries[1].faulty && !rec.entries[0].faulty);
        other.sync(&s, 302);
        assert!(other.router.states()[1].health.faulty);
        let t = other.pick(&s, &Request::default(), 302);
        assert_eq!(t.ranked()[0], 0);
        other.abandon(&s, t);
        // b comes back: two heartbeats inside the window.
        for t in [400, 500] {
            prober.heartbeat(0, t);
            prober.heartbeat(1, t);
        }
        prober.sync(&s, 500);
        assert_eq!(
            prober.evaluate(&s, 500),
            Ok(vec![Verdict {
                backend: 1,
                faulty: false
            }])
        );
        other.sync(&s, 501);
        let st = &other.router.states()[1];
        assert!(!st.health.faulty);
        assert_eq!(
            st.health.recovered_at_ms,
            Some(500),
            "slow start begins at recovery"
        );
    }
}
