//! The filter configurations users copy from `deploy/` are valid as shipped:
//! each parses and validates in the core, with the environment its platform
//! hands the VM, and every key variable it names is one that platform passes.

use edgepick_core::Config;
use serde_json::Value;
use std::path::PathBuf;

fn deploy(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every YAML document of a file, as JSON values.
fn documents(name: &str) -> Vec<Value> {
    let text = deploy(name);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .collect()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Validate `config` with `passed` as the VM's environment (each a dummy key);
/// check that every `cookie.keys_env` name is passed.
fn check(file: &str, config: &str, passed: &[String]) -> Config {
    let env = |name: &str| passed.iter().any(|p| p == name).then(|| "k".repeat(32));
    let cfg = Config::from_json_env(config.as_bytes(), &env)
        .unwrap_or_else(|e| panic!("{file}: the shipped configuration is refused: {e}"));
    if let Some(c) = &cfg.cookie {
        for n in &c.keys_env {
            assert!(passed.contains(n), "{file}: {n} is not passed to the VM");
        }
    }
    cfg
}

#[test]
fn envoy_yaml_filter_configuration_is_valid_with_its_environment() {
    let doc = &documents("envoy.yaml")[0];
    let filters = doc
        .pointer(
            "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters",
        )
        .and_then(Value::as_array)
        .expect("http_filters");
    let wasm = filters
        .iter()
        .find(|f| f["name"] == "envoy.filters.http.wasm")
        .expect("the wasm filter");
    let c = &wasm["typed_config"]["config"];
    let config = c["configuration"]["value"].as_str().expect("configuration");
    let passed = strings(c.pointer("/vm_config/environment_variables/host_env_keys"));
    let cfg = check("envoy.yaml", config, &passed);
    assert!(
        cfg.cookie.is_some_and(|c| !c.keys_env.is_empty()),
        "the shipped file keeps its signing key out of the configuration"
    );
}

/// The upstream signal the filter reads is the one the shipped file has
/// Envoy write, over any value a backend sends.
#[test]
fn envoy_yaml_writes_the_upstream_signal_the_filter_reads() {
    use edgepick_filter::headers::{UPSTREAM_FORMAT, UPSTREAM_HEADER};
    let doc = &documents("envoy.yaml")[0];
    let vhosts = doc
        .pointer("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/route_config/virtual_hosts")
        .and_then(Value::as_array)
        .expect("virtual_hosts");
    for vh in vhosts {
        let added = vh["response_headers_to_add"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ours = added
            .iter()
            .find(|h| h["header"]["key"] == UPSTREAM_HEADER)
            .unwrap_or_else(|| {
                panic!(
                    "virtual host {} does not write {UPSTREAM_HEADER}",
                    vh["name"]
                )
            });
        assert_eq!(ours["header"]["value"], UPSTREAM_FORMAT);
        assert_eq!(
            ours["append_action"], "OVERWRITE_IF_EXISTS_OR_ADD",
            "a backend's value is replaced"
        );
    }
    // Istio: the VirtualService's response header `set` (which replaces).
    let istio = documents("istio-wasmplugin.yaml");
    let vs = istio
        .iter()
        .find(|d| d["kind"] == "VirtualService")
        .expect("a VirtualService");
    for route in vs["spec"]["http"].as_array().expect("http routes") {
        assert_eq!(
            route["headers"]["response"]["set"][UPSTREAM_HEADER], UPSTREAM_FORMAT,
            "istio-wasmplugin.yaml: every route sets {UPSTREAM_HEADER}"
        );
    }
}

#[test]
fn istio_and_envoy_gateway_configurations_are_valid_with_their_environment() {
    let istio = documents("istio-wasmplugin.yaml");
    let plugin = istio
        .iter()
        .find(|d| d["kind"] == "WasmPlugin")
        .expect("a WasmPlugin");
    let passed: Vec<String> = plugin
        .pointer("/spec/vmConfig/env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|e| e["valueFrom"] == "HOST")
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    check(
        "istio-wasmplugin.yaml",
        &plugin["spec"]["pluginConfig"].to_string(),
        &passed,
    );

    let eg = documents("envoy-gateway-extensionpolicy.yaml");
    let policy = eg
        .iter()
        .find(|d| d["kind"] == "EnvoyExtensionPolicy")
        .expect("an EnvoyExtensionPolicy");
    let wasm = &policy["spec"]["wasm"][0];
    let passed = strings(wasm.pointer("/env/hostKeys"));
    check(
        "envoy-gateway-extensionpolicy.yaml",
        &wasm["config"].to_string(),
        &passed,
    );
}
