//! The Envoy bootstrap the tests and the demo run: the shipped
//! `deploy/envoy.yaml` itself, with only what a test must choose substituted —
//! ports (loopback), the cluster's endpoints, the filter's module path and JSON
//! configuration, the wasm plugin's name and `fail_open`, the route's timeouts
//! and retry count, and `xff_num_trusted_hops` set from the filter's own
//! `client.trusted_hops` (the two must agree, as the shipped file says).
//! Everything else — `use_remote_address`, circuit breakers, the retry
//! conditions, the `override_host` policy — is exactly what users copy.
//!
//! The output is JSON, which is also YAML, so the filter's JSON configuration
//! needs no escaping beyond JSON's own.

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The request header the filter writes and `override_host` reads.
pub const DESTINATION_HEADER: &str = "x-gateway-destination-endpoint";

/// The shipped Envoy configuration (`deploy/envoy.yaml`).
pub fn deploy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/envoy.yaml")
}

/// `deploy/envoy.yaml`, parsed.
pub fn shipped() -> anyhow::Result<Value> {
    let path = deploy_file();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// One listener of the bootstrap.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    /// Loopback port.
    pub port: u16,
    /// The filter's JSON configuration; None runs no wasm filter on this listener.
    pub filter_config: Option<String>,
    /// The filter VM's environment (`vm_config.environment_variables.key_values`).
    pub vm_env: Vec<(String, String)>,
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
    /// Clusters added beside `edgepick` (Envoy's own JSON form).
    pub extra_clusters: &'a [Value],
    /// HTTP filters inserted just before the wasm filter (Envoy's JSON form).
    pub filters_before_wasm: &'a [Value],
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// `doc[pointer]`, or an error naming what the shipped file lacks.
fn at<'v>(doc: &'v mut Value, pointer: &str) -> anyhow::Result<&'v mut Value> {
    doc.pointer_mut(pointer)
        .ok_or_else(|| anyhow!("deploy/envoy.yaml has no {pointer}"))
}

/// `client.trusted_hops` of a filter configuration (0 when absent or unreadable:
/// a configuration the filter refuses is tested for its refusal, not its hops).
fn trusted_hops(config_json: &str) -> u64 {
    serde_json::from_str::<Value>(config_json)
        .ok()
        .and_then(|v| v.pointer("/client/trusted_hops")?.as_u64())
        .unwrap_or(0)
}

/// The shipped wasm filter with this listener's plugin name, configuration
/// and module.
fn wasm_filter(
    mut filter: Value,
    wasm: &Path,
    l: &ListenerSpec,
    config: &str,
    index: usize,
    fail_open: bool,
) -> anyhow::Result<Value> {
    let c = at(&mut filter, "/typed_config/config")?;
    c["name"] = json!(if index == 0 {
        "edgepick".to_string()
    } else {
        format!("edgepick-{index}")
    });
    c["fail_open"] = json!(fail_open);
    *at(c, "/configuration/value")? = json!(config);
    *at(c, "/vm_config/code/local/filename")? = json!(wasm.display().to_string());
    if !l.vm_env.is_empty() {
        let env: serde_json::Map<String, Value> = l
            .vm_env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        // Beside the shipped `host_env_keys`, as a control plane would send them.
        let vars = &mut at(c, "/vm_config")?["environment_variables"];
        if !vars.is_object() {
            *vars = json!({});
        }
        vars["key_values"] = json!(env);
    }
    Ok(filter)
}

/// With `EDGEPICK_UPSTREAM_LOG=<file>` set, the router logs every upstream
/// try there (time, path, host, status, response flags, the filter's ranked
/// list, connection id, duration): a debugging aid for the failover tests,
/// off by default.
fn upstream_log(filters: &mut [Value]) {
    let Ok(path) = std::env::var("EDGEPICK_UPSTREAM_LOG") else {
        return;
    };
    let format = "%START_TIME(%s.%3f)% %REQ(:PATH)% host=%UPSTREAM_HOST% \
        code=%RESPONSE_CODE% flags=%RESPONSE_FLAGS% list=%REQ(X-GATEWAY-DESTINATION-ENDPOINT)% \
        fail=%UPSTREAM_TRANSPORT_FAILURE_REASON% dur=%DURATION% cx=%UPSTREAM_CONNECTION_ID%\n";
    if let Some(router) = filters
        .iter_mut()
        .find(|f| f["name"] == "envoy.filters.http.router")
    {
        router["typed_config"]["upstream_log"] = json!([{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path,
                "log_format": { "text_format_source": { "inline_string": format } }
            }
        }]);
    }
}

/// Listener number `index` (its name and the plugin name derive from it),
/// made from the shipped file's first listener.
pub fn listener(
    shipped: &Value,
    spec: &BootstrapSpec<'_>,
    index: usize,
    l: &ListenerSpec,
) -> anyhow::Result<Value> {
    let mut v = shipped
        .pointer("/static_resources/listeners/0")
        .cloned()
        .ok_or_else(|| anyhow!("deploy/envoy.yaml has no listener"))?;
    v["name"] = json!(format!("listener_{index}"));
    *at(&mut v, "/address/socket_address")? =
        json!({ "address": "127.0.0.1", "port_value": l.port });
    let hcm = at(&mut v, "/filter_chains/0/filters/0/typed_config")?;
    hcm["stat_prefix"] = json!(format!("ingress_{index}"));
    hcm["xff_num_trusted_hops"] = json!(l.filter_config.as_deref().map_or(0, trusted_hops));
    at(hcm, "/route_config")?["name"] = json!(format!("route_{index}"));
    let route = at(hcm, "/route_config/virtual_hosts/0/routes/0/route")?;
    route["timeout"] = json!(secs(spec.route_timeout_ms));
    let retry = at(route, "/retry_policy")?;
    retry["num_retries"] = json!(spec.num_retries);
    retry["per_try_timeout"] = json!(secs(spec.per_try_timeout_ms));
    let filters = at(hcm, "/http_filters")?
        .as_array_mut()
        .ok_or_else(|| anyhow!("deploy/envoy.yaml: http_filters is not a list"))?;
    let wasm_at = filters
        .iter()
        .position(|f| f["name"] == "envoy.filters.http.wasm")
        .ok_or_else(|| anyhow!("deploy/envoy.yaml has no envoy.filters.http.wasm filter"))?;
    upstream_log(filters);
    let shipped_filter = filters.remove(wasm_at);
    for (i, f) in spec.filters_before_wasm.iter().enumerate() {
        filters.insert(wasm_at + i, f.clone());
    }
    let wasm_at = wasm_at + spec.filters_before_wasm.len();
    if let (Some(cfg), Some(wasm)) = (&l.filter_config, spec.wasm) {
        filters.insert(
            wasm_at,
            wasm_filter(shipped_filter, wasm, l, cfg, index, spec.fail_open)?,
        );
    }
    Ok(v)
}

/// The bootstrap document: the shipped file with the spec's ports, endpoints,
/// listeners and module substituted.
pub fn bootstrap(spec: &BootstrapSpec<'_>) -> anyhow::Result<Value> {
    let mut doc = shipped()?;
    let listeners = spec
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| listener(&doc, spec, i, l))
        .collect::<anyhow::Result<Vec<Value>>>()?;
    let endpoints: Vec<Value> = spec
        .endpoints
        .iter()
        .map(|a| {
            json!({ "endpoint": { "address": { "socket_address": {
                "address": a.ip().to_string(), "port_value": a.port() } } } })
        })
        .collect();
    doc["node"] = json!({ "id": "edgepick-e2e", "cluster": "edgepick-e2e" });
    *at(&mut doc, "/admin/address/socket_address")? =
        json!({ "address": "127.0.0.1", "port_value": spec.admin_port });
    *at(&mut doc, "/static_resources/listeners")? = json!(listeners);
    let clusters = at(&mut doc, "/static_resources/clusters")?
        .as_array_mut()
        .ok_or_else(|| anyhow!("deploy/envoy.yaml: clusters is not a list"))?;
    let cluster = clusters
        .iter_mut()
        .find(|c| c["name"] == "edgepick")
        .ok_or_else(|| anyhow!("deploy/envoy.yaml has no cluster named edgepick"))?;
    *at(cluster, "/load_assignment/endpoints")? = json!([{ "lb_endpoints": endpoints }]);
    clusters.extend(spec.extra_clusters.iter().cloned());
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
    Ok(doc)
}

/// An LDS file (`DiscoveryResponse` form) holding `listeners`, numbered from `first_index`.
pub fn lds_document(
    spec: &BootstrapSpec<'_>,
    first_index: usize,
    listeners: &[ListenerSpec],
    version: u64,
) -> anyhow::Result<Value> {
    let shipped = shipped()?;
    let resources = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut v = listener(&shipped, spec, first_index + i, l)?;
            v["@type"] = json!("type.googleapis.com/envoy.config.listener.v3.Listener");
            Ok(v)
        })
        .collect::<anyhow::Result<Vec<Value>>>()?;
    Ok(json!({ "version_info": version.to_string(), "resources": resources }))
}
