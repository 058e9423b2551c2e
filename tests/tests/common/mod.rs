//! Shared set-up for the end-to-end tests.
#![allow(dead_code)]

pub mod native;
pub mod target;

use edgepick_tests::harness::{self, Backend, BackendOptions, Envoy, Response, Stats};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Point the harness at this package's backend binary; return the filter path
/// (panics with "run `cargo xtask test`" when the environment is missing).
pub fn setup() -> PathBuf {
    harness::set_backend_binary(env!("CARGO_BIN_EXE_edgepick-backend"));
    let _ = harness::envoy_binary();
    harness::filter_wasm()
}

/// Start backends with the given names and default options.
pub fn backends(names: &[&str]) -> Vec<Backend> {
    harness::set_backend_binary(env!("CARGO_BIN_EXE_edgepick-backend"));
    Backend::spawn_many(names).expect("start backends")
}

/// Start one backend with options.
pub fn backend(name: &str, opts: BackendOptions) -> Backend {
    harness::set_backend_binary(env!("CARGO_BIN_EXE_edgepick-backend"));
    Backend::spawn(name, opts).expect("start backend")
}

/// Count responses by `x-served-by` (`-` when missing).
pub fn tally<'a>(responses: impl IntoIterator<Item = &'a Response>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in responses {
        *m.entry(r.served_by().unwrap_or("-").to_string())
            .or_insert(0) += 1;
    }
    m
}

/// The backend names listed in a received destination header, via their addresses.
pub fn destination_names(header: &str, backends: &[Backend]) -> Vec<String> {
    header
        .split(',')
        .map(|a| {
            let a = a.trim();
            backends
                .iter()
                .find(|b| b.addr().to_string() == a)
                .map_or_else(|| format!("?{a}"), |b| b.name().to_string())
        })
        .collect()
}

/// nginx ip_hash over peers with `weights`, every peer usable: key = the first
/// three octets, `hash = (hash * 113 + b) % 6271` from 89, then a walk over
/// the weights (weighted variant `ngx_http_upstream_get_ip_hash_peer`).
pub fn nginx_ip_hash(ip: Ipv4Addr, weights: &[u32]) -> usize {
    let mut hash: u32 = 89;
    for b in &ip.octets()[..3] {
        hash = (hash * 113 + u32::from(*b)) % 6271;
    }
    let total: u32 = weights.iter().sum();
    let mut w = hash % total;
    let mut p = 0;
    while w >= weights[p] {
        w -= weights[p];
        p += 1;
    }
    p
}

/// Envoy's stats once every worker has published: the filter publishes its
/// pick counters and in-flight gauges on its tick once a second
/// (`METRICS_MS`), not per request, so wait that plus scheduling slack first.
pub fn stats_after_sync(envoy: &Envoy) -> Stats {
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    envoy.stats().expect("stats")
}

/// What [`send_until`] counts: requests sent and the ones that failed.
#[derive(Debug, Default)]
pub struct Tally {
    /// Requests sent so far.
    pub total: std::sync::atomic::AtomicUsize,
    /// `#n: status body` or `#n: error` of every request that did not get a 200.
    pub failures: std::sync::Mutex<Vec<String>>,
}

/// One client's loop: GET `path?n=N` on `target` until `stop`, counting in
/// `tally`; every `fresh`-th request on a new connection (so every Envoy
/// worker serves); `ok` sees each 200.
pub fn send_until(
    target: std::net::SocketAddr,
    path: &str,
    fresh: usize,
    stop: &std::sync::atomic::AtomicBool,
    tally: &Tally,
    ok: impl Fn(&Response),
) {
    use std::sync::atomic::Ordering;
    let mut cl = harness::Client::new(target).timeout(std::time::Duration::from_secs(10));
    while !stop.load(Ordering::SeqCst) {
        let n = tally.total.fetch_add(1, Ordering::SeqCst);
        match cl.get(&format!("{path}?n={n}")) {
            Ok(r) if r.status == 200 => ok(&r),
            Ok(r) => {
                tally
                    .failures
                    .lock()
                    .unwrap()
                    .push(format!("#{n}: {} {}", r.status, r.text()))
            }
            Err(e) => tally.failures.lock().unwrap().push(format!("#{n}: {e}")),
        }
        if n.is_multiple_of(fresh) {
            cl.disconnect();
        }
    }
}

/// The `(address, name)` of each backend a golden case configures.
pub fn golden_addresses(case: &edgepick_core::vectors::Case) -> Vec<(SocketAddr, String)> {
    case.config["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| {
            let a = b["address"].as_str().unwrap().parse().unwrap();
            (a, b["name"].as_str().unwrap().to_string())
        })
        .collect()
}

/// One test backend on every address the golden `cases` configure, named as
/// configured, so every case's requests are answered (the cases share
/// loopback ports). Kept running while the returned list lives.
pub fn golden_backends(cases: &[edgepick_core::vectors::Case]) -> Vec<Backend> {
    let all: BTreeMap<SocketAddr, String> = cases.iter().flat_map(golden_addresses).collect();
    all.iter()
        .map(|(a, name)| {
            assert!(
                a.ip().is_loopback(),
                "golden backend {a} is not on loopback"
            );
            backend(
                name,
                BackendOptions {
                    port: a.port(),
                    ..BackendOptions::default()
                },
            )
        })
        .collect()
}
