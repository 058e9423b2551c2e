//! Invalid documents are refused with the field named.

use super::*;

const BACKENDS: &str = r#""backends": [{"name": "a", "address": "127.0.1.1:80"}, {"name": "b", "address": "127.0.1.2:80"}]"#;

fn field(dns: &str) -> String {
    let doc = format!(r#"{{{BACKENDS}, "dns": {dns}}}"#);
    Settings::from_json(&doc).unwrap_err().field
}

#[test]
fn defaults() {
    let s = Settings::from_json(&format!(
        r#"{{{BACKENDS}, "dns": {{"zone": "example.test", "names": ["@", "www"]}}}}"#
    ))
    .unwrap();
    assert_eq!(s.zone, "example.test.");
    assert_eq!(s.names, ["example.test.", "www.example.test."]);
    assert_eq!(
        (s.ttl_s, s.changing_ttl_s, s.records),
        (DEFAULT_TTL_S, DEFAULT_CHANGING_TTL_S, Records::Ranked)
    );
    assert_eq!(s.nameservers, ["ns1.example.test."]);
    assert_eq!(s.listen.to_string(), "127.0.0.1:5353");
}

#[test]
fn every_bad_field_is_named() {
    assert_eq!(
        Settings::from_json(&format!("{{{BACKENDS}}}"))
            .unwrap_err()
            .field,
        "dns"
    );
    assert_eq!(field(r#"{"names": ["www"]}"#), "dns.zone");
    assert_eq!(
        field(r#"{"zone": "ex ample", "names": ["www"]}"#),
        "dns.zone"
    );
    assert_eq!(field(r#"{"zone": "example.test"}"#), "dns.names");
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www.other.test."]}"#),
        "dns.names[0]"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www", "www"]}"#),
        "dns.names[1]"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "ttl_s": 99999}"#),
        "dns.ttl_s"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "ttl_s": "5"}"#),
        "dns.ttl_s"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "records": "all"}"#),
        "dns.records"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "probe": "icmp"}"#),
        "dns.probe"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "listen": "localhost"}"#),
        "dns.listen"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "threads": 0}"#),
        "dns.threads"
    );
    assert_eq!(
        field(r#"{"zone": "example.test", "names": ["www"], "default_region": "x"}"#),
        "dns.default_region"
    );
    let region = |r: &str| {
        field(&format!(
            r#"{{"zone": "example.test", "names": ["www"], "regions": [{r}]}}"#
        ))
    };
    assert_eq!(region(r#"{"subnets": []}"#), "dns.regions[0].name");
    assert_eq!(
        region(r#"{"name": "e", "subnets": ["127.1.0.1/16"]}"#),
        "dns.regions[0].subnets[0]"
    );
    assert_eq!(
        region(r#"{"name": "e", "links": {"zz": {}}}"#),
        "dns.regions[0].links.zz"
    );
    assert_eq!(
        region(r#"{"name": "e", "links": {"b": {"hops": 0}}}"#),
        "dns.regions[0].links.b.hops"
    );
    assert_eq!(
        region(r#"{"name": "e", "links": {"b": {"colour": 1}}}"#),
        "dns.regions[0].links.b.colour"
    );
}

#[test]
fn the_core_names_its_own_fields() {
    let doc = r#"{"backends": [{"name": "a", "address": "nowhere"}], "dns": {"zone": "example.test", "names": ["www"]}}"#;
    assert_eq!(
        Settings::from_json(doc).unwrap_err().field,
        "backends[0].address"
    );
    let doc = r#"{"backends": [{"name": "a", "address": "127.0.0.1:1"}], "dns": {"zone": "example.test", "names": ["www"], "colour": 1}}"#;
    let e = Settings::from_json(doc).unwrap_err();
    assert!(
        e.field.starts_with("dns") && e.problem.contains("colour"),
        "{e}"
    );
}

#[test]
fn a_region_replaces_only_the_links_it_names() {
    let s = Settings::from_json(&format!(
        r#"{{{BACKENDS}, "dns": {{"zone": "example.test", "names": ["www"], "default_region": "e",
            "regions": [{{"name": "e", "subnets": ["127.5.0.0/16"], "links": {{"b": {{"hops": 3}}}}}}]}}}}"#
    ))
    .unwrap();
    assert_eq!(s.default_region, Some(0));
    let e = &s.regions[0].config;
    assert_eq!((e.backends[0].link.hops, e.backends[1].link.hops), (1, 3));
    assert_eq!(s.base.backends[1].link.hops, 1);
}
