//! A fleet: two Envoy processes with the same configuration in front of the
//! same backends (as behind a DNS name or an L4 balancer). Decisions depend
//! only on the configuration and the request, so a cookie issued by one
//! routes identically on the other, ip_hash maps every client identically, a
//! client moving between them keeps its session, and killing one Envoy loses
//! no session.

mod common;

use common::{backends, setup};
use edgepick_tests::harness::{backends_json, Client, Envoy, EnvoyBuilder, Response};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

const COOKIE: &str = "ep_fleet";

fn get(envoy: &Envoy, listener: usize, source: Option<IpAddr>, cookie: Option<&str>) -> Response {
    let mut c = Client::new(envoy.listener(listener));
    if let Some(ip) = source {
        c = c.source(ip);
    }
    let header = cookie.map(|v| format!("{COOKIE}={v}"));
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("cookie", h.as_str())).collect();
    let r = c.get_with("/", &headers).expect("request");
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

fn served(r: &Response) -> String {
    r.served_by().expect("x-served-by").to_string()
}

#[test]
fn two_envoys_with_one_configuration_decide_alike() {
    let wasm = setup();
    let bs = backends(&["a", "b", "c"]);
    let list = backends_json(&bs);
    let sticky = format!(
        r#"{{"algorithm":{{"name":"rfws"}},"backends":{list},
            "cookie":{{"name":"{COOKIE}","keys":["fleet-shared-signing-key-01"]}}}}"#
    );
    let ip_hash = format!(r#"{{"algorithm":{{"name":"ip_hash"}},"backends":{list}}}"#);
    let start = || {
        EnvoyBuilder::new(&wasm, &sticky)
            .add_listener(Some(&ip_hash))
            .start()
            .expect("envoy starts")
    };
    let mut one = start();
    let two = start();

    // Sessions issued by the first Envoy, from distinct clients.
    let mut sessions = BTreeMap::new();
    for i in 0..12u8 {
        let r = get(
            &one,
            0,
            Some(IpAddr::V4(Ipv4Addr::new(127, 50, 0, i + 1))),
            None,
        );
        let value = r
            .set_cookie_value(COOKIE)
            .expect("a new session gets a cookie");
        sessions.insert(value, served(&r));
    }
    let nodes: BTreeSet<&String> = sessions.values().collect();
    assert!(nodes.len() >= 2, "sessions on several nodes: {sessions:?}");

    // The second Envoy honours them as issued, without re-issuing, and a client
    // alternating between the two stays put.
    for (value, node) in &sessions {
        for turn in 0..4 {
            let envoy = if turn % 2 == 0 { &two } else { &one };
            let r = get(envoy, 0, None, Some(value));
            assert_eq!(&served(&r), node, "session {value} on turn {turn}");
            assert_eq!(r.set_cookie_value(COOKIE), None, "nothing to re-issue");
        }
    }

    // ip_hash: 48 clients in distinct /24s map to the same node on both.
    let mut used = BTreeSet::new();
    for i in 0..48u8 {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 60 + i / 16, i % 16, 9));
        let a = served(&get(&one, 1, Some(ip), None));
        let b = served(&get(&two, 1, Some(ip), None));
        assert_eq!(a, b, "client {ip}");
        used.insert(a);
    }
    assert!(used.len() >= 2, "ip_hash spread clients: {used:?}");

    // One Envoy gone: every session continues on the other.
    one.stop();
    for (value, node) in &sessions {
        let r = get(&two, 0, None, Some(value));
        assert_eq!(
            &served(&r),
            node,
            "session {value} after the first Envoy died"
        );
    }
}
