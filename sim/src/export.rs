//! A topology as the core configuration document the filter reads, and an
//! imported configuration applied back to a topology.

use crate::topology::{LinkSpec, Method, Topology, SIM_COOKIE_KEY};
use edgepick_core::config::{Config, ConfigError, Mode};
use serde_json::{json, Value};

impl Topology {
    /// The core configuration document for this topology (what the filter reads).
    pub fn config_json(&self) -> Value {
        let mode = if self.method == Method::Redirect {
            "redirect"
        } else {
            "proxy"
        };
        let backends: Vec<Value> = self
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "name": s.name,
                    "address": format!("10.1.{}.{}:80", i / 250, i % 250 + 1),
                    "url": format!("http://{}.example", s.name.to_ascii_lowercase()),
                    "weight": s.weight,
                    "capacity": (s.workers + s.queue).max(1),
                    "link": {
                        "bandwidth_mbps": s.link.bandwidth_mbps,
                        "hops": s.link.hops,
                        "delay_ms": s.link.delay_ms,
                        "residual_mbps": s.link.bandwidth_mbps,
                    },
                })
            })
            .collect();
        let h = &self.health;
        let mut doc = json!({
            "version": 1,
            "mode": mode,
            "algorithm": self.algorithm,
            "backends": backends,
            "health": {
                "heartbeat": {"interval_ms": h.interval_ms, "window_ms": h.window_ms, "threshold": h.threshold},
                "max_fails": h.max_fails,
                "fail_timeout_ms": h.fail_timeout_ms,
                "panic_threshold": h.panic_threshold,
            },
        });
        if self.sticky {
            doc["cookie"] =
                json!({"name": "edgepick", "keys": [SIM_COOKIE_KEY], "max_age_s": 3600});
        }
        doc
    }

    /// The validated core [`Config`]; errors name the field in the exported document.
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        Config::from_json(&self.config_json().to_string())
    }

    /// Take algorithm, stickiness, fault detection, mode and per-backend
    /// weight and link from an imported configuration. Backends are matched to
    /// servers by name; returns the names that matched no server.
    pub fn apply_config(&mut self, cfg: &Config) -> Vec<String> {
        self.algorithm = cfg.algorithm.to_value();
        self.sticky = cfg.cookie.is_some();
        if cfg.mode == Mode::Redirect {
            self.method = Method::Redirect;
        } else if self.method == Method::Redirect {
            self.method = Method::Proxy;
        }
        if let Some(hb) = &cfg.health.heartbeat {
            self.health.interval_ms = hb.interval_ms;
            self.health.window_ms = hb.window_ms;
            self.health.threshold = hb.threshold;
        }
        self.health.max_fails = cfg.health.max_fails;
        self.health.fail_timeout_ms = cfg.health.fail_timeout_ms;
        self.health.panic_threshold = cfg.health.panic_threshold;
        let mut unmatched = Vec::new();
        for b in &cfg.backends {
            match self.servers.iter_mut().find(|s| s.name == b.name) {
                Some(s) => {
                    s.weight = b.weight;
                    s.link = LinkSpec {
                        bandwidth_mbps: b.link.bandwidth_mbps,
                        delay_ms: b.link.delay_ms,
                        hops: b.link.hops,
                    };
                }
                None => unmatched.push(b.name.clone()),
            }
        }
        unmatched
    }
}
