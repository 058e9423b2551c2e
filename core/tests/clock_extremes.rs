//! Clock values at the ends of `u64` never panic (tests run with overflow
//! checks): picks, outcomes, heartbeats and cookies at `u64::MAX` and 0;
//! passive fail_timeout windows, heartbeat windows, cookie expiry, slow
//! start and response-time decay near both ends (the simulator's clock:
//! `sim/tests/clock_extremes.rs`).

use edgepick_core::backend::PeakEwma;
use edgepick_core::config::{Health, Heartbeat};
use edgepick_core::cookie::Signer;
use edgepick_core::health::{HealthState, HeartbeatWindow, PassiveHealth};
use edgepick_core::{Config, CookieVerdict, Outcome, Rejection, Request, Router, SplitMix64};

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

/// Clock readings at and near both ends.
const ENDS: [u64; 7] = [
    0,
    1,
    1_800_000_000_000,
    u64::MAX / 1000,
    u64::MAX - 86_400_000,
    u64::MAX - 1,
    u64::MAX,
];

fn health(max_fails: u32, fail_timeout_ms: u64, slow_start_ms: u64) -> Health {
    Health {
        max_fails,
        fail_timeout_ms,
        slow_start_ms,
        ..Health::default()
    }
}

#[test]
fn passive_fail_timeout_windows_at_the_ends() {
    // The longest window the configuration allows (one day).
    let cfg = health(1, 86_400_000, 0);
    for now in ENDS {
        let mut p = PassiveHealth::default();
        p.failure(now);
        assert!(p.is_out(now, &cfg), "out right after the failure at {now}");
        assert!(p.is_out(now.saturating_add(86_400_000), &cfg));
        if now < u64::MAX - 86_400_000 {
            assert!(!p.is_out(now + 86_400_001, &cfg), "back after the window");
        }
        // A clock behind the failure (another worker's) keeps it out.
        assert!(p.is_out(now.saturating_sub(5), &cfg));
    }
    // Through the router: its eligibility cache is valid until the window ends.
    let json = CFG.replace("\"fail_timeout_ms\": 1000", "\"fail_timeout_ms\": 86400000");
    for now in ENDS {
        let mut r = Router::new(Config::from_json(&json).unwrap());
        let mut rng = SplitMix64::new(3);
        let t = r.pick(&Request::default(), now, &mut rng);
        let out = t.primary();
        r.finish(t, out, Some(&Outcome::default()), now);
        for later in [now, now.saturating_add(1), u64::MAX] {
            let t = r.pick(&Request::default(), later, &mut rng);
            assert!(t.primary().is_some());
            r.abandon(t);
        }
    }
}

#[test]
fn heartbeat_windows_and_intervals_at_the_ends() {
    let hb = Heartbeat {
        interval_ms: 3_600_000,
        window_ms: u64::MAX,
        threshold: 2,
        path: "/health".into(),
        timeout_ms: 1000,
        cluster: "c".into(),
    };
    let cfg = Health {
        heartbeat: Some(hb.clone()),
        ..Health::default()
    };
    for now in ENDS {
        let mut w = HeartbeatWindow::default();
        w.record(now, &hb);
        w.record(now.saturating_add(1), &hb);
        assert!(w.count(u64::MAX, &hb) <= 2);
        let mut s = HealthState {
            heartbeats: w,
            ..HealthState::default()
        };
        let _ = s.evaluate(now, &cfg);
        let _ = s.evaluate(u64::MAX, &cfg);
        let _ = s.evaluate(0, &cfg); // the clock went back
    }
    // The router's heartbeats with the configuration's longest window.
    for now in ENDS {
        let mut r = Router::new(Config::from_json(CFG).unwrap());
        r.heartbeat(0, now);
        r.heartbeat(1, now.saturating_add(100));
        r.evaluate_health(now);
        r.evaluate_health(u64::MAX);
    }
}

#[test]
fn cookie_expiry_at_the_ends() {
    let cfg = Config::from_json(&CFG.replace(
        "\"keys\": [\"a-signing-key-of-16+bytes\"]",
        "\"keys\": [\"a-signing-key-of-16+bytes\"], \"max_age_s\": 34560000",
    ))
    .unwrap();
    let ck = cfg.cookie.clone().unwrap();
    assert_eq!(ck.max_age_s, 400 * 86_400, "the longest max_age_s allowed");
    let signer = Signer::new(&ck);
    for now in ENDS {
        let value = signer.sign("a", now);
        let expiry = (now / 1000).saturating_add(ck.max_age_s);
        let verdict = signer.verify_value(&value, now, &cfg.backends).0;
        if expiry < 1_000_000_000_000 {
            assert_eq!(verdict, CookieVerdict::Valid(0), "{value} at {now}");
            let at_expiry = expiry.saturating_mul(1000);
            assert_eq!(
                signer.verify(&value, at_expiry),
                Err(Rejection::Expired),
                "{value} at its expiry"
            );
        } else {
            // An expiry past 12 digits is never written by a real clock.
            assert_eq!(verdict, CookieVerdict::Invalid(Rejection::Malformed));
        }
        let mut r = Router::new(cfg.clone());
        for at in [now, u64::MAX] {
            let header = r.session_cookie(0, at).unwrap();
            let value = header.split(';').next().unwrap().to_string();
            let t = r.pick(
                &Request {
                    cookie: Some(&value),
                    ..Request::default()
                },
                at,
                &mut SplitMix64::new(1),
            );
            r.abandon(t);
        }
    }
}

#[test]
fn slow_start_ramps_at_the_ends() {
    let cfg = health(1, 1000, 3_600_000);
    for now in ENDS {
        let s = HealthState {
            recovered_at_ms: Some(now),
            ..HealthState::default()
        };
        assert_eq!(s.slow_start_factor(now, &cfg), 0.1);
        assert_eq!(s.slow_start_factor(now.saturating_sub(1), &cfg), 0.1);
        let late = s.slow_start_factor(u64::MAX, &cfg);
        assert!((0.1..=1.0).contains(&late));
    }
}

#[test]
fn response_time_decay_at_the_ends() {
    for algorithm in [
        r#"{"name": "least_response_time", "decay_ms": 1e-300}"#,
        r#"{"name": "least_response_time", "decay_ms": 1e300}"#,
        r#"{"name": "least_response_time", "default_rtt_ms": 1e300}"#,
        r#"{"name": "rfws"}"#,
    ] {
        let json = CFG.replace(r#"{"name": "rfws"}"#, algorithm);
        let cfg = Config::from_json(&json).unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        let mut r = Router::new(cfg);
        let mut rng = SplitMix64::new(9);
        // Samples at one end, picks at the other, both ways round.
        for (sample_at, pick_at) in [(0, u64::MAX), (u64::MAX, 0), (u64::MAX - 1, u64::MAX)] {
            for latency in [0.0, 1e-9, 250.0, f64::MAX] {
                let t = r.pick(&Request::default(), sample_at, &mut rng);
                let served = t.primary();
                let ok = Outcome {
                    status: Some(200),
                    latency_ms: Some(latency),
                    bytes: u64::MAX,
                    load: Some(0.2),
                };
                r.finish(t, served, Some(&ok), sample_at);
            }
            let t = r.pick(&Request::default(), pick_at, &mut rng);
            assert!(t.primary().is_some(), "{algorithm}");
            r.abandon(t);
        }
        let mut e = PeakEwma::default();
        e.observe(10.0, u64::MAX, 1e-300);
        e.observe(5.0, 0, 1e300);
        assert!(e.estimate(u64::MAX, 1.0, 7.0).is_finite());
    }
}
