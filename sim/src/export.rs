//! A topology as the core configuration document the filter reads
//! ([`Topology::config_json`] for the simulation, [`Topology::export`] for the
//! engineer). The way back is in `import.rs`.
//!
//! The export keeps what the user entered: addresses, URLs, capacity,
//! residual bandwidth, the cookie, fallbacks. Where the filter needs a value
//! the user never gave (an address, a URL in redirect mode, a cookie key) it
//! writes one and says so in [`Exported::notes`]; a cookie key is drawn fresh
//! for every export, never the simulator's own [`SIM_COOKIE_KEY`].

use crate::topology::{Method, Server, Topology, SIM_COOKIE_KEY};
use edgepick_core::config::raw::{RawBackend, RawConfig, RawHealth, RawHeartbeat, RawLink};
use edgepick_core::config::{Config, ConfigError};
use serde::Serialize;
use serde_json::{json, Value};

/// An exported configuration and what the reader should know about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exported {
    /// The document, as the filter reads it.
    pub config: Value,
    /// Plain-language notes: placeholders written, methods the filter lacks.
    pub notes: Vec<String>,
}

/// The placeholder address of server `i` (when the user gave none).
pub fn placeholder_address(i: usize) -> String {
    format!("10.1.{}.{}:80", i / 250, i % 250 + 1)
}

impl Topology {
    /// The core configuration document the simulation runs (cookie keys,
    /// when none were given, are [`SIM_COOKIE_KEY`]).
    pub fn config_json(&self) -> Value {
        self.document(SIM_COOKIE_KEY)
    }

    fn document(&self, key: &str) -> Value {
        let mode = if self.method == Method::Redirect {
            "redirect"
        } else {
            "proxy"
        };
        let raw = RawConfig {
            version: Some(1),
            mode: Some(mode.into()),
            backends: self
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| backend(i, s, self.method == Method::Redirect))
                .collect(),
            health: Some(self.raw_health()),
            fallbacks: self.fallbacks,
            ..RawConfig::default()
        };
        let mut doc = serde_json::to_value(&raw).unwrap_or(Value::Null);
        doc["algorithm"] = self.algorithm.clone();
        if self.sticky {
            let mut c = self
                .cookie
                .clone()
                .unwrap_or_else(|| json!({"name": "edgepick", "max_age_s": 3600}));
            if c.get("keys").is_none() {
                c["keys"] = json!([key]);
            }
            doc["cookie"] = c;
        }
        doc
    }

    fn raw_health(&self) -> RawHealth {
        let h = &self.health;
        RawHealth {
            heartbeat: Some(RawHeartbeat {
                interval_ms: Some(h.interval_ms),
                window_ms: Some(h.window_ms),
                threshold: Some(h.threshold),
                ..RawHeartbeat::default()
            }),
            max_fails: Some(h.max_fails),
            fail_timeout_ms: Some(h.fail_timeout_ms),
            slow_start_ms: h.slow_start_ms,
            panic_threshold: Some(h.panic_threshold),
        }
    }

    /// The validated core [`Config`] the simulation runs; errors name the
    /// field in the document.
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        Config::from_json(&self.config_json().to_string())
    }

    /// The configuration for the filter, signed with `fresh_key` when the
    /// scenario has sticky sessions and no keys of its own. Every parameter
    /// is written (the algorithm's `tie_tolerance` and `load_threshold`,
    /// `fallbacks`, each backend's `capacity`), the user's addresses and URLs
    /// as entered; the notes name every placeholder and a method the filter
    /// does not have.
    pub fn export(&self, fresh_key: &str) -> Result<Exported, ConfigError> {
        let cfg = Config::from_json(&self.document(fresh_key).to_string())?;
        let mut doc = self.document(fresh_key);
        doc["algorithm"] = cfg.algorithm.to_value();
        doc["fallbacks"] = json!(cfg.fallbacks);
        let mut notes = Vec::new();
        if self.method == Method::Dns {
            doc["dns"] = json!({
                "zone": DNS_ZONE,
                "names": [DNS_NAME],
                "ttl_s": self.dns_ttl_s(),
            });
        }
        if let Some(m) = self.method_note() {
            notes.push(m);
        }
        for (i, s) in self.servers.iter().enumerate() {
            if s.address.is_none() {
                notes.push(format!(
                    "{} has no address: {} is a placeholder, replace it with the node's ip:port.",
                    s.name,
                    placeholder_address(i)
                ));
            }
            if s.url.is_none() && self.method == Method::Redirect {
                notes.push(format!(
                    "{} has no URL: {} is a placeholder for redirect mode.",
                    s.name,
                    placeholder_url(s)
                ));
            }
        }
        let own_keys = self
            .cookie
            .as_ref()
            .is_some_and(|c| c.get("keys").is_some());
        if self.sticky && !own_keys {
            notes.push("The cookie key is new, drawn at random for this export: keep it secret, and give every edge node the same one.".into());
        }
        Ok(Exported { config: doc, notes })
    }
}

/// The zone and name an exported DNS scenario serves (placeholders).
pub const DNS_ZONE: &str = "example.test";
/// See [`DNS_ZONE`].
pub const DNS_NAME: &str = "www";

impl Topology {
    /// The simulated DNS answer lifetime in whole seconds (at least 1), as
    /// `edgepick-dns` takes it.
    pub fn dns_ttl_s(&self) -> u64 {
        self.dns_ttl_ms.div_ceil(1000).max(1)
    }

    /// Which real target runs a simulated method other than the reverse
    /// proxy and redirect, and how.
    fn method_note(&self) -> Option<String> {
        Some(match self.method {
            Method::Proxy | Method::Redirect => return None,
            Method::Dns => format!(
                "DNS with a TTL is edgepick-dns (`edgepick-dns --config FILE`): this \
                 document's \"dns\" section serves {DNS_NAME}.{DNS_ZONE} (placeholders: \
                 put your zone and name) with the simulated TTL of {} s. The filter and \
                 the native policy read the same file and skip the section.",
                self.dns_ttl_s()
            ),
            Method::Nat | Method::Dr => format!(
                "{} is the native load-balancing policy behind Envoy's tcp_proxy: load \
                 this document as the cluster's policy in deploy/envoy-l4.yaml.{}",
                if self.method == Method::Nat {
                    "L4 NAT"
                } else {
                    "L4 direct routing"
                },
                if self.method == Method::Dr {
                    " Envoy carries the replies too, as NAT does: direct routing's \
                     return path past the balancer has no Envoy equivalent."
                } else {
                    ""
                }
            ),
        })
    }
}

fn placeholder_url(s: &Server) -> String {
    format!("http://{}.example", s.name.to_ascii_lowercase())
}

/// Server `i` as a backend: its address, URL, capacity and residual
/// bandwidth as entered, else a placeholder address, no URL (a placeholder in
/// redirect mode, which needs one), capacity from its workers and queue and
/// the whole bandwidth residual.
fn backend(i: usize, s: &Server, redirect: bool) -> RawBackend {
    RawBackend {
        name: Some(s.name.clone()),
        address: Some(s.address.clone().unwrap_or_else(|| placeholder_address(i))),
        url: s
            .url
            .clone()
            .or_else(|| redirect.then(|| placeholder_url(s))),
        weight: Some(s.weight),
        capacity: Some(s.capacity.unwrap_or((s.workers + s.queue).max(1))),
        link: Some(RawLink {
            bandwidth_mbps: Some(s.link.bandwidth_mbps),
            hops: Some(s.link.hops),
            delay_ms: Some(s.link.delay_ms),
            residual_mbps: Some(s.residual_mbps.unwrap_or(s.link.bandwidth_mbps)),
        }),
        down: None,
    }
}
