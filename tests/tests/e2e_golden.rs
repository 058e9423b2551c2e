//! The golden vectors (`tests/golden/vectors.json`) in real Envoy: every
//! deterministic case runs through the compiled filter on its own listener of
//! one Envoy, requests in order, and the ranked list the filter decided (read
//! back from `x-edgepick-decision`) must equal the file's. The same file is
//! replayed natively (core), in the host runner and in the browser.
//!
//! The only liberty taken: loopback tests cannot connect from a case's client
//! address (`192.168.1.10`), so a case without trusted hops is run with one
//! (`client.trusted_hops: 1`, which the harness mirrors into Envoy's
//! `xff_num_trusted_hops`) and the address is sent as `X-Forwarded-For`;
//! Envoy then resolves `source.address` to it, as it would behind a proxy.

mod common;

use common::{golden_backends, setup};
use edgepick_core::vectors::{self, Case};
use edgepick_tests::harness::{request_once, EnvoyBuilder};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/vectors.json");
    let text = std::fs::read_to_string(&path).expect("read vectors.json");
    vectors::parse(&text)
        .expect("parse vectors.json")
        .cases
        .into_iter()
        .filter(|c| c.deterministic)
        .collect()
}

/// The case's configuration as run here, and how each request is sent:
/// (connection source, X-Forwarded-For).
fn adapt(case: &Case) -> (String, Vec<(IpAddr, Option<String>)>) {
    let mut cfg = case.config.clone();
    cfg["decision_header"] = serde_json::json!(true);
    let hops = cfg["client"]["trusted_hops"].as_u64().unwrap_or(0);
    if hops == 0 {
        cfg["client"] = serde_json::json!({ "trusted_hops": 1 });
    }
    let sends = case
        .requests
        .iter()
        .map(|r| {
            let peer: Option<IpAddr> = r.peer.as_deref().map(|p| {
                p.parse()
                    .unwrap_or_else(|_| panic!("{}: peer {p:?}", case.name))
            });
            if hops == 0 {
                (Ipv4Addr::LOCALHOST.into(), peer.map(|p| p.to_string()))
            } else {
                let source = peer.filter(IpAddr::is_loopback);
                let source = source.unwrap_or(Ipv4Addr::LOCALHOST.into());
                (source, r.xff.clone())
            }
        })
        .collect();
    (cfg.to_string(), sends)
}

/// The ranked names in a decision header: `choice=a … fallbacks=b,c`.
fn ranked(decision: &str) -> Vec<String> {
    let field = |key: &str| {
        decision
            .split(' ')
            .find_map(|w| w.strip_prefix(key))
            .map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let mut list = field("choice=");
    list.extend(field("fallbacks="));
    list
}

#[test]
fn real_envoy_reproduces_every_deterministic_golden_vector() {
    let wasm = setup();
    let cases = cases();
    assert!(cases.len() >= 8, "only {} deterministic cases", cases.len());
    let _backends = golden_backends(&cases);
    let adapted: Vec<_> = cases.iter().map(adapt).collect();
    let mut builder = EnvoyBuilder::new(&wasm, &adapted[0].0);
    for (cfg, _) in &adapted[1..] {
        builder = builder.add_listener(Some(cfg));
    }
    let envoy = builder.start().expect("envoy starts");

    let mut wrong = Vec::new();
    for (i, (case, (_, sends))) in cases.iter().zip(&adapted).enumerate() {
        for (n, ((source, xff), req)) in sends.iter().zip(&case.requests).enumerate() {
            let mut headers: Vec<(&str, &str)> = req
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(x) = xff {
                headers.push(("x-forwarded-for", x));
            }
            if let Some(c) = &req.cookie {
                headers.push(("cookie", c));
            }
            let path = if req.path.is_empty() { "/" } else { &req.path };
            let r = request_once(envoy.listener(i), Some(*source), path, &headers)
                .unwrap_or_else(|e| panic!("{} request {n}: {e}", case.name));
            let got = r.header("x-edgepick-decision").map(ranked);
            if got.as_ref() != Some(&case.expected[n]) {
                wrong.push(format!(
                    "{} request {n}: want {:?}, got {got:?} ({} {:?})",
                    case.name,
                    case.expected[n],
                    r.status,
                    r.header("x-edgepick-decision")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "decisions differ:\n{}", wrong.join("\n"));
}
