//! Properties of the hash selectors, the session cookie and configuration
//! parsing.

use edgepick_core::config::{Backend, Cookie, SameSite};
use edgepick_core::cookie::Signer;
use edgepick_core::select::{IpHash, Ketama, Maglev};
use edgepick_core::{BackendState, Candidates, Config, Key, Selector, SplitMix64};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};
use std::net::IpAddr;

fn backends(ids: &[u16], weights: &[u32]) -> Vec<Backend> {
    ids.iter()
        .zip(weights)
        .map(|(&id, &w)| Backend {
            name: format!("n{id}"),
            address: format!("10.{}.{}.1:8080", id / 256, id % 256)
                .parse()
                .unwrap(),
            url: None,
            weight: w,
            capacity: 100,
            link: Default::default(),
            down: false,
        })
        .collect()
}

/// The first choice of `sel` for each key, with every backend eligible.
fn primaries(sel: &mut dyn Selector, b: &[Backend], keys: &[String]) -> Vec<String> {
    let states = vec![BackendState::default(); b.len()];
    let eligible = vec![true; b.len()];
    let weights: Vec<f64> = b.iter().map(|x| f64::from(x.weight)).collect();
    let c = Candidates {
        backends: b,
        states: &states,
        eligible: &eligible,
        weights: &weights,
        now_ms: 0,
    };
    let mut rng = SplitMix64::new(0);
    keys.iter()
        .map(|k| {
            let s = sel.select(
                &c,
                &Key {
                    client: None,
                    hash: Some(k.as_bytes()),
                },
                &mut rng,
                1,
            );
            b[s.ranked[0]].name.clone()
        })
        .collect()
}

/// Moved fraction and the fraction that moved somewhere other than the newcomer.
fn movement(before: &[String], after: &[String], newcomer: &str) -> (f64, f64) {
    let n = before.len() as f64;
    let moved = before.iter().zip(after).filter(|(x, y)| x != y).count() as f64;
    let astray = before
        .iter()
        .zip(after)
        .filter(|(x, y)| x != y && y.as_str() != newcomer)
        .count() as f64;
    (moved / n, astray / n)
}

/// How far above 1/(n+1) the moved fraction may be for ketama: 0.05, widened
/// for small rings. The newcomer's 160 points own a Beta(160, 160·n)-distributed
/// share of the ring (σ ≈ 0.022 for n = 2), and 2,000 keys sample it; 4.5 σ of
/// the two keeps random seeds from failing the test by chance.
fn ketama_tolerance(n: usize) -> f64 {
    let p = 1.0 / (n + 1) as f64;
    let ring = (p * (1.0 - p) / (160.0 * (n + 1) as f64 + 1.0)).sqrt();
    let sample = (p * (1.0 - p) / 2000.0).sqrt();
    (4.5 * ring.hypot(sample)).max(0.05)
}

fn keys(seed: u64) -> Vec<String> {
    (0..2000).map(|i| format!("user-{seed}-{i}")).collect()
}

/// Distinct backend ids: `n` existing plus one newcomer (the last).
fn ids(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u16>> {
    prop::collection::hash_set(0u16..4000, n).prop_map(|s| s.into_iter().collect())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Ketama: adding a backend moves about 1/(n+1) of keys, all to the newcomer.
    #[test]
    fn ketama_moves_about_one_over_n(ids in ids(3..=11), seed in any::<u64>()) {
        let n = ids.len() - 1;
        let weights = vec![1; n + 1];
        let old = backends(&ids[..n], &weights);
        let new = backends(&ids, &weights);
        let keys = keys(seed);
        let before = primaries(&mut Ketama::new(&old), &old, &keys);
        let after = primaries(&mut Ketama::new(&new), &new, &keys);
        let (moved, astray) = movement(&before, &after, &new[n].name);
        prop_assert!(moved <= 1.0 / (n + 1) as f64 + ketama_tolerance(n), "n={} moved {}", n, moved);
        prop_assert_eq!(astray, 0.0, "ketama only hands keys to the newcomer");
    }

    /// Maglev: adding a backend moves about 1/(n+1) of keys; the paper (§3.4,
    /// §5.3) trades a little extra disruption for balance, small for M ≫ N
    /// but with no hard bound: over 3,000 random backend sets (n = 3..11,
    /// 2,000 keys) the worst excess over 1/(n+1) was 0.051 and the worst share
    /// moved to old backends 0.043; proptest once found a set with 0.056.
    /// Hence 0.08 here; a modulo hash would move n/(n+1).
    #[test]
    fn maglev_moves_about_one_over_n(ids in ids(3..=11), seed in any::<u64>()) {
        let n = ids.len() - 1;
        let weights = vec![1; n + 1];
        let old = backends(&ids[..n], &weights);
        let new = backends(&ids, &weights);
        let keys = keys(seed);
        let before = primaries(&mut Maglev::new(&old, 65_537), &old, &keys);
        let after = primaries(&mut Maglev::new(&new, 65_537), &new, &keys);
        let (moved, astray) = movement(&before, &after, &new[n].name);
        prop_assert!(moved <= 1.0 / (n + 1) as f64 + 0.08, "n={} moved {}", n, moved);
        prop_assert!(astray <= 0.08, "n={} moved elsewhere {}", n, astray);
    }

    /// ip_hash gives the same ranked list on every call and for a fresh selector,
    /// and the same choice for the whole /24.
    #[test]
    fn ip_hash_is_stable(
        weights in prop::collection::vec(1u32..6, 2..8),
        v4 in any::<[u8; 4]>(),
        other in any::<u8>(),
        v6 in any::<[u8; 16]>(),
    ) {
        let ids: Vec<u16> = (0..weights.len() as u16).collect();
        let b = backends(&ids, &weights);
        let states = vec![BackendState::default(); b.len()];
        let eligible = vec![true; b.len()];
        let w: Vec<f64> = weights.iter().map(|&x| f64::from(x)).collect();
        let c = Candidates { backends: &b, states: &states, eligible: &eligible, weights: &w, now_ms: 0 };
        let mut rng = SplitMix64::new(3);
        let mut kept = IpHash::new(&b);
        for ip in [IpAddr::from(v4), IpAddr::from(v6)] {
            let key = Key { client: Some(ip), hash: None };
            let first = kept.select(&c, &key, &mut rng, 3);
            prop_assert_eq!(&kept.select(&c, &key, &mut rng, 3), &first);
            prop_assert_eq!(&IpHash::new(&b).select(&c, &key, &mut rng, 3), &first);
        }
        let same_24 = IpAddr::from([v4[0], v4[1], v4[2], other]);
        let a = kept.select(&c, &Key { client: Some(IpAddr::from(v4)), hash: None }, &mut rng, 1);
        let z = kept.select(&c, &Key { client: Some(same_24), hash: None }, &mut rng, 1);
        prop_assert_eq!(a.ranked, z.ranked);
    }
}

fn cookie_cfg(keys: Vec<String>, max_age_s: u64) -> Cookie {
    Cookie {
        name: "edgepick".into(),
        keys: keys.into_iter().map(String::into_bytes).collect(),
        keys_env: Vec::new(),
        max_age_s,
        path: "/".into(),
        same_site: SameSite::Lax,
        secure: false,
        http_only: true,
        strip: true,
    }
}

const NAME: &str = "[A-Za-z0-9._:\\[\\]-]{1,64}";
const KEY: &str = "[ -~]{16,48}";

proptest! {
    #![proptest_config(config(256))]

    /// Signing then verifying gives the backend back until the expiry.
    #[test]
    fn cookie_round_trips(name in NAME, key in KEY, now_s in 0u64..4_000_000_000, age in 1u64..34_560_000) {
        let cfg = cookie_cfg(vec![key], age);
        let now = now_s * 1000;
        let v = Signer::new(&cfg).sign(&name, now);
        prop_assert_eq!(Signer::new(&cfg).verify(&v, now), Ok(name.clone()));
        prop_assert_eq!(Signer::new(&cfg).verify(&v, now + age * 1000 - 1), Ok(name));
        prop_assert!(Signer::new(&cfg).verify(&v, now + age * 1000).is_err());
    }

    /// Any single-bit flip anywhere in the value is rejected.
    #[test]
    fn cookie_bit_flip_is_rejected(name in NAME, key in KEY, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let cfg = cookie_cfg(vec![key], 3600);
        let v = Signer::new(&cfg).sign(&name, 1_000_000);
        let mut bytes = v.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let flipped = String::from_utf8_lossy(&bytes);
        prop_assert!(Signer::new(&cfg).verify(&flipped, 1_000_000).is_err(), "accepted {:?}", flipped);
    }

    /// A cookie signed with an old key verifies while that key is listed second,
    /// and not once it is removed.
    #[test]
    fn cookie_key_rotation(name in NAME, old in KEY, new in KEY) {
        prop_assume!(old != new);
        let v = Signer::new(&cookie_cfg(vec![old.clone()], 3600)).sign(&name, 0);
        prop_assert_eq!(Signer::new(&cookie_cfg(vec![new.clone(), old], 3600)).verify(&v, 0), Ok(name));
        prop_assert!(Signer::new(&cookie_cfg(vec![new], 3600)).verify(&v, 0).is_err());
    }

    /// Arbitrary text never makes configuration parsing panic.
    #[test]
    fn config_arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = Config::from_json(&text);
    }

    /// Arbitrary bytes neither.
    #[test]
    fn config_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Config::from_json_bytes(&bytes);
    }

    /// Valid documents with one value replaced anywhere: Ok or Err, never a panic.
    #[test]
    fn config_mutated_values_never_panic(doc in 0usize..DOCS, path in any::<prop::sample::Index>(), value in json_value()) {
        let mut v: Value = serde_json::from_str(valid_docs()[doc]).unwrap();
        let mut slots = Vec::new();
        pointers(&v, String::new(), &mut slots);
        let p = &slots[path.index(slots.len())];
        if let Some(slot) = v.pointer_mut(p) {
            *slot = value;
        }
        let _ = Config::from_json(&v.to_string());
    }

    /// Valid documents with bytes deleted, inserted or flipped.
    #[test]
    fn config_mutated_text_never_panics(
        doc in 0usize..DOCS,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut bytes = valid_docs()[doc].as_bytes().to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                _ => bytes[i] = byte,
            }
        }
        let _ = Config::from_json_bytes(&bytes);
    }
}

const DOCS: usize = 3;

fn valid_docs() -> [&'static str; DOCS] {
    [
        r#"{"algorithm":{"name":"rfws","tie_tolerance":0.05,"load_threshold":0.9},
            "backends":[{"name":"a","address":"127.0.0.1:9001","weight":2,"capacity":10,
                         "link":{"bandwidth_mbps":100,"hops":2,"delay_ms":3,"residual_mbps":50}},
                        {"name":"b","address":"127.0.0.1:9002"}],
            "health":{"heartbeat":{"interval_ms":1000,"window_ms":3000,"threshold":2,"path":"/h","timeout_ms":500,"cluster":"c"},
                      "max_fails":2,"fail_timeout_ms":1000,"slow_start_ms":100,"panic_threshold":0.5},
            "cookie":{"name":"s","keys":["0123456789abcdef"],"max_age_s":60,"path":"/","same_site":"Lax","secure":false,"http_only":true},
            "client":{"trusted_hops":1},"fallbacks":2,"decision_header":true}"#,
        r#"{"mode":"redirect","algorithm":{"name":"consistent_hash","key":"header:x-user","flavour":"maglev","table_size":7},
            "backends":[{"address":"[::1]:80","url":"http://a"},{"address":"10.0.0.1:80","url":"https://b/"}]}"#,
        r#"{"version":1,"algorithm":{"name":"least_response_time","decay_ms":100,"default_rtt_ms":5},
            "backends":[{"name":"x","address":"1.2.3.4:5"}]}"#,
    ]
}

/// JSON pointers to every value in `v`, the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| pointers(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(2),
            Just(7),
            Just(65_537),
            Just(u64::from(u32::MAX) + 1),
            Just(u64::MAX)
        ]
        .prop_map(Value::from),
        prop_oneof![Just(-1.0f64), Just(0.0), Just(0.5), Just(1.0), Just(1e308)]
            .prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        prop_oneof![
            Just("ketama"),
            Just("maglev"),
            Just("redirect"),
            Just("None"),
            Just("header:"),
            Just("cookie:x"),
            Just("127.0.0.1:0"),
            Just("[::1]:1"),
            Just("ip_hash"),
            Just("consistent_hash"),
            Just("least_connections"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn valid_docs_are_valid() {
    for d in valid_docs() {
        assert!(Config::from_json(d).is_ok(), "{d}");
    }
    // And a document with huge numbers everywhere is rejected, not a panic.
    let _ = Config::from_json(
        &json!({"backends": [{"address": "1.1.1.1:1", "weight": u64::MAX}]}).to_string(),
    );
}
