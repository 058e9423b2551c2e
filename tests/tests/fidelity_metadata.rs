//! Fidelity of per-request dynamic metadata against real Envoy 1.40, with
//! property paths whose segments contain dots (`envoy.lb`, `user.id`).
//!
//! In Envoy, `envoy.filters.http.header_to_metadata` (before the wasm filter)
//! turns request headers into dynamic metadata; in the host the same values
//! are per-request properties written the way a user writes them on the
//! command line (`--property 'metadata.filter_metadata.envoy\.lb.version=v2'`).
//! `dynamic_metadata.wat` reports each lookup's status and value upstream.

mod fidelity_support;

use edgepick_host::HostConfig;
use edgepick_tests::harness::{Client, EnvoyBuilder};
use fidelity_support::*;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Request headers `x-version` and `x-user` become dynamic metadata
/// `envoy.lb/version` and `io.example.auth/user.id`.
fn header_to_metadata() -> serde_json::Value {
    let rule = |header: &str, namespace: &str, key: &str| {
        json!({ "header": header, "remove": false, "on_header_present": {
            "metadata_namespace": namespace, "key": key, "type": "STRING" } })
    };
    json!({
        "name": "envoy.filters.http.header_to_metadata",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config",
            "request_rules": [
                rule("x-version", "envoy.lb", "version"),
                rule("x-user", "io.example.auth", "user.id"),
            ]
        }
    })
}

#[test]
fn dynamic_metadata_with_dotted_segments_reads_as_in_envoy() {
    let wasm = wat_guest("dynamic_metadata");
    let echo = Echo::start();
    let envoy = EnvoyBuilder::new(&wasm, "")
        .endpoints(&[echo.addr])
        .filter_before_wasm(header_to_metadata())
        .num_retries(0)
        .start()
        .expect("envoy starts");
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let mut d = Vec::new();
    let mut seen = Vec::new();
    for (version, user) in [("v2", "alice"), ("canary", "bob.smith")] {
        let headers = [("x-version", version), ("x-user", user)];
        let e = Observed::from_envoy(
            &Client::new(envoy.listener(0))
                .get_with("/m", &headers)
                .expect("request through envoy"),
        );
        let mut req = host_request(&envoy, "/m", LOCAL, &headers);
        for (path, value) in [
            (r"metadata.filter_metadata.envoy\.lb.version", version),
            (r"metadata.filter_metadata.io\.example\.auth.user\.id", user),
        ] {
            req.properties
                .push((path.into(), value.as_bytes().to_vec()));
        }
        let h = host_run(&mut vm, &echo, &req);
        d.extend(differences(version, &e, &h, &[], &["x-props"]));
        seen.extend(e.upstream("x-props"));
    }
    assert_same(d);
    // Found (0) under the dotted segments, not found (1) when `envoy.lb` is
    // split in two or the key is missing.
    assert_eq!(seen, ["0,v2;0,alice;1,;1,;", "0,canary;0,bob.smith;1,;1,;"]);
}
