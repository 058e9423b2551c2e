//! Keeping each worker's [`Router`] coherent with what the workers share.
//!
//! Before every pick a worker [`pull`](SharedView::pull)s: one stat read of
//! the `health_writes` counter — the health record itself is read (and
//! decoded, if its CAS token changed) only when that counter moved — and,
//! for algorithms that weigh load, one stat read per backend's in-flight
//! gauge, copied into the router's states. Writes go the other way through
//! [`crate::shared`]'s CAS helpers and stat adds, never through the local
//! router alone, so two workers never disagree for longer than one request
//! about which node is out or how busy it is.

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

    /// Copy shared health and (with `with_inflight`) in-flight counts into
    /// `router`. The record is read when `health_writes` moved since the last
    /// read, or always with `force` (ticks) or without that counter. Returns
    /// the backends whose health (at `now_ms`) changed since the last pull,
    /// the first pull reporting every backend.
    pub fn pull<S: Store + ?Sized>(
        &mut self,
        store: &S,
        router: &mut Router,
        now_ms: u64,
        with_inflight: bool,
        force: bool,
    ) -> Vec<Flip> {
        let n = self.healthy.len();
        // Read the counter before the record: a write landing in between is
        // then seen again on the next pull, never missed.
        let writes = self.ids.health_writes.and_then(|id| store.metric(id));
        if force || writes.is_none() || writes != self.writes_seen {
            self.writes_seen = writes;
            let (value, cas) = store.get(&self.health_key);
            if cas.is_none() || cas != self.health_cas {
                self.record = health::load(value.as_deref(), n);
                self.health_cas = cas;
                self.record
                    .apply_to(router.states_mut().iter_mut().map(|s| &mut s.health));
            }
        }
        // In-flight counts only matter to the algorithms that read them; each
        // is one hostcall, so the others skip them.
        if with_inflight {
            for i in 0..n {
                if let Some(v) = self.inflight_id(i).and_then(|id| store.metric(id)) {
                    router.set_inflight(i, u32::try_from(v).unwrap_or(u32::MAX));
                }
            }
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
            v1.pull(&store, &mut r1, 0, true, false).len(),
            2,
            "first pull reports everything"
        );
        v2.pull(&store, &mut r2, 0, true, false);

        // Worker 1 counts a request on b and a failure of a.
        store.add_metric(v1.inflight_id(1).unwrap(), 1);
        fail(&store, &v1, 0, 100);

        let flips = v2.pull(&store, &mut r2, 100, true, false);
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
            v2.pull(&store, &mut r2, 1101, true, false),
            [Flip {
                backend: 0,
                healthy: true
            }]
        );
        assert!(
            v2.pull(&store, &mut r2, 1102, true, false).is_empty(),
            "unchanged record: no flips"
        );
    }

    #[test]
    fn the_record_is_read_only_when_the_counter_moved() {
        let store = MemStore::default();
        let keys = Keys::new("p", [("a", "x".into())]);
        let (mut r, mut v) = (router(), SharedView::new(&keys, 2, ids(&store)));
        v.pull(&store, &mut r, 0, false, false);
        // A write that (wrongly) skips the counter is not seen by a pick…
        update_health(&store, v.health_key(), 2, |r| r.set_faulty(1, true, 5)).unwrap();
        v.pull(&store, &mut r, 6, false, false);
        assert!(!r.states()[1].health.faulty);
        // …but is by the tick's forced pull, and a counted write by the next pick.
        v.pull(&store, &mut r, 7, false, true);
        assert!(r.states()[1].health.faulty);
        fail(&store, &v, 0, 8);
        v.pull(&store, &mut r, 9, false, false);
        assert_eq!(r.states()[0].health.passive.fails, 1);
        // Without the counter every pull reads the record.
        let mut bare = SharedView::new(&keys, 2, StatIds::default());
        let mut r2 = router();
        bare.pull(&store, &mut r2, 10, true, false);
        assert!(r2.states()[1].health.faulty);
        assert_eq!(r2.states()[0].inflight, 0, "no gauges: local counts stay");
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
        v.pull(&store, &mut r, 60, true, true);
        assert_eq!(
            r.states()[0]
                .health
                .heartbeats
                .count(60, r.config().health.heartbeat.as_ref().unwrap()),
            1
        );
    }
}
