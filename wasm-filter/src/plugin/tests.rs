//! Workers against one in-memory store, as the root context runs them.

use super::*;
use crate::shared::mem_store::MemStore;
use edgepick_core::{Decision, Outcome};

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
fn inflight_is_shared_between_workers_on_sync() {
    let s = MemStore::default();
    let (mut w1, mut w2) = (plugin(&s, 1), plugin(&s, 2));
    w1.init_shared(&s);
    w2.init_shared(&s);
    let t1 = w1.pick(&Request::default(), 0);
    let t2 = w2.pick(&Request::default(), 0);
    assert_eq!((t1.primary(), t2.primary()), (Some(0), Some(0)));
    assert_eq!(s.stat("in.a"), 0, "nothing shared before a sync");
    w1.sync(&s, 0);
    w2.sync(&s, 0);
    assert_eq!(s.stat("in.a"), 2);
    // A retry served by b: a's count goes, a is blamed.
    let ok = Outcome {
        status: Some(200),
        ..Outcome::default()
    };
    let a = w1.router.finish(t1, Some(1), Some(&ok), 1);
    assert_eq!(a.passive().collect::<Vec<_>>(), [(0, true), (1, false)]);
    w2.router.abandon(t2);
    w1.sync(&s, 2);
    w2.sync(&s, 2);
    assert_eq!(s.stat("in.a"), 2, "the gauges follow once a second");
    let second = crate::sync::METRICS_MS;
    w1.sync(&s, second);
    w2.sync(&s, second);
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
    w2.sync(&s, 12);
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
        let t = w1.pick(&Request::default(), 12);
        assert_eq!(t.primary(), Some(0));
        w1.router.abandon(t);
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
    let rec = HealthSnapshot::decode(&s.get(&prober.keys.health()).0.unwrap(), 2).unwrap();
    assert!(rec.entries[1].faulty && !rec.entries[0].faulty);
    other.sync(&s, 302);
    assert!(other.router.states()[1].health.faulty);
    let t = other.pick(&Request::default(), 302);
    assert_eq!(t.ranked()[0], 0);
    other.router.abandon(t);
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

#[test]
fn without_stats_a_retried_or_aborted_request_still_releases_its_count() {
    let s = MemStore::default();
    let cfg = Config::from_json(&CFG.replace("round_robin", "least_connections")).unwrap();
    let mut w = Plugin::new(cfg, "edgepick", 1, StatIds::default());
    w.init_shared(&s);
    let inflight =
        |w: &Plugin| -> Vec<u32> { w.router.states().iter().map(|s| s.inflight).collect() };
    let ok = Outcome {
        status: Some(200),
        ..Outcome::default()
    };
    // Retried: served by the fallback.
    let t = w.pick(&Request::default(), 0);
    let fallback = t.ranked()[1];
    assert_eq!(inflight(&w).iter().sum::<u32>(), 1);
    w.router.finish(t, Some(fallback), Some(&ok), 1);
    assert_eq!(inflight(&w), [0, 0]);
    // Aborted: nothing observed.
    let t = w.pick(&Request::default(), 2);
    w.router.finish(t, Some(fallback), None, 3);
    // Served by a node outside the list, and never answered at all.
    let t = w.pick(&Request::default(), 4);
    w.router.finish(t, None, Some(&ok), 5);
    let t = w.pick(&Request::default(), 6);
    w.router.abandon(t);
    assert_eq!(inflight(&w), [0, 0]);
}

#[test]
fn sync_lease_and_probes_at_the_ends_of_the_clock() {
    // Tests run with overflow checks: no tick, lease or sync period may
    // overflow near `u64::MAX`, nor panic when the clock goes back.
    for now in [0, 1, u64::MAX / 2, u64::MAX - 1000, u64::MAX - 1, u64::MAX] {
        let s = MemStore::default();
        let (mut w1, mut w2) = (plugin(&s, 1), plugin(&s, 2));
        w1.init_shared(&s);
        w2.init_shared(&s);
        assert_eq!(lease_ttl_ms(tick_ms(w1.config())), 1000);
        assert_eq!(lease_ttl_ms(u64::MAX), u64::MAX);
        for at in [now, now.saturating_add(1), u64::MAX, now / 2] {
            w1.sync(&s, at);
            let _ = w1.lease(&s, at);
            let _ = w2.lease(&s, at);
            w1.heartbeat(0, at);
            w1.evaluate(&s, at).unwrap();
            w2.passive(&s, 1, true, at).unwrap();
            w2.passive(&s, 1, true, at).unwrap();
            w2.sync(&s, at);
            let t = w2.pick(&Request::default(), at);
            let served = t.primary();
            let ok = Outcome {
                status: Some(200),
                latency_ms: Some(t.latency_ms(at)),
                ..Outcome::default()
            };
            w2.router.finish(t, served, Some(&ok), at);
        }
    }
}

#[test]
fn measured_route_delays_reach_other_workers() {
    let s = MemStore::default();
    let (mut prober, mut other) = (plugin(&s, 1), plugin(&s, 2));
    prober.init_shared(&s);
    prober.sync(&s, 0);
    other.sync(&s, 0);
    // Heartbeat round trips of 9 and 3 ms to a: D = 1.5 ms, the minimum halved.
    prober.link_rtt(0, 9.0, 10);
    prober.link_rtt(0, 3.0, 20);
    assert_eq!(prober.evaluate(&s, 30), Ok(vec![]), "no verdict changed");
    let rec = HealthSnapshot::decode(&s.get(&prober.keys.health()).0.unwrap(), 2).unwrap();
    assert_eq!(rec.entries[0].link_delay_us, Some(1500));
    assert_eq!(rec.entries[1].link_delay_us, None, "b not measured");
    other.sync(&s, 31);
    let d = &other.router.states()[0];
    assert_eq!(d.delay_ms(&other.config().backends[0]), 1.5);
    // Nothing new: nothing written.
    let version = rec.version;
    prober.link_rtt(0, 4.0, 40);
    assert_eq!(prober.evaluate(&s, 50), Ok(vec![]));
    let rec = HealthSnapshot::decode(&s.get(&prober.keys.health()).0.unwrap(), 2).unwrap();
    assert_eq!(rec.version, version);
}
