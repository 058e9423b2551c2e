//! A topology as the core configuration document the filter reads, and an
//! imported configuration applied back to a topology.

use crate::topology::{LinkSpec, Method, Server, Topology, SIM_COOKIE_KEY};
use edgepick_core::config::raw::{
    RawBackend, RawConfig, RawCookie, RawHealth, RawHeartbeat, RawLink,
};
use edgepick_core::config::{Config, ConfigError, Mode};
use serde_json::Value;

impl Topology {
    /// The core configuration document for this topology (what the filter
    /// reads), written through the core's typed raw structs.
    pub fn config_json(&self) -> Value {
        let mode = if self.method == Method::Redirect {
            "redirect"
        } else {
            "proxy"
        };
        let raw = RawConfig {
            version: Some(1),
            mode: Some(mode.into()),
            backends: self.servers.iter().enumerate().map(backend).collect(),
            health: Some(self.raw_health()),
            cookie: self.sticky.then(|| RawCookie {
                name: Some("edgepick".into()),
                keys: Some(vec![SIM_COOKIE_KEY.into()]),
                max_age_s: Some(3600),
                ..RawCookie::default()
            }),
            ..RawConfig::default()
        };
        let mut doc = serde_json::to_value(&raw).unwrap_or(Value::Null);
        doc["algorithm"] = self.algorithm.clone();
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
            panic_threshold: Some(h.panic_threshold),
            ..RawHealth::default()
        }
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

/// Server `i` as a backend: a made-up address and URL, capacity from its
/// workers and queue, its link with the whole bandwidth residual.
fn backend((i, s): (usize, &Server)) -> RawBackend {
    RawBackend {
        name: Some(s.name.clone()),
        address: Some(format!("10.1.{}.{}:80", i / 250, i % 250 + 1)),
        url: Some(format!("http://{}.example", s.name.to_ascii_lowercase())),
        weight: Some(s.weight),
        capacity: Some((s.workers + s.queue).max(1)),
        link: Some(RawLink {
            bandwidth_mbps: Some(s.link.bandwidth_mbps),
            hops: Some(s.link.hops),
            delay_ms: Some(s.link.delay_ms),
            residual_mbps: Some(s.link.bandwidth_mbps),
        }),
        down: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_document_holds_exactly_what_the_topology_sets() {
        let mut topo = Topology {
            sticky: true,
            ..Topology::default()
        };
        topo.servers[0].name = "WS1".into();
        let (s, h) = (&topo.servers[0], &topo.health);
        let expected = json!({
            "version": 1,
            "mode": "proxy",
            "algorithm": {"name": "rfws"},
            "backends": [{
                "name": "WS1",
                "address": "10.1.0.1:80",
                "url": "http://ws1.example",
                "weight": s.weight,
                "capacity": (s.workers + s.queue).max(1),
                "link": {
                    "bandwidth_mbps": s.link.bandwidth_mbps,
                    "hops": s.link.hops,
                    "delay_ms": s.link.delay_ms,
                    "residual_mbps": s.link.bandwidth_mbps,
                },
            }],
            "health": {
                "heartbeat": {"interval_ms": h.interval_ms, "window_ms": h.window_ms, "threshold": h.threshold},
                "max_fails": h.max_fails,
                "fail_timeout_ms": h.fail_timeout_ms,
                "panic_threshold": h.panic_threshold,
            },
            "cookie": {"name": "edgepick", "keys": [SIM_COOKIE_KEY], "max_age_s": 3600},
        });
        assert_eq!(topo.config_json(), expected);
        topo.sticky = false;
        assert!(topo.config_json().get("cookie").is_none());
        assert!(topo.to_config().is_ok());
    }
}
