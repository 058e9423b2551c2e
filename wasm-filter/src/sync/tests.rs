//! Tests of [`super::SharedView`] over an in-memory store.

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
    let mut v1 = SharedView::new(&keys, 2, ids(&store), 1);
    let mut v2 = SharedView::new(&keys, 2, ids(&store), 2);
    assert_eq!(
        v1.pull(&store, &mut r1, 0, true).len(),
        2,
        "first pull reports everything"
    );
    v2.pull(&store, &mut r2, 0, true);

    // Worker 1 holds a request on b (published on its sync) and sees a fail.
    r1.set_inflight(1, 1);
    v1.pull(&store, &mut r1, 50, true);
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
    let (mut r, mut v) = (router(), SharedView::new(&keys, 2, ids(&store), 1));
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
    let mut bare = SharedView::new(&keys, 2, StatIds::default(), 2);
    let mut r2 = router();
    bare.pull(&store, &mut r2, 10, true);
    assert!(r2.states()[1].health.faulty);
    assert_eq!(
        r2.states()[0].inflight,
        0,
        "no gauges: counts still exchanged"
    );
}

#[test]
fn own_counts_are_exchanged_on_sync_and_gauges_follow_each_second() {
    let store = MemStore::default();
    let keys = Keys::new("p", [("a", "x".into())]);
    let (mut r1, mut r2) = (router(), router());
    let mut v1 = SharedView::new(&keys, 2, ids(&store), 1);
    let mut v2 = SharedView::new(&keys, 2, ids(&store), 2);
    let mut rng = SplitMix64::new(1);
    let gauge_ids = ids(&store).inflight;
    let gauge = |i: usize| store.metric(gauge_ids[i].unwrap());
    // Worker 1 holds two requests on a (round robin: pin by editing).
    r1.set_inflight(0, 2);
    v1.pull(&store, &mut r1, 0, true);
    assert_eq!(gauge(0), Some(2), "the first sync publishes the gauges");
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
    // Worker 1's requests end: the record says so at its next sync, and
    // worker 2's view of the others follows on its own next sync. The gauge
    // waits for the metrics period.
    r1.set_inflight(0, 0);
    v1.pull(&store, &mut r1, 100, true);
    v2.pull(&store, &mut r2, 100, true);
    assert_eq!(r2.states()[0].inflight, u32::from(mine == 0));
    assert_eq!(gauge(0), Some(2), "gauges trail by up to METRICS_MS");
    r2.abandon(t);
    v2.pull(&store, &mut r2, METRICS_MS, true);
    v1.pull(&store, &mut r1, METRICS_MS, true);
    for i in 0..2 {
        assert_eq!(gauge(i), Some(0));
        assert_eq!((r1.states()[i].inflight, r2.states()[i].inflight), (0, 0));
    }
}

#[test]
fn without_load_weighing_nothing_is_exchanged_but_gauges_publish() {
    let store = MemStore::default();
    let keys = Keys::new("p", [("a", "x".into())]);
    let (mut r1, mut r2) = (router(), router());
    let mut v1 = SharedView::new(&keys, 2, ids(&store), 1);
    let mut v2 = SharedView::new(&keys, 2, ids(&store), 2);
    r1.set_inflight(1, 3);
    v1.pull(&store, &mut r1, 0, false);
    v2.pull(&store, &mut r2, 0, false);
    assert_eq!(
        r2.states()[1].inflight,
        0,
        "round robin never reads the others"
    );
    assert_eq!(store.get(&keys.inflight()).0, None, "no record written");
    assert_eq!(store.metric(v1.inflight_id(1).unwrap()), Some(3));
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
    let mut v = SharedView::new(&keys, 2, ids(&store), 1);
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
