//! The native load-balancing policy in operation, in a real Envoy: Envoy's
//! health checks and endpoint metadata, a refused configuration update (CDS,
//! while serving; refusal at start is in `e2e_bad_config.rs`, on both
//! targets), endpoints added and removed through EDS under traffic.

mod common;

use common::native::{endpoints, served, setup};
use common::{backends, send_until, Tally};
use edgepick_tests::harness::native::{set_cluster_config, set_endpoints, NativeBuilder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[test]
fn envoy_health_checks_and_endpoint_metadata_take_hosts_out() {
    setup();
    let mut bs = backends(&["a", "b", "c"]);
    let mut eps = endpoints(&bs);
    // c is taken out of rotation by its metadata (core's `down`).
    eps[2].metadata = Some(serde_json::json!({ "down": true }));
    let envoy = NativeBuilder::new(r#"{"algorithm":{"name":"round_robin"}}"#, &eps)
        .health_checks(200)
        .start()
        .expect("envoy starts");
    let t = served(&envoy, 30);
    assert_eq!(t.get("c"), None, "c is down by its metadata: {t:?}");
    assert_eq!((t.get("a"), t.get("b")), (Some(&15), Some(&15)), "{t:?}");
    // Envoy's health check takes a out; the policy follows Envoy's health
    // (its healthy list is now b, c: b's index there is not its host index).
    bs[0].kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let clusters = envoy.admin_get("/clusters").expect("admin").text();
        let a = bs[0].addr().to_string();
        if clusters
            .lines()
            .any(|l| l.contains(&a) && l.contains("health_flags::/failed_active_hc"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Envoy never marked a unhealthy:\n{clusters}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = served(&envoy, 30);
    assert_eq!(t.get("b"), Some(&30), "only b is healthy and up: {t:?}");
}

#[test]
fn a_bad_configuration_update_is_refused_while_envoy_keeps_serving_the_old_one() {
    setup();
    let bs = backends(&["a", "b"]);
    let envoy = NativeBuilder::new(r#"{"algorithm":{"name":"round_robin"}}"#, &endpoints(&bs))
        .cds()
        .start()
        .expect("envoy starts");
    assert_eq!(served(&envoy, 10).len(), 2, "round robin over a and b");
    set_cluster_config(
        &envoy,
        r#"{"algorithm":{"name":"ip_hash"},"fallbacks":99}"#,
        1,
    )
    .expect("write cds");
    let line = envoy.wait_for_log("fallbacks", Duration::from_secs(20));
    assert!(
        line.as_deref().is_some_and(|l| l.contains("fallbacks:")),
        "Envoy logs the refusal naming the field: {line:?}\n{}",
        envoy.log_tail(20)
    );
    // Still the old policy (ip_hash would send one client to one node).
    let t = served(&envoy, 20);
    assert_eq!(t.values().copied().collect::<Vec<_>>(), [10, 10], "{t:?}");
}

#[test]
fn endpoints_added_and_removed_through_eds_under_traffic_fail_no_request() {
    setup();
    let bs = backends(&["a", "b", "c"]);
    let eps = endpoints(&bs);
    let cfg = r#"{"algorithm":{"name":"least_connections"}}"#;
    let envoy = NativeBuilder::new(cfg, &eps[..2])
        .eds()
        .concurrency(2)
        .start()
        .expect("envoy starts");
    let tally = Tally::default();
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(Vec::<(Duration, String)>::new());
    let t0 = Instant::now();
    let (added_at, removed_at) = std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                send_until(envoy.listener(0), "/e", 8, &stop, &tally, |r| {
                    let who = r.served_by().unwrap_or("-").to_string();
                    seen.lock().unwrap().push((t0.elapsed(), who));
                })
            });
        }
        std::thread::sleep(Duration::from_millis(800));
        // Taken before the file is written: c cannot serve earlier, while
        // a time taken after the write may come after c's first answer.
        let added_at = t0.elapsed();
        set_endpoints(&envoy, &eps, 1).expect("add c");
        let c = bs[2].name().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !seen.lock().unwrap().iter().any(|(_, w)| *w == c) {
            std::thread::sleep(Duration::from_millis(20));
        }
        set_endpoints(&envoy, &eps[1..], 2).expect("remove a");
        let removed_at = t0.elapsed();
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, Ordering::SeqCst);
        (added_at, removed_at)
    });
    let n = tally.total.load(Ordering::SeqCst);
    let failures = tally.failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {n} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let seen = seen.into_inner().unwrap();
    let name = |i: usize| bs[i].name().to_string();
    assert!(
        seen.iter().all(|(t, w)| *t >= added_at || *w != name(2)),
        "c served before it was added"
    );
    assert!(
        seen.iter().any(|(_, w)| *w == name(2)),
        "c serves once added"
    );
    // EDS is applied asynchronously: allow a second after the file changed.
    let late_a = seen
        .iter()
        .filter(|(t, w)| *t > removed_at + Duration::from_secs(1) && *w == name(0))
        .count();
    assert_eq!(late_a, 0, "a serves after its removal");
    assert!(
        seen.iter()
            .filter(|(t, _)| *t > removed_at + Duration::from_secs(1))
            .count()
            > 20,
        "traffic continued after the removal"
    );
}
