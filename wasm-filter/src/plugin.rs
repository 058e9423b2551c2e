//! One worker's plugin instance: the configured [`Router`], its view of shared
//! data, its random stream and worker id. Every method takes the [`Store`] so
//! the whole per-request and per-tick logic runs natively against an
//! in-memory store in tests; `root.rs` and `http.rs` only add Envoy I/O.

use crate::shared::{acquire_lease, update_health, Keys, Store, StoreError};
use crate::sync::{Flip, SharedView, StatIds, SYNC_MS};
use edgepick_core::health::{HealthSnapshot, Transition};
use edgepick_core::{Config, Request, Router, SplitMix64, Ticket};

/// Lease time-to-live for `tick_ms`: three ticks, at least one second, so one
/// late tick never hands probing over.
pub fn lease_ttl_ms(tick_ms: u64) -> u64 {
    tick_ms.saturating_mul(3).max(1000)
}

/// Tick period: the sync period ([`SYNC_MS`]), shorter when heartbeats are
/// sent more often.
pub fn tick_ms(config: &Config) -> u64 {
    config
        .health
        .heartbeat
        .as_ref()
        .map_or(SYNC_MS, |h| h.interval_ms.min(SYNC_MS))
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
    /// A heartbeat round trip changed a measured route delay `D` since the
    /// prober last published.
    delays_changed: bool,
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
        let mut rng = SplitMix64::new(seed);
        let worker = edgepick_core::Rng::next_u64(&mut rng) | 1;
        let view = SharedView::new(&keys, n, ids, worker);
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
            delays_changed: false,
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
            let _ = store.set(&k, &HealthSnapshot::new(self.len()).encode(), None);
        }
    }

    /// Sync with the other workers ([`SharedView::pull`]): on the tick,
    /// never per request. Returns the backends whose health flipped.
    pub fn sync(&mut self, store: &dyn Store, now_ms: u64) -> Vec<Flip> {
        let inflight = self.router.config().algorithm.uses_inflight();
        self.view.pull(store, &mut self.router, now_ms, inflight)
    }

    /// Pick for `req` with this worker's random stream. The ticket holds an
    /// in-flight count on the primary in this worker's router until
    /// [`Router::finish`] or [`Router::abandon`]; the other workers see it
    /// after the next sync.
    pub fn pick(&mut self, req: &Request<'_>, now_ms: u64) -> Ticket {
        self.router.pick(req, now_ms, &mut self.rng)
    }

    /// After writing the health record: tell the other workers to re-read it.
    fn wrote(&mut self, store: &dyn Store, rec: Option<HealthSnapshot>) {
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
        if !failure && self.clean(i) {
            return Ok(Transition::Unchanged);
        }
        let max_fails = self.config().health.max_fails;
        let mut t = Transition::Unchanged;
        let rec = update_health(store, self.view.health_key(), self.len(), |r| {
            t = r.observe(i, failure, now_ms, max_fails);
            t != Transition::Unchanged
        })?;
        self.wrote(store, rec);
        Ok(t)
    }

    /// No worker has counted a failure of backend `i` (as far as this one
    /// knows): a success there changes nothing and needs no time.
    pub fn clean(&self, i: usize) -> bool {
        self.router
            .states()
            .get(i)
            .is_some_and(|s| s.health.passive.fails == 0)
            && self
                .view
                .record()
                .entries
                .get(i)
                .is_some_and(|e| e.passive.fails == 0)
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

    /// A heartbeat to backend `i` answered after `rtt_ms` (prober only):
    /// RFWS's route delay `D` ([`Router::link_rtt`]), published with the
    /// next verdicts.
    pub fn link_rtt(&mut self, i: usize, rtt_ms: f64, now_ms: u64) {
        self.delays_changed |= self.router.link_rtt(i, rtt_ms, now_ms);
    }

    /// Prober: re-evaluate heartbeat windows (after [`Plugin::sync`]) and
    /// publish changed verdicts and measured route delays. Returns the
    /// verdicts that changed.
    pub fn evaluate(&mut self, store: &dyn Store, now_ms: u64) -> Result<Vec<Verdict>, StoreError> {
        let changed = self.router.evaluate_health(now_ms);
        if changed.is_empty() && !self.delays_changed {
            return Ok(Vec::new());
        }
        let delays: Vec<Option<u32>> = if self.delays_changed {
            let states = self.router.states();
            states.iter().map(|s| s.health.link_delay_us).collect()
        } else {
            Vec::new()
        };
        self.delays_changed = false;
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
                any |= r.set_faulty(v.backend, v.faulty, now_ms);
            }
            for (i, &us) in delays.iter().enumerate() {
                any |= r.set_link_delay(i, us);
            }
            any
        })?;
        self.wrote(store, rec);
        Ok(verdicts)
    }
}

#[cfg(test)]
mod tests;
