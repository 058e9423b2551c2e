//! Keeping each worker's [`Router`] coherent with shared data.
//!
//! Before every pick a worker [`pull`](SharedView::pull)s: one read of the
//! health record (decoded again only when its CAS token changed) and one read
//! per backend's in-flight counter, copied into the router's states. Writes go
//! the other way through [`crate::shared`]'s CAS helpers, never through the
//! local router alone, so two workers never disagree for longer than one
//! request about which node is out.

use crate::shared::{decode_count, HealthEntry, HealthRecord, Store};
use edgepick_core::health::{HealthState, PassiveHealth};
use edgepick_core::Router;

/// A worker's cached view of the shared record.
#[derive(Debug, Clone)]
pub struct SharedView {
    inflight_keys: Vec<String>,
    health_key: String,
    health_cas: Option<u32>,
    record: HealthRecord,
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
    /// A view over `n` backends under `keys`.
    pub fn new(keys: &crate::shared::Keys, n: usize) -> Self {
        SharedView {
            inflight_keys: (0..n).map(|i| keys.inflight(i)).collect(),
            health_key: keys.health(),
            health_cas: None,
            record: HealthRecord::new(n),
            healthy: vec![None; n],
        }
    }

    /// The health record key.
    pub fn health_key(&self) -> &str {
        &self.health_key
    }

    /// Backend `i`'s in-flight counter key.
    pub fn inflight_key(&self, i: usize) -> Option<&str> {
        self.inflight_keys.get(i).map(String::as_str)
    }

    /// The last health record seen.
    pub fn record(&self) -> &HealthRecord {
        &self.record
    }

    /// Remember a record this worker just wrote (saves decoding it on the next pull).
    pub fn remember(&mut self, record: HealthRecord) {
        self.record = record;
        self.health_cas = None;
    }

    /// Copy shared health and (with `with_inflight`) in-flight counts into
    /// `router`; returns the
    /// backends whose health (at `now_ms`) changed since the last pull, the
    /// first pull reporting every backend.
    pub fn pull<S: Store + ?Sized>(
        &mut self,
        store: &S,
        router: &mut Router,
        now_ms: u64,
        with_inflight: bool,
    ) -> Vec<Flip> {
        let n = self.inflight_keys.len();
        let (value, cas) = store.get(&self.health_key);
        let changed = cas.is_none() || cas != self.health_cas;
        if changed {
            self.record = value
                .and_then(|v| HealthRecord::decode(&v, n))
                .unwrap_or_else(|| HealthRecord::new(n));
            self.health_cas = cas;
            for (s, e) in router.states_mut().iter_mut().zip(&self.record.entries) {
                apply_entry(&mut s.health, e);
            }
        }
        // In-flight counts only matter to the algorithms that read them; each
        // is one hostcall, so the others skip them.
        if with_inflight {
            for (i, k) in self.inflight_keys.iter().enumerate() {
                router.set_inflight(i, decode_count(store.get(k).0.as_deref()));
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

pub fn apply_entry(h: &mut HealthState, e: &HealthEntry) {
    h.faulty = e.faulty;
    h.passive = PassiveHealth {
        fails: e.fails,
        checked_ms: e.checked_ms,
    };
    h.recovered_at_ms = e.recovered_ms;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::tests::MemStore;
    use crate::shared::{add_count, update_health, Keys};
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
        let (mut v1, mut v2) = (SharedView::new(&keys, 2), SharedView::new(&keys, 2));
        assert_eq!(
            v1.pull(&store, &mut r1, 0, true).len(),
            2,
            "first pull reports everything"
        );
        v2.pull(&store, &mut r2, 0, true);

        // Worker 1 counts a request on b and a failure of a.
        add_count(&store, v1.inflight_key(1).unwrap(), 1).unwrap();
        update_health(&store, v1.health_key(), 2, |r| {
            r.entries[0].observe(true, 100, 1);
            true
        })
        .unwrap();

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
            let (d, _) = r2.pick(&Request::default(), 100, &mut rng);
            assert_eq!(
                d.primary(),
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
    fn heartbeat_windows_survive_a_pull() {
        let store = MemStore::default();
        let keys = Keys::new("p", [("a", "x".into())]);
        let cfg = Config::from_json(
            r#"{"health": {"heartbeat": {"interval_ms": 100, "window_ms": 300, "threshold": 1}},
               "backends": [{"name": "a", "address": "127.0.0.1:9001"}, {"name": "b", "address": "127.0.0.1:9002"}]}"#,
        )
        .unwrap();
        let mut r = Router::new(cfg);
        let mut v = SharedView::new(&keys, 2);
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
