//! [`Config`] → the JSON document format, so the browser demo can export what the
//! filter reads. Every field is written out, defaults included.

use super::*;
use serde_json::{json, Map, Value};

impl Config {
    /// The JSON document as a [`Value`] (what [`Config::to_json`] writes).
    pub fn to_value(&self) -> Value {
        to_value(self)
    }
}

impl Algorithm {
    /// The `algorithm` object of the JSON document, e.g. `{"name": "rfws",
    /// "tie_tolerance": 0.05, "load_threshold": 0.9}`: every parameter written.
    pub fn to_value(&self) -> Value {
        algorithm(self)
    }
}

fn to_value(c: &Config) -> Value {
    let mut doc = Map::new();
    doc.insert("version".into(), json!(1));
    doc.insert(
        "mode".into(),
        json!(match c.mode {
            Mode::Proxy => "proxy",
            Mode::Redirect => "redirect",
        }),
    );
    doc.insert("algorithm".into(), algorithm(&c.algorithm));
    doc.insert(
        "backends".into(),
        Value::Array(c.backends.iter().map(backend).collect()),
    );
    doc.insert("health".into(), health(&c.health));
    if let Some(k) = &c.cookie {
        doc.insert("cookie".into(), cookie(k));
    }
    doc.insert("client".into(), json!({ "trusted_hops": c.trusted_hops }));
    doc.insert("fallbacks".into(), json!(c.fallbacks));
    doc.insert("decision_header".into(), json!(c.decision_header));
    Value::Object(doc)
}

fn algorithm(a: &Algorithm) -> Value {
    match a {
        Algorithm::Rfws {
            tie_tolerance,
            load_threshold,
        } => {
            json!({"name": a.name(), "tie_tolerance": tie_tolerance, "load_threshold": load_threshold})
        }
        Algorithm::LeastConnections { choices: Some(k) } => {
            json!({"name": a.name(), "choices": k})
        }
        Algorithm::LeastResponseTime {
            decay_ms,
            default_rtt_ms,
        } => {
            json!({"name": a.name(), "decay_ms": decay_ms, "default_rtt_ms": default_rtt_ms})
        }
        Algorithm::ConsistentHash { key, flavour } => {
            let key = match key {
                HashKey::Header(h) => format!("header:{h}"),
                HashKey::Cookie(c) => format!("cookie:{c}"),
                HashKey::Path => "path".into(),
                HashKey::ClientAddress => "client_address".into(),
            };
            match flavour {
                HashFlavour::Ketama => {
                    json!({"name": a.name(), "key": key, "flavour": "ketama"})
                }
                HashFlavour::Maglev { table_size } => {
                    json!({"name": a.name(), "key": key, "flavour": "maglev", "table_size": table_size})
                }
            }
        }
        _ => json!({ "name": a.name() }),
    }
}

fn backend(b: &Backend) -> Value {
    let mut v = json!({
        "name": b.name,
        "address": b.address.to_string(),
        "weight": b.weight,
        "capacity": b.capacity,
        "down": b.down,
        "link": {
            "bandwidth_mbps": b.link.bandwidth_mbps,
            "hops": b.link.hops,
            "delay_ms": b.link.delay_ms,
            "residual_mbps": b.link.residual_mbps,
        },
    });
    if let (Some(url), Value::Object(m)) = (&b.url, &mut v) {
        m.insert("url".into(), json!(url));
    }
    v
}

fn health(h: &Health) -> Value {
    let mut v = json!({
        "max_fails": h.max_fails,
        "fail_timeout_ms": h.fail_timeout_ms,
        "slow_start_ms": h.slow_start_ms,
        "panic_threshold": h.panic_threshold,
    });
    if let (Some(hb), Value::Object(m)) = (&h.heartbeat, &mut v) {
        m.insert(
            "heartbeat".into(),
            json!({
                "interval_ms": hb.interval_ms, "window_ms": hb.window_ms, "threshold": hb.threshold,
                "path": hb.path, "timeout_ms": hb.timeout_ms, "cluster": hb.cluster,
            }),
        );
    }
    v
}

fn cookie(c: &Cookie) -> Value {
    let mut v = json!({
        "name": c.name,
        "max_age_s": c.max_age_s,
        "path": c.path,
        "same_site": match c.same_site { SameSite::Strict => "Strict", SameSite::Lax => "Lax", SameSite::None => "None" },
        "secure": c.secure,
        "http_only": c.http_only,
        "strip": c.strip,
    });
    // Keys from the environment stay there: only their names are written.
    if c.keys_env.is_empty() {
        let keys: Vec<String> = c
            .keys
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        v["keys"] = json!(keys);
    } else {
        v["keys_env"] = json!(c.keys_env);
    }
    v
}
