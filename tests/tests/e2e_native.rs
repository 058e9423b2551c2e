//! The native load-balancing policy (`libedgepick_envoy.so`) in a real Envoy
//! 1.40 against real loopback backends, from the shipped
//! `deploy/envoy-native.yaml`: loading (ABI version) and weights, ip_hash as
//! nginx computes it, failover, session cookies. Operations (health checks,
//! refused configurations, RFWS, EDS churn) are in `e2e_native_ops.rs`.

mod common;

use common::native::{endpoints, served, setup};
use common::{backends, nginx_ip_hash, send_until, tally, Tally};
use edgepick_tests::harness::native::NativeBuilder;
use edgepick_tests::harness::{backend_json, request_once};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[test]
fn loads_with_the_abi_version_and_follows_weights_from_config_metadata_and_envoy() {
    setup();
    let bs = backends(&["a", "b", "c"]);
    // a: weight from the document; b: from endpoint metadata; c: Envoy's
    // load_balancing_weight. Names: a listed, b from metadata, c its address.
    let mut eps = endpoints(&bs);
    eps[1].metadata = Some(serde_json::json!({ "name": "b", "weight": 2 }));
    eps[2].weight = Some(1);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":[{}]}}"#,
        backend_json(&bs[0], r#""weight":3"#)
    );
    let envoy = NativeBuilder::new(&cfg, &eps)
        .start()
        .expect("envoy starts");
    // One worker, smooth weighted round robin: exactly 3:2:1 per 6 requests.
    let t = served(&envoy, 600);
    assert_eq!(t.get("a"), Some(&300), "{t:?}");
    assert_eq!(t.get("b"), Some(&200), "{t:?}");
    assert_eq!(t.get("c"), Some(&100), "{t:?}");
    // Envoy compares the version the module reports with its own (its log
    // is flushed every few seconds).
    assert!(
        envoy
            .wait_for_log(
                "Dynamic module ABI version v0.2.0 matched.",
                Duration::from_secs(15)
            )
            .is_some(),
        "Envoy reports the module's ABI version as its own:\n{}",
        envoy.log_tail(20)
    );
}

/// 200 distinct /24s on loopback: 127.a.b.x for a in 1..=20, b in 0..=9.
fn subnets() -> impl Iterator<Item = (u8, u8)> {
    (1..=20u8).flat_map(|a| (0..10u8).map(move |b| (a, b)))
}

#[test]
fn ip_hash_maps_clients_exactly_as_nginx() {
    setup();
    let bs = backends(&["a", "b", "c"]);
    let listed = |w: [u32; 3], extra: &str| {
        let list: Vec<String> = bs
            .iter()
            .zip(w)
            .map(|(b, w)| backend_json(b, &format!(r#""weight":{w}"#)))
            .collect();
        format!(
            r#"{{"algorithm":{{"name":"ip_hash"}},"backends":[{}]{extra}}}"#,
            list.join(",")
        )
    };
    let equal = [1, 1, 1];
    let weighted = [3, 1, 2];
    // Listener 0 lists no backends: the cluster's hosts in Envoy's order.
    let envoy = NativeBuilder::new(r#"{"algorithm":{"name":"ip_hash"}}"#, &endpoints(&bs))
        .add_listener(&listed(weighted, ""))
        .add_listener(&listed(equal, r#","client":{"trusted_hops":1}"#))
        .start()
        .expect("envoy starts");
    let mut mismatches = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut total = 0;
    let mut check =
        |what: &str, l: usize, src: Ipv4Addr, client: Ipv4Addr, xff: Option<String>, w: &[u32]| {
            let headers: Vec<(&str, &str)> = xff
                .iter()
                .map(|x| ("x-forwarded-for", x.as_str()))
                .collect();
            let r = request_once(envoy.listener(l), Some(IpAddr::V4(src)), "/h", &headers)
                .unwrap_or_else(|e| panic!("{what} from {src}: {e}"));
            let want = bs[nginx_ip_hash(client, w)].name();
            names.insert(want.to_string());
            total += 1;
            if r.status != 200 || r.served_by() != Some(want) {
                mismatches.push(format!(
                    "{what} {client}: want {want}, got {} {:?}",
                    r.status,
                    r.served_by()
                ));
            }
        };
    for (a, b) in subnets() {
        let src = Ipv4Addr::new(127, a, b, 1);
        check("cluster hosts", 0, src, src, None, &equal);
        check("weights 3,1,2", 1, src, src, None, &weighted);
        let client = Ipv4Addr::new(10, a, b, 7);
        check(
            "xff",
            2,
            Ipv4Addr::LOCALHOST,
            client,
            Some(format!("203.0.113.9, {client}")),
            &equal,
        );
    }
    // A client's own X-Forwarded-For does not choose its address without a trusted hop.
    for (a, b) in subnets().step_by(10) {
        let src = Ipv4Addr::new(127, a, b, 200);
        check(
            "spoofed xff ignored",
            0,
            src,
            src,
            Some("10.9.9.9".into()),
            &equal,
        );
    }
    assert_eq!(names.len(), 3, "the expectation spreads over every backend");
    assert!(
        mismatches.is_empty(),
        "{} of {total} requests differ from nginx ip_hash:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}

#[test]
fn killing_a_node_fails_no_request_and_it_comes_back() {
    setup();
    let mut bs = backends(&["a", "b", "c"]);
    let cfg =
        r#"{"algorithm":{"name":"round_robin"},"health":{"max_fails":1,"fail_timeout_ms":1000}}"#;
    let envoy = NativeBuilder::new(cfg, &endpoints(&bs))
        .concurrency(2)
        .start()
        .expect("envoy starts");
    let tally = Tally::default();
    let stop = AtomicBool::new(false);
    let b_served = Mutex::new(Vec::<Duration>::new());
    let t0 = Instant::now();
    let b = bs[1].name().to_string();
    let (killed_at, restarted_at) = std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                send_until(envoy.listener(0), "/f", 16, &stop, &tally, |r| {
                    if r.served_by() == Some(b.as_str()) {
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
        wait_for(1500);
        bs[1].restart().expect("restart b");
        let restarted_at = t0.elapsed();
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline
            && !b_served.lock().unwrap().iter().any(|t| *t > restarted_at)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        wait_for(2200);
        stop.store(true, Ordering::SeqCst);
        (killed_at, restarted_at)
    });
    let n = tally.total.load(Ordering::SeqCst);
    let failures = tally.failures.into_inner().unwrap();
    assert!(n >= 2000, "only {n} requests");
    assert!(
        failures.is_empty(),
        "{} of {n} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let served = b_served.into_inner().unwrap();
    let before = served.iter().filter(|t| **t < killed_at).count();
    assert!(before > 50, "b served {before} before it was killed");
    let while_down = served
        .iter()
        .filter(|t| **t > killed_at + Duration::from_millis(50) && **t < restarted_at)
        .count();
    assert_eq!(while_down, 0, "b answered while dead?");
    assert!(
        served.iter().any(|t| *t > restarted_at),
        "b gets traffic again after its restart"
    );
}

#[test]
fn a_signed_session_cookie_pins_the_client_and_a_tampered_one_is_ignored() {
    setup();
    let mut bs = backends(&["a", "b", "c"]);
    let list: Vec<String> = bs.iter().map(|b| backend_json(b, "")).collect();
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":[{}],
            "cookie":{{"name":"edgepick","keys":["native-test-key-0123456789abcdef"]}},
            "health":{{"max_fails":1,"fail_timeout_ms":10000}}}}"#,
        list.join(",")
    );
    // The cookie the wasm filter would set for b (core's format and key).
    let parsed = edgepick_core::Config::from_json(&cfg).expect("valid");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let value =
        edgepick_core::cookie::Signer::new(parsed.cookie.as_ref().unwrap()).sign("b", now_ms);
    let mut tampered = value.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let envoy = NativeBuilder::new(&cfg, &endpoints(&bs))
        .concurrency(2)
        .start()
        .expect("envoy starts");
    let send = |cookie: &str, n: usize| {
        let header = format!("edgepick={cookie}");
        let rs: Vec<_> = (0..n)
            .map(|_| {
                request_once(
                    envoy.listener(0),
                    None,
                    "/s",
                    &[("cookie", header.as_str())],
                )
                .expect("request")
            })
            .collect();
        assert!(rs.iter().all(|r| r.status == 200));
        tally(&rs)
    };
    let t = send(&value, 100);
    assert_eq!(
        t.get("b"),
        Some(&100),
        "pinned to b over 100 requests: {t:?}"
    );
    let t = send(&tampered, 30);
    assert!(t.len() >= 2, "a tampered cookie pins nothing: {t:?}");
    // b dies: its sessions move (every request still answered), elsewhere.
    bs[1].kill();
    let t = send(&value, 60);
    assert_eq!(t.get("b"), None, "{t:?}");
    assert_eq!(t.values().sum::<usize>(), 60);
}
