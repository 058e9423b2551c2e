//! A configuration document applied to a topology: every field the simulator
//! can represent is kept as the core read it, and the fields it cannot
//! represent are named (see [`Imported::not_represented`]).

use crate::topology::{LinkSpec, Method, Topology, SIM_COOKIE_KEY};
use edgepick_core::config::{Config, ConfigError, Mode};
use serde::Serialize;
use serde_json::Value;

/// What an import did besides changing the topology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// Backends that matched no server by name (left out).
    pub unmatched: Vec<String>,
    /// Fields set in the document that the simulator cannot represent, each
    /// with the reason (they are not kept).
    pub not_represented: Vec<String>,
}

/// The core's defaults for the fields checked by [`not_represented`], with
/// `cfg`'s heartbeat timing (other heartbeat defaults follow from it).
fn defaults(cfg: &Config) -> Config {
    let hb = cfg.health.heartbeat.as_ref().map_or(serde_json::json!({}), |h| {
        serde_json::json!({"interval_ms": h.interval_ms, "window_ms": h.window_ms, "threshold": h.threshold})
    });
    let doc = serde_json::json!({
        "backends": [{"name": "a", "address": "127.0.0.1:1"}],
        "health": {"heartbeat": hb},
        "cookie": {"keys": ["0123456789abcdef"]},
    });
    Config::from_json(&doc.to_string()).expect("the minimal document is valid")
}

/// Fields of `cfg` (read from `doc`) the simulator has no place for.
fn not_represented(cfg: &Config, doc: &Value, keys_env: bool) -> Vec<String> {
    let base = defaults(cfg);
    let mut out = Vec::new();
    let mut note = |set: bool, field: &str, why: &str| {
        if set {
            out.push(format!("{field}: {why}"));
        }
    };
    note(
        doc.get("dns").is_some(),
        "dns",
        "the DNS server's zone, names and other settings (the method and its TTL are kept)",
    );
    note(
        cfg.trusted_hops != base.trusted_hops,
        "client.trusted_hops",
        "simulated clients reach the edge directly, with no proxies in front",
    );
    note(
        cfg.decision_header != base.decision_header,
        "decision_header",
        "the simulator shows the decision in \"Why this node?\", not in a header",
    );
    let hb = (
        cfg.health.heartbeat.as_ref(),
        base.health.heartbeat.as_ref(),
    );
    note(
        hb.0.is_none(),
        "health.heartbeat",
        "absent, but the simulated nodes always send heartbeats",
    );
    if let (Some(h), Some(d)) = hb {
        note(
            h.path != d.path,
            "health.heartbeat.path",
            "simulated heartbeats have no HTTP path",
        );
        note(
            h.timeout_ms != d.timeout_ms,
            "health.heartbeat.timeout_ms",
            "simulated heartbeats do not time out",
        );
        note(
            h.cluster != d.cluster,
            "health.heartbeat.cluster",
            "there are no Envoy clusters in the simulator",
        );
    }
    note(
        keys_env,
        "cookie.keys_env",
        "the browser has no environment variables: the simulator signs with its own key",
    );
    for (i, b) in cfg.backends.iter().enumerate() {
        note(
            b.down,
            &format!("backends[{i}].down"),
            "kill the node on the page instead",
        );
    }
    out
}

/// The cookie object as the core writes it; without its keys when they
/// stand in for `keys_env`.
fn cookie_value(cfg: &Config, keys_env: bool) -> Option<Value> {
    let mut v = cfg.to_value().get("cookie")?.clone();
    if let (Some(o), true) = (v.as_object_mut(), keys_env) {
        o.remove("keys");
    }
    Some(v)
}

/// `doc` read by the core. Keys named by `keys_env` (environment variables,
/// which the browser does not have) are replaced by [`SIM_COOKIE_KEY`] so the
/// rest of the document is still read; the flag says so.
fn read(config_json: &str) -> Result<(Config, Value, bool), ConfigError> {
    let mut doc: Value = serde_json::from_str(config_json).unwrap_or(Value::Null);
    let cookie = doc.get_mut("cookie").and_then(Value::as_object_mut);
    let keys_env = match cookie {
        Some(c) if c.contains_key("keys_env") && !c.contains_key("keys") => {
            c.remove("keys_env");
            c.insert("keys".into(), serde_json::json!([SIM_COOKIE_KEY]));
            true
        }
        _ => false,
    };
    let cfg = if keys_env {
        Config::from_json(&doc.to_string())?
    } else {
        Config::from_json(config_json)?
    };
    Ok((cfg, doc, keys_env))
}

impl Topology {
    /// Validate `config_json` with the core and apply it: algorithm, mode,
    /// cookie, fault detection, fallbacks, and per backend (matched to a
    /// server by name) address, URL, weight, capacity and link. An algorithm
    /// the core reads the same as the current one is left as written.
    pub fn import(&mut self, config_json: &str) -> Result<Imported, ConfigError> {
        let (cfg, doc, keys_env) = read(config_json)?;
        if self.to_config().map(|c| c.algorithm).ok() != Some(cfg.algorithm.clone()) {
            self.algorithm = cfg.algorithm.to_value();
        }
        self.sticky = cfg.cookie.is_some();
        self.cookie = cookie_value(&cfg, keys_env);
        if cfg.mode == Mode::Redirect {
            self.method = Method::Redirect;
        } else if let Some(dns) = doc.get("dns") {
            // edgepick-dns's document: the simulated DNS method, its TTL
            // (edgepick-dns's default, 5 s, when the section gives none).
            self.method = Method::Dns;
            let ttl_s = dns.get("ttl_s").and_then(Value::as_u64).unwrap_or(5);
            self.dns_ttl_ms = ttl_s.max(1).saturating_mul(1000);
        } else if self.method == Method::Redirect {
            self.method = Method::Proxy;
        }
        self.fallbacks = Some(cfg.fallbacks);
        self.apply_health(&cfg);
        let mut unmatched = Vec::new();
        for b in &cfg.backends {
            let Some(s) = self.servers.iter_mut().find(|s| s.name == b.name) else {
                unmatched.push(b.name.clone());
                continue;
            };
            s.address = Some(b.address.to_string());
            s.url = b.url.clone();
            s.weight = b.weight;
            s.capacity = Some(b.capacity);
            s.residual_mbps = Some(b.link.residual_mbps);
            s.link = LinkSpec {
                bandwidth_mbps: b.link.bandwidth_mbps,
                delay_ms: b.link.delay_ms,
                hops: b.link.hops,
            };
        }
        Ok(Imported {
            unmatched,
            not_represented: not_represented(&cfg, &doc, keys_env),
        })
    }

    fn apply_health(&mut self, cfg: &Config) {
        if let Some(hb) = &cfg.health.heartbeat {
            self.health.interval_ms = hb.interval_ms;
            self.health.window_ms = hb.window_ms;
            self.health.threshold = hb.threshold;
        }
        self.health.max_fails = cfg.health.max_fails;
        self.health.fail_timeout_ms = cfg.health.fail_timeout_ms;
        self.health.slow_start_ms = Some(cfg.health.slow_start_ms);
        self.health.panic_threshold = cfg.health.panic_threshold;
    }
}
