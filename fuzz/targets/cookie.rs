//! The session cookie as a request brings it (`Cookie:` header, the value
//! `v1.<name>.<expiry>.<mac>`): found and verified with rotated keys at any
//! clock reading, directly and through the router's memo; a value the core
//! signs must verify for its backend until it expires.
#![no_main]

use edgepick_core::cookie::{self, Signer};
use edgepick_core::{Config, CookieVerdict, Rejection, Request, Router, SplitMix64};
use edgepick_fuzz::Input;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const CFG: &str = r#"{
  "algorithm": {"name": "round_robin"},
  "cookie": {"name": "ep", "keys": ["the-newest-key-of-16+bytes", "an-older-key-of-16+bytes"],
             "max_age_s": 3600},
  "backends": [{"name": "a", "address": "127.0.0.1:9001"},
               {"name": "b.2", "address": "127.0.0.1:9002"}]
}"#;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::from_json(CFG).expect("the fuzz configuration is valid"))
}

fuzz_target!(|data: &[u8]| {
    let cfg = config();
    let ck = cfg.cookie.as_ref().expect("cookies are on");
    let mut input = Input::new(data);
    let now = input.clock();
    let header = input.text();
    let signer = Signer::new(ck);

    let direct = signer.verify_header(&header, now, &cfg.backends);
    if let Some(value) = cookie::find(&header, &ck.name) {
        assert!(header.contains(value));
        // The header's verdict is the value's: a configured backend's name
        // is valid, any other name an unknown backend, a rejection the same.
        match (signer.verify(value, now), direct) {
            (Ok(name), CookieVerdict::Valid(i)) => assert_eq!(cfg.backends[i].name, name),
            (Ok(name), CookieVerdict::Invalid(Rejection::UnknownBackend)) => {
                assert!(cfg.backend_index(&name).is_none())
            }
            (Err(why), CookieVerdict::Invalid(r)) => assert_eq!(why, r),
            (v, d) => panic!("verify says {v:?}, the header {d:?}: {header:?}"),
        }
    } else {
        assert_eq!(direct, CookieVerdict::Absent);
    }

    // The router's path: the same verdict, twice (the second from its memo).
    let mut router = Router::new(cfg.clone());
    let mut rng = SplitMix64::new(7);
    let req = Request {
        cookie: Some(&header),
        ..Request::default()
    };
    for _ in 0..2 {
        let t = router.pick(&req, now, &mut rng);
        assert_eq!(
            t.verdict(),
            direct,
            "router and signer disagree on {header:?}"
        );
        router.abandon(t);
    }

    // Sign for each backend at `now`: valid until the expiry, which the
    // value carries in at most 12 digits (a later one reads as malformed).
    for (i, b) in cfg.backends.iter().enumerate() {
        let value = signer.sign(&b.name, now);
        let expiry = (now / 1000).saturating_add(ck.max_age_s);
        let expected = if expiry < 1_000_000_000_000 {
            CookieVerdict::Valid(i)
        } else {
            CookieVerdict::Invalid(Rejection::Malformed)
        };
        assert_eq!(
            signer.verify_value(&value, now, &cfg.backends).0,
            expected,
            "fresh cookie {value:?} at {now}"
        );
        if let Some(h) = router.session_cookie(i, now) {
            assert!(h.starts_with("ep="));
        }
    }
});
