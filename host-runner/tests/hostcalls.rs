//! Each hostcall against real SDK guests: headers, properties, buffers,
//! time, logs, foreign functions, local responses and callouts.

mod common;

use edgepick_host::{
    BackendResponse, FilterOutcome, HostConfig, LogLevel, Request, ScriptedResponse, Upstream,
};
use std::io::{Read, Write};
use std::net::TcpListener;

fn backend(status: u16) -> impl FnOnce(&edgepick_host::HeaderMap) -> Option<BackendResponse> {
    move |_| {
        Some(BackendResponse {
            status,
            headers: vec![("x-served-by".into(), "127.0.0.1:9001".into())],
            upstream_address: Some("127.0.0.1:9001".into()),
            ..BackendResponse::default()
        })
    }
}

#[test]
fn headers_properties_and_misc_hostcalls() {
    let host = common::host_with(
        "headers",
        HostConfig {
            plugin_config: b"\"127.0.0.1:9001\"".to_vec(),
            local_address: Some("192.0.2.9".into()),
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().unwrap();
    let req = Request::get("/x?y=1")
        .client("127.0.0.5:4000")
        .header("x-remove-me", "bye")
        .header("x-gateway-destination-endpoint", "10.9.9.9:1");
    let ex = vm.run_http(&req, backend(200)).unwrap();
    assert_eq!(ex.request_outcome, FilterOutcome::Continue);
    // The filter overwrote the client's value.
    assert_eq!(
        ex.request_header("x-gateway-destination-endpoint"),
        Some("127.0.0.1:9001")
    );
    let added: Vec<_> = ex
        .request_headers
        .iter()
        .filter(|(k, _)| k == "x-added")
        .collect();
    assert_eq!(added.len(), 2);
    assert_eq!(ex.request_header("x-remove-me"), None);
    assert_eq!(ex.request_header("x-seen-path"), Some("/x?y=1"));
    assert_eq!(ex.request_header("x-missing"), Some("none"));
    // 4 pseudo-headers + 2 client headers + Envoy's x-forwarded-proto,
    // x-request-id and (use_remote_address: true) x-forwarded-for and
    // x-envoy-external-address.
    assert_eq!(ex.request_header("x-count"), Some("10"));
    assert_eq!(
        ex.request_header("x-envoy-external-address"),
        Some("127.0.0.5")
    );
    // A loopback client: Envoy appends its own address, not the client's.
    assert_eq!(ex.request_header("x-forwarded-for"), Some("192.0.2.9"));
    assert_eq!(ex.request_header("x-eos"), Some("true"));
    assert_eq!(ex.request_header("x-client"), Some("127.0.0.5:4000"));
    assert_eq!(ex.request_header("x-plugin-name"), Some("edgepick"));
    assert_eq!(ex.request_header("x-method"), Some("GET"));
    assert_eq!(ex.request_header("x-prop-missing"), Some("none"));
    assert_eq!(ex.request_header("x-prop-roundtrip"), Some("picked"));
    let start_ms = HostConfig::default().start_time_nanos / 1_000_000;
    assert_eq!(
        ex.request_header("x-now-ms"),
        Some(start_ms.to_string().as_str())
    );
    assert_eq!(ex.request_header("x-log-level"), Some("2"));
    assert_eq!(ex.request_header("x-foreign"), Some("true,Some(NotFound)"));
    // Response path: properties from the backend, cookie added.
    assert_eq!(ex.status, Some(200));
    assert_eq!(ex.set_cookies(), vec!["ep=127.0.0.1:9001; Path=/"]);
    assert_eq!(ex.response_header("x-response-code"), Some("200"));
    assert_eq!(
        ex.response_header("x-filter-saw-served-by"),
        Some("127.0.0.1:9001")
    );
    let msgs: Vec<_> = ex
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert!(
        msgs.contains(&(LogLevel::Info, "request /x?y=1")),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&(LogLevel::Info, "stdout line from guest")),
        "{msgs:?}"
    );
    assert!(msgs.contains(&(LogLevel::Debug, "on_log")), "{msgs:?}");
    let names: Vec<_> = vm.foreign_calls().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["clear_route_cache", "no_such_function"]);
}

#[test]
fn vm_and_plugin_configuration_are_read_at_start() {
    let host = common::host_with(
        "headers",
        HostConfig {
            plugin_config: b"1.2.3.4:5".to_vec(),
            vm_config: b"vmconf".to_vec(),
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().unwrap();
    assert!(vm
        .logs()
        .iter()
        .any(|l| l.message == "vm start: size=6 config=Some(\"vmconf\")"));
    let ex = vm.run_http(&Request::get("/"), |_| None).unwrap();
    assert_eq!(
        ex.request_header("x-gateway-destination-endpoint"),
        Some("1.2.3.4:5")
    );
    assert_eq!(ex.status, Some(503));
}

#[test]
fn seeded_randomness_replays_and_differs_by_seed() {
    let random = |seed| {
        let host = common::host_with(
            "headers",
            HostConfig {
                seed,
                plugin_config: b"e".to_vec(),
                ..HostConfig::default()
            },
        );
        let mut vm = host.start_vm().unwrap();
        let ex = vm.run_http(&Request::get("/"), |_| None).unwrap();
        ex.request_header("x-random").map(str::to_string)
    };
    assert_eq!(random(7), random(7));
    assert_ne!(random(7), random(8));
}

#[test]
fn request_body_is_read_and_replaced() {
    let host = common::host("headers", "e");
    let mut vm = host.start_vm().unwrap();
    let mut s = vm.http_stream().unwrap();
    let req = Request::get("/upload");
    assert_eq!(
        s.on_request_headers(req.header_map(), false).unwrap(),
        FilterOutcome::Continue
    );
    assert_eq!(
        s.on_request_body(b"abc", true).unwrap(),
        FilterOutcome::Continue
    );
    assert_eq!(s.data().request_body.as_deref(), Some(&b"seen:abc"[..]));
    s.finish().unwrap();
}

#[test]
fn local_response_goes_through_the_filter() {
    let host = common::host("local_response", "");
    let mut vm = host.start_vm().unwrap();
    let ex = vm.run_http(&Request::get("/deny"), backend(200)).unwrap();
    let local = ex.local_response.clone().expect("local response");
    assert_eq!(
        (local.status, local.body.as_str()),
        (403, "denied by filter")
    );
    assert_eq!(ex.status, Some(403));
    assert_eq!(ex.response_header("x-deny"), Some("yes"));
    assert_eq!(ex.response_header("x-filter-status"), Some("403"));
    let ok = vm.run_http(&Request::get("/fine"), backend(204)).unwrap();
    assert_eq!((ok.status, ok.local_response.is_none()), (Some(204), true));
    assert_eq!(ok.response_header("x-filter-status"), Some("204"));
}

fn scripted(status: u16, body: &str) -> HostConfig {
    let mut c = HostConfig::default();
    let answer = ScriptedResponse {
        status,
        body: body.as_bytes().to_vec(),
        ..ScriptedResponse::default()
    };
    c.clusters.insert("auth".into(), Upstream::Scripted(answer));
    c
}

#[test]
fn callout_pauses_then_resumes() {
    let mut vm = common::host_with("callout", scripted(200, "ok-body"))
        .start_vm()
        .unwrap();
    let ex = vm.run_http(&Request::get("/a"), backend(200)).unwrap();
    assert_eq!(ex.request_outcome, FilterOutcome::Continue);
    assert_eq!(ex.request_header("x-auth-status"), Some("200"));
    assert_eq!(ex.request_header("x-auth-body"), Some("ok-body"));
    assert_eq!(ex.request_header("x-auth-token"), Some("4"));
    assert_eq!(ex.status, Some(200));
}

#[test]
fn callout_denial_and_unknown_cluster() {
    let mut vm = common::host_with("callout", scripted(403, "no"))
        .start_vm()
        .unwrap();
    let ex = vm.run_http(&Request::get("/a"), backend(200)).unwrap();
    assert_eq!(ex.status, Some(401));
    assert_eq!(ex.response_header("x-auth-status"), Some("403"));
    let bad = vm
        .run_http(&Request::get("/bad-cluster"), backend(200))
        .unwrap();
    assert_eq!(bad.status, Some(502));
    assert_eq!(
        bad.local_response.unwrap().body,
        "dispatch failed: BadArgument"
    );
}

#[test]
fn callout_to_a_real_loopback_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = sock.read(&mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).into_owned();
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nreal")
            .unwrap();
        req
    });
    let mut c = HostConfig::default();
    c.clusters.insert("auth".into(), Upstream::Address(addr));
    let mut vm = common::host_with("callout", c).start_vm().unwrap();
    let ex = vm.run_http(&Request::get("/r"), backend(200)).unwrap();
    assert_eq!(ex.request_header("x-auth-body"), Some("real"));
    let seen = server.join().unwrap();
    assert!(seen.starts_with("GET /check HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("x-for: /r\r\n"), "{seen}");
}

#[test]
fn callout_connection_failure_is_a_503_answer() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut c = HostConfig::default();
    c.clusters.insert("auth".into(), Upstream::Address(port));
    let mut vm = common::host_with("callout", c).start_vm().unwrap();
    let ex = vm.run_http(&Request::get("/r"), backend(200)).unwrap();
    assert_eq!(ex.status, Some(401));
    assert_eq!(ex.response_header("x-auth-status"), Some("503"));
}
