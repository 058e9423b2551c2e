//! Two Envoy workers (two wasm VMs) must agree, within the stated staleness
//! bound of one sync period (`SYNC_MS`, 100 ms, plus scheduling slack on a
//! busy 2-core machine): on health (a dead node found by one is avoided by
//! both) and on in-flight counts (least connections balances the two
//! workers' requests together). The in-flight gauges, published once a
//! second (`METRICS_MS`), equal what the backends see within that period.

/// The sync and metrics periods of `wasm-filter/src/sync/mod.rs`, and the
/// slack a loaded CI machine may add to a tick.
const SYNC_MS: u64 = 100;
const METRICS_MS: u64 = 1_000;
const SLACK_MS: u64 = 200;

mod common;

use common::{backend, backends, destination_names, setup};
use edgepick_tests::harness::{backends_json, request_once, BackendOptions, Envoy, EnvoyBuilder};
use std::time::{Duration, Instant};

/// Connections accepted so far by each worker of listener 0.
fn worker_connections(envoy: &Envoy) -> Vec<f64> {
    let port = envoy.listener(0).port();
    let stats = envoy.stats().unwrap();
    (0..2)
        .map(|w| {
            stats
                .get(&format!(
                    "listener.127.0.0.1_{port}.worker_{w}.downstream_cx_total"
                ))
                .unwrap_or(0.0)
        })
        .collect()
}

#[test]
fn both_workers_avoid_a_node_once_it_is_detected_dead() {
    let wasm = setup();
    let mut bs = backends(&["a", "b", "c"]);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{},
            "health":{{"heartbeat":{{"interval_ms":200,"window_ms":600,"threshold":1}},"max_fails":1,"fail_timeout_ms":30000}}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .concurrency(2)
        .start()
        .expect("envoy starts");
    for _ in 0..60 {
        assert_eq!(
            request_once(envoy.listener(0), None, "/warm", &[])
                .unwrap()
                .status,
            200
        );
    }
    let dead = bs[2].addr().to_string();
    bs[2].kill();
    let deadline = Instant::now() + Duration::from_secs(3);
    while envoy.stats().unwrap().get("wasmcustom.edgepick.healthy.c") != Some(0.0) {
        assert!(
            Instant::now() < deadline,
            "c not reported unhealthy within 3 s; log:\n{}",
            envoy.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The prober's worker wrote the verdict; the other worker reads it on its
    // next sync.
    std::thread::sleep(Duration::from_millis(SYNC_MS + SLACK_MS));
    let before = worker_connections(&envoy);
    for i in 0..200 {
        let r =
            request_once(envoy.listener(0), None, &format!("/after?i={i}"), &[]).expect("request");
        assert_eq!(r.status, 200, "{}", r.text());
        let got = r.header("x-received-destination").unwrap_or("-");
        assert!(
            !got.split(',').any(|a| a == dead),
            "request {i} still lists dead c: {:?}",
            destination_names(got, &bs)
        );
    }
    let after = worker_connections(&envoy);
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "both workers must take connections: {before:?} → {after:?}"
    );
}

#[test]
fn inflight_gauges_match_the_backends_across_workers() {
    let wasm = setup();
    let slow = BackendOptions {
        delay_ms: 4000,
        ..Default::default()
    };
    let bs = [backend("a", slow.clone()), backend("b", slow)];
    let cfg = format!(
        r#"{{"algorithm":{{"name":"least_connections"}},"backends":{}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .concurrency(2)
        .start()
        .expect("envoy starts");
    let before = worker_connections(&envoy);
    let target = envoy.listener(0);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..10)
            .map(|i| s.spawn(move || request_once(target, None, &format!("/slow?i={i}"), &[])))
            .collect();
        // Wait (well inside the 4 s delay) until the backends hold all 10 requests.
        let deadline = Instant::now() + Duration::from_millis(1800);
        let (sa, sb) = loop {
            let (sa, sb) = (
                bs[0].stats().unwrap().inflight as f64,
                bs[1].stats().unwrap().inflight as f64,
            );
            if sa + sb >= 10.0 || Instant::now() > deadline {
                break (sa, sb);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!((sa + sb) as u32, 10, "the backends hold all 10 requests");
        // Each worker publishes its own counts within a metrics period.
        let deadline = Instant::now() + Duration::from_millis(METRICS_MS + SLACK_MS);
        let gauges = loop {
            let stats = envoy.stats().unwrap();
            let gauge = |n: &str| stats.custom(&format!("edgepick.inflight.{n}"));
            let g = (gauge("a"), gauge("b"));
            if g == (sa, sb) || Instant::now() > deadline {
                break g;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(gauges, (sa, sb), "in-flight gauges vs backends");
        assert!(
            (sa - sb).abs() <= 2.0,
            "least connections over shared counts balances: a={sa} b={sb}"
        );
        for h in hs {
            assert_eq!(h.join().unwrap().expect("slow request").status, 200);
        }
    });
    let after = worker_connections(&envoy);
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "both workers must take connections: {before:?} → {after:?}"
    );
    let deadline = Instant::now() + Duration::from_millis(METRICS_MS + 1000);
    loop {
        let stats = envoy.stats().unwrap();
        let total = stats.custom("edgepick.inflight.a") + stats.custom("edgepick.inflight.b");
        if total == 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "in-flight gauges did not return to 0: {total}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
