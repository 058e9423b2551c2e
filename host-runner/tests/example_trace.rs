//! The README's example (`examples/config.json`, `examples/trace.jsonl`)
//! replayed through the compiled edgepick filter (`EDGEPICK_FILTER_WASM`) by
//! the `edgepick-host` binary.

mod common;

use common::filter_wasm;
use std::path::Path;

/// `examples/` drives the real filter: round robin, a sticky session cookie,
/// a passive failure that takes a node out for 10 s, a tampered cookie.
#[test]
fn example_trace_replays_through_the_filter() {
    let wasm = filter_wasm();
    let example = |f: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(f)
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgepick-host"))
        .arg("replay")
        .arg("--wasm")
        .arg(&wasm)
        .arg("--config")
        .arg(example("config.json"))
        .arg("--trace")
        .arg(example("trace.jsonl"))
        .output()
        .expect("edgepick-host runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .filter(|r: &serde_json::Value| r.get("event").is_none())
        .collect();
    assert_eq!(lines.len(), 9, "{lines:?}");
    let primary = |i: usize| {
        lines[i]["endpoint"]
            .as_str()
            .and_then(|e| e.split(',').next())
            .unwrap_or("-")
            .to_string()
    };
    let logs = |i: usize| lines[i]["logs"].to_string();
    let (a, b, c) = ("127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003");
    // Round robin, each new client gets a cookie for its node.
    assert_eq!((primary(0), primary(1)), (a.to_string(), b.to_string()));
    assert!(lines[0]["set_cookie"][0]
        .as_str()
        .unwrap()
        .starts_with("edgepick=v1."));
    // The cookie for a keeps the client on a, with no new cookie.
    assert_eq!(primary(2), a);
    assert!(lines[2]["decision"]
        .as_str()
        .unwrap()
        .contains("reason=cookie"));
    assert!(lines[2]["set_cookie"].is_null());
    // a answers 503: out for 10 s; nobody is sent there meanwhile, and the
    // sticky client moves (and gets a new cookie).
    assert_eq!(
        (primary(3), lines[3]["status"].as_u64()),
        (a.to_string(), Some(503))
    );
    assert!(logs(3).contains("backend a out"), "{}", logs(3));
    for (i, line) in lines.iter().enumerate().take(7).skip(4) {
        let endpoints = line["endpoint"].as_str().unwrap();
        assert!(!endpoints.contains(a), "request {i}: {endpoints}");
    }
    assert_eq!(primary(5), c);
    assert!(lines[5]["set_cookie"][0]
        .as_str()
        .unwrap()
        .starts_with("edgepick=v1."));
    // After fail_timeout a is back in the fallbacks; a forged cookie is ignored.
    assert!(lines[7]["endpoint"].as_str().unwrap().contains(a));
    assert_eq!(primary(8), b);
    assert!(logs(8).contains("BadSignature"), "{}", logs(8));
    assert!(stderr.contains("primary endpoint"), "{stderr}");
}
