//! Answers of [`Zone::answer`] for exact inputs.

use super::*;
use crate::settings::Settings;
use hickory_proto::rr::RecordType;

const DOC: &str = r#"{
  "algorithm": {"name": "rfws"},
  "backends": [
    {"name": "a", "address": "127.0.1.1:80", "link": {"bandwidth_mbps": 100, "hops": 2}},
    {"name": "b", "address": "127.0.1.2:80", "link": {"bandwidth_mbps": 100, "hops": 1}},
    {"name": "c", "address": "127.0.1.3:80", "link": {"bandwidth_mbps": 10, "hops": 4}}
  ],
  "health": {"heartbeat": {"interval_ms": 100, "window_ms": 1000, "threshold": 2}},
  "dns": {"zone": "Example.Test.", "names": ["www", "api.eu"], "ttl_s": 7,
    "regions": [{"name": "east", "subnets": ["127.5.0.0/16"],
                 "links": {"a": {"bandwidth_mbps": 1000, "hops": 1}}}]}
}"#;

fn zone(doc: &str) -> Zone {
    Zone::new(Settings::from_json(doc).unwrap(), 1)
}

fn ask(z: &Zone, name: &str, qtype: RecordType, src: &str, ecs: Option<&str>) -> Answer {
    let q = Question {
        name: name.into(),
        qtype,
        src: src.parse().unwrap(),
        ecs: ecs.map(|e| e.parse().unwrap()),
        max_size: 512,
    };
    z.answer(&q, 0)
}

fn addrs(a: &Answer) -> Vec<String> {
    a.answers.iter().map(|r| r.data().to_string()).collect()
}

#[test]
fn authoritative_data_and_negative_answers() {
    let z = zone(DOC);
    let out = ask(&z, "www.other.test.", RecordType::A, "127.0.0.1", None);
    assert_eq!(
        (out.rcode, out.authoritative),
        (ResponseCode::Refused, false)
    );
    assert!(out.answers.is_empty() && out.authority.is_empty());
    let nx = ask(&z, "nope.example.test.", RecordType::A, "127.0.0.1", None);
    assert_eq!(nx.rcode, ResponseCode::NXDomain);
    assert_eq!(nx.authority[0].record_type(), RecordType::SOA);
    assert_eq!(nx.authority[0].ttl(), 7);
    let ent = ask(&z, "eu.example.test.", RecordType::A, "127.0.0.1", None);
    assert_eq!((ent.rcode, ent.answers.len()), (ResponseCode::NoError, 0));
    let mx = ask(&z, "www.example.test.", RecordType::MX, "127.0.0.1", None);
    assert_eq!(
        (mx.rcode, mx.answers.len(), mx.authority.len()),
        (ResponseCode::NoError, 0, 1)
    );
    let soa = ask(&z, "example.test.", RecordType::SOA, "127.0.0.1", None);
    assert_eq!(soa.answers[0].record_type(), RecordType::SOA);
    let ns = ask(&z, "example.test.", RecordType::NS, "127.0.0.1", None);
    assert_eq!(addrs(&ns), ["ns1.example.test."]);
}

#[test]
fn the_pick_depends_on_the_clients_region() {
    let z = zone(DOC);
    // Default links: b (100/1) beats a (100/2) beats c (10/4).
    let out = ask(&z, "www.example.test.", RecordType::A, "127.0.0.9", None);
    assert_eq!(addrs(&out), ["127.0.1.2", "127.0.1.1", "127.0.1.3"]);
    assert_eq!(out.answers[0].ttl(), 7);
    // East's link to a is 1000/1: a first, by the resolver's address…
    let east = ask(&z, "www.example.test.", RecordType::A, "127.5.0.1", None);
    assert_eq!(addrs(&east)[0], "127.0.1.1");
    // …or by the client subnet a resolver forwards, answered with its scope.
    let ecs = ask(
        &z,
        "api.eu.example.test.",
        RecordType::A,
        "127.0.0.9",
        Some("127.5.7.0/24"),
    );
    assert_eq!(addrs(&ecs)[0], "127.0.1.1");
    assert_eq!(ecs.ecs.as_ref().map(|e| e.scope_prefix()), Some(24));
    let wide = ask(
        &z,
        "www.example.test.",
        RecordType::A,
        "127.5.0.1",
        Some("127.0.0.0/8"),
    );
    assert_eq!(addrs(&wide)[0], "127.0.1.2");
    assert_eq!(wide.ecs.as_ref().map(|e| e.scope_prefix()), Some(8));
}

#[test]
fn address_independent_answers_carry_scope_zero_and_one_record_when_asked() {
    let doc = DOC
        .replace(r#""name": "rfws""#, r#""name": "round_robin""#)
        .replace(r#""ttl_s": 7,"#, r#""ttl_s": 7, "records": "one","#)
        .replace(
            r#""regions": [{"name": "east", "subnets": ["127.5.0.0/16"],
                 "links": {"a": {"bandwidth_mbps": 1000, "hops": 1}}}]"#,
            r#""regions": []"#,
        );
    let z = zone(&doc);
    let seen: Vec<String> = (0..3)
        .map(|_| {
            let a = ask(
                &z,
                "www.example.test.",
                RecordType::A,
                "127.0.0.9",
                Some("127.9.9.0/24"),
            );
            assert_eq!(a.ecs.as_ref().map(|e| e.scope_prefix()), Some(0));
            assert_eq!(a.answers.len(), 1);
            addrs(&a).remove(0)
        })
        .collect();
    assert_eq!(seen, ["127.0.1.1", "127.0.1.2", "127.0.1.3"]);
}

#[test]
fn a_faulty_backend_leaves_the_answers_and_the_ttl_drops_while_changing() {
    let z = zone(DOC);
    {
        let mut pool = z.pool.lock().unwrap();
        pool.evaluate(0);
        for t in (0..=1500).step_by(100) {
            pool.heartbeat(0, t);
            pool.heartbeat(2, t);
        }
        assert_eq!(pool.evaluate(1500), [1]);
    }
    let q = Question {
        name: "www.example.test.".into(),
        qtype: RecordType::A,
        src: "127.0.0.9".parse().unwrap(),
        ecs: None,
        max_size: 512,
    };
    let out = z.answer(&q, 1600);
    assert_eq!(addrs(&out), ["127.0.1.1", "127.0.1.3"]);
    assert_eq!(
        out.answers[0].ttl(),
        1,
        "the changing TTL right after a flip"
    );
    assert_eq!(
        z.answer(&q, 3000).answers[0].ttl(),
        7,
        "back to the TTL once stable"
    );
}

#[test]
fn answers_fit_the_payload_and_set_tc_when_records_are_left_out() {
    let backends: Vec<String> = (1..=17)
        .map(|i| format!(r#"{{"name": "n{i}", "address": "[2001:db8::{i}]:80"}}"#))
        .collect();
    let doc = format!(
        r#"{{"algorithm": {{"name": "random"}}, "fallbacks": 16, "backends": [{}],
            "dns": {{"zone": "example.test", "names": ["www"]}}}}"#,
        backends.join(",")
    );
    let z = zone(&doc);
    let mut q = Question {
        name: "www.example.test.".into(),
        qtype: RecordType::AAAA,
        src: "127.0.0.9".parse().unwrap(),
        ecs: None,
        max_size: PLAIN_UDP_PAYLOAD,
    };
    let small = z.answer(&q, 0);
    assert!(small.truncated && !small.answers.is_empty() && small.answers.len() < 17);
    q.max_size = MAX_UDP_PAYLOAD;
    let big = z.answer(&q, 0);
    assert!(!big.truncated);
    assert_eq!(big.answers.len(), 17);
}

#[test]
fn every_algorithm_answers_only_configured_addresses_within_the_bound() {
    use edgepick_core::{Algorithm, Rng, SplitMix64};
    let mut rng = SplitMix64::new(3);
    for name in Algorithm::NAMES {
        let extra = if name == "consistent_hash" {
            r#", "key": "client_address""#
        } else {
            ""
        };
        let doc = DOC
            .replace(r#""name": "rfws""#, &format!(r#""name": "{name}"{extra}"#))
            .replace(r#""ttl_s": 7,"#, r#""ttl_s": 7, "seed": 9,"#);
        let z = zone(&doc);
        let configured: Vec<String> = z
            .settings
            .base
            .backends
            .iter()
            .map(|b| b.address.ip().to_string())
            .collect();
        for k in 0..200 {
            let r = rng.next_u64().to_be_bytes();
            let src = format!("127.{}.{}.{}", r[0], r[1], r[2]);
            let ecs = format!("127.{}.{}.0/24", r[3], r[4]);
            let a = ask(
                &z,
                "www.example.test.",
                RecordType::A,
                &src,
                (k % 2 == 0).then_some(ecs.as_str()),
            );
            let got = addrs(&a);
            assert!(
                !got.is_empty() && got.len() <= 1 + z.settings.base.fallbacks,
                "{name}: {got:?}"
            );
            assert!(
                got.iter().all(|g| configured.contains(g)),
                "{name}: {got:?}"
            );
        }
    }
}
