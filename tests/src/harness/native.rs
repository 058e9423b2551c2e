//! Envoy running the native load-balancing policy (`libedgepick_envoy.so`),
//! from the shipped `deploy/envoy-native.yaml` (STATIC endpoints) or
//! `deploy/envoy-native-eds.yaml` (endpoints from an EDS file the test can
//! rewrite under traffic). Substituted: ports, the endpoints (and their
//! metadata), the policy's JSON document, the route's retry count and
//! `xff_num_trusted_hops` (from the document's `client.trusted_hops`).
//! Listener `i` routes to its own cluster with configuration `i`.
//!
//! The module comes from `EDGEPICK_NATIVE_MODULE` (set by `cargo xtask
//! test`); Envoy finds it through `ENVOY_DYNAMIC_MODULES_SEARCH_PATH`.

use super::envoy::{launch, scratch_dir, Launch};
use super::{envoy_binary, free_port, required_file, Envoy, EnvoyBuilder};
use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The native module (`EDGEPICK_NATIVE_MODULE`); panics with instructions when unset.
pub fn native_module() -> PathBuf {
    required_file(
        "EDGEPICK_NATIVE_MODULE",
        "the native module (libedgepick_envoy.so)",
    )
}

/// A shipped native deployment file.
pub fn deploy_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name)
}

fn shipped(name: &str) -> anyhow::Result<Value> {
    let path = deploy_file(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn at<'v>(doc: &'v mut Value, pointer: &str) -> anyhow::Result<&'v mut Value> {
    doc.pointer_mut(pointer)
        .ok_or_else(|| anyhow!("the native deploy file has no {pointer}"))
}

/// One endpoint: address and `filter_metadata.edgepick` (None: no metadata).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `ip:port`.
    pub address: SocketAddr,
    /// Envoy's `load_balancing_weight`.
    pub weight: Option<u32>,
    /// Metadata under the `edgepick` namespace.
    pub metadata: Option<Value>,
}

impl From<SocketAddr> for Endpoint {
    fn from(address: SocketAddr) -> Self {
        Endpoint {
            address,
            weight: None,
            metadata: None,
        }
    }
}

/// `lb_endpoints` for `endpoints`.
pub fn lb_endpoints(endpoints: &[Endpoint]) -> Value {
    let list: Vec<Value> = endpoints
        .iter()
        .map(|e| {
            let mut v = json!({ "endpoint": { "address": { "socket_address": {
                "address": e.address.ip().to_string(), "port_value": e.address.port() } } } });
            if let Some(w) = e.weight {
                v["load_balancing_weight"] = json!(w);
            }
            if let Some(m) = &e.metadata {
                v["metadata"] = json!({ "filter_metadata": { "edgepick": m } });
            }
            v
        })
        .collect();
    json!([{ "lb_endpoints": list }])
}

/// Builds and starts an Envoy with the native policy.
#[derive(Debug, Clone)]
pub struct NativeBuilder {
    /// Per listener: the document, and its cluster's endpoints when not the shared ones.
    configs: Vec<(String, Option<Vec<Endpoint>>)>,
    endpoints: Vec<Endpoint>,
    eds: bool,
    cds: bool,
    concurrency: u32,
    num_retries: u32,
    listener_port: u16,
    admin_port: u16,
    health_check_ms: Option<u64>,
}

impl NativeBuilder {
    /// One listener and cluster with policy configuration `config_json` over `endpoints`.
    pub fn new(config_json: &str, endpoints: &[Endpoint]) -> Self {
        NativeBuilder {
            configs: vec![(config_json.to_string(), None)],
            endpoints: endpoints.to_vec(),
            eds: false,
            cds: false,
            concurrency: 1,
            num_retries: 2,
            listener_port: 0,
            admin_port: 0,
            health_check_ms: None,
        }
    }

    /// Another listener with its own cluster and configuration (same endpoints).
    pub fn add_listener(mut self, config_json: &str) -> Self {
        self.configs.push((config_json.to_string(), None));
        self
    }

    /// Another listener with its own cluster, configuration and endpoints.
    pub fn add_listener_with(mut self, config_json: &str, endpoints: &[Endpoint]) -> Self {
        self.configs
            .push((config_json.to_string(), Some(endpoints.to_vec())));
        self
    }

    /// Endpoints from EDS files (`deploy/envoy-native-eds.yaml`): see [`set_endpoints`].
    pub fn eds(mut self) -> Self {
        self.eds = true;
        self
    }

    /// Clusters from a CDS file instead of `static_resources` (see
    /// [`set_cluster_config`]), so a test can change the policy's
    /// configuration while Envoy runs.
    pub fn cds(mut self) -> Self {
        self.cds = true;
        self
    }

    /// Envoy worker threads.
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n;
        self
    }

    /// Envoy's active HTTP health checks (`GET /health`) every `interval_ms`,
    /// one failure marks a host unhealthy.
    pub fn health_checks(mut self, interval_ms: u64) -> Self {
        self.health_check_ms = Some(interval_ms);
        self
    }

    /// The first listener's port (0: a free one).
    pub fn listener_port(mut self, port: u16) -> Self {
        self.listener_port = port;
        self
    }

    /// The admin port (0: a free one).
    pub fn admin_port(mut self, port: u16) -> Self {
        self.admin_port = port;
        self
    }

    /// Retries per request.
    pub fn num_retries(mut self, n: u32) -> Self {
        self.num_retries = n;
        self
    }

    fn document(&self, admin_port: u16, ports: &[u16], dir: &Path) -> anyhow::Result<Value> {
        let file = if self.eds {
            "envoy-native-eds.yaml"
        } else {
            "envoy-native.yaml"
        };
        let mut doc = shipped(file)?;
        let listener = doc
            .pointer("/static_resources/listeners/0")
            .cloned()
            .ok_or_else(|| anyhow!("{file} has no listener"))?;
        let cluster = doc
            .pointer("/static_resources/clusters/0")
            .cloned()
            .ok_or_else(|| anyhow!("{file} has no cluster"))?;
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        for (i, ((cfg, own), port)) in self.configs.iter().zip(ports).enumerate() {
            let endpoints = own.as_deref().unwrap_or(&self.endpoints);
            let name = if i == 0 {
                "edgepick".to_string()
            } else {
                format!("edgepick_{i}")
            };
            let mut l = listener.clone();
            l["name"] = json!(format!("listener_{i}"));
            *at(&mut l, "/address/socket_address")? =
                json!({ "address": "127.0.0.1", "port_value": port });
            let hcm = at(&mut l, "/filter_chains/0/filters/0/typed_config")?;
            hcm["stat_prefix"] = json!(format!("ingress_{i}"));
            let hops = serde_json::from_str::<Value>(cfg)
                .ok()
                .and_then(|v| v.pointer("/client/trusted_hops")?.as_u64())
                .unwrap_or(0);
            hcm["xff_num_trusted_hops"] = json!(hops);
            session_filters(hcm, cfg)?;
            if self.cds {
                // The clusters arrive by CDS after the listener is read.
                at(hcm, "/route_config")?["validate_clusters"] = json!(false);
            }
            let route = at(hcm, "/route_config/virtual_hosts/0/routes/0/route")?;
            route["cluster"] = json!(name);
            at(route, "/retry_policy")?["num_retries"] = json!(self.num_retries);
            listeners.push(l);
            let mut c = cluster.clone();
            c["name"] = json!(name);
            if let Some(ms) = self.health_check_ms {
                let t = format!("{}.{:03}s", ms / 1000, ms % 1000);
                c["health_checks"] = json!([{
                    "timeout": "0.5s", "interval": t, "no_traffic_interval": t, "unhealthy_threshold": 1,
                    "healthy_threshold": 1, "http_health_check": { "path": "/health" } }]);
            }
            *at(
                &mut c,
                "/load_balancing_policy/policies/0/typed_extension_config/typed_config/lb_policy_config/value",
            )? = json!(cfg);
            if self.eds {
                let path = eds_path(dir, i);
                write_eds(&path, &name, endpoints, 0)?;
                let src = at(&mut c, "/eds_cluster_config/eds_config/path_config_source")?;
                src["path"] = json!(path.display().to_string());
                src["watched_directory"] = json!({ "path": dir.display().to_string() });
            } else {
                *at(&mut c, "/load_assignment")? =
                    json!({ "cluster_name": name, "endpoints": lb_endpoints(endpoints) });
            }
            clusters.push(c);
        }
        *at(&mut doc, "/admin/address/socket_address")? =
            json!({ "address": "127.0.0.1", "port_value": admin_port });
        *at(&mut doc, "/static_resources/listeners")? = json!(listeners);
        if self.cds {
            let path = dir.join("cds.yaml");
            write_cds(&path, &clusters, 0)?;
            at(&mut doc, "/static_resources")?
                .as_object_mut()
                .ok_or_else(|| anyhow!("static_resources is not a map"))?
                .remove("clusters");
            doc["dynamic_resources"] = json!({ "cds_config": {
                "resource_api_version": "V3",
                "path_config_source": {
                    "path": path.display().to_string(),
                    "watched_directory": { "path": dir.display().to_string() } } } });
        } else {
            *at(&mut doc, "/static_resources/clusters")? = json!(clusters);
        }
        doc["node"] = json!({ "id": "edgepick-e2e", "cluster": "edgepick-e2e" });
        std::fs::write(dir.join("clusters.json"), serde_json::to_string(&clusters)?)?;
        Ok(doc)
    }

    /// Write the bootstrap, start Envoy with the module on its search path.
    /// `Err` when Envoy exits or never becomes ready (e.g. a refused configuration).
    pub fn start(self) -> anyhow::Result<Envoy> {
        let module = native_module();
        let search = module
            .parent()
            .ok_or_else(|| anyhow!("{} has no directory", module.display()))?;
        let pick = |p: u16| if p == 0 { free_port() } else { Ok(p) };
        let admin_port = pick(self.admin_port)?;
        let ports = (0..self.configs.len())
            .map(|i| pick(if i == 0 { self.listener_port } else { 0 }))
            .collect::<std::io::Result<Vec<u16>>>()?;
        let dir = scratch_dir()?;
        let doc = self.document(admin_port, &ports, &dir)?;
        let mut envoy = launch(&Launch {
            envoy: &envoy_binary(),
            doc: &doc,
            dir,
            admin_port,
            listener_ports: &ports,
            concurrency: self.concurrency,
            env: &[(
                "ENVOY_DYNAMIC_MODULES_SEARCH_PATH",
                search.as_os_str().to_owned(),
            )],
            template: EnvoyBuilder::without_filter(&[]),
        })?;
        if let Err(e) = envoy.wait_ready(Duration::from_secs(30)) {
            let log = envoy.log();
            let errors: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains("][error]") || l.contains("][critical]") || l.contains("edgepick:")
                })
                .collect();
            return Err(e.context(format!("Envoy's errors:\n{}", errors.join("\n"))));
        }
        Ok(envoy)
    }
}

/// The shipped session-cookie filters (the listener's `edgepick` filter and
/// the router's upstream `edgepick_strip` filter) configured with `cfg`, or
/// removed when its document has no cookie (or `"strip": false`).
fn session_filters(hcm: &mut Value, cfg: &str) -> anyhow::Result<()> {
    let doc: Value = serde_json::from_str(cfg).unwrap_or_default();
    let cookie = doc.get("cookie").is_some();
    let strip = cookie
        && doc
            .pointer("/cookie/strip")
            .and_then(Value::as_bool)
            .unwrap_or(true);
    let filters = at(hcm, "/http_filters")?
        .as_array_mut()
        .ok_or_else(|| anyhow!("http_filters is not a list"))?;
    if filters.len() < 2 && !cookie {
        return Ok(()); // a file without the session filters (the EDS example)
    }
    let router = filters
        .last_mut()
        .ok_or_else(|| anyhow!("no router filter"))?;
    let upstream = at(router, "/typed_config/upstream_http_filters")?;
    if strip {
        *at(upstream, "/0/typed_config/filter_config/value")? = json!(cfg);
    } else if let Some(list) = router["typed_config"].as_object_mut() {
        list.remove("upstream_http_filters");
    }
    if cookie {
        *at(&mut filters[0], "/typed_config/filter_config/value")? = json!(cfg);
    } else {
        filters.remove(0);
    }
    Ok(())
}

/// The EDS file of cluster `i` in Envoy's scratch directory.
pub fn eds_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("eds_{i}.yaml"))
}

/// Write (atomically: a new file renamed over the old) the EDS file of
/// `cluster` at `path`; Envoy applies it asynchronously.
pub fn write_eds(
    path: &Path,
    cluster: &str,
    endpoints: &[Endpoint],
    version: u64,
) -> anyhow::Result<()> {
    let doc = json!({
        "version_info": version.to_string(),
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
            "cluster_name": cluster,
            "endpoints": lb_endpoints(endpoints),
        }]
    });
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&doc)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Replace the endpoints of the first cluster of an Envoy started with
/// [`NativeBuilder::eds`].
pub fn set_endpoints(envoy: &Envoy, endpoints: &[Endpoint], version: u64) -> anyhow::Result<()> {
    write_eds(&eds_path(envoy.dir(), 0), "edgepick", endpoints, version)
}

fn write_cds(path: &Path, clusters: &[Value], version: u64) -> anyhow::Result<()> {
    let resources: Vec<Value> = clusters
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["@type"] = json!("type.googleapis.com/envoy.config.cluster.v3.Cluster");
            c
        })
        .collect();
    let doc = json!({ "version_info": version.to_string(), "resources": resources });
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&doc)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Replace the first cluster's policy configuration of an Envoy started with
/// [`NativeBuilder::cds`] (a CDS update, applied asynchronously; Envoy keeps
/// the old cluster when it refuses the new one).
pub fn set_cluster_config(envoy: &Envoy, config_json: &str, version: u64) -> anyhow::Result<()> {
    let dir = envoy.dir();
    let mut clusters: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("clusters.json"))?)?;
    let c = clusters.first_mut().ok_or_else(|| anyhow!("no cluster"))?;
    *at(
        c,
        "/load_balancing_policy/policies/0/typed_extension_config/typed_config/lb_policy_config/value",
    )? = json!(config_json);
    write_cds(&dir.join("cds.yaml"), &clusters, version)
}
