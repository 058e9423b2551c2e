//! Values that would inject bytes into a header or a request, or that no
//! backend could answer, or that would make configuration or probing cost
//! without bound, are refused with the field named.

use edgepick_core::Config;
use serde_json::{json, Value};

fn base() -> Value {
    json!({
        "backends": [
            {"name": "a", "address": "127.0.0.1:9001", "url": "https://a.example.com"},
            {"name": "b", "address": "127.0.0.1:9002"}
        ]
    })
}

#[track_caller]
fn refused(edit: impl FnOnce(&mut Value), field: &str) {
    let mut v = base();
    edit(&mut v);
    let e = Config::from_json(&v.to_string()).expect_err("must be refused");
    assert_eq!(e.field, field, "{e}");
}

#[track_caller]
fn accepted(edit: impl FnOnce(&mut Value)) {
    let mut v = base();
    edit(&mut v);
    if let Err(e) = Config::from_json(&v.to_string()) {
        panic!("{v} refused: {e}");
    }
}

#[test]
fn redirect_urls_must_be_absolute_http_without_control_bytes() {
    for bad in [
        "https://a.example.com\r\nx-injected: 1",
        "https://a.example.com/\npath",
        "https://a.example.com/with space",
        "https://a.exam\tple.com",
        "https://",
        "https:///path",
        "http://:80/",
        "https://user@evil.example",
        "//a.example.com",
        "javascript:alert(1)",
        "a.example.com",
    ] {
        refused(|v| v["backends"][0]["url"] = json!(bad), "backends[0].url");
    }
    for good in [
        "http://a.example.com",
        "https://a.example.com:8443/app/?q=1",
        "https://[2001:db8::1]:8443",
    ] {
        accepted(|v| v["backends"][0]["url"] = json!(good));
    }
}

#[test]
fn heartbeat_paths_and_clusters_cannot_carry_control_bytes_or_spaces() {
    let hb = |path: &str, cluster: &str| json!({"heartbeat": {"path": path, "cluster": cluster}});
    for bad in ["/health\r\nx: 1", "/he alth", "/health\u{0}", "/h\u{7f}"] {
        refused(
            |v| v["health"] = hb(bad, "edgepick"),
            "health.heartbeat.path",
        );
    }
    for bad in ["", "edge pick", "edge\npick", "edge\tpick"] {
        refused(
            |v| v["health"] = hb("/health", bad),
            "health.heartbeat.cluster",
        );
    }
    accepted(|v| {
        v["health"] = hb(
            "/healthz?probe=1",
            "outbound|8080||web.default.svc.cluster.local",
        )
    });
}

#[test]
fn hash_keys_name_a_token() {
    let key = |k: &str| json!({"name": "consistent_hash", "key": k});
    for bad in [
        "header:x user",
        "header:x\r\ny",
        "cookie:a;b",
        "cookie:a=b",
        "header:",
    ] {
        refused(|v| v["algorithm"] = key(bad), "algorithm.key");
    }
    accepted(|v| v["algorithm"] = key("header:x-user"));
}

#[test]
fn unspecified_multicast_and_broadcast_addresses_are_not_backends() {
    for bad in [
        "0.0.0.0:80",
        "[::]:80",
        "224.0.0.1:80",
        "239.255.255.250:1900",
        "[ff02::1]:80",
        "255.255.255.255:80",
    ] {
        refused(
            |v| v["backends"][1]["address"] = json!(bad),
            "backends[1].address",
        );
    }
    accepted(|v| v["backends"][1]["address"] = json!("[::1]:9002"));
}

/// `n` backends on distinct loopback addresses.
fn many(n: usize) -> Value {
    let list: Vec<Value> = (0..n)
        .map(|i| json!({"address": format!("127.0.{}.{}:80", i / 250, i % 250 + 1)}))
        .collect();
    json!(list)
}

#[test]
fn probe_rate_is_bounded() {
    // 10,000 backends every 10 ms (the case that drove Envoy to 120 % CPU).
    refused(
        |v| {
            v["backends"] = many(10_000);
            v["health"] = json!({"heartbeat": {"interval_ms": 10, "window_ms": 30}});
        },
        "health.heartbeat.interval_ms",
    );
    // 1,000 probes/s is the limit: 100 backends every 100 ms, not every 99.
    accepted(|v| {
        v["backends"] = many(100);
        v["health"] = json!({"heartbeat": {"interval_ms": 100}});
    });
    refused(
        |v| {
            v["backends"] = many(100);
            v["health"] = json!({"heartbeat": {"interval_ms": 99}});
        },
        "health.heartbeat.interval_ms",
    );
}

#[test]
fn maglev_tables_are_bounded_and_larger_than_the_backend_set() {
    let maglev =
        |size: u64| json!({"name": "consistent_hash", "flavour": "maglev", "table_size": size});
    refused(
        |v| v["algorithm"] = maglev(5_000_011),
        "algorithm.table_size",
    );
    accepted(|v| v["algorithm"] = maglev(1_000_003));
    refused(
        |v| {
            v["backends"] = many(20);
            v["algorithm"] = maglev(17);
        },
        "algorithm.table_size",
    );
}
