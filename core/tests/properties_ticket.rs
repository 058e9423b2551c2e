//! Properties of the request lifecycle ([`Ticket`]), through the public [`Router`]:
//!
//! * random sequences of pick / finish / abandon / reroute, with retries
//!   served by any fallback (or by a node outside the list, or nobody), keep
//!   every backend's in-flight count equal to the open tickets held on it, and
//!   leave every count at 0 once all tickets are closed;
//! * [`Router::finish`] counts one passive failure on exactly the ranked nodes
//!   the retry walked past before the node that served, records the served
//!   node's outcome, and touches no other node;
//! * the `Set-Cookie` rule, including re-signing a cookie signed with an
//!   older key.

use edgepick_core::cookie::{self, CookieVerdict};
use edgepick_core::{Config, Outcome, Request, Router, SplitMix64, Ticket};
use proptest::prelude::*;

const ALGORITHMS: [&str; 5] = [
    r#"{"name": "round_robin"}"#,
    r#"{"name": "random"}"#,
    r#"{"name": "least_connections"}"#,
    r#"{"name": "least_response_time"}"#,
    r#"{"name": "rfws"}"#,
];

fn config(algorithm: &str, n: usize, fallbacks: usize, max_fails: u32) -> Config {
    let backends: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"name": "b{i}", "address": "10.0.0.{}:8080"}}"#, i + 1))
        .collect();
    Config::from_json(&format!(
        r#"{{"algorithm": {algorithm}, "fallbacks": {fallbacks},
            "health": {{"max_fails": {max_fails}, "fail_timeout_ms": 50, "panic_threshold": 0}},
            "backends": [{}]}}"#,
        backends.join(",")
    ))
    .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Pick,
    /// Close open ticket `k`: served by ranked position `served` (past the
    /// end: a node outside the list; `None`: unknown), with a failure or not,
    /// or nothing observed.
    Finish {
        k: usize,
        served: Option<usize>,
        failure: bool,
        observed: bool,
    },
    Abandon(usize),
    Reroute {
        k: usize,
        to: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Pick),
        3 => (any::<usize>(), proptest::option::of(0usize..6), any::<bool>(), prop::bool::weighted(0.9))
            .prop_map(|(k, served, failure, observed)| Op::Finish { k, served, failure, observed }),
        1 => any::<usize>().prop_map(Op::Abandon),
        1 => (any::<usize>(), 0usize..6).prop_map(|(k, to)| Op::Reroute { k, to }),
    ]
}

/// In-flight counts the open tickets should hold.
fn held(tickets: &[Ticket], n: usize) -> Vec<u32> {
    let mut v = vec![0u32; n];
    for t in tickets {
        if let Some(p) = t.primary() {
            v[p] += 1;
        }
    }
    v
}

fn inflight(r: &Router) -> Vec<u32> {
    r.states().iter().map(|s| s.inflight).collect()
}

fn fails(r: &Router) -> Vec<u32> {
    r.states().iter().map(|s| s.health.passive.fails).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn tickets_account_exactly(
        alg in 0usize..ALGORITHMS.len(),
        n in 1usize..6,
        fallbacks in 0usize..4,
        max_fails in 0u32..4,
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let mut r = Router::new(config(ALGORITHMS[alg], n, fallbacks, max_fails));
        let mut rng = SplitMix64::new(seed);
        let mut open: Vec<Ticket> = Vec::new();
        for (now, op) in ops.into_iter().enumerate() {
            let now = now as u64 * 10;
            match op {
                Op::Pick => open.push(r.pick(&Request::default(), now, &mut rng)),
                Op::Abandon(k) if !open.is_empty() => {
                    let before = fails(&r);
                    r.abandon(open.swap_remove(k % open.len()));
                    prop_assert_eq!(fails(&r), before, "abandon blames nobody");
                }
                Op::Reroute { k, to } if !open.is_empty() => {
                    let k = k % open.len();
                    let ranked = open[k].ranked().to_vec();
                    if let Some(&node) = ranked.get(to) {
                        r.reroute(&mut open[k], node);
                        prop_assert_eq!(open[k].primary(), Some(node));
                    }
                }
                Op::Finish { k, served, failure, observed } if !open.is_empty() => {
                    let t = open.swap_remove(k % open.len());
                    let ranked = t.ranked().to_vec();
                    let from = t.primary().and_then(|h| ranked.iter().position(|&x| x == h)).unwrap_or(0);
                    // A served node: a ranked one, one outside the list, or unknown.
                    let outside = (0..n).find(|i| !ranked.contains(i));
                    let served = served.and_then(|p| ranked.get(p).copied().or(outside));
                    let outcome = Outcome { status: Some(if failure { 502 } else { 200 }), ..Outcome::default() };
                    let before = fails(&r);
                    let a = r.finish(t, served, observed.then_some(&outcome), now);
                    let walked: Vec<usize> = match (served, observed) {
                        (Some(s), true) => {
                            let rest = &ranked[from.min(ranked.len())..];
                            rest.iter().copied().take_while(|&x| x != s).collect()
                        }
                        _ => Vec::new(),
                    };
                    prop_assert_eq!(&a.walked_past, &walked);
                    let after = fails(&r);
                    for i in 0..n {
                        let want = if observed && served == Some(i) {
                            if failure { before[i] + 1 } else { 0 }
                        } else if walked.contains(&i) {
                            before[i] + 1
                        } else {
                            before[i]
                        };
                        prop_assert_eq!(after[i], want, "backend {} ranked {:?} served {:?}", i, ranked, served);
                    }
                }
                _ => {}
            }
            prop_assert_eq!(inflight(&r), held(&open, n));
        }
        for t in open.drain(..) {
            r.abandon(t);
        }
        prop_assert_eq!(inflight(&r), vec![0; n]);
    }
}

#[test]
fn a_cookie_signed_with_an_older_key_is_re_signed() {
    let doc = |keys: &str| {
        format!(
            r#"{{"cookie": {{"name": "ep", "keys": [{keys}], "max_age_s": 600}},
                "backends": [{{"name": "a", "address": "127.0.0.1:1"}}, {{"name": "b", "address": "127.0.0.1:2"}}]}}"#
        )
    };
    let old = Config::from_json(&doc(r#""old-key-0123456789abcdef""#)).unwrap();
    let cfg = Config::from_json(&doc(
        r#""new-key-0123456789abcdef", "old-key-0123456789abcdef""#,
    ))
    .unwrap();
    let now = 1_800_000_000_000;
    let stale = cookie::Signer::new(old.cookie.as_ref().unwrap()).sign("b", now);
    let fresh = cookie::Signer::new(cfg.cookie.as_ref().unwrap()).sign("b", now);
    let mut r = Router::new(cfg.clone());
    let mut rng = SplitMix64::new(1);
    for round in 0..2 {
        // Twice: a stale value is never answered from the memo as fresh.
        let header = format!("ep={stale}");
        let t = r.pick(
            &Request {
                cookie: Some(&header),
                ..Request::default()
            },
            now,
            &mut rng,
        );
        assert_eq!(t.verdict(), CookieVerdict::Valid(1), "round {round}");
        assert!(t.stale_key());
        assert_eq!(t.primary(), Some(1), "an old key still pins");
        let set = r
            .set_cookie(&t, Some(1), Some(200), now)
            .expect("re-signed");
        assert!(set.starts_with(&format!("ep={fresh}")), "{set}");
        assert_eq!(
            r.set_cookie(&t, Some(1), Some(503), now),
            None,
            "not on a 5xx"
        );
        r.abandon(t);
    }
    let header = format!("ep={fresh}");
    for _ in 0..2 {
        let t = r.pick(
            &Request {
                cookie: Some(&header),
                ..Request::default()
            },
            now,
            &mut rng,
        );
        assert!(!t.stale_key());
        assert_eq!(
            r.set_cookie(&t, Some(1), Some(200), now),
            None,
            "already right"
        );
        assert!(r.set_cookie(&t, Some(0), Some(200), now).is_some(), "moved");
        r.abandon(t);
    }
    let mut off = Router::new(config(ALGORITHMS[0], 2, 1, 1));
    let t = off.pick(&Request::default(), now, &mut rng);
    assert_eq!(
        off.set_cookie(&t, Some(0), Some(200), now),
        None,
        "cookies off"
    );
    off.abandon(t);
}

#[test]
fn a_retried_request_releases_the_primary_and_blames_it() {
    let mut r = Router::new(config(ALGORITHMS[0], 3, 2, 1));
    let mut rng = SplitMix64::new(1);
    let t = r.pick(&Request::default(), 0, &mut rng);
    let ranked = t.ranked().to_vec();
    assert_eq!(inflight(&r)[ranked[0]], 1);
    let ok = Outcome {
        status: Some(200),
        latency_ms: Some(t.latency_ms(12)),
        ..Outcome::default()
    };
    let a = r.finish(t, Some(ranked[1]), Some(&ok), 12);
    assert_eq!(a.walked_past, [ranked[0]]);
    assert_eq!(
        a.passive().collect::<Vec<_>>(),
        [(ranked[0], true), (ranked[1], false)]
    );
    assert_eq!(inflight(&r), [0, 0, 0]);
    assert!(
        !r.states()[ranked[0]].is_healthy(12, &r.config().health),
        "max_fails 1"
    );
    assert_eq!(r.states()[ranked[1]].latency.cost_ms, Some(12.0));
}
