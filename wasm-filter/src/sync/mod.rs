//! Keeping each worker's [`Router`] coherent with what the other workers
//! know, on a sync period (the tick, [`SYNC_MS`] at most), never per request.
//!
//! Each worker keeps its own exact state: its requests' in-flight counts
//! (the tickets), the failures it saw and acted on at once, latency and load
//! reports. On each sync it [`pull`](SharedView::pull)s:
//! * health: one stat read of the `health_writes` counter; the shared record
//!   is read (and decoded, if its CAS token changed) only when it moved;
//! * in-flight, for algorithms that weigh load: one read and at most one
//!   write of the in-flight record ([`crate::shared::inflight`]), which holds
//!   each worker's own counts: the others' are the sum of their slots.
//!
//! So a pick uses its own exact count plus the other workers' as of at most
//! one sync period ago, and a node any worker finds faulty (passive failure
//! or heartbeat verdict, written to the record at once) is avoided by every
//! worker within one sync period, at any number of backends. The request
//! path makes no shared-data or stat call for this. Writes of health go
//! through [`crate::shared`]'s CAS helpers at the moment of the failure.
//!
//! Metrics are not part of the exchange: the `edgepick.inflight.<backend>`
//! gauges (each worker adds its own count's change) and the pick counters
//! are published every [`METRICS_MS`], so their cost per sync does not grow
//! with the backend count on every tick.

use crate::shared::{health, inflight, Store};
use edgepick_core::health::HealthSnapshot;
use edgepick_core::Router;

/// Stat ids a worker shares with the others (`None`: the host refused to
/// define it; the worker then keeps local counts and reads the record on
/// every pull).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatIds {
    /// `edgepick.inflight.<backend>` gauges, by backend.
    pub inflight: Vec<Option<u32>>,
    /// `edgepick.health_writes.<plugin>` counter.
    pub health_writes: Option<u32>,
}

/// Longest sync period, ms: the staleness bound of cross-worker state.
pub const SYNC_MS: u64 = 100;

/// Period of metric publication (in-flight gauges, pick and warning
/// counters), ms: what they trail the workers' own counts by, at most.
pub const METRICS_MS: u64 = 1_000;

/// A period: due at the first call, then every `every` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    every: u64,
    last: Option<u64>,
}

impl Period {
    /// Every `every` ms.
    pub fn new(every: u64) -> Self {
        Period { every, last: None }
    }

    /// Whether the period is due at `now_ms`; if so it starts again.
    pub fn due(&mut self, now_ms: u64) -> bool {
        let due = self
            .last
            .is_none_or(|t| now_ms.saturating_sub(t) >= self.every);
        if due {
            self.last = Some(now_ms);
        }
        due
    }
}

/// A worker's cached view of the shared state.
#[derive(Debug, Clone)]
pub struct SharedView {
    ids: StatIds,
    /// This worker's id in the in-flight record.
    worker: u64,
    inflight_key: String,
    health_key: String,
    health_cas: Option<u32>,
    /// `health_writes` when the record was last read.
    writes_seen: Option<u64>,
    record: HealthSnapshot,
    healthy: Vec<Option<bool>>,
    /// What this worker has added to each in-flight gauge.
    published: Vec<u32>,
    /// When the gauges are next published.
    metrics: Period,
    /// The other workers' in-flight counts at the last sync (the part of the
    /// router's count that is not this worker's own).
    others: Vec<u32>,
}

/// A backend whose health, as this worker sees it, flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flip {
    /// Backend index.
    pub backend: usize,
    /// Healthy now.
    pub healthy: bool,
}

impl SharedView {
    /// Worker `worker`'s view over `n` backends under `keys`, sharing stats `ids`.
    pub fn new(keys: &crate::shared::Keys, n: usize, mut ids: StatIds, worker: u64) -> Self {
        ids.inflight.resize(n, None);
        SharedView {
            ids,
            worker,
            inflight_key: keys.inflight(),
            health_key: keys.health(),
            health_cas: None,
            writes_seen: None,
            record: HealthSnapshot::new(n),
            healthy: vec![None; n],
            published: vec![0; n],
            metrics: Period::new(METRICS_MS),
            others: vec![0; n],
        }
    }

    /// The health record key.
    pub fn health_key(&self) -> &str {
        &self.health_key
    }

    /// Backend `i`'s in-flight gauge.
    pub fn inflight_id(&self, i: usize) -> Option<u32> {
        self.ids.inflight.get(i).copied().flatten()
    }

    /// The `health_writes` counter.
    pub fn health_writes_id(&self) -> Option<u32> {
        self.ids.health_writes
    }

    /// The last health record seen.
    pub fn record(&self) -> &HealthSnapshot {
        &self.record
    }

    /// Remember a record this worker just wrote (saves decoding it on the next pull).
    pub fn remember(&mut self, record: HealthSnapshot) {
        self.record = record;
        self.health_cas = None;
    }

    /// Sync with the other workers: shared health into `router` (the record
    /// is read when `health_writes` moved since the last read, or always
    /// without that counter), and (with `with_inflight`) this worker's
    /// in-flight counts out and the other workers' in, through the in-flight
    /// record; the gauges when [`METRICS_MS`] has passed.
    /// Returns the backends whose health (at `now_ms`) changed since the last
    /// pull, the first pull reporting every backend.
    pub fn pull<S: Store + ?Sized>(
        &mut self,
        store: &S,
        router: &mut Router,
        now_ms: u64,
        with_inflight: bool,
    ) -> Vec<Flip> {
        let n = self.healthy.len();
        // Read the counter before the record: a write landing in between is
        // then seen again on the next pull, never missed.
        let writes = self.ids.health_writes.and_then(|id| store.metric(id));
        if writes.is_none() || writes != self.writes_seen {
            self.writes_seen = writes;
            let (value, cas) = store.get(&self.health_key);
            if cas.is_none() || cas != self.health_cas {
                self.record = health::load(value.as_deref(), n);
                self.health_cas = cas;
                self.record
                    .apply_to(router.states_mut().iter_mut().map(|s| &mut s.health));
            }
        }
        if with_inflight {
            self.exchange_inflight(store, router, now_ms);
        }
        if self.metrics.due(now_ms) {
            self.publish_gauges(store, router);
        }
        let mut flips = Vec::new();
        let health = &router.config().health;
        for (i, s) in router.states().iter().enumerate().take(n) {
            let ok = s.is_healthy(now_ms, health);
            if self.healthy[i] != Some(ok) {
                self.healthy[i] = Some(ok);
                flips.push(Flip {
                    backend: i,
                    healthy: ok,
                });
            }
        }
        flips
    }

    /// This worker's own in-flight counts: the router's less the others'.
    fn own(&self, router: &Router) -> Vec<u32> {
        router
            .states()
            .iter()
            .zip(&self.others)
            .map(|(s, o)| s.inflight.saturating_sub(*o))
            .collect()
    }

    /// Put this worker's own counts in the in-flight record and take the
    /// others' from it. A failed exchange (the host refused, or CAS lost
    /// every try) keeps the last view of the others until the next sync.
    fn exchange_inflight<S: Store + ?Sized>(
        &mut self,
        store: &S,
        router: &mut Router,
        now_ms: u64,
    ) {
        let own = self.own(router);
        if let Ok(others) = inflight::exchange(store, &self.inflight_key, self.worker, &own, now_ms)
        {
            for (i, (mine, theirs)) in own.iter().zip(others).enumerate() {
                self.others[i] = theirs;
                router.set_inflight(i, mine.saturating_add(theirs));
            }
        }
    }

    /// Add the change of this worker's own counts to the in-flight gauges.
    fn publish_gauges<S: Store + ?Sized>(&mut self, store: &S, router: &Router) {
        let own = self.own(router);
        for (i, mine) in own.into_iter().enumerate() {
            let Some(id) = self.inflight_id(i) else {
                continue;
            };
            let delta = i64::from(mine) - i64::from(self.published[i]);
            if delta != 0 {
                store.add_metric(id, delta);
                self.published[i] = mine;
            }
        }
    }
}

#[cfg(test)]
mod tests;
