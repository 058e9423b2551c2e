//! The compiled edgepick filter (`EDGEPICK_FILTER_WASM`, set by `cargo xtask
//! test`) replays every deterministic golden vector (`tests/golden/vectors.json`)
//! in the host and must pick exactly what the core picks.
//!
//! Per case: plugin configuration = `case.config`, virtual clock at
//! `case.now_ms`, one VM, requests in order. A request's `peer` becomes the
//! connection's address (`ip:40000`, `[ip]:40000` for IPv6), `xff` the
//! `x-forwarded-for` header (the host resolves `source.address` from both as
//! Envoy does with `xff_num_trusted_hops` = the case's `client.trusted_hops`), `cookie` the `cookie` header, plus its headers
//! and path. The simulated backend answers 200 from the primary
//! (`upstream.address` = first endpoint). The ranked list is read back from
//! the `x-gateway-destination-endpoint` header the filter wrote, addresses
//! mapped to backend names through the configuration.

use edgepick_core::vectors::{self, Case};
use edgepick_host::{BackendResponse, Filter, Host, HostConfig, Request};
use edgepick_tests::harness::filter_wasm;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

const DESTINATION: &str = "x-gateway-destination-endpoint";

fn vectors_file() -> vectors::VectorFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    vectors::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `source.address` as Envoy formats it: `ip:port`, `[ip]:port` for IPv6.
fn source_address(peer: &str) -> String {
    let ip: IpAddr = peer
        .parse()
        .unwrap_or_else(|_| panic!("golden vector peer {peer:?} is not an IP address"));
    SocketAddr::new(ip, 40000).to_string()
}

/// Backend names by address, from the case's configuration.
fn names_by_address(case: &Case) -> HashMap<SocketAddr, String> {
    case.config["backends"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: configuration has no backends", case.name))
        .iter()
        .map(|b| {
            let addr = b["address"].as_str().and_then(|a| a.parse().ok());
            let name = b["name"].as_str();
            match (addr, name) {
                (Some(a), Some(n)) => (a, n.to_string()),
                _ => panic!("{}: backend {b} lacks an address or a name", case.name),
            }
        })
        .collect()
}

/// Runs `case` through the filter; the ranked names per request.
fn replay_in_host(filter: &Filter, case: &Case) -> Vec<Vec<String>> {
    let names = names_by_address(case);
    let host = Host::new(
        filter.clone(),
        HostConfig {
            plugin_config: case.config.to_string().into_bytes(),
            start_time_nanos: case.now_ms * 1_000_000,
            seed: case.seed,
            // As the shipped Envoy configuration: the connection manager's
            // trusted hops equal the filter's, and it resolves the client.
            xff_num_trusted_hops: case.config["client"]["trusted_hops"]
                .as_u64()
                .map_or(0, |h| h as u32),
            ..HostConfig::default()
        },
    );
    let mut vm = host
        .start_vm()
        .unwrap_or_else(|e| panic!("{}: the filter did not start: {e}", case.name));
    let mut out = Vec::new();
    for (i, r) in case.requests.iter().enumerate() {
        let path = if r.path.is_empty() { "/" } else { &r.path };
        let mut req = Request::get(path);
        if let Some(peer) = &r.peer {
            req = req.client(&source_address(peer));
        }
        if let Some(xff) = &r.xff {
            req = req.header("x-forwarded-for", xff);
        }
        if let Some(cookie) = &r.cookie {
            req = req.header("cookie", cookie);
        }
        for (k, v) in &r.headers {
            req = req.header(k, v);
        }
        let ex = vm
            .run_http(&req, |fwd| {
                let primary = fwd
                    .iter()
                    .find(|(k, _)| k == DESTINATION)
                    .and_then(|(_, v)| v.split(',').next())
                    .map(|v| v.trim().to_string());
                Some(BackendResponse {
                    status: 200,
                    upstream_address: primary,
                    ..BackendResponse::default()
                })
            })
            .unwrap_or_else(|e| panic!("{} request {i}: {e}", case.name));
        let header = ex.request_header(DESTINATION).unwrap_or_else(|| {
            panic!(
                "{} request {i}: the filter wrote no {DESTINATION} (status {:?}, local response {:?}, logs {:?})",
                case.name, ex.status, ex.local_response, ex.logs
            )
        });
        let ranked = header
            .split(',')
            .map(|a| {
                let a = a.trim();
                let addr: SocketAddr = a.parse().unwrap_or_else(|_| {
                    panic!("{} request {i}: {DESTINATION} holds {a:?}", case.name)
                });
                names.get(&addr).cloned().unwrap_or_else(|| {
                    panic!("{} request {i}: {a} is no configured backend", case.name)
                })
            })
            .collect();
        out.push(ranked);
    }
    out
}

#[test]
fn compiled_filter_reproduces_every_deterministic_golden_vector() {
    let filter = Filter::from_file(filter_wasm()).expect("the filter compiles");
    let file = vectors_file();
    let mut replayed = 0;
    let mut failures = Vec::new();
    for case in file.cases.iter().filter(|c| c.deterministic) {
        assert_eq!(
            case.requests.len(),
            case.expected.len(),
            "{}: requests and expected differ in length",
            case.name
        );
        let got = replay_in_host(&filter, case);
        for (i, (g, e)) in got.iter().zip(&case.expected).enumerate() {
            if g != e {
                failures.push(format!(
                    "{} request {i} ({:?}): filter picked {g:?}, golden {e:?}",
                    case.name, case.requests[i]
                ));
            }
        }
        replayed += 1;
    }
    assert!(
        failures.is_empty(),
        "the compiled filter disagrees with the golden vectors:\n{}",
        failures.join("\n")
    );
    assert!(
        replayed >= 8,
        "only {replayed} deterministic cases were replayed (expected at least 8)"
    );
}
