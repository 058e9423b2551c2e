//! The compiled filter (`EDGEPICK_FILTER_WASM`) runs each request as one
//! core ticket: whatever happens to the request (served by the primary, by a
//! fallback after a retry, by nobody, a local reply), its in-flight count is
//! released when it ends; a session cookie signed with an older key is
//! re-signed with the newest one.

mod common;

use common::filter_wasm;
use edgepick_host::{BackendResponse, Exchange, Filter, Host, HostConfig, Request, Vm};
use std::sync::OnceLock;

const DESTINATION: &str = "x-gateway-destination-endpoint";
const NEW_KEY: &str = "request-lifecycle-new-key-0123456789";
const OLD_KEY: &str = "request-lifecycle-old-key-0123456789";

fn filter() -> Filter {
    static F: OnceLock<Filter> = OnceLock::new();
    F.get_or_init(|| Filter::from_file(filter_wasm()).expect("the filter compiles"))
        .clone()
}

fn config(algorithm: &str, keys: &str) -> String {
    format!(
        r#"{{"algorithm": {{"name": "{algorithm}"}}, "fallbacks": 2,
            "backends": [{{"name": "a", "address": "127.0.0.1:9001"}},
                         {{"name": "b", "address": "127.0.0.1:9002"}},
                         {{"name": "c", "address": "127.0.0.1:9003"}}],
            "cookie": {{"name": "edgepick", "keys": [{keys}]}},
            "health": {{"max_fails": 3, "fail_timeout_ms": 10000}}}}"#
    )
}

fn start(config: &str) -> (Host, Vm) {
    let host = Host::new(
        filter(),
        HostConfig {
            plugin_config: config.as_bytes().to_vec(),
            ..HostConfig::default()
        },
    );
    let vm = host.start_vm().expect("the filter starts");
    (host, vm)
}

/// Runs a request; `serve` gets the ranked list and answers (or not).
fn send(
    vm: &mut Vm,
    cookie: Option<&str>,
    serve: impl FnOnce(&[String]) -> Option<(String, u16)>,
) -> Exchange {
    let mut req = Request::get("/").client("10.0.0.9:4000");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    vm.run_http(&req, |fwd| {
        let list: Vec<String> = fwd
            .iter()
            .find(|(k, _)| k == DESTINATION)
            .map(|(_, v)| v.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        serve(&list).map(|(addr, status)| BackendResponse {
            status,
            upstream_address: Some(addr),
            ..BackendResponse::default()
        })
    })
    .expect("the request runs")
}

/// The in-flight gauges after the workers' next publication (the filter
/// publishes its counts on the tick, once a second, never per request).
fn synced_inflight(host: &Host, vm: &mut Vm) -> Vec<i64> {
    host.advance_ms(1_100);
    vm.poll().expect("ticks run");
    inflight(host)
}

fn inflight(host: &Host) -> Vec<i64> {
    let m = host.shared().metrics();
    ["a", "b", "c"]
        .iter()
        .map(|n| m[&format!("edgepick.inflight.{n}")].value as i64)
        .collect()
}

#[test]
fn every_ending_releases_the_in_flight_count() {
    let (host, mut vm) = start(&config("least_connections", &format!("\"{NEW_KEY}\"")));
    // Served by the primary, by the first fallback after a retry, by a node
    // outside the list, and by nobody (Envoy's own 503).
    send(&mut vm, None, |l| Some((l[0].clone(), 200)));
    send(&mut vm, None, |l| Some((l[1].clone(), 200)));
    send(&mut vm, None, |_| Some(("127.0.0.1:7".into(), 200)));
    send(&mut vm, None, |_| None);
    send(&mut vm, None, |l| Some((l[2].clone(), 503)));
    // A count any ending leaked would be published by the next tick.
    assert_eq!(synced_inflight(&host, &mut vm), [0, 0, 0]);
    // While a request is open nothing is published: the request path makes
    // no stat call (the count is the worker's own until the next sync).
    send(&mut vm, None, |l| {
        let held = inflight(&host);
        assert_eq!(held.iter().sum::<i64>(), 0, "{held:?}");
        Some((l[0].clone(), 200))
    });
    assert_eq!(synced_inflight(&host, &mut vm), [0, 0, 0]);
}

#[test]
fn a_cookie_signed_with_an_older_key_is_re_signed() {
    let keys = format!("\"{NEW_KEY}\", \"{OLD_KEY}\"");
    let old = edgepick_core::Config::from_json(&config("round_robin", &format!("\"{OLD_KEY}\"")))
        .unwrap();
    let (host, mut vm) = start(&config("round_robin", &keys));
    let now_ms = host.shared().now_nanos() / 1_000_000;
    let stale = edgepick_core::cookie::Signer::new(old.cookie.as_ref().unwrap()).sign("b", now_ms);
    let header = format!("edgepick={stale}");
    let ex = send(&mut vm, Some(&header), |l| Some((l[0].clone(), 200)));
    assert_eq!(
        ex.request_header(DESTINATION).unwrap().split(',').next(),
        Some("127.0.0.1:9002"),
        "an old key still pins"
    );
    let set = ex.set_cookies();
    assert_eq!(set.len(), 1, "{set:?}");
    let value = set[0]
        .strip_prefix("edgepick=")
        .and_then(|v| v.split(';').next())
        .unwrap();
    let new_only =
        edgepick_core::Config::from_json(&config("round_robin", &format!("\"{NEW_KEY}\"")))
            .unwrap();
    let now_ms = host.shared().now_nanos() / 1_000_000;
    assert_eq!(
        edgepick_core::cookie::Signer::new(new_only.cookie.as_ref().unwrap())
            .verify(value, now_ms)
            .as_deref(),
        Ok("b"),
        "re-signed with the newest key"
    );
    // The fresh cookie is not re-set again.
    let again = send(&mut vm, Some(&format!("edgepick={value}")), |l| {
        Some((l[0].clone(), 200))
    });
    assert!(again.set_cookies().is_empty(), "{:?}", again.set_cookies());
    // Nor is a stale one on a 5xx.
    let failed = send(&mut vm, Some(&header), |l| Some((l[0].clone(), 502)));
    assert!(failed.set_cookies().is_empty());
}
