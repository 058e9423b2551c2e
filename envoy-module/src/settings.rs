//! The policy's configuration: the wasm filter's JSON document, read by
//! core's parser, with `backends` optional. Absent, the cluster's hosts are
//! the backends; present, its entries describe hosts by address (name,
//! weight, capacity, link metrics, `down`) and hosts it does not name get
//! defaults (or their endpoint metadata, see [`crate::hosts`]).
//!
//! Refused at load (Envoy rejects the cluster with core's message naming
//! the field): anything core's parser refuses, and `"mode": "redirect"`
//! (a load-balancing policy can only choose an upstream host).

use edgepick_core::config::Backend;
use edgepick_core::{Config, ConfigError};
use serde_json::Value;

/// The address that stands in for the cluster's hosts while the rest of the
/// document is validated (never routed to).
const PLACEHOLDER: &str = "192.0.2.1:9";

/// A validated configuration and the backends it names.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The document as core validated it; `backends` is what the document
    /// listed (empty when it listed none).
    pub template: Config,
    /// Whether the document listed backends.
    pub listed: bool,
}

impl Settings {
    /// Parse `bytes`, reading `cookie.keys_env` through `env` (Envoy's own
    /// process environment in production).
    pub fn parse(bytes: &[u8], env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text =
            core::str::from_utf8(bytes).map_err(|_| problem("configuration", "not UTF-8"))?;
        let mut doc: Value = serde_json::from_str(text)
            .map_err(|e| problem("configuration", &format!("not a JSON document: {e}")))?;
        let Some(obj) = doc.as_object_mut() else {
            return Err(problem(
                "configuration",
                "the configuration must be a JSON object",
            ));
        };
        if obj.get("mode").and_then(Value::as_str) == Some("redirect") {
            return Err(problem(
                "mode",
                "\"redirect\" needs the wasm filter: a load-balancing policy only chooses the upstream host",
            ));
        }
        let listed = obj.contains_key("backends");
        if !listed {
            obj.insert(
                "backends".into(),
                serde_json::json!([{ "name": "cluster-hosts", "address": PLACEHOLDER }]),
            );
        }
        let mut template = Config::from_json_env(doc.to_string().as_bytes(), env)?;
        if !listed {
            template.backends.clear();
        }
        Ok(Settings { template, listed })
    }

    /// The configured backend with this address, if the document lists one.
    pub fn backend_at(&self, address: &std::net::SocketAddr) -> Option<&Backend> {
        self.template
            .backends
            .iter()
            .find(|b| b.address == *address)
    }

    /// A full configuration over `backends` (JSON entries, in core order),
    /// validated by core as a listed document is (names unique, table sizes, ...).
    pub fn with_backends(
        &self,
        backends: Vec<Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut doc: Value = serde_json::from_str(&self.template.to_json())
            .map_err(|e| problem("configuration", &e.to_string()))?;
        doc["backends"] = Value::Array(backends);
        Config::from_json_env(doc.to_string().as_bytes(), env)
    }

    /// The listed backends as JSON entries (every field written), by address.
    pub fn listed_entries(&self) -> Vec<(std::net::SocketAddr, Value)> {
        let doc: Value = serde_json::from_str(&self.template.to_json()).unwrap_or_default();
        let entries = doc.get("backends").and_then(Value::as_array);
        self.template
            .backends
            .iter()
            .zip(entries.into_iter().flatten())
            .map(|(b, v)| (b.address, v.clone()))
            .collect()
    }
}

fn problem(field: &str, what: &str) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: what.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Settings, String> {
        Settings::parse(s.as_bytes(), &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn backends_are_optional() {
        let s = parse(r#"{"algorithm":{"name":"round_robin"}}"#).unwrap();
        assert!(!s.listed);
        assert!(s.template.backends.is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(r#"{"algorithm":{"name":"rfws","load_threshold":2}}"#).unwrap_err();
        assert!(e.contains("algorithm.load_threshold"), "{e}");
        let e = parse(r#"{"algorithm":{"name":"nope"}}"#).unwrap_err();
        assert!(e.contains("algorithm"), "{e}");
        let e = parse(r#"{"mode":"redirect"}"#).unwrap_err();
        assert!(e.starts_with("mode:"), "{e}");
        let e = parse(r#"[1]"#).unwrap_err();
        assert!(e.contains("JSON object"), "{e}");
        let e = parse(r#"{"backends":[{"name":"a","address":"nope"}]}"#).unwrap_err();
        assert!(e.contains("backends[0].address"), "{e}");
    }

    #[test]
    fn listed_backends_are_found_by_address() {
        let s =
            parse(r#"{"backends":[{"name":"a","address":"127.0.0.1:81","weight":5}]}"#).unwrap();
        assert!(s.listed);
        let b = s.backend_at(&"127.0.0.1:81".parse().unwrap()).unwrap();
        assert_eq!((b.name.as_str(), b.weight), ("a", 5));
        assert!(s.backend_at(&"127.0.0.1:82".parse().unwrap()).is_none());
    }
}
