//! ip_hash through real Envoy must map clients exactly as nginx's `ip_hash`
//! would. The expectation comes from an independent implementation of nginx's
//! algorithm written in `common` (from nginx's `ngx_http_upstream_ip_hash_module.c`,
//! as summarised in shared/reference/algorithms.md), never from edgepick-core.
//! On both targets.

mod common;

use common::target::{Edge, Target};
use common::{backends, nginx_ip_hash};
use edgepick_tests::harness::{backend_json, request_once};
use std::net::{IpAddr, Ipv4Addr};

#[test]
fn reference_vectors_of_the_independent_implementation() {
    // algorithms.md: peers a, b, c.
    assert_eq!(nginx_ip_hash(Ipv4Addr::new(192, 168, 1, 10), &[1, 1, 1]), 1);
    assert_eq!(
        nginx_ip_hash(Ipv4Addr::new(192, 168, 1, 200), &[1, 1, 1]),
        1
    );
    assert_eq!(nginx_ip_hash(Ipv4Addr::new(10, 0, 0, 1), &[1, 1, 1]), 0);
    assert_eq!(nginx_ip_hash(Ipv4Addr::new(192, 168, 1, 10), &[5, 1, 1]), 0);
}

/// 200 distinct /24s on loopback: 127.a.b.x for a in 1..=20, b in 0..=9.
fn subnets() -> impl Iterator<Item = (u8, u8)> {
    (1..=20u8).flat_map(|a| (0..10u8).map(move |b| (a, b)))
}

on_both_targets!(clients_map_exactly_as_nginx_ip_hash);

fn clients_map_exactly_as_nginx_ip_hash(target: Target) {
    let bs = backends(&["a", "b", "c"]);
    let cfg = |weights: [u32; 3], extra: &str| {
        let list: Vec<String> = bs
            .iter()
            .zip(weights)
            .map(|(b, w)| backend_json(b, &format!(r#""weight":{w}"#)))
            .collect();
        format!(
            r#"{{"algorithm":{{"name":"ip_hash"}},"backends":[{}]{extra}}}"#,
            list.join(",")
        )
    };
    let equal = [1, 1, 1];
    let weighted = [3, 1, 2];
    let addresses: Vec<_> = bs.iter().map(|b| b.addr()).collect();
    let envoy = Edge::new(&cfg(equal, ""), &addresses)
        .and(&cfg(weighted, ""))
        .and(&cfg(equal, r#","client":{"trusted_hops":1}"#))
        .start(target);

    let mut mismatches = Vec::new();
    let mut expected_names = std::collections::BTreeSet::new();
    let mut check = |what: &str,
                     listener: usize,
                     source: Ipv4Addr,
                     client: Ipv4Addr,
                     xff: Option<String>,
                     w: &[u32]| {
        let headers: Vec<(&str, &str)> = xff
            .iter()
            .map(|x| ("x-forwarded-for", x.as_str()))
            .collect();
        let r = request_once(
            envoy.listener(listener),
            Some(IpAddr::V4(source)),
            "/h",
            &headers,
        )
        .unwrap_or_else(|e| panic!("{what} from {source}: {e}"));
        let want = bs[nginx_ip_hash(client, w)].name();
        expected_names.insert(want.to_string());
        if r.status != 200 || r.served_by() != Some(want) {
            mismatches.push(format!(
                "{what} client {client}: want {want}, got {} {:?}",
                r.status,
                r.served_by()
            ));
        }
    };
    for (a, b) in subnets() {
        let src = Ipv4Addr::new(127, a, b, 1);
        check("equal", 0, src, src, None, &equal);
        check("weights 3,1,2", 1, src, src, None, &weighted);
        // Through one trusted hop: the client is the rightmost X-Forwarded-For entry.
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
    // The last octet does not count: a whole /24 maps together.
    for (a, b) in subnets().step_by(10) {
        let src = Ipv4Addr::new(127, a, b, 200);
        check("same /24", 0, src, src, None, &equal);
    }
    assert_eq!(
        expected_names.len(),
        3,
        "the expectation itself must spread over every backend"
    );
    assert!(
        mismatches.is_empty(),
        "{} of 620 requests differ from nginx ip_hash, e.g.:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
