//! The indexed selectors (RFWS, least connections, least response time's
//! fallbacks) against their reference full scans: two routers over the same
//! configuration, one switched to the reference with
//! `Router::use_reference_selector`, are driven through the same random
//! sequence of in-flight changes, finished requests (failures, latency, bytes,
//! load reports), heartbeats, health evaluations, wholesale state edits, time
//! steps (across load-report expiry, `fail_timeout`, slow start and peak-EWMA
//! decay into underflow) and picks. Every pick must give the same decision
//! (ranked list, reason, scores, panic flag) and leave both random sources in
//! the same state (the same draws consumed). Also: the golden vectors still
//! replay.

use edgepick_core::{vectors, Config, Outcome, Request, Router, SplitMix64, Ticket};
use proptest::prelude::*;

/// `algorithm` objects under test.
const ALGORITHMS: [&str; 7] = [
    r#"{"name": "rfws", "tie_tolerance": 0.05, "load_threshold": 0.8}"#,
    r#"{"name": "rfws", "tie_tolerance": 0, "load_threshold": 0.5}"#,
    r#"{"name": "rfws", "tie_tolerance": 0.3, "load_threshold": 0.9}"#,
    r#"{"name": "rfws", "tie_tolerance": 0.99, "load_threshold": 0.2}"#,
    r#"{"name": "least_connections"}"#,
    r#"{"name": "least_connections", "choices": 2}"#,
    r#"{"name": "least_response_time"}"#,
];

#[derive(Debug, Clone)]
struct Node {
    weight: u32,
    capacity: u32,
    bandwidth: u32,
    hops: u32,
    delay: u32,
    residual_pct: u32,
}

fn node() -> impl Strategy<Value = Node> {
    // Few distinct values, so exact ties on A, D and B_R are common.
    (
        prop_oneof![4 => 0u32..4, 1 => Just(1_000_000u32)],
        1u32..12,
        prop::sample::select(vec![100u32, 200, 300, 600]),
        1u32..4,
        prop::sample::select(vec![0u32, 5, 10, 21]),
        prop::sample::select(vec![0u32, 50, 100]),
    )
        .prop_map(
            |(weight, capacity, bandwidth, hops, delay, residual_pct)| Node {
                weight,
                capacity,
                bandwidth,
                hops,
                delay,
                residual_pct,
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    Inflight(usize, u32),
    Start(usize),
    /// Backend, status (0: connect failure), latency, bytes, load report (%).
    Finish(usize, u16, Option<u32>, u32, Option<u32>),
    Heartbeat(usize),
    Evaluate,
    /// `states_mut`: in-flight count, faulty flag.
    Edit(usize, u32, bool),
    Advance(u64),
    /// Pick, then start a request on the choice when the flag says so.
    Pick(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0usize..64;
    prop_oneof![
        2 => (i.clone(), 0u32..14).prop_map(|(i, n)| Op::Inflight(i, n)),
        3 => i.clone().prop_map(Op::Start),
        4 => (
            i.clone(),
            prop::sample::select(vec![200u16, 200, 200, 503, 0]),
            prop::option::of(prop::sample::select(vec![1u32, 5, 10, 40])),
            prop::sample::select(vec![0u32, 1000, 50_000]),
            prop::option::of(prop::sample::select(vec![0u32, 10, 50, 79, 80, 95, 100])),
        )
            .prop_map(|(i, s, l, b, u)| Op::Finish(i, s, l, b, u)),
        1 => i.clone().prop_map(Op::Heartbeat),
        1 => Just(Op::Evaluate),
        1 => (i, 0u32..14, any::<bool>()).prop_map(|(i, n, f)| Op::Edit(i, n, f)),
        2 => prop::sample::select(vec![0u64, 1, 7, 400, 2_000, 10_000, 29_999, 30_001, 5_000_000])
            .prop_map(Op::Advance),
        8 => any::<bool>().prop_map(Op::Pick),
    ]
}

fn config(algorithm: &str, nodes: &[Node], fallbacks: usize, health: &str) -> Config {
    let backends: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                r#"{{"name": "b{i}", "address": "10.0.{}.{}:8080", "weight": {},
                    "capacity": {}, "link": {{"bandwidth_mbps": {}, "hops": {},
                    "delay_ms": {}, "residual_mbps": {}}}}}"#,
                i / 250,
                i % 250 + 1,
                n.weight,
                n.capacity,
                n.bandwidth,
                n.hops,
                n.delay,
                n.bandwidth * n.residual_pct / 100
            )
        })
        .collect();
    let json = format!(
        r#"{{"algorithm": {algorithm}, "fallbacks": {fallbacks}, "health": {health},
            "backends": [{}]}}"#,
        backends.join(",")
    );
    Config::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

const HEALTH: [&str; 3] = [
    r#"{"panic_threshold": 0, "max_fails": 1, "fail_timeout_ms": 5000}"#,
    r#"{"panic_threshold": 0.5, "max_fails": 2, "fail_timeout_ms": 3000, "slow_start_ms": 2000}"#,
    r#"{"panic_threshold": 0.2, "max_fails": 0, "slow_start_ms": 500,
        "heartbeat": {"interval_ms": 1000, "window_ms": 3000, "threshold": 1}}"#,
];

/// Both routers and the requests each has open (picked, not yet finished).
struct Pair {
    r: [Router; 2],
    open: [Vec<Ticket>; 2],
    /// The indexed router records scores (`Router::record_scores`); when not,
    /// its decisions must equal the reference's but for the scores.
    scores: bool,
}

/// Apply `op` to both routers; on a pick, compare.
fn step(
    p: &mut Pair,
    rng: &mut [SplitMix64; 2],
    now: &mut u64,
    n: usize,
    op: &Op,
) -> Result<(), TestCaseError> {
    match *op {
        Op::Inflight(i, c) => p.r.iter_mut().for_each(|r| r.set_inflight(i % n, c)),
        Op::Start(i) => p.r.iter_mut().for_each(|r| {
            let c = r.states()[i % n].inflight;
            r.set_inflight(i % n, c.saturating_add(1));
        }),
        Op::Finish(i, status, latency, bytes, load) => {
            let o = Outcome {
                status: (status != 0).then_some(status),
                latency_ms: latency.map(f64::from),
                bytes: u64::from(bytes),
                load: load.map(|u| f64::from(u) / 100.0),
            };
            // Finish one open request; the node that served is one of its
            // ranked nodes (so the ones before it were walked past).
            for (r, open) in p.r.iter_mut().zip(p.open.iter_mut()) {
                if open.is_empty() {
                    continue;
                }
                let t = open.remove(i % open.len());
                let served = (!t.ranked().is_empty()).then(|| t.ranked()[i % t.ranked().len()]);
                r.finish(t, served, Some(&o), *now);
            }
        }
        Op::Heartbeat(i) => p.r.iter_mut().for_each(|r| r.heartbeat(i % n, *now)),
        Op::Evaluate => {
            let changed: Vec<Vec<usize>> =
                p.r.iter_mut().map(|r| r.evaluate_health(*now)).collect();
            prop_assert_eq!(&changed[0], &changed[1]);
        }
        Op::Edit(i, c, faulty) => p.r.iter_mut().for_each(|r| {
            let s = &mut r.states_mut()[i % n];
            s.inflight = c;
            s.health.faulty = faulty;
        }),
        Op::Advance(ms) => *now += ms,
        Op::Pick(start) => {
            let t: Vec<Ticket> =
                p.r.iter_mut()
                    .zip(rng.iter_mut())
                    .map(|(r, g)| r.pick(&Request::default(), *now, g))
                    .collect();
            let (mut indexed, mut reference) = (t[0].decision().clone(), t[1].decision().clone());
            if !p.scores {
                prop_assert!(indexed.scores.is_empty());
                reference.scores.clear();
                indexed.scores.clear();
            }
            prop_assert_eq!(indexed, reference, "indexed vs reference at {}", *now);
            prop_assert_eq!(rng[0], rng[1], "different random draws at {}", *now);
            for ((r, open), t) in p.r.iter_mut().zip(p.open.iter_mut()).zip(t) {
                if start {
                    open.push(t);
                } else {
                    r.abandon(t);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn indexed_picks_equal_the_full_scan(
        alg in 0..ALGORITHMS.len(),
        health in 0..HEALTH.len(),
        mut nodes in prop::collection::vec(node(), 1..40),
        fallbacks in prop::sample::select(vec![0usize, 1, 2, 5, 16]),
        seed in any::<u64>(),
        scores in any::<bool>(),
        ops in prop::collection::vec(op(), 1..150),
    ) {
        if nodes.iter().all(|n| n.weight == 0) {
            nodes[0].weight = 1; // the configuration requires one
        }
        let cfg = config(ALGORITHMS[alg], &nodes, fallbacks, HEALTH[health]);
        let mut reference = Router::new(cfg.clone());
        reference.use_reference_selector();
        let mut indexed = Router::new(cfg);
        indexed.record_scores(scores);
        let mut p = Pair { r: [indexed, reference], open: [Vec::new(), Vec::new()], scores };
        let mut rng = [SplitMix64::new(seed); 2];
        let mut now = 1_000;
        for op in &ops {
            step(&mut p, &mut rng, &mut now, nodes.len(), op)?;
        }
    }
}

/// The golden vectors (also replayed by the `tests` crate, the browser demo and
/// the host runner) replay unchanged with the indexed selectors.
#[test]
fn golden_vectors_still_replay() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/golden/vectors.json");
    let text = std::fs::read_to_string(path).expect("tests/golden/vectors.json");
    let file = vectors::parse(&text).expect("vectors file parses");
    assert!(!file.cases.is_empty());
    let bad = vectors::check(&file);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
