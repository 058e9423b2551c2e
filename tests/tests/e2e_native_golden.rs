//! The golden vectors (`tests/golden/vectors.json`) through the native
//! policy in real Envoy: every deterministic case runs on its own listener
//! and cluster (the cluster's endpoints are the case's backends), requests in
//! order, and the backend that answered must be the case's first choice.
//! (The policy cannot write a decision header, so the fallbacks of each
//! ranked list are not observable here; they are checked natively, in the
//! host runner and in the wasm filter's e2e test.)
//!
//! As in `e2e_golden.rs`, a case without trusted hops runs with one and sends
//! its client address as `X-Forwarded-For`, since loopback tests cannot
//! connect from `192.168.1.10`.

mod common;

use common::{golden_addresses, golden_backends};
use edgepick_core::vectors::{self, Case};
use edgepick_tests::harness::native::{native_module, Endpoint, NativeBuilder};
use edgepick_tests::harness::{self, request_once};
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

#[test]
fn the_native_policy_reproduces_every_deterministic_golden_first_choice() {
    harness::set_backend_binary(env!("CARGO_BIN_EXE_edgepick-backend"));
    let _ = native_module();
    let cases = cases();
    assert!(cases.len() >= 8, "only {} deterministic cases", cases.len());
    let _backends = golden_backends(&cases);
    let adapted: Vec<(String, Vec<Endpoint>)> = cases
        .iter()
        .map(|c| {
            let mut cfg = c.config.clone();
            if cfg["client"]["trusted_hops"].as_u64().unwrap_or(0) == 0 {
                cfg["client"] = serde_json::json!({ "trusted_hops": 1 });
            }
            let eps = golden_addresses(c)
                .into_iter()
                .map(|(a, _)| Endpoint::from(a))
                .collect();
            (cfg.to_string(), eps)
        })
        .collect();
    let mut builder = NativeBuilder::new(&adapted[0].0, &adapted[0].1);
    for (cfg, eps) in &adapted[1..] {
        builder = builder.add_listener_with(cfg, eps);
    }
    let envoy = builder.start().expect("envoy starts");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (i, case) in cases.iter().enumerate() {
        let hops = case.config["client"]["trusted_hops"].as_u64().unwrap_or(0);
        for (n, req) in case.requests.iter().enumerate() {
            let peer: Option<IpAddr> = req.peer.as_deref().map(|p| p.parse().unwrap());
            let (source, xff) = if hops == 0 {
                (Ipv4Addr::LOCALHOST.into(), peer.map(|p| p.to_string()))
            } else {
                let source = peer.filter(IpAddr::is_loopback);
                (
                    source.unwrap_or(Ipv4Addr::LOCALHOST.into()),
                    req.xff.clone(),
                )
            };
            let mut headers: Vec<(&str, &str)> = req
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(x) = &xff {
                headers.push(("x-forwarded-for", x));
            }
            if let Some(c) = &req.cookie {
                headers.push(("cookie", c));
            }
            let path = if req.path.is_empty() { "/" } else { &req.path };
            let r = request_once(envoy.listener(i), Some(source), path, &headers)
                .unwrap_or_else(|e| panic!("{} request {n}: {e}", case.name));
            let want = case.expected[n].first().map(String::as_str);
            checked += 1;
            if r.status != 200 || r.served_by() != want {
                wrong.push(format!(
                    "{} request {n}: want {want:?}, got {} {:?}",
                    case.name,
                    r.status,
                    r.served_by()
                ));
            }
        }
    }
    assert!(checked >= 30, "only {checked} requests checked");
    assert!(
        wrong.is_empty(),
        "first choices differ:\n{}",
        wrong.join("\n")
    );
}
