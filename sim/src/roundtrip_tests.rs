//! The engineer's round trip: a topology exported and imported back is the
//! same topology, field for field; a document imported and exported keeps
//! what the user wrote; what cannot be represented is named.

use super::*;
use edgepick_core::Config;
use serde_json::{json, Value};

/// A topology with every exported field set to something other than its default.
fn everything() -> Topology {
    let server = |i: u32| Server {
        name: format!("ws{i}"),
        weight: i + 1,
        link: LinkSpec {
            bandwidth_mbps: 100.0 * f64::from(i + 1),
            delay_ms: 1.5 * f64::from(i + 1),
            hops: i + 2,
        },
        address: Some(format!("192.0.2.{}:8{i}", i + 10)),
        url: Some(format!("https://n{i}.shop.test")),
        capacity: Some(10 + i),
        residual_mbps: Some(40.0 + f64::from(i)),
        ..Server::default()
    };
    Topology {
        method: Method::Redirect,
        algorithm: json!({"name": "rfws", "tie_tolerance": 0.125, "load_threshold": 0.75}),
        sticky: true,
        health: HealthParams {
            interval_ms: 150,
            window_ms: 900,
            threshold: 3,
            max_fails: 7,
            fail_timeout_ms: 4500,
            panic_threshold: 0.25,
            slow_start_ms: Some(2500),
        },
        servers: (0..3).map(server).collect(),
        cookie: Some(json!({
            "name": "shop_session", "keys": ["k-new-0123456789ab", "k-old-0123456789ab"], "max_age_s": 120,
            "path": "/shop", "same_site": "Strict", "secure": false, "http_only": false, "strip": false,
        })),
        fallbacks: Some(4),
        ..Topology::default()
    }
}

fn exported(t: &Topology) -> (Value, Vec<String>) {
    let e = t.export("fresh-key-0123456789").unwrap();
    (e.config, e.notes)
}

#[test]
fn import_of_export_is_the_same_topology() {
    let x = everything();
    let (doc, notes) = exported(&x);
    assert!(notes.is_empty(), "{notes:?}");
    let mut back = Topology {
        servers: x
            .servers
            .iter()
            .map(|s| Server {
                name: s.name.clone(),
                ..Server::default()
            })
            .collect(),
        ..Topology::default()
    };
    let got = back.import(&doc.to_string()).unwrap();
    assert_eq!(
        got,
        Imported {
            unmatched: vec![],
            not_represented: vec![]
        }
    );
    assert_eq!(back, x);
    // And the document itself survives a second trip unchanged.
    assert_eq!(exported(&back).0, doc);
}

#[test]
fn export_writes_what_the_user_entered_and_every_parameter() {
    let (doc, _) = exported(&everything());
    let b = &doc["backends"][1];
    assert_eq!(b["address"], "192.0.2.11:81");
    assert_eq!(b["url"], "https://n1.shop.test");
    assert_eq!(b["capacity"], 11);
    assert_eq!(b["link"]["residual_mbps"], 41.0);
    assert_eq!(
        doc["algorithm"],
        json!({"name": "rfws", "tie_tolerance": 0.125, "load_threshold": 0.75})
    );
    assert_eq!(doc["fallbacks"], 4);
    assert_eq!(
        doc["cookie"]["keys"],
        json!(["k-new-0123456789ab", "k-old-0123456789ab"])
    );
    // Defaults are written out too.
    let plain = Topology {
        sticky: true,
        ..Topology::default()
    };
    let (doc, notes) = exported(&plain);
    assert_eq!(
        doc["algorithm"],
        json!({"name": "rfws", "tie_tolerance": 0.05, "load_threshold": 0.9})
    );
    assert!(doc["fallbacks"].is_u64());
    assert_eq!(doc["backends"][0]["capacity"], 72);
    assert!(
        doc["backends"][0].get("url").is_none(),
        "no URL is invented in proxy mode"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("10.1.0.1:80") && n.contains("placeholder")),
        "{notes:?}"
    );
}

#[test]
fn each_export_draws_its_own_cookie_key() {
    let t = Topology {
        sticky: true,
        ..Topology::default()
    };
    let (a, notes) = (
        t.export("key-a-0123456789abc").unwrap(),
        t.export("key-b-0123456789abc").unwrap().config,
    );
    assert_eq!(a.config["cookie"]["keys"], json!(["key-a-0123456789abc"]));
    assert_eq!(notes["cookie"]["keys"], json!(["key-b-0123456789abc"]));
    assert!(!a.config.to_string().contains(SIM_COOKIE_KEY));
    assert!(a.notes.iter().any(|n| n.contains("cookie key is new")));
    // The simulation itself keeps signing with its own key.
    assert_eq!(t.config_json()["cookie"]["keys"], json!([SIM_COOKIE_KEY]));
}

#[test]
fn export_maps_dns_and_l4_to_the_real_targets() {
    // DNS with a TTL: edgepick-dns's section, the TTL in whole seconds.
    let dns = Topology {
        method: Method::Dns,
        dns_ttl_ms: 2500,
        ..Topology::default()
    };
    let (doc, notes) = exported(&dns);
    assert_eq!(doc["mode"], "proxy");
    assert_eq!(
        doc["dns"],
        json!({"zone": DNS_ZONE, "names": [DNS_NAME], "ttl_s": 3})
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("edgepick-dns") && n.contains("3 s")),
        "{notes:?}"
    );
    // The core (so the filter and the native policy) reads the same file.
    Config::from_json(&doc.to_string()).expect("one document for every front end");
    // And it comes back as the DNS method with its TTL.
    let mut back = Topology::default();
    back.import(&doc.to_string()).unwrap();
    assert_eq!((back.method, back.dns_ttl_ms), (Method::Dns, 3000));
    // L4: the native policy behind tcp_proxy.
    for (m, what) in [(Method::Nat, "L4 NAT"), (Method::Dr, "L4 direct routing")] {
        let (doc, notes) = exported(&Topology {
            method: m,
            ..Topology::default()
        });
        assert!(doc.get("dns").is_none());
        assert!(
            notes.iter().any(|n| n.contains(what)
                && n.contains("tcp_proxy")
                && n.contains("envoy-l4.yaml")),
            "{m:?}: {notes:?}"
        );
    }
    let (doc, notes) = exported(&Topology {
        method: Method::Proxy,
        ..Topology::default()
    });
    assert!(doc.get("dns").is_none());
    assert!(notes
        .iter()
        .all(|n| !n.contains("tcp_proxy") && !n.contains("edgepick-dns")));
}

#[test]
fn import_keeps_capacity_and_cookie_and_names_what_it_cannot_keep() {
    let doc = json!({
        "backends": [
            {"name": "ws", "address": "198.51.100.7:8080", "capacity": 10},
            {"name": "spare", "address": "198.51.100.8:8080", "down": true},
        ],
        "cookie": {"name": "sid", "keys_env": ["EDGE_KEY"], "max_age_s": 60},
        "client": {"trusted_hops": 2},
        "health": {"heartbeat": {"path": "/alive"}},
        "decision_header": true,
    });
    let mut t = Topology::default();
    t.servers.push(Server {
        name: "spare".into(),
        ..Server::default()
    });
    let got = t.import(&doc.to_string()).unwrap();
    assert_eq!(t.servers[0].capacity, Some(10));
    assert_eq!(t.servers[0].address.as_deref(), Some("198.51.100.7:8080"));
    let c = t.cookie.as_ref().unwrap();
    assert_eq!((&c["name"], &c["max_age_s"]), (&json!("sid"), &json!(60)));
    let fields: Vec<&str> = got
        .not_represented
        .iter()
        .map(|n| n.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "client.trusted_hops",
            "decision_header",
            "health.heartbeat.path",
            "cookie.keys_env",
            "backends[1].down"
        ]
    );
    // The simulation runs it, signing with its own key.
    assert!(Simulation::new(t.clone()).is_ok());
    let out = t.export("k-0123456789abcdef").unwrap().config;
    assert_eq!(out["backends"][0]["capacity"], 10);
    assert_eq!(
        out["cookie"]["keys"],
        json!(["k-0123456789abcdef"]),
        "the export draws a key"
    );
    assert_eq!(out["cookie"]["name"], "sid");
}
