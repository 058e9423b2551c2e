//! The router's cookie memo (`cookie_memo.rs`) never changes an answer: over
//! random sequences of requests carrying valid, tampered, expired, renamed
//! and repeated cookies at increasing times, `Router::pick`'s verdict equals a
//! fresh `Signer::verify_header`, and `Router::session_cookie` equals a fresh
//! signature.

use edgepick_core::cookie::{self, CookieVerdict};
use edgepick_core::{Config, Request, Router, SplitMix64};
use proptest::prelude::*;

const CFG: &str = r#"{
  "algorithm": {"name": "round_robin"},
  "cookie": {"name": "ep", "keys": ["key-new-0123456789", "key-old-0123456789"], "max_age_s": 30},
  "backends": [{"name": "a", "address": "127.0.0.1:9001"},
               {"name": "b", "address": "127.0.0.1:9002"},
               {"name": "c", "address": "127.0.0.1:9003"}]
}"#;

/// How one request's cookie is made.
#[derive(Debug, Clone)]
enum Make {
    /// Signed for a backend name at a time offset (seconds before now).
    Signed {
        name: usize,
        age_s: u64,
        old_key: bool,
    },
    /// A previous request's value again.
    Repeat(usize),
    /// A previous value with one character changed.
    Tamper(usize, usize),
    /// No cookie.
    None,
}

fn make() -> impl Strategy<Value = Make> {
    prop_oneof![
        (0..4usize, 0..40u64, any::<bool>()).prop_map(|(name, age_s, old_key)| Make::Signed {
            name,
            age_s,
            old_key
        }),
        (0..64usize).prop_map(Make::Repeat),
        (0..64usize, 0..80usize).prop_map(|(i, c)| Make::Tamper(i, c)),
        Just(Make::None),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn memo_gives_the_same_verdicts(steps in prop::collection::vec((make(), 0..3_000u64), 1..120)) {
        let cfg = Config::from_json(CFG).unwrap();
        let c = cfg.cookie.clone().unwrap();
        let mut old = c.clone();
        old.keys.reverse();
        let names = ["a", "b", "c", "gone"];
        let mut router = Router::new(cfg.clone());
        let mut rng = SplitMix64::new(1);
        let mut now = 1_800_000_000_000u64;
        let mut seen: Vec<String> = Vec::new();
        for (m, dt) in steps {
            now += dt * 7;
            let value = match m {
                Make::Signed { name, age_s, old_key } => {
                    let k = if old_key { &old } else { &c };
                    Some(cookie::Signer::new(k).sign(names[name], now - age_s * 1000))
                }
                Make::Repeat(i) => seen.get(i % seen.len().max(1)).cloned(),
                Make::Tamper(i, at) => seen.get(i % seen.len().max(1)).map(|v| {
                    let mut b = v.clone().into_bytes();
                    let at = at % b.len();
                    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
                    String::from_utf8(b).unwrap()
                }),
                Make::None => None,
            };
            let header = value.as_ref().map(|v| format!("x=1; ep={v}"));
            let req = Request { cookie: header.as_deref(), ..Request::default() };
            let t = router.pick(&req, now, &mut rng);
            let got = t.verdict();
            router.abandon(t);
            let want = match &header {
                Some(h) => cookie::Signer::new(&c).verify_header(h, now, &cfg.backends),
                None => CookieVerdict::Absent,
            };
            prop_assert_eq!(got, want, "value {:?} at {}", value, now);
            if let Some(v) = value {
                seen.push(v);
            }
            for (i, name) in names.iter().enumerate().take(3) {
                let signer = cookie::Signer::new(&c);
                let fresh = signer.set_cookie(&signer.sign(name, now));
                prop_assert_eq!(router.session_cookie(i, now), Some(fresh));
            }
        }
    }
}
