//! The Envoy bootstrap the tests and the demo run: listeners on loopback, each
//! optionally with the edgepick wasm filter; one STATIC cluster `edgepick` holding
//! every backend under the `override_host` load-balancing policy (round robin
//! fallback); retries that walk the filter's ranked list.
//!
//! The document is written as JSON, which is also YAML, so the filter's JSON
//! configuration needs no escaping beyond JSON's own.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;

/// The request header the filter writes and `override_host` reads.
pub const DESTINATION_HEADER: &str = "x-gateway-destination-endpoint";

/// One listener of the bootstrap.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// Loopback port.
    pub port: u16,
    /// The filter's JSON configuration; None runs no wasm filter on this listener.
    pub filter_config: Option<String>,
}

/// Everything the bootstrap depends on.
#[derive(Debug, Clone)]
pub struct BootstrapSpec<'a> {
    /// Admin port on 127.0.0.1.
    pub admin_port: u16,
    /// Listeners, in order.
    pub listeners: &'a [ListenerSpec],
    /// Endpoints of cluster `edgepick`.
    pub endpoints: &'a [SocketAddr],
    /// The filter module, needed when a listener has a filter.
    pub wasm: Option<&'a Path>,
    /// Retries per request (`num_retries`).
    pub num_retries: u32,
    /// Whole-request route timeout, ms.
    pub route_timeout_ms: u64,
    /// Per-try timeout, ms.
    pub per_try_timeout_ms: u64,
    /// Envoy's `fail_open` for the wasm filter.
    pub fail_open: bool,
    /// Also read listeners from this LDS file (see [`lds_document`]).
    pub lds_path: Option<&'a Path>,
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn wasm_filter(wasm: &Path, config: &str, index: usize, fail_open: bool) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": if index == 0 { "edgepick".to_string() } else { format!("edgepick-{index}") },
                "fail_open": fail_open,
                "configuration": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": config },
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": wasm.display().to_string() } }
                }
            }
        }
    })
}

/// Listener number `index` (its name and the plugin name derive from it).
pub fn listener(spec: &BootstrapSpec<'_>, index: usize, l: &ListenerSpec) -> Value {
    let mut filters = Vec::new();
    if let (Some(cfg), Some(wasm)) = (&l.filter_config, spec.wasm) {
        filters.push(wasm_filter(wasm, cfg, index, spec.fail_open));
    }
    filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    }));
    json!({
        "name": format!("listener_{index}"),
        "address": { "socket_address": { "address": "127.0.0.1", "port_value": l.port } },
        "filter_chains": [{ "filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": format!("ingress_{index}"),
                "route_config": {
                    "name": format!("route_{index}"),
                    "virtual_hosts": [{
                        "name": "all",
                        "domains": ["*"],
                        "routes": [{
                            "match": { "prefix": "/" },
                            "route": {
                                "cluster": "edgepick",
                                "timeout": secs(spec.route_timeout_ms),
                                "retry_policy": {
                                    "retry_on": "connect-failure,refused-stream,reset,5xx",
                                    "num_retries": spec.num_retries,
                                    "per_try_timeout": secs(spec.per_try_timeout_ms)
                                }
                            }
                        }]
                    }]
                },
                "http_filters": filters
            }
        }]}]
    })
}

/// The bootstrap document.
pub fn bootstrap(spec: &BootstrapSpec<'_>) -> Value {
    let endpoints: Vec<Value> = spec
        .endpoints
        .iter()
        .map(|a| {
            json!({ "endpoint": { "address": { "socket_address": {
                "address": a.ip().to_string(), "port_value": a.port() } } } })
        })
        .collect();
    let listeners: Vec<Value> = spec
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| listener(spec, i, l))
        .collect();
    let mut doc = json!({
        "node": { "id": "edgepick-e2e", "cluster": "edgepick-e2e" },
        "admin": { "address": { "socket_address": { "address": "127.0.0.1", "port_value": spec.admin_port } } },
        "static_resources": {
            "listeners": listeners,
            "clusters": [{
                "name": "edgepick",
                "type": "STATIC",
                "connect_timeout": "0.5s",
                // Retries under load must not hit Envoy's default of 3 concurrent retries.
                "circuit_breakers": { "thresholds": [{
                    "max_connections": 10000, "max_pending_requests": 10000,
                    "max_requests": 10000, "max_retries": 10000
                }] },
                "load_balancing_policy": { "policies": [{ "typed_extension_config": {
                    "name": "envoy.load_balancing_policies.override_host",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
                        "override_host_sources": [{ "header": DESTINATION_HEADER }],
                        "fallback_policy": { "policies": [{ "typed_extension_config": {
                            "name": "envoy.load_balancing_policies.round_robin",
                            "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin"
                            }
                        } }] }
                    }
                } }] },
                "load_assignment": { "cluster_name": "edgepick", "endpoints": [{ "lb_endpoints": endpoints }] }
            }]
        }
    });
    if let Some(lds) = spec.lds_path {
        let dir = lds
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        doc["dynamic_resources"] = json!({ "lds_config": {
            "resource_api_version": "V3",
            "path_config_source": { "path": lds.display().to_string(), "watched_directory": { "path": dir } }
        } });
    }
    doc
}

/// An LDS file (`DiscoveryResponse` form) holding `listeners`, numbered from `first_index`.
pub fn lds_document(
    spec: &BootstrapSpec<'_>,
    first_index: usize,
    listeners: &[ListenerSpec],
    version: u64,
) -> Value {
    let resources: Vec<Value> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut v = listener(spec, first_index + i, l);
            v["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
            v
        })
        .collect();
    json!({ "version_info": version.to_string(), "resources": resources })
}
