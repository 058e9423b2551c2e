//! The `to_json` → `from_json` round trip: a configuration with every field
//! set reads as written and survives serialisation, and so does every
//! algorithm's parameter set (also through `Algorithm::to_value` alone).

use edgepick_core::config::{Algorithm, HashFlavour, HashKey, SameSite};
use edgepick_core::{Config, Mode};
use serde_json::{json, Value};

/// A valid document with this `algorithm` object.
fn with_algorithm(algorithm: Value) -> String {
    json!({
        "algorithm": algorithm,
        "backends": [
            {"name": "a", "address": "127.0.0.1:9001"},
            {"name": "b", "address": "127.0.0.1:9002"}
        ]
    })
    .to_string()
}

fn rich() -> Config {
    let text = json!({
        "version": 1,
        "mode": "redirect",
        "algorithm": {"name": "consistent_hash", "key": "header:X-User", "flavour": "maglev", "table_size": 1009},
        "backends": [
            {"name": "eu-1", "address": "10.0.0.1:8080", "url": "https://eu-1.example/", "weight": 3, "capacity": 250,
             "link": {"bandwidth_mbps": 100.5, "hops": 4, "delay_ms": 12.25, "residual_mbps": 40.1}},
            {"name": "v6", "address": "[2001:db8::2]:443", "url": "http://v6.example", "weight": 0},
            {"address": "10.0.0.3:8080", "url": "http://third.example"}
        ],
        "health": {
            "heartbeat": {"interval_ms": 500, "window_ms": 2000, "threshold": 3, "path": "/hc", "timeout_ms": 250, "cluster": "probes"},
            "max_fails": 3, "fail_timeout_ms": 30000, "slow_start_ms": 60000, "panic_threshold": 0.3
        },
        "cookie": {"name": "sid", "keys": ["0123456789abcdef0123", "fedcba9876543210"], "max_age_s": 600,
                   "path": "/shop", "same_site": "None", "secure": true, "http_only": false},
        "client": {"trusted_hops": 2},
        "fallbacks": 4,
        "decision_header": true
    });
    Config::from_json(&text.to_string()).expect("rich config is valid")
}

#[test]
fn rich_config_reads_as_written() {
    let c = rich();
    assert_eq!(c.mode, Mode::Redirect);
    assert_eq!(
        c.algorithm,
        Algorithm::ConsistentHash {
            key: HashKey::Header("x-user".into()),
            flavour: HashFlavour::Maglev { table_size: 1009 }
        }
    );
    assert_eq!(c.backends[0].url.as_deref(), Some("https://eu-1.example"));
    assert_eq!(c.backends[2].name, "10.0.0.3:8080");
    assert_eq!(c.cookie.as_ref().map(|k| k.same_site), Some(SameSite::None));
    assert_eq!(c.trusted_hops, 2);
}

#[test]
fn to_json_round_trips() {
    let c = rich();
    assert_eq!(Config::from_json(&c.to_json()), Ok(c.clone()));
    assert_eq!(Config::from_json(&c.to_json_pretty()), Ok(c.clone()));
    // Every algorithm's parameters survive too.
    for alg in [
        json!({"name": "rfws", "tie_tolerance": 0.125, "load_threshold": 0.75}),
        json!({"name": "round_robin"}),
        json!({"name": "random"}),
        json!({"name": "weighted_random"}),
        json!({"name": "least_connections"}),
        json!({"name": "least_connections", "choices": 3}),
        json!({"name": "least_response_time", "decay_ms": 2500.5, "default_rtt_ms": 7}),
        json!({"name": "ip_hash"}),
        json!({"name": "consistent_hash", "key": "cookie:session", "flavour": "ketama"}),
        json!({"name": "consistent_hash", "key": "path"}),
        json!({"name": "consistent_hash", "key": "client_address", "flavour": "maglev"}),
    ] {
        let c = Config::from_json(&with_algorithm(alg.clone())).unwrap();
        assert_eq!(Config::from_json(&c.to_json()), Ok(c.clone()), "{alg}");
        // The algorithm object alone, as the simulator copies it.
        let again = Config::from_json(&with_algorithm(c.algorithm.to_value())).unwrap();
        assert_eq!(again.algorithm, c.algorithm, "{alg}");
    }
}
