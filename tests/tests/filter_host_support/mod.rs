//! Helpers for the tests that run the compiled edgepick filter
//! (`EDGEPICK_FILTER_WASM`, set by `cargo xtask test`) in the host runner on
//! its virtual clock: `filter_host_cookies.rs`, `filter_host_heartbeats.rs`.
#![allow(dead_code)]

use edgepick_host::{BackendResponse, Exchange, Filter, Host, HostConfig, Request, Upstream, Vm};
use edgepick_tests::harness::filter_wasm;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, OnceLock};

pub const DESTINATION: &str = "x-gateway-destination-endpoint";
pub const A: &str = "127.0.0.1:9001";
pub const B: &str = "127.0.0.1:9002";
pub const C: &str = "127.0.0.1:9003";
pub const BACKENDS: &str = r#"[{"name": "a", "address": "127.0.0.1:9001"},
    {"name": "b", "address": "127.0.0.1:9002"},
    {"name": "c", "address": "127.0.0.1:9003"}]"#;

/// The filter, compiled once per test process.
pub fn filter() -> Filter {
    static F: OnceLock<Filter> = OnceLock::new();
    F.get_or_init(|| Filter::from_file(filter_wasm()).expect("the filter compiles"))
        .clone()
}

pub fn host(config: &str, clusters: HashMap<String, Upstream>) -> Host {
    Host::new(
        filter(),
        HostConfig {
            plugin_config: config.as_bytes().to_vec(),
            clusters,
            ..HostConfig::default()
        },
    )
}

pub fn start(host: &Host) -> Vm {
    host.start_vm()
        .unwrap_or_else(|e| panic!("the filter did not start: {e}"))
}

pub fn log_text(ex: &Exchange) -> String {
    ex.logs
        .iter()
        .map(|l| format!("[{:?}] {}", l.level, l.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ranked endpoints the filter wrote.
pub fn endpoints(ex: &Exchange) -> Vec<String> {
    let h = ex.request_header(DESTINATION).unwrap_or_else(|| {
        panic!(
            "no {DESTINATION} (status {:?}, local response {:?})\n{}",
            ex.status,
            ex.local_response,
            log_text(ex)
        )
    });
    h.split(',').map(|s| s.trim().to_string()).collect()
}

pub fn primary(ex: &Exchange) -> String {
    endpoints(ex)[0].clone()
}

/// Sends a request; the backend answers `status(primary)` from the node
/// `serve(ranked list)` picks (the primary unless told otherwise).
pub fn send_via(
    vm: &mut Vm,
    cookie: Option<&str>,
    serve: impl FnOnce(&[String]) -> (String, u16),
) -> Exchange {
    let mut req = Request::get("/app").client("10.0.0.7:40000");
    if let Some(c) = cookie {
        req = req.header("cookie", &format!("theme=dark; {c}"));
    }
    vm.run_http(&req, |fwd| {
        let list: Vec<String> = fwd
            .iter()
            .find(|(k, _)| k == DESTINATION)
            .map(|(_, v)| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        let (addr, status) = serve(&list);
        Some(BackendResponse {
            status,
            upstream_address: Some(addr),
            ..BackendResponse::default()
        })
    })
    .unwrap_or_else(|e| panic!("request failed: {e}"))
}

/// Sends a request that the primary serves with `status`.
pub fn send(vm: &mut Vm, cookie: Option<&str>, status: u16) -> Exchange {
    send_via(vm, cookie, |list| {
        (list.first().cloned().unwrap_or_default(), status)
    })
}

/// `edgepick=<value>` from the one `Set-Cookie` the filter added, if any.
pub fn session_cookie(ex: &Exchange) -> Option<String> {
    let cookies: Vec<&str> = ex
        .set_cookies()
        .into_iter()
        .filter(|c| c.starts_with("edgepick="))
        .collect();
    assert!(cookies.len() <= 1, "several session cookies: {cookies:?}");
    cookies
        .first()
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

// ---------------------------------------------------------------- cookies

pub const COOKIE_KEY: &str = "filter-behaviour-key-0123456789";

pub fn cookie_config() -> String {
    format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS},
            "cookie": {{"name": "edgepick", "keys": ["{COOKIE_KEY}"]}},
            "health": {{"max_fails": 1, "fail_timeout_ms": 10000}},
            "decision_header": true}}"#
    )
}

/// The backend name a cookie (`edgepick=<value>`) carries, verified with
/// the core's own code and the test's key.
pub fn cookie_names(host: &Host, cookie: &str) -> String {
    let cfg = edgepick_core::Config::from_json(&cookie_config()).expect("valid configuration");
    let value = cookie
        .strip_prefix("edgepick=")
        .unwrap_or_else(|| panic!("{cookie} is not an edgepick cookie"));
    let now_ms = host.shared().now_nanos() / 1_000_000;
    edgepick_core::cookie::Signer::new(cfg.cookie.as_ref().unwrap())
        .verify(value, now_ms)
        .unwrap_or_else(|e| panic!("the filter's cookie {cookie} does not verify: {e:?}"))
}

pub fn name_of(addr: &str) -> &'static str {
    match addr {
        A => "a",
        B => "b",
        C => "c",
        other => panic!("{other} is no configured backend"),
    }
}

pub fn addr_of(name: &str) -> &'static str {
    match name {
        "a" => A,
        "b" => B,
        "c" => C,
        other => panic!("{other} is no configured backend"),
    }
}

// ---------------------------------------------------------------- heartbeats

/// A loopback HTTP server standing in for the heartbeat cluster: answers 200,
/// or 503 for the endpoints in `failing`, by `x-gateway-destination-endpoint`.
/// Records every probed endpoint.
pub struct ProbeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    failing: Arc<Mutex<HashSet<String>>>,
    probed: Arc<Mutex<Vec<String>>>,
}

impl ProbeServer {
    pub fn start() -> ProbeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let failing = Arc::new(Mutex::new(HashSet::new()));
        let probed = Arc::new(Mutex::new(Vec::new()));
        let (f, p) = (failing.clone(), probed.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut raw = Vec::new();
                let mut buf = [0u8; 1024];
                while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&raw);
                let dest = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(DESTINATION))
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_default();
                let fail = f.lock().unwrap().contains(&dest);
                p.lock().unwrap().push(dest);
                let status = if fail {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let _ = conn.write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                );
            }
        });
        ProbeServer {
            addr,
            failing,
            probed,
        }
    }

    pub fn set_failing(&self, endpoint: &str, failing: bool) {
        let mut f = self.failing.lock().unwrap();
        if failing {
            f.insert(endpoint.to_string());
        } else {
            f.remove(endpoint);
        }
    }

    pub fn take_probed(&self) -> Vec<String> {
        std::mem::take(&mut *self.probed.lock().unwrap())
    }
}

pub fn heartbeat_config(extra: &str) -> String {
    format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS},
            "health": {{"max_fails": 0,
                        "heartbeat": {{"interval_ms": 100, "window_ms": 300, "threshold": 2{extra}}}}}}}"#
    )
}

/// Endpoints listed over three requests (one round-robin turn).
pub fn listed(vm: &mut Vm) -> HashSet<String> {
    (0..3)
        .flat_map(|_| endpoints(&send(vm, None, 200)))
        .collect()
}

/// Advances the clock by one 100 ms tick and lets `vms` run their ticks.
pub fn tick(host: &Host, vms: &mut [&mut Vm]) {
    host.advance_ms(100);
    for vm in vms.iter_mut() {
        vm.poll().unwrap_or_else(|e| panic!("tick failed: {e}"));
    }
}
