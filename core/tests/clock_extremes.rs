//! Clock values at the ends of `u64` never panic (tests run with overflow
//! checks): picks, outcomes, heartbeats and cookies at `u64::MAX` and 0.

use edgepick_core::{Config, Outcome, Request, Router, SplitMix64};

const CFG: &str = r#"{
  "algorithm": {"name": "rfws"},
  "health": {"max_fails": 1, "fail_timeout_ms": 1000, "slow_start_ms": 5000,
             "heartbeat": {"interval_ms": 100, "window_ms": 300, "threshold": 1}},
  "cookie": {"keys": ["a-signing-key-of-16+bytes"]},
  "backends": [{"name": "a", "address": "127.0.0.1:9001"}, {"name": "b", "address": "127.0.0.1:9002"}]
}"#;

#[test]
fn the_ends_of_the_clock_never_panic() {
    for now in [0, 1, u64::MAX / 2, u64::MAX - 1000, u64::MAX - 1, u64::MAX] {
        let mut r = Router::new(Config::from_json(CFG).unwrap());
        let mut rng = SplitMix64::new(now);
        let fail = Outcome::default();
        let ok = Outcome {
            status: Some(200),
            latency_ms: Some(5.0),
            bytes: 100,
            load: Some(0.5),
        };
        // Out, back (slow start begins at `now`), picked during the ramp.
        let t = r.pick(&Request::default(), now, &mut rng);
        let failed = t.primary();
        r.finish(t, failed, Some(&fail), now);
        let t = r.pick(&Request::default(), now, &mut rng);
        r.finish(t, failed, Some(&ok), now);
        r.heartbeat(0, now);
        r.evaluate_health(now);
        for _ in 0..3 {
            let t = r.pick(&Request::default(), now, &mut rng);
            let cookie = r.set_cookie(&t, t.primary(), Some(200), now);
            r.abandon(t);
            if let Some(c) = cookie {
                let value = c.split(';').next().unwrap().to_string();
                let req = Request {
                    cookie: Some(&value),
                    ..Request::default()
                };
                let t = r.pick(&req, now, &mut rng);
                r.abandon(t);
            }
        }
    }
}
