//! `down: true` (nginx `down`): a node out of rotation is never picked, not
//! even in panic mode, loses its sessions, and leaves every other client's
//! hash mapping as it was.

use edgepick_core::{Config, Request, Router, SplitMix64};
use std::net::{IpAddr, Ipv4Addr};

fn config(algorithm: &str, c_down: bool, extra: &str) -> Config {
    Config::from_json(&format!(
        r#"{{"algorithm": {{"name": "{algorithm}"}}, {extra}
            "backends": [{{"name": "a", "address": "127.0.0.1:9001"}},
                         {{"name": "b", "address": "127.0.0.1:9002"}},
                         {{"name": "c", "address": "127.0.0.1:9003", "down": {c_down}}}]}}"#
    ))
    .unwrap()
}

fn pick(r: &mut Router, req: &Request<'_>, rng: &mut SplitMix64) -> Vec<usize> {
    let t = r.pick(req, 1_000, rng);
    let ranked = t.ranked().to_vec();
    r.abandon(t);
    ranked
}

#[test]
fn a_down_node_is_never_picked_and_hash_mappings_of_others_stay() {
    let mut rng = SplitMix64::new(1);
    for alg in [
        "round_robin",
        "rfws",
        "least_connections",
        "random",
        "ip_hash",
    ] {
        let mut r = Router::new(config(alg, true, ""));
        for _ in 0..50 {
            assert!(
                !pick(&mut r, &Request::default(), &mut rng).contains(&2),
                "{alg}"
            );
        }
    }
    let (mut up, mut down) = (
        Router::new(config("ip_hash", false, "")),
        Router::new(config("ip_hash", true, "")),
    );
    let mut moved = 0;
    for i in 0..200u8 {
        let req = Request {
            peer: Some(IpAddr::V4(Ipv4Addr::new(10, i, i.wrapping_mul(7), 1))),
            ..Request::default()
        };
        let (was, is) = (
            pick(&mut up, &req, &mut rng)[0],
            pick(&mut down, &req, &mut rng)[0],
        );
        if was == 2 {
            moved += 1;
            assert_ne!(is, 2);
        } else {
            assert_eq!(was, is, "client {i} moved although its node is up");
        }
    }
    assert!(moved > 0, "some clients mapped to c");
}

#[test]
fn a_down_node_stays_out_in_panic_mode_and_loses_its_sessions() {
    let mut rng = SplitMix64::new(2);
    let mut r = Router::new(config(
        "round_robin",
        true,
        r#""health": {"max_fails": 1},"#,
    ));
    // a and b fail: panic mode, yet c (down) is never picked.
    for i in 0..2 {
        let t = r.pick(&Request::default(), 1_000, &mut rng);
        r.finish(t, Some(i), Some(&edgepick_core::Outcome::default()), 1_000);
    }
    for _ in 0..10 {
        let t = r.pick(&Request::default(), 1_001, &mut rng);
        assert!(t.decision().panic);
        assert!(!t.ranked().contains(&2));
        r.abandon(t);
    }
    // A session on c is not honoured.
    let cfg = config(
        "round_robin",
        true,
        r#""cookie": {"keys": ["a-signing-key-of-16+bytes"]},"#,
    );
    let cookie = edgepick_core::cookie::Signer::new(cfg.cookie.as_ref().unwrap()).sign("c", 1_000);
    let header = format!("edgepick={cookie}");
    let mut r = Router::new(cfg);
    let req = Request {
        cookie: Some(&header),
        ..Request::default()
    };
    assert_ne!(pick(&mut r, &req, &mut rng)[0], 2);
}

#[test]
fn every_backend_down_is_refused() {
    let e = Config::from_json(r#"{"backends": [{"address": "127.0.0.1:9001", "down": true}]}"#)
        .unwrap_err();
    assert_eq!(e.field, "backends");
}
