//! Fidelity against real Envoy 1.40 for hand-written text modules
//! (`host-runner/guests/wat/`): no SDK, raw imports, their own allocator —
//! what modules built by C/emscripten, Go or TinyGo look like to a host.
//! Each runs in Envoy (`EDGEPICK_ENVOY`) and in the host with the same
//! requests; what the client and the upstream see must be the same.

mod fidelity_support;

use edgepick_host::{HostConfig, HostError};
use edgepick_tests::harness::request_once;
use fidelity_support::*;
use std::net::{IpAddr, Ipv4Addr};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// What Envoy 1.40 (proxy-wasm-cpp-host `src/exports.cc`) answers to each
/// call of `wasi_stubs.wat`, in its order (output words after their call).
const ENVOY_WASI_ANSWERS: &str = "52,52,0,0,0,0,0,8,0,64,8,52,0,8,0,0,8,0,8,0,8,58,8,\
20,0,8,52,44,58,58,58,58,58,58,58,58,58,0,58,0,0,58,0,0,58,58,0,0,0,0,1,58,58,28,0,\
0,0,0,0,0,0,8,0,1,0,";

#[test]
fn wasi_stub_imports_load_and_answer_as_in_envoy() {
    let wasm = wat_guest("wasi_stubs");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("the module starts in the host");
    let e = Observed::from_envoy(
        &request_once(envoy.listener(0), None, "/wasi", &[]).expect("request through envoy"),
    );
    let h = host_run(&mut vm, &echo, &host_request(&envoy, "/wasi", LOCAL, &[]));
    assert_same(differences("wasi stubs", &e, &h, &[], &["x-wasi"]));
    assert_eq!(
        h.upstream("x-wasi"),
        vec![ENVOY_WASI_ANSWERS.to_string()],
        "the host's answers differ from the ones read in Envoy's source"
    );
}

#[test]
fn wasi_symlink_with_the_wasi_signature_is_refused_like_envoy() {
    // Envoy declares `path_symlink` with four parameters, not WASI's five:
    // a module importing WASI's form fails to load in Envoy and here.
    let text = r#"(module
      (import "wasi_snapshot_preview1" "path_symlink"
        (func (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))"#;
    let err = edgepick_host::Filter::compile(&wat::parse_str(text).unwrap())
        .err()
        .expect("refused");
    assert!(
        matches!(&err, HostError::ImportTypeMismatch { name, .. } if name == "path_symlink"),
        "{err}"
    );
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wat/symlink5.wasm");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, wat::parse_str(text).unwrap()).unwrap();
    let echo = Echo::start();
    let started = edgepick_tests::harness::EnvoyBuilder::new(&path, "")
        .endpoints(&[echo.addr])
        .start();
    let Err(e) = started else {
        panic!("Envoy loaded a module importing WASI's five-parameter path_symlink")
    };
    let text = format!("{e:#}");
    assert!(text.contains("path_symlink"), "Envoy's refusal: {text}");
}

/// Requests 1..=4 through `fault_second.wat` (or `fault_response.wat`), in
/// Envoy (with `fail_open`) and in the host (`HostConfig::fail_open`, through
/// `Vm::serve`); returns Envoy's statuses.
fn fault_policy(module: &str, fail_open: bool) -> Vec<u16> {
    let wasm = wat_guest(module);
    let echo = Echo::start();
    let envoy = edgepick_tests::harness::EnvoyBuilder::new(&wasm, "")
        .endpoints(&[echo.addr])
        .num_retries(0)
        .fail_open(fail_open)
        .start()
        .expect("envoy starts");
    let host = host_for(
        &wasm,
        HostConfig {
            fail_open,
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().expect("vm starts");
    let mut d = Vec::new();
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let path = format!("/f{i}");
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, &path, &[]).expect("request through envoy"),
        );
        let req = host_request(&envoy, &path, LOCAL, &[]);
        let ex = vm.serve(&req, |fwd| Some(echo.simulate(fwd)));
        let h = Observed::from_host(&ex);
        d.extend(differences(&path, &e, &h, &["content-type"], &["x-n"]));
        statuses.push(e.status);
    }
    assert_same(d);
    statuses
}

#[test]
fn after_a_fault_the_plugin_fails_closed_like_envoy() {
    // As observed in Envoy: request 1 passes, request 2 faults.
    assert_eq!(fault_policy("fault_second", false), [200, 503, 503, 503]);
}

#[test]
fn after_a_fault_fail_open_lets_requests_through_like_envoy() {
    assert_eq!(fault_policy("fault_second", true), [200; 4]);
}

#[test]
fn a_fault_on_the_response_path_follows_envoys_policy() {
    // Observed in Envoy: failing closed, the faulting request already went
    // upstream yet gets 503; fail_open passes the upstream response on.
    assert_eq!(fault_policy("fault_response", false), [503; 4]);
    assert_eq!(fault_policy("fault_response", true), [200; 4]);
}

/// The header map dump with the random `x-request-id` masked.
fn masked(dump: Option<String>) -> Vec<String> {
    dump.unwrap_or_default()
        .lines()
        .map(|l| match l.split_once(": ") {
            Some(("x-request-id", _)) => "x-request-id: (random)".to_string(),
            _ => l.to_string(),
        })
        .collect()
}

#[test]
fn host_becomes_authority_with_envoys_pseudo_headers_and_order() {
    let wasm = wat_guest("header_map");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let listener = envoy.listener(0).to_string();
    let sent = [("x-forwarded-proto", "https"), ("x-b", "2"), ("x-a", "1")];
    for (path, method) in [("/dump?q=1", "GET"), ("/other", "DELETE")] {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nhost: {listener}\r\n");
        for (k, v) in sent {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        raw.push_str("connection: close\r\n\r\n");
        let e = edgepick_tests::harness::Client::new(envoy.listener(0))
            .request_raw(raw.as_bytes(), false)
            .expect("request through envoy");
        // The host gets the client's headers as sent, `host` included.
        let mut req = edgepick_host::Request::get(path).client("127.0.0.1:40000");
        req.method = method.into();
        req = req.header("host", &listener);
        for (k, v) in sent {
            req = req.header(k, v);
        }
        req = req.header("connection", "close");
        let h = vm
            .run_http(&req, |fwd| Some(echo.simulate(fwd)))
            .expect("runs");
        let (e_map, h_map) = (
            masked(Some(e.text())),
            masked(h.local_response.map(|l| l.body)),
        );
        assert!(
            e_map
                .first()
                .is_some_and(|l| l == &format!(":authority: {listener}")),
            "Envoy's map starts otherwise: {e_map:?}"
        );
        assert_eq!(
            e_map, h_map,
            "{method} {path}: envoy (left) and host (right) differ"
        );
    }
}

/// One request through `name` configured with `config`, in Envoy and in the
/// host; compares status and the upstream `headers`, returns the host's view.
fn one_request(name: &str, config: &str, headers: &[&str]) -> Observed {
    let wasm = wat_guest(name);
    let echo = Echo::start();
    let envoy = envoy(&wasm, config, &echo, 1);
    let host = host_for(
        &wasm,
        HostConfig {
            plugin_config: config.as_bytes().to_vec(),
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().expect("vm starts");
    let e = Observed::from_envoy(
        &request_once(envoy.listener(0), None, "/one", &[]).expect("request through envoy"),
    );
    let h = host_run(&mut vm, &echo, &host_request(&envoy, "/one", LOCAL, &[]));
    assert_same(differences(name, &e, &h, &[], headers));
    h
}

#[test]
fn plain_string_and_empty_configurations_read_as_in_envoy() {
    let h = one_request(
        "plain_config",
        "use the blue pool",
        &["x-config-status", "x-config"],
    );
    assert_eq!(h.upstream("x-config"), vec!["use the blue pool"]);
    let h = one_request("plain_config", "", &["x-config-status", "x-config"]);
    assert!(h.upstream("x-config").is_empty());
}

#[test]
fn grpc_to_an_unknown_cluster_is_refused_as_in_envoy() {
    let h = one_request("grpc_call", "", &["x-grpc"]);
    // ParseFailure (4): the name is neither a GrpcService nor a cluster.
    assert_eq!(h.upstream("x-grpc"), vec!["4,4,"]);
}

#[test]
fn rewritten_request_and_response_bodies_match_envoy() {
    let wasm = wat_guest("body_rewrite");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let listener = envoy.listener(0).to_string();
    let body = "hello, body";
    let raw = format!(
        "POST /echo-body HTTP/1.1\r\nhost: {listener}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let e = edgepick_tests::harness::Client::new(envoy.listener(0))
        .request_raw(raw.as_bytes(), false)
        .expect("request through envoy");
    let mut req = edgepick_host::Request::get("/echo-body").client("127.0.0.1:40000");
    req.method = "POST".into();
    req = req
        .header("host", &listener)
        .header("content-length", &body.len().to_string());
    req.body = Some(body.as_bytes().to_vec());
    let h = vm
        .run_http_with_body(&req, |fwd, b| Some(echo.simulate_with_body(fwd, b)))
        .expect("runs");
    // The upstream got `<hello, body>`, echoed it, and the filter upper-cased it.
    assert_eq!(e.status, 200);
    assert_eq!(e.text(), "<HELLO, BODY>", "Envoy's client got another body");
    assert_eq!(h.status, Some(200));
    assert_eq!(String::from_utf8_lossy(&h.response_body), e.text());
    assert_eq!(h.request_body.as_deref(), Some(&b"<hello, body>"[..]));
}

/// The numbers of the first `n` `tick N` lines of a log, in order.
fn tick_numbers(lines: impl Iterator<Item = String>, n: usize) -> Vec<u32> {
    lines
        .filter_map(|l| {
            let at = l.rfind("tick ")?;
            l[at + 5..].trim().parse().ok()
        })
        .take(n)
        .collect()
}

#[test]
fn ticks_of_a_service_module_log_as_in_envoy() {
    let wasm = wat_guest("ticker");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    // Envoy ticks on the wall clock, the plugin's root context on the main
    // thread as well as on the worker (two threads, each counting 1, 2, …):
    // wait until each has ticked five times, then compare each thread's
    // sequence with one host VM's.
    let thread = |l: &str| {
        l.split('[')
            .nth(2)
            .map(|t| t.trim_end_matches(']').to_string())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let per_thread = loop {
        let log = envoy.log();
        let mut threads: Vec<String> = log
            .lines()
            .filter(|l| l.contains("wasm log: tick "))
            .filter_map(thread)
            .collect();
        threads.sort();
        threads.dedup();
        let per_thread: Vec<Vec<u32>> = threads
            .iter()
            .map(|t| {
                let mine = log
                    .lines()
                    .filter(|l| thread(l).as_deref() == Some(t.as_str()));
                tick_numbers(mine.map(str::to_string), 5)
            })
            .collect();
        let done = per_thread.len() == 2 && per_thread.iter().all(|p| p.len() == 5);
        if done || std::time::Instant::now() > deadline {
            break per_thread;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(
        per_thread.len(),
        2,
        "Envoy ticked on threads: {per_thread:?}"
    );
    assert_eq!(per_thread[0], per_thread[1], "Envoy's two threads differ");
    let e = per_thread[0].clone();
    // The host ticks on its virtual clock: 500 ms are five periods.
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    assert_eq!(vm.tick_period_ms(), 100);
    host.advance_ms(500);
    vm.poll().expect("ticks run");
    let h = tick_numbers(vm.take_logs().into_iter().map(|l| l.message), 5);
    assert_eq!(e, vec![1, 2, 3, 4, 5], "Envoy's ticks");
    assert_eq!(h, e, "host ticks (right) differ from Envoy's (left)");
    // A request reads the count the ticks left.
    let h = host_run(&mut vm, &echo, &host_request(&envoy, "/t", LOCAL, &[]));
    assert_eq!(h.upstream("x-ticks"), vec!["5"]);
}
