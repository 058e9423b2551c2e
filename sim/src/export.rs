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
        if let Some(m) = method_note(self.method) {
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

/// What the filter does instead of a simulated method it does not have.
fn method_note(m: Method) -> Option<String> {
    let what = match m {
        Method::Proxy | Method::Redirect => return None,
        Method::Dns => "DNS with a TTL",
        Method::Nat => "L4 NAT",
        Method::Dr => "L4 direct routing",
    };
    Some(format!(
        "The filter has no equivalent of the simulated method \"{what}\": this document says mode \"proxy\" (an HTTP reverse proxy)."
    ))
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
