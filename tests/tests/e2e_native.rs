//! The native load-balancing policy (`libedgepick_envoy.so`) in a real Envoy
//! 1.40 against real loopback backends, from the shipped
//! `deploy/envoy-native.yaml`: loading (ABI version) and weights, ip_hash over
//! the cluster's own hosts. Operations (health checks, refused
//! configurations, EDS churn) are in `e2e_native_ops.rs`. The behaviours both
//! targets share (ip_hash against nginx, failover, sticky sessions, cookie
//! lines, RFWS) run on both from one declaration: `e2e_ip_hash.rs`,
//! `e2e_failover.rs`, `e2e_sticky.rs`, `e2e_cookie_lines.rs`, `e2e_rfws.rs`.

mod common;

use common::native::{endpoints, served, setup};
use common::{backends, nginx_ip_hash};
use edgepick_tests::harness::native::NativeBuilder;
use edgepick_tests::harness::{backend_json, request_once, Client};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

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
fn ip_hash_over_the_cluster_hosts_maps_clients_as_nginx() {
    setup();
    let bs = backends(&["a", "b", "c"]);
    // No backends listed: the cluster's hosts, in Envoy's order.
    let envoy = NativeBuilder::new(r#"{"algorithm":{"name":"ip_hash"}}"#, &endpoints(&bs))
        .start()
        .expect("envoy starts");
    let mut mismatches = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut check = |what: &str, src: Ipv4Addr, xff: Option<&str>| {
        let headers: Vec<(&str, &str)> = xff.iter().map(|x| ("x-forwarded-for", *x)).collect();
        let r = request_once(envoy.listener(0), Some(IpAddr::V4(src)), "/h", &headers)
            .unwrap_or_else(|e| panic!("{what} from {src}: {e}"));
        let want = bs[nginx_ip_hash(src, &[1, 1, 1])].name();
        names.insert(want.to_string());
        if r.status != 200 || r.served_by() != Some(want) {
            mismatches.push(format!(
                "{what} {src}: want {want}, got {} {:?}",
                r.status,
                r.served_by()
            ));
        }
    };
    for (a, b) in subnets() {
        check("cluster hosts", Ipv4Addr::new(127, a, b, 1), None);
    }
    // A client's own X-Forwarded-For does not choose its address without a trusted hop.
    for (a, b) in subnets().step_by(10) {
        check(
            "spoofed xff ignored",
            Ipv4Addr::new(127, a, b, 200),
            Some("10.9.9.9"),
        );
    }
    assert_eq!(names.len(), 3, "the expectation spreads over every backend");
    assert!(
        mismatches.is_empty(),
        "{} differ from nginx ip_hash:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn the_cookie_filter_names_unlisted_hosts_as_the_policy_does() {
    setup();
    let bs = backends(&["a", "b"]);
    // No backends listed: a is named by its metadata, b by its address. The
    // filter reads the serving host's metadata (http_get_metadata_string)
    // and upstream.address; the policy must find the host by that name.
    let mut eps = endpoints(&bs);
    eps[0].metadata = Some(serde_json::json!({ "name": "meta-a" }));
    let cfg = r#"{"algorithm":{"name":"round_robin"},
        "cookie":{"name":"ep","keys":["native-metadata-key-0123456789"]}}"#;
    let envoy = NativeBuilder::new(cfg, &eps).start().expect("envoy starts");
    // Core's parser wants backends: any will do to read the cookie section.
    let with_one = cfg.replace(
        r#""algorithm""#,
        r#""backends":[{"name":"x","address":"127.0.0.1:9"}],"algorithm""#,
    );
    let parsed = edgepick_core::Config::from_json(&with_one).expect("valid");
    let cookie_cfg = parsed.cookie.as_ref().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut cl = Client::new(envoy.listener(0));
    let mut named = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let r = cl.get("/m").expect("request");
        let value = r
            .set_cookie_value("ep")
            .expect("a new client gets a cookie");
        let name = edgepick_core::cookie::Signer::new(cookie_cfg)
            .verify(&value, now_ms)
            .expect("valid");
        named.insert(r.served_by().unwrap().to_string(), (name, value));
    }
    let b_address = bs[1].addr().to_string();
    assert_eq!(named["a"].0, "meta-a", "{named:?}");
    assert_eq!(named["b"].0, b_address, "{named:?}");
    for (node, (_, value)) in &named {
        let header = format!("ep={value}");
        for _ in 0..10 {
            let r = cl.get_with("/m", &[("cookie", &header)]).expect("request");
            assert_eq!(r.served_by(), Some(node.as_str()), "pinned by name");
            assert_eq!(r.set_cookie_value("ep"), None, "held: not re-issued");
        }
    }
}
