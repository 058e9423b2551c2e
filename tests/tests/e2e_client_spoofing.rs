//! A client cannot choose its own backend by writing `X-Forwarded-For`, on the
//! shipped `deploy/envoy.yaml` (which the harness runs): with 0, 1 and 2 trusted
//! proxies (`client.trusted_hops` = Envoy's `xff_num_trusted_hops`), ip_hash
//! maps each of 48 real loopback sources exactly as nginx's `ip_hash` maps the
//! true client, whatever the client wrote in front of what its proxies appended.

mod common;

use common::{backends, nginx_ip_hash, setup};
use edgepick_tests::harness::{backends_json, request_once, EnvoyBuilder};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

/// What a hostile client writes into `X-Forwarded-For` itself (None: nothing).
const SPOOFS: [Option<&str>; 5] = [
    None,
    Some("203.0.113.9"),
    Some("198.51.100.3, 203.0.113.77"),
    Some("not-an-address"),
    Some("10.1.2.3, 10.4.5.6, 10.7.8.9, 192.0.2.1"),
];

/// 48 distinct /24s on loopback (ip_hash keys on the first three octets).
fn sources() -> impl Iterator<Item = (u8, u8)> {
    (1..=12u8).flat_map(|a| (0..4u8).map(move |b| (a, b)))
}

#[test]
fn written_forwarded_for_never_moves_a_client() {
    let wasm = setup();
    let bs = backends(&["a", "b", "c"]);
    let cfg = |hops: u8| {
        format!(
            r#"{{"algorithm":{{"name":"ip_hash"}},"backends":{},"client":{{"trusted_hops":{hops}}}}}"#,
            backends_json(&bs)
        )
    };
    let envoy = EnvoyBuilder::new(&wasm, &cfg(0))
        .add_listener(Some(&cfg(1)))
        .add_listener(Some(&cfg(2)))
        .start()
        .expect("envoy starts");

    let mut wrong = Vec::new();
    let mut expected = BTreeSet::new();
    let mut sent = 0usize;
    for (a, b) in sources() {
        // The connection's source: the client itself at 0 hops, the proxy
        // nearest Envoy otherwise. The true client's address is what the
        // trusted proxies appended.
        let source = Ipv4Addr::new(127, a, b, 1);
        let client = Ipv4Addr::new(10, a, b, 7);
        let first_proxy = Ipv4Addr::new(172, 16, a, b);
        for hops in 0..=2usize {
            let (truth, appended) = match hops {
                0 => (source, String::new()),
                1 => (client, format!("{client}")),
                _ => (client, format!("{client}, {first_proxy}")),
            };
            let want = bs[nginx_ip_hash(truth, &[1, 1, 1])].name();
            expected.insert(want.to_string());
            for spoof in SPOOFS {
                let xff = match (spoof, appended.is_empty()) {
                    (None, true) => None,
                    (None, false) => Some(appended.clone()),
                    (Some(s), true) => Some(s.to_string()),
                    (Some(s), false) => Some(format!("{s}, {appended}")),
                };
                let headers: Vec<(&str, &str)> = xff
                    .iter()
                    .map(|x| ("x-forwarded-for", x.as_str()))
                    .collect();
                let r = request_once(
                    envoy.listener(hops),
                    Some(IpAddr::V4(source)),
                    "/s",
                    &headers,
                )
                .unwrap_or_else(|e| panic!("hops {hops} from {source}: {e}"));
                sent += 1;
                if r.status != 200 || r.served_by() != Some(want) {
                    wrong.push(format!(
                        "hops {hops}, source {source}, XFF {xff:?}: want {want}, got {} {:?}",
                        r.status,
                        r.served_by()
                    ));
                }
            }
        }
    }
    assert_eq!(sent, 48 * 3 * SPOOFS.len());
    assert_eq!(
        expected.len(),
        3,
        "the true clients must spread over every backend"
    );
    assert!(
        wrong.is_empty(),
        "{} of {sent} requests went where the client's own header sent them, e.g.:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
