//! Failover: kill one of three backends during a run of ≥ 2,000 requests; no
//! client request fails; restarted on the same port, the node gets traffic again
//! within the heartbeat window (the wasm filter's heartbeats) or once its
//! passive failure times out (the native policy, which sends no heartbeats).
//! On both targets.

mod common;

use common::target::{Edge, Target};
use common::{backends, send_until, Tally};
use edgepick_tests::harness::backends_json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const INTERVAL_MS: u64 = 200;
const WINDOW_MS: u64 = 600;

/// The native policy's way back: `fail_timeout_ms` after its last failure.
const FAIL_TIMEOUT_MS: u64 = 1000;

on_both_targets!(killing_a_node_fails_no_request_and_it_comes_back);

fn killing_a_node_fails_no_request_and_it_comes_back(target: Target) {
    let mut bs = backends(&["a", "b", "c"]);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{},
            "health":{{"heartbeat":{{"interval_ms":{INTERVAL_MS},"window_ms":{WINDOW_MS},"threshold":1,"timeout_ms":150}},
                       "max_fails":1,"fail_timeout_ms":{FAIL_TIMEOUT_MS}}}}}"#,
        backends_json(&bs)
    );
    let addresses: Vec<_> = bs.iter().map(|b| b.addr()).collect();
    let envoy = Edge::new(&cfg, &addresses).concurrency(2).start(target);
    let tally = Tally::default();
    let stop = AtomicBool::new(false);
    // Time (since `t0`) of every response served by b.
    let b_served = Mutex::new(Vec::<Duration>::new());
    let t0 = Instant::now();

    let (killed_at, restarted_at, healthy_while_down) = std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                send_until(envoy.listener(0), "/f", 16, &stop, &tally, |r| {
                    if r.served_by() == Some("b") {
                        b_served.lock().unwrap().push(t0.elapsed());
                    }
                })
            });
        }
        let wait_for = |n: usize| {
            while tally.total.load(Ordering::SeqCst) < n && t0.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        wait_for(500);
        bs[1].kill();
        let killed_at = t0.elapsed();
        std::thread::sleep(Duration::from_millis(1500));
        wait_for(1200);
        // The wasm filter's gauge (the native policy keeps Envoy's health).
        let healthy =
            (target == Target::Wasm).then(|| envoy.stats().unwrap().custom("edgepick.healthy.b"));
        bs[1].restart().expect("restart b");
        let restarted_at = t0.elapsed();
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline
            && !b_served.lock().unwrap().iter().any(|t| *t > restarted_at)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        wait_for(2000);
        stop.store(true, Ordering::SeqCst);
        (killed_at, restarted_at, healthy)
    });

    let n = tally.total.load(Ordering::SeqCst);
    let failures = tally.failures.into_inner().unwrap();
    assert!(n >= 2000, "only {n} requests");
    assert!(
        failures.is_empty(),
        "{} of {n} client requests failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let served = b_served.into_inner().unwrap();
    let while_down = served
        .iter()
        .filter(|t| **t > killed_at + Duration::from_millis(50) && **t < restarted_at)
        .count();
    assert_eq!(while_down, 0, "b answered while dead?");
    let back = served
        .iter()
        .find(|t| **t > restarted_at)
        .map(|t| *t - restarted_at);
    // Generous: a loaded 2-core machine; the behaviour is "it comes back".
    let limit = Duration::from_millis(match target {
        Target::Wasm => WINDOW_MS + INTERVAL_MS + 1000,
        Target::Native => FAIL_TIMEOUT_MS + 4000,
    });
    assert!(
        back.is_some_and(|d| d <= limit),
        "b got traffic {back:?} after restart; limit {limit:?}"
    );
    if target == Target::Native {
        return;
    }
    assert_eq!(
        healthy_while_down,
        Some(0.0),
        "edgepick.healthy.b should read 0 while b is down"
    );
    let stats = envoy.stats().unwrap();
    assert!(
        stats.custom("edgepick.failures.b") >= 1.0,
        "passive failures of b are counted"
    );
    assert_eq!(
        stats.custom("edgepick.failures.a") + stats.custom("edgepick.failures.c"),
        0.0
    );
}
