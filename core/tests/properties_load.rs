//! Properties every selection algorithm keeps, through the public [`Router`]:
//!
//! * never a faulty backend while a healthy one exists (panic mode disabled:
//!   `panic_threshold = 0`, so it only triggers when none is healthy);
//! * ranked lists are unique, at most `1 + fallbacks` long, never empty while a
//!   backend is eligible, and hold only eligible backends;
//! * weighted shares match the weights: exactly over one cycle for round robin,
//!   within 3σ over 20 000 picks for weighted random.

use edgepick_core::{Algorithm, Config, Request, Router, SplitMix64};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

/// `algorithm` objects for all eight algorithms (hash ones included).
const ALGORITHMS: [&str; 10] = [
    r#"{"name": "rfws", "tie_tolerance": 0.05, "load_threshold": 0.8}"#,
    r#"{"name": "round_robin"}"#,
    r#"{"name": "random"}"#,
    r#"{"name": "weighted_random"}"#,
    r#"{"name": "least_connections"}"#,
    r#"{"name": "least_connections", "choices": 2}"#,
    r#"{"name": "least_response_time"}"#,
    r#"{"name": "ip_hash"}"#,
    r#"{"name": "consistent_hash", "key": "path"}"#,
    r#"{"name": "consistent_hash", "key": "path", "flavour": "maglev", "table_size": 307}"#,
];

#[derive(Debug, Clone)]
struct Node {
    weight: u32,
    faulty: bool,
    inflight: u32,
    bandwidth: u32,
    hops: u32,
}

fn node() -> impl Strategy<Value = Node> {
    (0u32..4, any::<bool>(), 0u32..12, 1u32..1000, 1u32..5).prop_map(
        |(weight, faulty, inflight, bandwidth, hops)| Node {
            weight,
            faulty,
            inflight,
            bandwidth,
            hops,
        },
    )
}

fn config(algorithm: &str, nodes: &[Node], fallbacks: usize) -> Config {
    let backends: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                r#"{{"name": "b{i}", "address": "10.0.{}.{}:8080", "weight": {}, "capacity": 10,
                    "link": {{"bandwidth_mbps": {}, "hops": {}, "delay_ms": {}}}}}"#,
                i / 250,
                i % 250 + 1,
                n.weight,
                n.bandwidth,
                n.hops,
                i % 3
            )
        })
        .collect();
    let json = format!(
        r#"{{"algorithm": {algorithm}, "fallbacks": {fallbacks}, "health": {{"panic_threshold": 0}},
            "backends": [{}]}}"#,
        backends.join(",")
    );
    Config::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn router(algorithm: &str, nodes: &[Node], fallbacks: usize) -> Router {
    let mut r = Router::new(config(algorithm, nodes, fallbacks));
    for (s, n) in r.states_mut().iter_mut().zip(nodes) {
        s.health.faulty = n.faulty;
        s.inflight = n.inflight;
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ranked_lists_are_healthy_unique_and_bounded(
        alg in 0..ALGORITHMS.len(),
        mut nodes in prop::collection::vec(node(), 1..24),
        fallbacks in 0usize..=16,
        seed in any::<u64>(),
        clients in prop::collection::vec((any::<u32>(), "[a-z/]{0,12}"), 1..8),
    ) {
        if nodes.iter().all(|n| n.weight == 0) {
            nodes[0].weight = 1; // the configuration requires one
        }
        let mut r = router(ALGORITHMS[alg], &nodes, fallbacks);
        let usable = |i: usize| nodes[i].weight > 0 && !nodes[i].faulty;
        let any_usable = (0..nodes.len()).any(usable);
        let mut rng = SplitMix64::new(seed);
        for (now, (ip, path)) in clients.iter().enumerate() {
            let req = Request { peer: Some(IpAddr::V4(Ipv4Addr::from(*ip))), path, ..Request::default() };
            let t = r.pick(&req, now as u64, &mut rng);
            let d = t.decision().clone();
            r.abandon(t);
            prop_assert!(d.ranked.len() <= 1 + fallbacks, "{:?}", d.ranked);
            let mut seen = d.ranked.clone();
            seen.sort_unstable();
            seen.dedup();
            prop_assert_eq!(seen.len(), d.ranked.len(), "duplicates in {:?}", d.ranked);
            prop_assert!(!d.ranked.is_empty(), "nothing ranked");
            for &i in &d.ranked {
                prop_assert!(i < nodes.len());
                prop_assert!(nodes[i].weight > 0, "weight-0 backend {} ranked", i);
                if any_usable {
                    prop_assert!(usable(i), "{}: faulty backend {} ranked in {:?}", ALGORITHMS[alg], i, d.ranked);
                }
            }
            prop_assert_eq!(d.panic, !any_usable);
        }
    }

    #[test]
    fn round_robin_shares_are_exact_over_a_cycle(weights in prop::collection::vec(1u32..8, 1..10), offset in 0usize..30) {
        let nodes: Vec<Node> =
            weights.iter().map(|&weight| Node { weight, faulty: false, inflight: 0, bandwidth: 100, hops: 1 }).collect();
        let mut r = router(ALGORITHMS[1], &nodes, 0);
        let mut rng = SplitMix64::new(1);
        // Any starting point: smooth WRR is periodic with period Σw.
        for _ in 0..offset {
            let t = r.pick(&Request::default(), 0, &mut rng);
            r.abandon(t);
        }
        let total: u32 = weights.iter().sum();
        let mut counts = vec![0u32; weights.len()];
        for _ in 0..total {
            let t = r.pick(&Request::default(), 0, &mut rng);
            counts[t.ranked()[0]] += 1;
            r.abandon(t);
        }
        prop_assert_eq!(counts, weights);
    }
}

#[test]
fn weighted_random_shares_converge_to_the_weights() {
    let weights = [1u32, 2, 3, 5, 8, 13, 0, 4];
    let nodes: Vec<Node> = weights
        .iter()
        .map(|&weight| Node {
            weight,
            faulty: false,
            inflight: 0,
            bandwidth: 100,
            hops: 1,
        })
        .collect();
    let mut r = router(ALGORITHMS[3], &nodes, 2);
    assert!(matches!(r.config().algorithm, Algorithm::WeightedRandom));
    let mut rng = SplitMix64::new(20_240_601);
    let picks = 20_000.0;
    let mut counts = [0u32; 8];
    for _ in 0..20_000 {
        let t = r.pick(&Request::default(), 0, &mut rng);
        counts[t.ranked()[0]] += 1;
        r.abandon(t);
    }
    let total: u32 = weights.iter().sum();
    for (i, &w) in weights.iter().enumerate() {
        let p = f64::from(w) / f64::from(total);
        let sigma = (picks * p * (1.0 - p)).sqrt();
        let got = f64::from(counts[i]);
        assert!(
            (got - picks * p).abs() <= 3.0 * sigma,
            "backend {i}: {got} picks, expected {} ± {}",
            picks * p,
            3.0 * sigma
        );
    }
}
