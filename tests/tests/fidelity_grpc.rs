//! Fidelity of gRPC calls (and of where callout answers go) against real
//! Envoy 1.40: `grpc_authz.wat` asks a
//! gRPC service about every request. In Envoy the service is a real gRPC
//! server on loopback (HTTP/2) answering with a script; in the host the same
//! script is the cluster's `Upstream::Grpc`. What the module saw (callback,
//! context, token, message, status and status message) comes back to the
//! client as a local reply and must be the same on both sides.

mod fidelity_support;

use edgepick_host::{HostConfig, LogLevel, ScriptedGrpc, Upstream};
use edgepick_tests::harness::{request_once, EnvoyBuilder};
use fidelity_support::grpc_server::GrpcServer;
use fidelity_support::*;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Cluster `grpc` speaking HTTP/2 to `addr`, as a gRPC service is declared.
fn grpc_cluster(addr: SocketAddr) -> serde_json::Value {
    json!({
        "name": "grpc",
        "connect_timeout": "2s",
        "type": "STATIC",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http2_protocol_options": {} }
            }
        },
        "load_assignment": { "cluster_name": "grpc", "endpoints": [{ "lb_endpoints": [{
            "endpoint": { "address": { "socket_address": {
                "address": addr.ip().to_string(), "port_value": addr.port() } } } }] }] }
    })
}

/// Requests `paths` through `grpc_authz.wat` calling cluster `cluster` (the
/// plugin configuration), with `answer` from a real gRPC server in Envoy and
/// scripted in the host; returns (Envoy's, the host's) local bodies and what
/// the server received.
fn both(answer: ScriptedGrpc, cluster: &str, paths: &[&str]) -> Vec<(u16, String)> {
    let wasm = wat_guest("grpc_authz");
    let echo = Echo::start();
    let server = GrpcServer::start(answer.clone());
    let envoy = EnvoyBuilder::new(&wasm, cluster)
        .endpoints(&[echo.addr])
        .cluster(grpc_cluster(server.addr))
        .num_retries(0)
        .start()
        .expect("envoy starts");
    let mut config = HostConfig {
        plugin_config: cluster.as_bytes().to_vec(),
        ..HostConfig::default()
    };
    config
        .clusters
        .insert("grpc".into(), Upstream::Grpc(answer));
    let host = host_for(&wasm, config);
    let mut vm = host.start_vm().expect("vm starts");
    let mut d = Vec::new();
    let mut seen = Vec::new();
    for path in paths {
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, path, &[]).expect("request through envoy"),
        );
        let h = host_run(&mut vm, &echo, &host_request(&envoy, path, LOCAL, &[]));
        d.extend(differences(path, &e, &h, &[], &[]));
        seen.push((e.status, e.local_body.unwrap_or_default()));
    }
    assert_same(d);
    if cluster == "grpc" {
        let sent: Vec<Vec<u8>> = paths.iter().map(|p| p.as_bytes().to_vec()).collect();
        assert_eq!(
            server.received(),
            sent,
            "the gRPC server got other messages"
        );
    }
    seen
}

#[test]
fn a_grpc_answer_with_a_message_reaches_the_root_context_as_in_envoy() {
    let answer = ScriptedGrpc {
        status: 0,
        message: Some(b"allow".to_vec()),
        status_message: String::new(),
    };
    let seen = both(answer, "grpc", &["/a", "/b"]);
    assert_eq!(
        seen,
        [
            (200, "receive ctx=root token=5 size=5 message=allow".into()),
            (200, "receive ctx=root token=9 size=5 message=allow".into()),
        ]
    );
}

#[test]
fn a_grpc_error_status_closes_the_call_as_in_envoy() {
    let answer = ScriptedGrpc {
        status: 7,
        message: None,
        status_message: "not yours".into(),
    };
    let seen = both(answer, "grpc", &["/private"]);
    // Envoy marks a status message that came from the upstream.
    assert_eq!(
        seen,
        [(
            403,
            "close ctx=root token=5 status=7 get_status=7 message=not yours{via_upstream}".into()
        )]
    );
    let answer = ScriptedGrpc {
        status: 14,
        message: Some(b"ignored".to_vec()),
        status_message: String::new(),
    };
    let seen = both(answer, "grpc", &["/down"]);
    assert_eq!(
        seen,
        [(
            403,
            "close ctx=root token=5 status=14 get_status=14 message=via_upstream".into()
        )]
    );
}

#[test]
fn an_ok_status_without_a_message_closes_with_internal_as_in_envoy() {
    let seen = both(ScriptedGrpc::default(), "grpc", &["/empty"]);
    assert_eq!(
        seen,
        [(
            403,
            "close ctx=root token=5 status=13 get_status=13 message=".into()
        )]
    );
}

#[test]
fn a_grpc_call_to_an_unknown_cluster_is_refused_as_in_envoy() {
    let seen = both(ScriptedGrpc::default(), "nowhere", &["/x"]);
    // ParseFailure: the name is neither a GrpcService nor a cluster.
    assert_eq!(seen, [(503, "dispatch 4".into())]);
}

#[test]
fn http_callout_answers_reach_the_root_context_as_in_envoy() {
    // Envoy makes every callout for the caller's root context: the answer
    // comes there, not to the stream that called.
    let wasm = wat_guest("callout_context");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let mut config = HostConfig::default();
    config
        .clusters
        .insert("edgepick".into(), Upstream::Address(echo.addr));
    let host = host_for(&wasm, config);
    let mut vm = host.start_vm().expect("vm starts");
    let mut d = Vec::new();
    let mut seen = Vec::new();
    for path in ["/c1", "/c2"] {
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, path, &[]).expect("request through envoy"),
        );
        let h = host_run(&mut vm, &echo, &host_request(&envoy, path, LOCAL, &[]));
        d.extend(differences(path, &e, &h, &[], &[]));
        seen.push(e.local_body.unwrap_or_default());
    }
    assert_same(d);
    assert_eq!(
        seen,
        [
            "http ctx=root token=4 body=7",
            "http ctx=root token=8 body=7"
        ]
    );
}

#[test]
fn grpc_to_a_cluster_not_scripted_for_it_is_refused_with_a_reason() {
    // Envoy would call this cluster; the host carries no gRPC to a real
    // server, so it refuses the call as Envoy refuses an unknown cluster and
    // says why (host only: there is nothing to compare).
    let wasm = wat_guest("grpc_authz");
    let echo = Echo::start();
    let mut config = HostConfig {
        plugin_config: b"plain".to_vec(),
        ..HostConfig::default()
    };
    config
        .clusters
        .insert("plain".into(), Upstream::Address(echo.addr));
    let host = host_for(&wasm, config);
    let mut vm = host.start_vm().expect("vm starts");
    let ex = vm
        .run_http(&edgepick_host::Request::get("/x"), |fwd| {
            Some(echo.simulate(fwd))
        })
        .expect("runs");
    assert_eq!(ex.status, Some(503));
    let body = ex.local_response.as_ref().map(|l| l.body.as_str());
    assert_eq!(body, Some("dispatch 4"));
    assert!(
        ex.logs.iter().any(|l| l.level == LogLevel::Warn
            && l.message
                .contains("proxy_grpc_call to cluster \"plain\" refused")
            && l.message.contains("--grpc-scripted")),
        "no log line says why: {:?}",
        ex.logs
    );
}
