//! The configuration the filter receives from Envoy (`Config::from_json_env`,
//! as `wasm-filter/src/root.rs` calls it, with a VM environment where names
//! starting with `K` hold a key): parse and validate any bytes; a valid one
//! must round-trip through `to_json` without writing a key taken from the
//! environment, and build a router that picks and accounts a request at the
//! clock's extremes.
#![no_main]

use edgepick_core::{Config, Outcome, Request, Router, SplitMix64};
use libfuzzer_sys::fuzz_target;

/// The key every `K…` variable holds.
const SECRET: &str = "env-secret-key-0123456789";

fn env(name: &str) -> Option<String> {
    name.starts_with('K').then(|| SECRET.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = Config::from_json_env(data, &env) else {
        return;
    };
    let text = cfg.to_json();
    if cfg.cookie.as_ref().is_some_and(|c| !c.keys_env.is_empty()) {
        assert!(
            !text.contains(SECRET),
            "a key from the environment was written: {text}"
        );
    }
    let again = Config::from_json_env(text.as_bytes(), &env)
        .unwrap_or_else(|e| panic!("to_json output refused ({e}): {text}"));
    assert_eq!(again, cfg, "to_json does not round-trip: {text}");
    // Hash tables (maglev, ketama) are built here: keep their size bounded
    // so one input cannot take seconds.
    if cfg.backends.len() > 64 {
        return;
    }
    let mut router = Router::new(cfg);
    let mut rng = SplitMix64::new(data.len() as u64);
    let req = Request {
        peer: "203.0.113.7".parse().ok(),
        forwarded_for: Some("198.51.100.1, 192.0.2.9"),
        cookie: Some("edgepick=v1.YQ.99999999999.AAAA"),
        path: "/a/b?c",
        headers: &[("x-user", "42")],
    };
    for now in [0, 1_800_000_000_000, u64::MAX - 1, u64::MAX] {
        let t = router.pick(&req, now, &mut rng);
        let served = t.primary();
        let _ = router.set_cookie(&t, served, Some(200), now);
        let ok = Outcome {
            status: Some(200),
            latency_ms: Some(3.0),
            bytes: 512,
            load: Some(0.5),
        };
        router.finish(t, served, Some(&ok), now);
        if let Some(i) = served {
            router.heartbeat(i, now);
        }
        router.evaluate_health(now);
    }
});
