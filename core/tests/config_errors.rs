//! One test per configuration error: each names the exact field (JSON path) and
//! says what is wrong (the `to_json` → `from_json` round trip:
//! `config_round_trip.rs`).

use edgepick_core::{Config, ConfigError};
use serde_json::{json, Value};

/// A valid document to break one field at a time.
fn base() -> Value {
    json!({
        "algorithm": {"name": "rfws"},
        "backends": [
            {"name": "a", "address": "127.0.0.1:9001"},
            {"name": "b", "address": "127.0.0.1:9002"}
        ]
    })
}

fn with(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = base();
    edit(&mut v);
    v.to_string()
}

#[track_caller]
fn rejects(text: &str, field: &str, fragment: &str) -> ConfigError {
    let e = Config::from_json(text).expect_err("configuration should be rejected");
    assert_eq!(e.field, field, "field of {e}");
    assert!(
        e.problem.contains(fragment),
        "problem of {e:?} should contain {fragment:?}"
    );
    assert_eq!(e.to_string(), format!("{}: {}", e.field, e.problem));
    e
}

#[test]
fn base_document_is_valid() {
    assert!(Config::from_json(&base().to_string()).is_ok());
}

#[test]
fn unknown_algorithm() {
    let e = rejects(
        &with(|v| v["algorithm"]["name"] = json!("fastest")),
        "algorithm.name",
        "unknown algorithm \"fastest\"",
    );
    assert!(
        e.problem.contains("round_robin"),
        "lists the accepted names: {e}"
    );
}

#[test]
fn no_backends() {
    rejects(
        &with(|v| v["backends"] = json!([])),
        "backends",
        "no backends configured",
    );
    rejects(
        r#"{"algorithm": {"name": "rfws"}}"#,
        "backends",
        "no backends configured",
    );
}

#[test]
fn zero_total_weight() {
    rejects(
        &with(|v| {
            v["backends"][0]["weight"] = json!(0);
            v["backends"][1]["weight"] = json!(0);
        }),
        "backends",
        "total weight is 0",
    );
}

#[test]
fn duplicate_address() {
    rejects(
        &with(|v| v["backends"][1]["address"] = json!("127.0.0.1:9001")),
        "backends[1].address",
        "duplicate address 127.0.0.1:9001",
    );
}

#[test]
fn duplicate_name() {
    rejects(
        &with(|v| v["backends"][1]["name"] = json!("a")),
        "backends[1].name",
        "duplicate name \"a\"",
    );
}

#[test]
fn bad_address() {
    rejects(
        &with(|v| v["backends"][0]["address"] = json!("localhost")),
        "backends[0].address",
        "\"localhost\" is not ip:port",
    );
    rejects(
        &with(|v| v["backends"][1]["address"] = json!("127.0.0.1:0")),
        "backends[1].address",
        "port 0",
    );
    rejects(
        &with(|v| v["backends"][0]["address"] = Value::Null),
        "backends[0].address",
        "missing",
    );
}

#[test]
fn load_threshold_out_of_range() {
    rejects(
        &with(|v| v["algorithm"]["load_threshold"] = json!(1.0)),
        "algorithm.load_threshold",
        "must be in (0, 1)",
    );
    rejects(
        &with(|v| v["algorithm"]["load_threshold"] = json!(0)),
        "algorithm.load_threshold",
        "must be in (0, 1)",
    );
}

#[test]
fn tie_tolerance_out_of_range() {
    rejects(
        &with(|v| v["algorithm"]["tie_tolerance"] = json!(-1)),
        "algorithm.tie_tolerance",
        "must be in [0, 1)",
    );
}

fn cookie(edit: impl FnOnce(&mut Value)) -> String {
    with(|v| {
        v["cookie"] = json!({"keys": ["0123456789abcdef"]});
        edit(&mut v["cookie"]);
    })
}

#[test]
fn short_cookie_key() {
    rejects(
        &cookie(|c| c["keys"] = json!(["short"])),
        "cookie.keys[0]",
        "key is 5 bytes; at least 16",
    );
    rejects(
        &cookie(|c| c["keys"] = json!(["0123456789abcdef", "tiny"])),
        "cookie.keys[1]",
        "at least 16",
    );
    rejects(
        &cookie(|c| c["keys"] = json!([])),
        "cookie.keys",
        "at least one signing key",
    );
}

#[test]
fn same_site_none_without_secure() {
    rejects(
        &cookie(|c| c["same_site"] = json!("None")),
        "cookie.same_site",
        "SameSite=None requires \"secure\": true",
    );
    assert!(Config::from_json(&cookie(|c| {
        c["same_site"] = json!("None");
        c["secure"] = json!(true);
    }))
    .is_ok());
}

#[test]
fn unknown_field() {
    let e = rejects(
        r#"{"algorithm": {"name": "rfws"}, "backendz": []}"#,
        "backendz",
        "unknown field `backendz`",
    );
    assert!(
        e.problem.contains("expected one of `version`"),
        "lists the known fields: {e}"
    );
    rejects(
        &with(|v| v["backends"][0]["wieght"] = json!(2)),
        "backends[0].wieght",
        "unknown field `wieght`",
    );
}

#[test]
fn param_not_of_this_algorithm() {
    rejects(
        &with(|v| v["algorithm"] = json!({"name": "round_robin", "choices": 2})),
        "algorithm.choices",
        "not a parameter of round_robin",
    );
    rejects(
        &with(|v| v["algorithm"] = json!({"name": "ip_hash", "table_size": 7})),
        "algorithm.table_size",
        "not a parameter of ip_hash",
    );
    rejects(
        &with(|v| {
            v["algorithm"] =
                json!({"name": "consistent_hash", "flavour": "ketama", "table_size": 7})
        }),
        "algorithm.table_size",
        "only for flavour \"maglev\"",
    );
}

#[test]
fn maglev_table_size_not_prime() {
    rejects(
        &with(|v| {
            v["algorithm"] =
                json!({"name": "consistent_hash", "flavour": "maglev", "table_size": 65536})
        }),
        "algorithm.table_size",
        "65536 must be a prime",
    );
    rejects(
        &with(|v| {
            v["algorithm"] =
                json!({"name": "consistent_hash", "flavour": "maglev", "table_size": 5})
        }),
        "algorithm.table_size",
        "must be a prime between 7",
    );
}

#[test]
fn heartbeat_threshold_too_high() {
    rejects(
        &with(|v| {
            v["health"] =
                json!({"heartbeat": {"interval_ms": 1000, "window_ms": 3000, "threshold": 4}})
        }),
        "health.heartbeat.threshold",
        "4 must be between 1 and window_ms / interval_ms = 3",
    );
}

#[test]
fn redirect_mode_without_url() {
    rejects(
        &with(|v| v["mode"] = json!("redirect")),
        "backends[0].url",
        "required when mode is \"redirect\"",
    );
    rejects(
        &with(|v| v["backends"][0]["url"] = json!("ftp://x")),
        "backends[0].url",
        "must be an absolute http:// or https:// URL",
    );
}

#[test]
fn wrong_json_type() {
    rejects(
        &with(|v| v["backends"][1]["weight"] = json!("heavy")),
        "backends[1].weight",
        "invalid type: string \"heavy\"",
    );
    rejects(
        &with(|v| v["algorithm"]["load_threshold"] = json!("high")),
        "algorithm.load_threshold",
        "invalid type",
    );
    rejects(
        &with(|v| v["cookie"] = json!({"keys": "0123456789abcdef"})),
        "cookie.keys",
        "invalid type",
    );
    rejects(
        &with(|v| v["backends"][0]["weight"] = json!(-1)),
        "backends[0].weight",
        "invalid value",
    );
}

#[test]
fn trailing_garbage() {
    let e = rejects(
        &format!("{} xyz", base()),
        "(document)",
        "Unexpected char: 'x'",
    );
    assert!(e.problem.starts_with("invalid JSON at line "), "{e}");
    rejects(
        &format!("{}{{}}", base()),
        "(document)",
        "already contains one root element",
    );
}

#[test]
fn empty_document() {
    rejects("", "(document)", "empty configuration");
    rejects("  \n\t ", "(document)", "empty configuration");
    assert_eq!(
        Config::from_json_bytes(&[0xff, 0xfe]).unwrap_err().field,
        "(document)"
    );
}

#[test]
fn other_named_errors() {
    rejects(
        &with(|v| v["version"] = json!(2)),
        "version",
        "unsupported version 2",
    );
    rejects(
        &with(|v| v["mode"] = json!("teleport")),
        "mode",
        "unknown mode \"teleport\"",
    );
    rejects(
        &with(|v| v["fallbacks"] = json!(17)),
        "fallbacks",
        "more than 16",
    );
    rejects(
        &with(|v| v["backends"][0]["link"] = json!({"bandwidth_mbps": 0})),
        "backends[0].link.bandwidth_mbps",
        "greater than 0",
    );
    rejects(
        &with(|v| v["algorithm"] = json!({"name": "consistent_hash", "key": "query:x"})),
        "algorithm.key",
        "expected header:NAME",
    );
    rejects(
        &with(|v| v["algorithm"] = json!({"name": "least_connections", "choices": 1})),
        "algorithm.choices",
        "between 2 and 64",
    );
    rejects(
        &cookie(|c| c["name"] = json!("bad name")),
        "cookie.name",
        "not a valid cookie name",
    );
    // serde would read a struct from a JSON array (fields by position): the
    // document must be an object.
    rejects("[1, 2]", "(document)", "must be a JSON object");
    rejects(
        r#"[1, "proxy", {"name": "rfws"}, [{"address": "127.0.0.1:1"}]]"#,
        "(document)",
        "must be a JSON object",
    );
    rejects("42", "(document)", "invalid type: integer `42`");
}
