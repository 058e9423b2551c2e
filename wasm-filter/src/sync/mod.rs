//! Keeping each worker's [`Router`] coherent with what the other workers
//! know, on a sync period (the tick, [`SYNC_MS`] at most), never per request.
//!
//! Each worker keeps its own exact state: its requests' in-flight counts
//! (the tickets), the failures it saw and acted on at once, latency and load
//! reports. On each sync it [`pull`](SharedView::pull)s:
//! * health: one stat read of the `health_writes` counter; the shared record
//!   is read (and decoded, if its CAS token changed) only when it moved;
//! * in-flight: it publishes its own count's change to each backend's
//!   `edgepick.inflight.<backend>` gauge (one atomic add per backend whose
//!   count moved) and, for algorithms that weigh load, reads every gauge:
//!   what the other workers hold is the gauge less its own share.
//!
//! So a pick uses its own exact count plus the other workers' as of at most
//! one sync period ago, and a node any worker finds faulty (passive failure
//! or heartbeat verdict, written to the record at once) is avoided by every
//! worker within one sync period. The request path makes no shared-data or
//! stat call for this. Writes of health go through [`crate::shared`]'s CAS
//! helpers at the moment of the failure.

use crate::shared::{health, Store};
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

/// A worker's cached view of the shared state.
#[derive(Debug, Clone)]
pub struct SharedView {
    ids: StatIds,
    health_key: String,
    health_cas: Option<u32>,
    /// `health_writes` when the record was last read.
    writes_seen: Option<u64>,
    record: HealthSnapshot,
    healthy: Vec<Option<bool>>,
    /// What this worker has added to each in-flight gauge.
    published: Vec<u32>,
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
    /// A view over `n` backends under `keys`, sharing stats `ids`.
    pub fn new(keys: &crate::shared::Keys, n: usize, mut ids: StatIds) -> Self {
        ids.inflight.resize(n, None);
        SharedView {
            ids,
            health_key: keys.health(),
            health_cas: None,
            writes_seen: None,
            record: HealthSnapshot::new(n),
            healthy: vec![None; n],
            published: vec![0; n],
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
    /// without that counter), this worker's in-flight counts out to the
    /// gauges and (with `with_inflight`) the other workers' counts in.
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
        self.exchange_inflight(store, router, with_inflight);
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

    /// Publish this worker's own in-flight counts (the router's less the
    /// others' share) and, with `read`, take the others' from the gauges.
    fn exchange_inflight<S: Store + ?Sized>(&mut self, store: &S, router: &mut Router, read: bool) {
        for i in 0..self.healthy.len() {
            let Some(id) = self.inflight_id(i) else {
                continue;
            };
            let own = router.states()[i].inflight.saturating_sub(self.others[i]);
            let delta = i64::from(own) - i64::from(self.published[i]);
            if delta != 0 {
                store.add_metric(id, delta);
                self.published[i] = own;
            }
            if read {
                if let Some(total) = store.metric(id) {
                    let total = u32::try_from(total).unwrap_or(u32::MAX);
                    self.others[i] = total.saturating_sub(own);
                    router.set_inflight(i, own.saturating_add(self.others[i]));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::mem_store::MemStore;
    use crate::shared::{update_health, Keys};
    use edgepick_core::{Config, Request, SplitMix64};

    fn router() -> Router {
        Router::new(
            Config::from_json(
                r#"{"algorithm": {"name": "round_robin"}, "health": {"max_fails": 1, "fail_timeout_ms": 1000},
                "backends": [{"name": "a", "address": "127.0.0.1:9001"}, {"name": "b", "address": "127.0.0.1:9002"}]}"#,
            )
            .unwrap(),
        )
    }

    fn ids(store: &MemStore) -> StatIds {
        StatIds {
            inflight: vec![Some(store.define("in.a")), Some(store.define("in.b"))],
            health_writes: Some(store.define("writes")),
        }
    }

    /// What `Plugin::passive` does: write the record, then bump the counter.
    fn fail(store: &MemStore, v: &SharedView, i: usize, now: u64) {
        update_health(store, v.health_key(), 2, |r| {
            r.observe(i, true, now, 1);
            true
        })
        .unwrap();
        store.add_metric(v.health_writes_id().unwrap(), 1);
    }

    #[test]
    fn two_workers_see_the_same_state() {
        let store = MemStore::default();
        let keys = Keys::new(
            "p",
            [
                ("a", "127.0.0.1:9001".into()),
                ("b", "127.0.0.1:9002".into()),
            ],
        );
        let (mut r1, mut r2) = (router(), router());
        let mut v1 = SharedView::new(&keys, 2, ids(&store));
        let mut v2 = SharedView::new(&keys, 2, ids(&store));
        assert_eq!(
            v1.pull(&store, &mut r1, 0, true).len(),
            2,
            "first pull reports everything"
        );
        v2.pull(&store, &mut r2, 0, true);

        // Worker 1 counts a request on b and a failure of a.
        store.add_metric(v1.inflight_id(1).unwrap(), 1);
        fail(&store, &v1, 0, 100);

        let flips = v2.pull(&store, &mut r2, 100, true);
        assert_eq!(
            flips,
            [Flip {
                backend: 0,
                healthy: false
            }]
        );
        assert_eq!(r2.states()[1].inflight, 1);
        let mut rng = SplitMix64::new(1);
        for _ in 0..4 {
            let t = r2.pick(&Request::default(), 100, &mut rng);
            let primary = t.primary();
            r2.abandon(t);
            assert_eq!(
                primary,
                Some(1),
                "worker 2 avoids the node worker 1 saw fail"
            );
        }
        // fail_timeout passes: a is tried again, reported as a flip.
        assert_eq!(
            v2.pull(&store, &mut r2, 1101, true),
            [Flip {
                backend: 0,
                healthy: true
            }]
        );
        assert!(
            v2.pull(&store, &mut r2, 1102, true).is_empty(),
            "unchanged record: no flips"
        );
    }

    #[test]
    fn the_record_is_read_only_when_the_counter_moved() {
        let store = MemStore::default();
        let keys = Keys::new("p", [("a", "x".into())]);
        let (mut r, mut v) = (router(), SharedView::new(&keys, 2, ids(&store)));
        v.pull(&store, &mut r, 0, false);
        // A write that (wrongly) skips the counter is not read…
        update_health(&store, v.health_key(), 2, |r| r.set_faulty(1, true, 5)).unwrap();
        v.pull(&store, &mut r, 6, false);
        assert!(!r.states()[1].health.faulty);
        // …until a counted write makes the next sync read the record.
        fail(&store, &v, 0, 8);
        v.pull(&store, &mut r, 9, false);
        assert_eq!(r.states()[0].health.passive.fails, 1);
        assert!(r.states()[1].health.faulty);
        // Without the counter every pull reads the record.
        let mut bare = SharedView::new(&keys, 2, StatIds::default());
        let mut r2 = router();
        bare.pull(&store, &mut r2, 10, true);
        assert!(r2.states()[1].health.faulty);
        assert_eq!(r2.states()[0].inflight, 0, "no gauges: local counts stay");
    }

    #[test]
    fn own_counts_are_published_and_the_others_read_on_sync() {
        let store = MemStore::default();
        let keys = Keys::new("p", [("a", "x".into())]);
        let (mut r1, mut r2) = (router(), router());
        let mut v1 = SharedView::new(&keys, 2, ids(&store));
        let mut v2 = SharedView::new(&keys, 2, ids(&store));
        let mut rng = SplitMix64::new(1);
        // Worker 1 holds two requests on a (round robin: pin by editing).
        r1.set_inflight(0, 2);
        v1.pull(&store, &mut r1, 0, true);
        assert_eq!(store.metric(v1.inflight_id(0).unwrap()), Some(2));
        // Worker 2 sees them as the others' on its next sync, plus its own.
        v2.pull(&store, &mut r2, 0, true);
        assert_eq!(r2.states()[0].inflight, 2);
        let t = r2.pick(&Request::default(), 1, &mut rng);
        let mine = t.primary().unwrap();
        let before = r2.states()[mine].inflight;
        v2.pull(&store, &mut r2, 1, true);
        assert_eq!(
            r2.states()[mine].inflight,
            before,
            "own count exact, others unchanged"
        );
        // Worker 1's requests end: its gauge share goes with the next sync;
        // worker 2's view of the others follows on its own next sync.
        r1.set_inflight(0, 0);
        v1.pull(&store, &mut r1, 2, true);
        v2.pull(&store, &mut r2, 2, true);
        assert_eq!(r2.states()[0].inflight, u32::from(mine == 0));
        r2.abandon(t);
        v2.pull(&store, &mut r2, 3, true);
        v1.pull(&store, &mut r1, 3, true);
        for i in 0..2 {
            assert_eq!(store.metric(v1.inflight_id(i).unwrap()), Some(0));
            assert_eq!((r1.states()[i].inflight, r2.states()[i].inflight), (0, 0));
        }
    }

    #[test]
    fn heartbeat_windows_survive_a_pull() {
        let store = MemStore::default();
        let keys = Keys::new("p", [("a", "x".into())]);
        let cfg = Config::from_json(
            r#"{"health": {"heartbeat": {"interval_ms": 100, "window_ms": 300, "threshold": 1}},
               "backends": [{"name": "a", "address": "127.0.0.1:9001"}, {"name": "b", "address": "127.0.0.1:9002"}]}"#,
        )
        .unwrap();
        let mut r = Router::new(cfg);
        let mut v = SharedView::new(&keys, 2, ids(&store));
        r.heartbeat(0, 50);
        v.pull(&store, &mut r, 60, true);
        assert_eq!(
            r.states()[0]
                .health
                .heartbeats
                .count(60, r.config().health.heartbeat.as_ref().unwrap()),
            1
        );
    }
}
