//! What one bench variant runs: the backends' ports, the Envoy bootstrap
//! (native policy, `override_host` behind a wasm filter, or edgepick as
//! `deploy/envoy.yaml` runs it) and the traffic wrk sends.

use crate::bench::fetch_cookie;
use anyhow::Result;
use edgepick_filter::headers::{UPSTREAM_FORMAT, UPSTREAM_HEADER};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Ports of the nginx backends; a variant uses the first 3 or all 64.
pub(crate) const BACKENDS: [u16; 64] = {
    let mut p = [0u16; 64];
    let mut i = 0;
    while i < 64 {
        p[i] = 18101 + i as u16;
        i += 1;
    }
    p
};
/// The backend counts variants run at.
pub(crate) const FEW: usize = 3;
pub(crate) const MANY: usize = 64;
pub(crate) const ENVOY_PORT: u16 = 18080;
pub(crate) const ADMIN_PORT: u16 = 18081;
pub(crate) const KEY: &str = "bench-signing-key-0123456789abcdef";

pub(crate) fn endpoints() -> String {
    endpoints_of(FEW)
}

/// `127.0.0.1:<port>,…` of the first `n` backends.
pub(crate) fn endpoints_of(n: usize) -> String {
    BACKENDS[..n]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// How Envoy is set up for one variant.
pub(crate) enum Setup {
    Native(&'static str),
    /// `override_host`, optionally behind a wasm filter (module, configuration).
    OverrideHost(Option<(PathBuf, String)>),
    /// edgepick's filter (module, configuration) as `deploy/envoy.yaml` runs
    /// it, with (or, to measure what it saves, without) the virtual host's
    /// `include_attempt_count_in_response`; also the minimal filter's
    /// hostcall probes, in the same set-up.
    Edgepick(PathBuf, String, Signal),
    /// edgepick's native load-balancing policy (`libedgepick_envoy.so`) with
    /// this configuration, and its HTTP filters as chosen.
    Module(String, ModuleFilters),
}

/// The native module's HTTP filters in a variant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModuleFilters {
    /// As `deploy/envoy-native.yaml` runs them: none without a cookie; with
    /// one, the cookie filter and (unless `"strip":false`) the upstream one.
    AsDeployed,
    /// One dynamic-module HTTP filter before the router that reads the
    /// request's `Cookie` header and finds none (the strip role, sent no
    /// cookie): what Envoy charges for hosting any such filter, plus one
    /// header read, the least a cookie filter does.
    OneReader,
}

/// What the virtual host tells a filter about the upstream's answer.
#[derive(Clone, Copy)]
pub(crate) enum Signal {
    /// Nothing: the filter reads `:status` and asks for `upstream.address`.
    None,
    /// `include_attempt_count_in_response` (`x-envoy-attempt-count`).
    AttemptCount,
    /// `deploy/envoy.yaml`'s `x-edgepick-upstream` response header: Envoy's
    /// try count and the upstream's status in one value.
    Upstream,
}

/// What the load generator sends.
pub(crate) enum Client {
    Plain,
    /// One extra request header.
    Header(String),
    /// The session cookie the filter set on a first request.
    HeldCookie,
}

/// One Envoy set-up and its traffic.
pub(crate) struct Variant {
    pub(crate) name: &'static str,
    /// Backends in the cluster (and in the filter's configuration).
    pub(crate) backends: usize,
    pub(crate) setup: Setup,
    pub(crate) client: Client,
}

impl Variant {
    /// The extra request headers (`HeldCookie` asks the running Envoy for one).
    pub(crate) fn headers(&self) -> Result<Vec<String>> {
        Ok(match &self.client {
            Client::Plain => Vec::new(),
            Client::Header(h) => vec![h.clone()],
            Client::HeldCookie => vec![format!("cookie: {}", fetch_cookie()?)],
        })
    }
}

/// The bootstrap for one variant, as JSON (which Envoy reads as YAML).
pub(crate) fn envoy_yaml(setup: &Setup, backends: usize) -> String {
    let sock =
        |port: u16| json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } });
    let mut cluster = json!({
        "name": "backends",
        "connect_timeout": "1s",
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": "backends",
            "endpoints": [{ "lb_endpoints": BACKENDS[..backends].iter().map(|&p| json!({ "endpoint": { "address": sock(p) } })).collect::<Vec<_>>() }]
        }
    });
    match setup {
        Setup::Module(cfg, _) => {
            cluster["load_balancing_policy"] = json!({ "policies": [{ "typed_extension_config": {
                "name": "envoy.load_balancing_policies.dynamic_modules",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.dynamic_modules.v3.DynamicModulesLoadBalancerConfig",
                    "dynamic_module_config": { "name": "edgepick_envoy" },
                    "lb_policy_name": "edgepick",
                    "lb_policy_config": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": cfg }
                }
            }}]});
        }
        Setup::Native("ring_hash") => cluster["lb_policy"] = json!("RING_HASH"),
        Setup::Native(_) => cluster["lb_policy"] = json!("ROUND_ROBIN"),
        Setup::OverrideHost(_) | Setup::Edgepick(..) => {
            cluster["load_balancing_policy"] = json!({ "policies": [{ "typed_extension_config": {
                "name": "envoy.load_balancing_policies.override_host",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
                    "override_host_sources": [{ "header": "x-gateway-destination-endpoint" }],
                    "fallback_policy": { "policies": [{ "typed_extension_config": {
                        "name": "envoy.load_balancing_policies.round_robin",
                        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin" }
                    }}]}
                }
            }}]});
        }
    }
    let mut route = json!({
        "cluster": "backends",
        "retry_policy": { "retry_on": "connect-failure,refused-stream,reset", "num_retries": 2 }
    });
    if matches!(setup, Setup::Native("ring_hash")) {
        route["hash_policy"] = json!([{ "header": { "header_name": "x-user" } }]);
    }
    let rule = json!({ "match": { "prefix": "/" }, "route": route });
    let mut vhost = json!({ "name": "all", "domains": ["*"], "routes": [rule] });
    let filter = match setup {
        Setup::OverrideHost(Some((wasm, cfg))) => Some((wasm, cfg)),
        Setup::Edgepick(wasm, cfg, signal) => {
            match signal {
                Signal::None => {}
                Signal::AttemptCount => vhost["include_attempt_count_in_response"] = json!(true),
                Signal::Upstream => {
                    vhost["response_headers_to_add"] = json!([{
                        "header": { "key": UPSTREAM_HEADER, "value": UPSTREAM_FORMAT },
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"
                    }])
                }
            }
            Some((wasm, cfg))
        }
        _ => None,
    };
    let mut http_filters = Vec::new();
    if matches!(setup, Setup::Native("stateful_session")) {
        // Envoy's own sticky sessions: the host's address in a cookie.
        http_filters.push(json!({
            "name": "envoy.filters.http.stateful_session",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession",
                "session_state": {
                    "name": "envoy.http.stateful_session.cookie",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState",
                        "cookie": { "name": "envoy-session", "path": "/", "ttl": "3600s" }
                    }
                }
            }
        }));
    }
    if let Some((wasm, cfg)) = filter {
        http_filters.push(json!({
            "name": "envoy.filters.http.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": {
                    "name": "bench",
                    "configuration": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": cfg },
                    "vm_config": { "runtime": "envoy.wasm.runtime.v8", "code": { "local": { "filename": wasm.display().to_string() } } }
                }
            }
        }));
    }
    let mut router = json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    });
    if let Setup::Module(cfg, filters) = setup {
        module_cookie_filters(cfg, *filters, &mut http_filters, &mut router);
    }
    http_filters.push(router);
    json!({
        "admin": { "address": sock(ADMIN_PORT) },
        // No periodic stats flush (every 5 s by default): a 10 s window
        // held two or three of them, which moved the idle count by a third.
        "stats_flush_on_admin": true,
        "static_resources": {
            "listeners": [{
                "address": sock(ENVOY_PORT),
                "filter_chains": [{ "filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "bench",
                        "route_config": { "virtual_hosts": [vhost] },
                        "http_filters": http_filters
                    }
                }]}]
            }],
            "clusters": [cluster]
        }
    })
    .to_string()
}

/// The native module's session-cookie filters for a document with a cookie
/// (as `deploy/envoy-native.yaml`): `edgepick` before the router, and
/// `edgepick_strip` upstream unless the document says `"strip":false`.
fn module_cookie_filters(
    cfg: &str,
    filters: ModuleFilters,
    http_filters: &mut Vec<Value>,
    router: &mut Value,
) {
    if !cfg.contains("\"cookie\"") {
        return;
    }
    let filter = |role: &str| {
        json!({
            "name": "envoy.filters.http.dynamic_modules",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
                "dynamic_module_config": { "name": "edgepick_envoy" },
                "filter_name": role,
                "filter_config": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": cfg }
            }
        })
    };
    if filters == ModuleFilters::OneReader {
        http_filters.push(filter("edgepick_strip"));
        return;
    }
    http_filters.push(filter("edgepick"));
    if !cfg.contains("\"strip\":false") {
        router["typed_config"]["upstream_http_filters"] = json!([
            filter("edgepick_strip"),
            { "name": "envoy.filters.http.upstream_codec",
              "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec" } }
        ]);
    }
}

/// Envoy's command line for a bench variant: one worker, its own base id.
pub(crate) fn envoy_args(yaml: &Path, base_id: u16) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = vec!["-c".into(), yaml.into()];
    for s in [
        "--concurrency",
        "1",
        "--base-id",
        &base_id.to_string(),
        "--log-level",
        "warn",
    ] {
        a.push(s.into());
    }
    a
}

pub(crate) fn edgepick_config(algorithm: &str, cookie: bool, n: usize) -> String {
    let backends: Vec<String> = BACKENDS[..n]
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{{\"name\":\"n{i}\",\"address\":\"127.0.0.1:{p}\",\"link\":{{\"bandwidth_mbps\":{}}}}}", 100 * (i + 1)))
        .collect();
    let cookie = if cookie {
        format!(",\"cookie\":{{\"keys\":[\"{KEY}\"]}}")
    } else {
        String::new()
    };
    format!(
        "{{\"algorithm\":{{\"name\":\"{algorithm}\"}}{cookie},\"health\":{{\"panic_threshold\":0}},\"backends\":[{}]}}",
        backends.join(",")
    )
}

/// A `Cookie` header as a client of edgepick's sticky sessions sends it
/// (the bench document's cookie, signed for `n0`): for the rows that carry
/// the same bytes through Envoy without edgepick reading them.
pub(crate) fn session_cookie_header() -> String {
    let cfg = edgepick_core::config::Config::from_json(&edgepick_config("rfws", true, FEW))
        .expect("the bench document is valid");
    let cookie = cfg.cookie.expect("the bench document has a cookie");
    let signer = edgepick_core::cookie::Signer::new(&cookie);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let set = signer.set_cookie(&signer.sign("n0", now_ms));
    format!("cookie: {}", set.split(';').next().unwrap_or_default())
}
