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

mod common;

use common::filter_wasm;
use edgepick_core::vectors::{self, Case};
use edgepick_host::{BackendResponse, Filter, Host, HostConfig, Request};
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

/// `examples/` drives the real filter: round robin, a sticky session cookie,
/// a passive failure that takes a node out for 10 s, a tampered cookie.
#[test]
fn example_trace_replays_through_the_filter() {
    let wasm = filter_wasm();
    let example = |f: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(f)
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgepick-host"))
        .arg("replay")
        .arg("--wasm")
        .arg(&wasm)
        .arg("--config")
        .arg(example("config.json"))
        .arg("--trace")
        .arg(example("trace.jsonl"))
        .output()
        .expect("edgepick-host runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON decision per line"))
        .collect();
    assert_eq!(lines.len(), 9, "{lines:?}");
    let primary = |i: usize| {
        lines[i]["endpoint"]
            .as_str()
            .and_then(|e| e.split(',').next())
            .unwrap_or("-")
            .to_string()
    };
    let logs = |i: usize| lines[i]["logs"].to_string();
    let (a, b, c) = ("127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003");
    // Round robin, each new client gets a cookie for its node.
    assert_eq!((primary(0), primary(1)), (a.to_string(), b.to_string()));
    assert!(lines[0]["set_cookie"][0]
        .as_str()
        .unwrap()
        .starts_with("edgepick=v1."));
    // The cookie for a keeps the client on a, with no new cookie.
    assert_eq!(primary(2), a);
    assert!(lines[2]["decision"]
        .as_str()
        .unwrap()
        .contains("reason=cookie"));
    assert!(lines[2]["set_cookie"].is_null());
    // a answers 503: out for 10 s; nobody is sent there meanwhile, and the
    // sticky client moves (and gets a new cookie).
    assert_eq!(
        (primary(3), lines[3]["status"].as_u64()),
        (a.to_string(), Some(503))
    );
    assert!(logs(3).contains("backend a out"), "{}", logs(3));
    for (i, line) in lines.iter().enumerate().take(7).skip(4) {
        let endpoints = line["endpoint"].as_str().unwrap();
        assert!(!endpoints.contains(a), "request {i}: {endpoints}");
    }
    assert_eq!(primary(5), c);
    assert!(lines[5]["set_cookie"][0]
        .as_str()
        .unwrap()
        .starts_with("edgepick=v1."));
    // After fail_timeout a is back in the fallbacks; a forged cookie is ignored.
    assert!(lines[7]["endpoint"].as_str().unwrap().contains(a));
    assert_eq!(primary(8), b);
    assert!(logs(8).contains("BadSignature"), "{}", logs(8));
    assert!(stderr.contains("primary endpoint"), "{stderr}");
}
