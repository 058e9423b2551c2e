//! Behaviour of the compiled edgepick filter (`EDGEPICK_FILTER_WASM`, set by
//! `cargo xtask test`) in the host, all on the virtual clock:
//!
//! 1. sticky cookies round-trip: set for the node that served, honoured
//!    without being re-set, moved (and re-set) when that node goes down,
//!    tampered ones ignored, none on a 5xx answer;
//! 2. heartbeats: ticks send probes through the heartbeat cluster (a loopback
//!    server answering per `x-gateway-destination-endpoint`), a node without
//!    enough 2xx answers in the window is left out, and comes back;
//! 3. malformed configurations are refused with the same log line Envoy
//!    shows (`tests/tests/e2e_bad_config.rs`);
//! 4. two VMs (workers) of one host share health.

mod common;

use common::filter_wasm;
use edgepick_host::{
    BackendResponse, Exchange, Filter, Host, HostConfig, HostError, Request, Upstream, Vm,
};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, OnceLock};

const DESTINATION: &str = "x-gateway-destination-endpoint";
const A: &str = "127.0.0.1:9001";
const B: &str = "127.0.0.1:9002";
const C: &str = "127.0.0.1:9003";
const BACKENDS: &str = r#"[{"name": "a", "address": "127.0.0.1:9001"},
    {"name": "b", "address": "127.0.0.1:9002"},
    {"name": "c", "address": "127.0.0.1:9003"}]"#;

/// The filter, compiled once per test process.
fn filter() -> Filter {
    static F: OnceLock<Filter> = OnceLock::new();
    F.get_or_init(|| Filter::from_file(filter_wasm()).expect("the filter compiles"))
        .clone()
}

fn host(config: &str, clusters: HashMap<String, Upstream>) -> Host {
    Host::new(
        filter(),
        HostConfig {
            plugin_config: config.as_bytes().to_vec(),
            clusters,
            ..HostConfig::default()
        },
    )
}

fn start(host: &Host) -> Vm {
    host.start_vm()
        .unwrap_or_else(|e| panic!("the filter did not start: {e}"))
}

fn log_text(ex: &Exchange) -> String {
    ex.logs
        .iter()
        .map(|l| format!("[{:?}] {}", l.level, l.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ranked endpoints the filter wrote.
fn endpoints(ex: &Exchange) -> Vec<String> {
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

fn primary(ex: &Exchange) -> String {
    endpoints(ex)[0].clone()
}

/// Sends a request; the backend answers `status(primary)` from the node
/// `serve(ranked list)` picks (the primary unless told otherwise).
fn send_via(
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
fn send(vm: &mut Vm, cookie: Option<&str>, status: u16) -> Exchange {
    send_via(vm, cookie, |list| {
        (list.first().cloned().unwrap_or_default(), status)
    })
}

/// `edgepick=<value>` from the one `Set-Cookie` the filter added, if any.
fn session_cookie(ex: &Exchange) -> Option<String> {
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

const COOKIE_KEY: &str = "filter-behaviour-key-0123456789";

fn cookie_config() -> String {
    format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS},
            "cookie": {{"name": "edgepick", "keys": ["{COOKIE_KEY}"]}},
            "health": {{"max_fails": 1, "fail_timeout_ms": 10000}},
            "decision_header": true}}"#
    )
}

/// The backend name a cookie (`edgepick=<value>`) carries, verified with
/// the core's own code and the test's key.
fn cookie_names(host: &Host, cookie: &str) -> String {
    let cfg = edgepick_core::Config::from_json(&cookie_config()).expect("valid configuration");
    let value = cookie
        .strip_prefix("edgepick=")
        .unwrap_or_else(|| panic!("{cookie} is not an edgepick cookie"));
    let now_ms = host.shared().now_nanos() / 1_000_000;
    edgepick_core::cookie::verify(cfg.cookie.as_ref().unwrap(), value, now_ms)
        .unwrap_or_else(|e| panic!("the filter's cookie {cookie} does not verify: {e:?}"))
}

fn name_of(addr: &str) -> &'static str {
    match addr {
        A => "a",
        B => "b",
        C => "c",
        other => panic!("{other} is no configured backend"),
    }
}

fn addr_of(name: &str) -> &'static str {
    match name {
        "a" => A,
        "b" => B,
        "c" => C,
        other => panic!("{other} is no configured backend"),
    }
}

#[test]
fn sticky_cookie_round_trips_and_moves_when_its_node_goes_down() {
    let host = host(&cookie_config(), HashMap::new());
    let mut vm = start(&host);

    // A new client: the answer sets a cookie naming the node that served.
    let first = send(&mut vm, None, 200);
    let home = primary(&first);
    let cookie = session_cookie(&first)
        .unwrap_or_else(|| panic!("no cookie set: {:?}", first.response_headers));
    assert_eq!(cookie_names(&host, &cookie), name_of(&home));
    let attrs = first.set_cookies().join(" | ");
    assert!(
        attrs.contains("Path=/") && attrs.contains("Max-Age=3600") && attrs.contains("HttpOnly"),
        "{attrs}"
    );

    // Sent back, it keeps the client there (round robin would have moved it)
    // and is not set again. The cookie never reaches the backend.
    for i in 0..6 {
        let ex = send(&mut vm, Some(&cookie), 200);
        assert_eq!(primary(&ex), home, "request {i} left the cookie's node");
        assert!(
            ex.response_header("x-edgepick-decision")
                .is_some_and(|d| d.contains("reason=cookie")),
            "request {i}: {:?}",
            ex.response_header("x-edgepick-decision")
        );
        assert_eq!(session_cookie(&ex), None, "request {i} re-set the cookie");
        assert_eq!(
            ex.request_header("cookie"),
            Some("theme=dark"),
            "request {i}: the session cookie must be stripped upstream"
        );
    }
    // Cookie-less clients still rotate.
    let rotated: HashSet<String> = (0..3).map(|_| primary(&send(&mut vm, None, 200))).collect();
    assert_eq!(rotated.len(), 3, "round robin without cookie: {rotated:?}");

    // The home node answers 503 (max_fails 1): it is taken out, and the
    // answer carries no cookie.
    let failed = send(&mut vm, Some(&cookie), 503);
    assert_eq!(primary(&failed), home);
    assert_eq!(failed.status, Some(503));
    assert_eq!(session_cookie(&failed), None, "a 5xx answer set a cookie");
    assert!(
        log_text(&failed).contains(&format!("backend {} out", name_of(&home))),
        "{}",
        log_text(&failed)
    );

    // The same client moves, and gets a new cookie for its new node.
    let moved = send(&mut vm, Some(&cookie), 200);
    let new_home = primary(&moved);
    assert_ne!(
        new_home, home,
        "the cookie still leads to the node that is out"
    );
    assert!(
        !endpoints(&moved).contains(&home),
        "the node that is out is still listed: {:?}",
        endpoints(&moved)
    );
    let new_cookie = session_cookie(&moved).expect("a new cookie after the move");
    assert_ne!(new_cookie, cookie);
    assert_eq!(cookie_names(&host, &new_cookie), name_of(&new_home));

    // The new cookie sticks, without being re-set.
    for _ in 0..3 {
        let ex = send(&mut vm, Some(&new_cookie), 200);
        assert_eq!(primary(&ex), new_home);
        assert_eq!(session_cookie(&ex), None);
    }

    // After fail_timeout the old node is back, and the old cookie leads there
    // again (it is still valid), with no new cookie.
    host.advance_ms(10_001);
    let back = send(&mut vm, Some(&cookie), 200);
    assert_eq!(primary(&back), home, "{:?}", endpoints(&back));
    assert_eq!(session_cookie(&back), None);
}

#[test]
fn cookie_names_the_node_that_served_not_the_one_picked() {
    // Envoy's retry moved the request to the first fallback: the cookie pins
    // the client to where it really landed.
    let host = host(&cookie_config(), HashMap::new());
    let mut vm = start(&host);
    let ex = send_via(&mut vm, None, |list| (list[1].clone(), 200));
    let served = endpoints(&ex)[1].clone();
    assert_ne!(served, primary(&ex));
    let cookie = session_cookie(&ex).expect("a cookie");
    assert_eq!(cookie_names(&host, &cookie), name_of(&served));
    let again = send(&mut vm, Some(&cookie), 200);
    assert_eq!(primary(&again), served);
    assert_eq!(session_cookie(&again), None);
}

#[test]
fn tampered_cookie_is_ignored_and_replaced() {
    let host = host(&cookie_config(), HashMap::new());
    let mut vm = start(&host);
    let cookie = session_cookie(&send(&mut vm, None, 200)).expect("a cookie");
    let home = addr_of(&cookie_names(&host, &cookie)).to_string();

    // Flip the first character of the MAC (the last dot-separated part).
    let mac_at = cookie.rfind('.').unwrap() + 1;
    let mut bytes = cookie.clone().into_bytes();
    bytes[mac_at] = if bytes[mac_at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_ne!(tampered, cookie);

    // Round robin runs as if there were no cookie: over three requests with
    // the forged cookie the client is not held on the cookie's node.
    let mut primaries = Vec::new();
    for i in 0..3 {
        let ex = send(&mut vm, Some(&tampered), 200);
        let decision = ex
            .response_header("x-edgepick-decision")
            .unwrap_or("")
            .to_string();
        assert!(
            !decision.contains("reason=cookie"),
            "request {i}: {decision}"
        );
        if i == 0 {
            assert!(
                log_text(&ex).contains("session cookie ignored: BadSignature"),
                "{}",
                log_text(&ex)
            );
        }
        // A fresh, valid cookie for the node that served replaces it.
        let fresh = session_cookie(&ex)
            .unwrap_or_else(|| panic!("request {i}: no fresh cookie after a tampered one"));
        assert_ne!(fresh, tampered);
        assert_eq!(cookie_names(&host, &fresh), name_of(&primary(&ex)));
        // The forged cookie is still stripped from the upstream request.
        assert_eq!(ex.request_header("cookie"), Some("theme=dark"));
        primaries.push(primary(&ex));
    }
    assert!(
        primaries.iter().any(|p| *p != home),
        "the tampered cookie held the client on {home}: {primaries:?}"
    );
}

#[test]
fn no_cookie_on_a_5xx_answer() {
    // Passive health off, so the answers do not take nodes out.
    let cfg = cookie_config().replace(r#""max_fails": 1"#, r#""max_fails": 0"#);
    let host = host(&cfg, HashMap::new());
    let mut vm = start(&host);
    for status in [500, 502, 503, 504, 599] {
        let ex = send(&mut vm, None, status);
        assert_eq!(ex.status, Some(status));
        assert_eq!(
            session_cookie(&ex),
            None,
            "a {status} answer set {:?}",
            ex.set_cookies()
        );
    }
    // Below 500 the cookie is set, 4xx included.
    for status in [200, 204, 302, 404, 499] {
        let ex = send(&mut vm, None, status);
        let cookie =
            session_cookie(&ex).unwrap_or_else(|| panic!("a {status} answer set no cookie"));
        assert_eq!(cookie_names(&host, &cookie), name_of(&primary(&ex)));
    }
}

// ---------------------------------------------------------------- heartbeats

/// A loopback HTTP server standing in for the heartbeat cluster: answers 200,
/// or 503 for the endpoints in `failing`, by `x-gateway-destination-endpoint`.
/// Records every probed endpoint.
struct ProbeServer {
    addr: SocketAddr,
    failing: Arc<Mutex<HashSet<String>>>,
    probed: Arc<Mutex<Vec<String>>>,
}

impl ProbeServer {
    fn start() -> ProbeServer {
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

    fn set_failing(&self, endpoint: &str, failing: bool) {
        let mut f = self.failing.lock().unwrap();
        if failing {
            f.insert(endpoint.to_string());
        } else {
            f.remove(endpoint);
        }
    }

    fn take_probed(&self) -> Vec<String> {
        std::mem::take(&mut *self.probed.lock().unwrap())
    }
}

fn heartbeat_config(extra: &str) -> String {
    format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS},
            "health": {{"max_fails": 0,
                        "heartbeat": {{"interval_ms": 100, "window_ms": 300, "threshold": 2{extra}}}}}}}"#
    )
}

/// Endpoints listed over three requests (one round-robin turn).
fn listed(vm: &mut Vm) -> HashSet<String> {
    (0..3)
        .flat_map(|_| endpoints(&send(vm, None, 200)))
        .collect()
}

/// Advances the clock by one 100 ms tick and lets `vms` run their ticks.
fn tick(host: &Host, vms: &mut [&mut Vm]) {
    host.advance_ms(100);
    for vm in vms.iter_mut() {
        vm.poll().unwrap_or_else(|e| panic!("tick failed: {e}"));
    }
}

#[test]
fn heartbeats_take_a_silent_node_out_after_the_window_and_back_in() {
    let server = ProbeServer::start();
    let clusters = HashMap::from([("edgepick".to_string(), Upstream::Address(server.addr))]);
    let host = host(&heartbeat_config(""), clusters);
    let mut vm = start(&host);
    assert_eq!(vm.tick_period_ms(), 100);
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    let without_b: HashSet<String> = [A, C].map(String::from).into();

    server.set_failing(B, true);
    // Ticks 1–3 (100–300 ms after start): probes go to every node, through
    // the heartbeat cluster, but b's window is not over yet: it stays in.
    for t in 1..=3 {
        tick(&host, &mut [&mut vm]);
        let mut probed = server.take_probed();
        probed.sort();
        assert_eq!(probed, [A, B, C], "tick {t}: one probe per node");
        assert_eq!(
            listed(&mut vm),
            all,
            "tick {t}: b out before its window passed"
        );
    }
    // Tick 4: a whole window without a 2xx from b: faulty, left out.
    tick(&host, &mut [&mut vm]);
    let logs = vm.take_logs();
    assert!(
        logs.iter()
            .any(|l| l.message.contains("backend b faulty (too few heartbeats)")),
        "{logs:?}"
    );
    assert!(
        !logs
            .iter()
            .any(|l| l.message.contains("backend a faulty")
                || l.message.contains("backend c faulty")),
        "{logs:?}"
    );
    for t in 4..=6 {
        if t > 4 {
            tick(&host, &mut [&mut vm]);
        }
        assert_eq!(listed(&mut vm), without_b, "tick {t}: b still listed");
    }

    // b answers again. One heartbeat is below the threshold of 2…
    server.set_failing(B, false);
    tick(&host, &mut [&mut vm]); // probe answered: 1 heartbeat
    tick(&host, &mut [&mut vm]); // verdict on 1 heartbeat, second probe answered
    assert_eq!(
        listed(&mut vm),
        without_b,
        "b back after a single heartbeat (threshold 2)"
    );
    // …two are enough.
    tick(&host, &mut [&mut vm]);
    assert!(
        vm.take_logs()
            .iter()
            .any(|l| l.message.contains("backend b running again")),
        "no recovery logged"
    );
    assert_eq!(listed(&mut vm), all, "b did not come back");
    for _ in 0..5 {
        tick(&host, &mut [&mut vm]);
        assert_eq!(listed(&mut vm), all);
    }
}

#[test]
fn an_unreachable_heartbeat_cluster_is_a_missed_heartbeat_for_every_node() {
    // The cluster refuses connections: Envoy answers each call with a local
    // 503, which is no heartbeat. Every node goes faulty after the window;
    // with none healthy, panic mode (threshold 0.5) lists them all again.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let clusters = HashMap::from([("edgepick".to_string(), Upstream::Address(addr))]);
    let host = host(&heartbeat_config(""), clusters);
    let mut vm = start(&host);
    for _ in 0..3 {
        tick(&host, &mut [&mut vm]);
    }
    assert!(
        !vm.logs().iter().any(|l| l.message.contains("faulty")),
        "verdict before the window: {:?}",
        vm.logs()
    );
    tick(&host, &mut [&mut vm]);
    for n in ["a", "b", "c"] {
        assert!(
            vm.logs()
                .iter()
                .any(|l| l.message.contains(&format!("backend {n} faulty"))),
            "{n}: {:?}",
            vm.logs()
        );
    }
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    assert_eq!(listed(&mut vm), all, "panic mode lists every node");
}

#[test]
fn sticky_client_moves_when_heartbeats_mark_its_node_faulty() {
    let server = ProbeServer::start();
    let clusters = HashMap::from([("edgepick".to_string(), Upstream::Address(server.addr))]);
    let cfg = heartbeat_config("").replace(
        r#""health":"#,
        &format!(r#""cookie": {{"name": "edgepick", "keys": ["{COOKIE_KEY}"]}}, "health":"#),
    );
    let host = host(&cfg, clusters);
    let mut vm = start(&host);
    // A client pinned to b.
    let pinned = send_via(&mut vm, None, |_| (B.to_string(), 200));
    let cookie = session_cookie(&pinned).expect("a cookie");
    assert_eq!(cookie_names(&host, &cookie), "b");

    server.set_failing(B, true);
    for t in 1..=3 {
        tick(&host, &mut [&mut vm]);
        let ex = send(&mut vm, Some(&cookie), 200);
        assert_eq!(primary(&ex), B, "tick {t}: moved before the window passed");
        assert_eq!(session_cookie(&ex), None, "tick {t}");
    }
    tick(&host, &mut [&mut vm]);
    let moved = send(&mut vm, Some(&cookie), 200);
    let new_home = primary(&moved);
    assert_ne!(new_home, B, "the cookie still leads to the faulty node");
    assert!(!endpoints(&moved).contains(&B.to_string()));
    let new_cookie = session_cookie(&moved).expect("a new cookie after the move");
    assert_eq!(cookie_names(&host, &new_cookie), name_of(&new_home));

    // b recovers (two heartbeats): the old cookie leads there again.
    server.set_failing(B, false);
    for _ in 0..3 {
        tick(&host, &mut [&mut vm]);
    }
    let back = send(&mut vm, Some(&cookie), 200);
    assert_eq!(primary(&back), B);
    assert_eq!(session_cookie(&back), None);
}

// ---------------------------------------------------------------- bad configurations

/// (configuration, the field its error must name) from
/// `tests/golden/bad_configs.json`; `{B}` stands for a valid backend list.
fn bad_configs() -> Vec<(String, String)> {
    edgepick_core::vectors::parse_bad_configs(include_str!("../../tests/golden/bad_configs.json"))
        .expect("bad_configs.json parses")
        .into_iter()
        .map(|c| (c.config, c.field))
        .collect()
}

#[test]
fn bad_configurations_are_rejected_with_envoys_log_line() {
    let mut problems = Vec::new();
    let cases = bad_configs();
    assert_eq!(cases.len(), 18, "bad_configs.json lost cases");
    for (cfg, field) in &cases {
        let cfg = cfg.replace("{B}", BACKENDS);
        let needle = format!("edgepick: invalid configuration: {field}:");
        match host(&cfg, HashMap::new()).start_vm() {
            Ok(_) => problems.push(format!("accepted: {cfg}")),
            Err(HostError::ConfigurationRejected { logs }) => {
                let line = logs.iter().find(|l| l.message.contains(&needle));
                match line {
                    Some(l) if l.level == edgepick_host::LogLevel::Error => {}
                    Some(l) => problems.push(format!("{needle} logged at {:?}", l.level)),
                    None => problems.push(format!("{needle} not logged for {cfg}: {logs:?}")),
                }
            }
            Err(e) => problems.push(format!("{cfg}: not a configuration rejection: {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The control: the valid list itself is accepted.
    let good = format!(r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS}}}"#);
    host(&good, HashMap::new())
        .start_vm()
        .unwrap_or_else(|e| panic!("a valid configuration was refused: {e}"));
}

#[test]
fn with_strip_off_the_backend_sees_the_cookie_header_unchanged() {
    let cfg = cookie_config().replace(r#""keys": ["#, r#""strip": false, "keys": ["#);
    let host = host(&cfg, HashMap::new());
    let mut vm = start(&host);
    let first = send(&mut vm, None, 200);
    let cookie = session_cookie(&first).expect("a session cookie");
    let home = primary(&first);
    for i in 0..3 {
        let ex = send(&mut vm, Some(&cookie), 200);
        assert_eq!(primary(&ex), home, "request {i} left the cookie's node");
        assert_eq!(
            ex.request_header("cookie"),
            Some(format!("theme=dark; {cookie}").as_str()),
            "request {i}: nothing stripped"
        );
    }
}

// ---------------------------------------------------------------- several VMs

#[test]
fn a_passive_failure_on_one_vm_takes_the_node_out_on_another_within_a_sync_period() {
    let cfg = format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS},
            "health": {{"max_fails": 1, "fail_timeout_ms": 10000}}}}"#
    );
    let host = host(&cfg, HashMap::new());
    let (mut vm1, mut vm2) = (start(&host), start(&host));
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    assert_eq!(listed(&mut vm2), all);

    // VM 1 sees its primary answer 503.
    let failed = send(&mut vm1, None, 503);
    let down = primary(&failed);
    assert!(
        log_text(&failed).contains("out for 10000 ms"),
        "{}",
        log_text(&failed)
    );

    // VM 1 acts on what it saw at once.
    let next = send(&mut vm1, None, 200);
    assert!(!endpoints(&next).contains(&down), "VM 1 still lists {down}");
    // VM 2 leaves it out once it has synced: within one sync period (100 ms).
    host.advance_ms(100);
    vm2.poll().expect("VM 2 ticks");
    for i in 0..6 {
        let ex = send(&mut vm2, None, 200);
        assert!(
            !endpoints(&ex).contains(&down),
            "VM 2 request {i} lists {down}: {:?}",
            endpoints(&ex)
        );
    }
    // Both are back after fail_timeout.
    host.advance_ms(10_001);
    assert_eq!(listed(&mut vm2), all);
    assert_eq!(listed(&mut vm1), all);
}

#[test]
fn one_vm_probes_and_every_vm_follows_its_verdicts() {
    let server = ProbeServer::start();
    // A cluster named in the configuration, not the default one.
    let clusters = HashMap::from([("hb-probes".to_string(), Upstream::Address(server.addr))]);
    let host = host(&heartbeat_config(r#", "cluster": "hb-probes""#), clusters);
    let (mut vm1, mut vm2) = (start(&host), start(&host));
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    let without_b: HashSet<String> = [A, C].map(String::from).into();

    server.set_failing(B, true);
    for t in 1..=4 {
        tick(&host, &mut [&mut vm1, &mut vm2]);
        // One prober (the lease holder): one probe per node per tick, not two.
        let mut probed = server.take_probed();
        probed.sort();
        assert_eq!(probed, [A, B, C], "tick {t}");
    }
    for (n, vm) in [&mut vm1, &mut vm2].into_iter().enumerate() {
        assert_eq!(listed(vm), without_b, "VM {}", n + 1);
    }
    server.set_failing(B, false);
    for _ in 0..3 {
        tick(&host, &mut [&mut vm1, &mut vm2]);
    }
    for (n, vm) in [&mut vm1, &mut vm2].into_iter().enumerate() {
        assert_eq!(listed(vm), all, "VM {} after recovery", n + 1);
    }
}
