//! Fidelity of the host runner (`edgepick-host`) against real Envoy: each small
//! guest module of `host-runner/guests/` runs in Envoy (`EDGEPICK_ENVOY`, set by
//! `cargo xtask test`) and in the host with the same requests, and what a
//! client observes must be the same: status, the response headers the guest
//! added, the local-response body, and the request headers the guest left for
//! the upstream (an echo server in this file returns them as JSON).
//!
//! Values that depend on the environment (time, randomness, the client port)
//! are left out on purpose; everything else is compared exactly.

mod fidelity_support;

use edgepick_host::{HostConfig, Upstream};
use edgepick_tests::harness::{request_once, Client, Prometheus};
use fidelity_support::*;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- tests

#[test]
fn header_rewrite_and_host_answers_match_envoy() {
    let wasm = guest("headers");
    let echo = Echo::start();
    let config = format!("\"{}\"", echo.addr);
    let envoy = envoy(&wasm, &config, &echo, 1);
    let host = host_for(
        &wasm,
        HostConfig {
            plugin_config: config.clone().into_bytes(),
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = "127.0.0.7".parse().unwrap();
    let headers = [
        ("x-remove-me", "bye"),
        ("x-gateway-destination-endpoint", "1.2.3.4:5"),
    ];
    let e = Observed::from_envoy(
        &Client::new(envoy.listener(0))
            .source(client)
            .get_with("/h?x=1", &headers)
            .expect("request through envoy"),
    );
    let h = host_run(
        &mut vm,
        &echo,
        &host_request(&envoy, "/h?x=1", client, &headers),
    );
    let mut d = differences(
        "headers guest",
        &e,
        &h,
        &["set-cookie", "x-response-code", "x-filter-saw-served-by"],
        &[
            "x-gateway-destination-endpoint",
            "x-added",
            "x-remove-me",
            "x-seen-path",
            "x-missing",
            "x-count",
            "x-eos",
            "x-plugin-name",
            "x-method",
            "x-prop-missing",
            "x-prop-roundtrip",
            "x-log-level",
            "x-foreign",
            "x-pairs",
        ],
    );
    let (ec, hc) = (e.upstream("x-client"), h.upstream("x-client"));
    let ips = |v: &[String]| v.iter().map(|a| ip_of(a)).collect::<Vec<_>>();
    if ips(&ec) != ips(&hc) {
        d.push(format!("x-client: envoy {ec:?} host {hc:?}"));
    }
    // The order of what the filter saw and left: Envoy's connection manager
    // headers, then the guest's (a replaced header moves to the end). `host`
    // (from `:authority`) and the router's own header are upstream-only.
    let order = |o: &Observed| {
        o.upstream
            .iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .filter(|k| !matches!(*k, "host" | "x-envoy-expected-rq-timeout-ms"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if order(&e) != order(&h) {
        d.push("upstream header order differs".to_string());
    }
    if !d.is_empty() {
        d.push(format!("envoy upstream request: {:?}", e.upstream));
        d.push(format!("host upstream request: {:?}", h.upstream));
    }
    assert_same(d);
}

#[test]
fn local_response_matches_envoy_and_settles_local_reply_through_filter() {
    let wasm = guest("local_response");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let mut d = Vec::new();
    for path in ["/deny", "/fine"] {
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, path, &[]).expect("request through envoy"),
        );
        let h = host_run(&mut vm, &echo, &host_request(&envoy, path, client, &[]));
        // The echo body (and so its length) differs by Envoy's own headers.
        let framing: &[&str] = if path == "/deny" {
            &["content-type", "content-length"]
        } else {
            &[]
        };
        d.extend(differences(
            path,
            &e,
            &h,
            &[&["x-deny", "x-filter-status"], framing].concat(),
            &[],
        ));
        if path == "/deny" {
            // Does Envoy run on_response_headers on the filter's own local
            // reply? The host's default must answer the same.
            let envoy_runs_it = !e.response("x-filter-status").is_empty();
            let host_default = HostConfig::default().local_reply_through_filter;
            if envoy_runs_it != host_default {
                d.push(format!(
                    "local_reply_through_filter: Envoy {envoy_runs_it}, host default {host_default}"
                ));
            }
        }
    }
    assert_same(d);
}

#[test]
fn callout_pause_and_resume_match_envoy() {
    let wasm = guest("callout");
    let echo = Echo::start();
    // The bootstrap has one cluster, `edgepick`, holding the echo server.
    let envoy = envoy(&wasm, "edgepick", &echo, 1);
    let mut config = HostConfig {
        plugin_config: b"edgepick".to_vec(),
        ..HostConfig::default()
    };
    config
        .clusters
        .insert("edgepick".into(), Upstream::Address(echo.addr));
    let host = host_for(&wasm, config);
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let mut d = Vec::new();
    // A fresh connection each time: one request per Envoy stream, the same
    // callout token sequence as one VM in the host.
    for path in ["/ok", "/deny-auth", "/bad-cluster", "/again"] {
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, path, &[]).expect("request through envoy"),
        );
        let h = host_run(&mut vm, &echo, &host_request(&envoy, path, client, &[]));
        d.extend(differences(
            path,
            &e,
            &h,
            &["x-auth-status"],
            &["x-auth-status", "x-auth-body", "x-auth-token"],
        ));
    }
    assert_same(d);
}

#[test]
fn shared_data_counter_across_two_workers_matches_envoy() {
    const N: usize = 16;
    let wasm = guest("shared_counter");
    let echo = Echo::start();
    // Two workers; which one takes a connection is up to the kernel, so only
    // what is independent of that is compared: requests in sequence see the
    // shared counter go 1, 2, …, N whichever worker runs them.
    let envoy = envoy(&wasm, "", &echo, 2);
    let host = host_for(&wasm, HostConfig::default());
    let mut vms = [
        host.start_vm().expect("vm 0 starts"),
        host.start_vm().expect("vm 1 starts"),
    ];
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let names = [
        "x-count",
        "x-missing-shared",
        "x-unknown-queue",
        "x-stale-cas",
    ];
    let mut d = Vec::new();
    let (mut envoy_counts, mut host_counts) = (Vec::new(), Vec::new());
    for i in 0..N {
        let path = format!("/c{i}");
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, &path, &[]).expect("request through envoy"),
        );
        let h = host_run(
            &mut vms[i % 2],
            &echo,
            &host_request(&envoy, &path, client, &[]),
        );
        d.extend(differences(&path, &e, &h, &[], &names));
        envoy_counts.extend(e.upstream("x-count"));
        host_counts.extend(h.upstream("x-count"));
    }
    let expected: Vec<String> = (1..=N).map(|n| n.to_string()).collect();
    if envoy_counts != expected {
        d.push(format!("envoy counted {envoy_counts:?}"));
    }
    if host_counts != expected {
        d.push(format!("host counted {host_counts:?}"));
    }
    assert_same(d);
}

#[test]
fn metrics_match_envoy_admin_stats() {
    const N: usize = 5;
    let wasm = guest("metrics");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let names = [
        "x-ids",
        "x-requests",
        "x-inflight",
        "x-counter-negative",
        "x-histogram-get",
        "x-unknown-get",
        "x-unknown-record",
    ];
    let mut d = Vec::new();
    let mut c = Client::new(envoy.listener(0));
    for i in 0..N {
        let path = format!("/m{i}");
        let e = Observed::from_envoy(&c.get(&path).expect("request through envoy"));
        let h = host_run(&mut vm, &echo, &host_request(&envoy, &path, client, &[]));
        d.extend(differences(&path, &e, &h, &[], &names));
    }
    // Values as the admin endpoint shows them (custom stats under `wasmcustom.`).
    let metrics = host.shared().metrics();
    let stats = envoy.stats().expect("admin /stats");
    for name in ["requests", "inflight"] {
        let e = stats.get(&format!("wasmcustom.{name}"));
        let h = metrics.get(name).map(|m| m.value as f64);
        if e != h {
            d.push(format!("metric {name}: envoy {e:?} host {h:?}"));
        }
    }
    // Histograms reach the admin endpoint at the next stats flush (5 s).
    let samples = metrics.get("latency_ms").map(|m| m.samples.clone());
    let (count, sum) = samples.as_ref().map_or((0.0, 0.0), |s| {
        (s.len() as f64, s.iter().sum::<u64>() as f64)
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut e_count, mut e_sum) = (None, None);
    while Instant::now() < deadline {
        let p: Prometheus = envoy.prometheus().expect("admin /stats/prometheus");
        e_count = p.get("latency_ms_count");
        e_sum = p.get("latency_ms_sum");
        if e_count == Some(count) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // Envoy's histogram sum comes from its log-linear buckets: close, not exact.
    let sum_close = e_sum.is_some_and(|s| (s - sum).abs() <= 0.02 * sum.max(1.0));
    if e_count != Some(count) || !sum_close {
        d.push(format!(
            "histogram latency_ms: envoy count {e_count:?} sum {e_sum:?}, host {samples:?}"
        ));
    }
    assert_same(d);
}
