//! One `Router::pick` per algorithm at 4, 64, 1 024 and 10 000 backends, plus
//! a trivial baseline (one `SplitMix64::next_u64`) so results can be read as
//! ratios on any machine. Backends are idle with varied links (bandwidth,
//! hops, delay), default `fallbacks` (2), no cookies.
//!
//! `churn` adds what a proxy does around each pick for the indexed
//! algorithms: the request is started on the choice and the one started 32
//! picks earlier finishes (latency, bytes, a load report), so every pick
//! also pays for re-ranking the backends that changed.
//!
//! `cargo bench -p edgepick-core --bench pick` (about two minutes).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use edgepick_core::select::{Rfws, Selector};
use edgepick_core::{Candidates, Config, Key, Outcome, Request, Rng, Router, SplitMix64};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

const SIZES: [usize; 4] = [4, 64, 1_024, 10_000];

/// (label, `algorithm` object).
const ALGORITHMS: [(&str, &str); 8] = [
    ("rfws", r#"{"name": "rfws"}"#),
    ("round_robin", r#"{"name": "round_robin"}"#),
    ("random", r#"{"name": "random"}"#),
    ("weighted_random", r#"{"name": "weighted_random"}"#),
    ("least_connections", r#"{"name": "least_connections"}"#),
    ("least_response_time", r#"{"name": "least_response_time"}"#),
    ("ip_hash", r#"{"name": "ip_hash"}"#),
    (
        "consistent_hash",
        r#"{"name": "consistent_hash", "key": "path"}"#,
    ),
];

fn config(algorithm: &str, n: usize) -> Config {
    let backends: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"name": "b{i}", "address": "10.{}.{}.{}:8080", "weight": {},
                    "link": {{"bandwidth_mbps": {}, "hops": {}, "delay_ms": {}}}}}"#,
                i >> 16,
                (i >> 8) & 255,
                i & 255,
                1 + i % 3,
                100 + (i * 37) % 900,
                1 + i % 4,
                (i * 7) % 50
            )
        })
        .collect();
    Config::from_json(&format!(
        r#"{{"algorithm": {algorithm}, "backends": [{}]}}"#,
        backends.join(",")
    ))
    .expect("bench configuration is valid")
}

fn picks(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    let mut rng = SplitMix64::new(1);
    g.bench_function("splitmix64_next_u64", |b| {
        b.iter(|| black_box(rng.next_u64()))
    });
    g.finish();

    let req = Request {
        peer: Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10))),
        path: "/catalogue/item/42?ref=home",
        ..Request::default()
    };
    for (label, algorithm) in ALGORITHMS {
        let mut g = c.benchmark_group(label);
        for n in SIZES {
            let mut router = Router::new(config(algorithm, n));
            let mut rng = SplitMix64::new(7);
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    let t = router.pick(black_box(&req), 1_000, &mut rng);
                    black_box(t.primary());
                    router.abandon(t);
                })
            });
        }
        g.finish();
    }

    for (label, algorithm) in [ALGORITHMS[0], ALGORITHMS[4], ALGORITHMS[5]] {
        let mut g = c.benchmark_group(format!("churn_{label}"));
        for n in [64, 10_000] {
            let mut router = Router::new(config(algorithm, n));
            let mut rng = SplitMix64::new(7);
            let mut open: Vec<Option<edgepick_core::Ticket>> = (0..32).map(|_| None).collect();
            let mut k = 0usize;
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    let now = 1_000 + (k / 64) as u64;
                    let t = router.pick(black_box(&req), now, &mut rng);
                    let slot = k % open.len();
                    if let Some(done) = open[slot].take() {
                        let outcome = Outcome {
                            status: Some(200),
                            latency_ms: Some(5.0 + (k % 7) as f64),
                            bytes: 20_000,
                            load: Some((k % 10) as f64 / 20.0),
                        };
                        let served = done.primary();
                        router.finish(done, served, Some(&outcome), now);
                    }
                    black_box(t.primary());
                    open[slot] = Some(t);
                    k += 1;
                })
            });
        }
        g.finish();
    }

    // The RFWS selector alone (no router), to separate its cost from the router's.
    let mut g = c.benchmark_group("rfws_selector_only");
    for n in [64, 1_024] {
        let cfg = config(ALGORITHMS[0].1, n);
        let states = vec![edgepick_core::BackendState::default(); n];
        let eligible = vec![true; n];
        let weights: Vec<f64> = cfg.backends.iter().map(|b| f64::from(b.weight)).collect();
        let cand = Candidates {
            backends: &cfg.backends,
            states: &states,
            eligible: &eligible,
            weights: &weights,
            now_ms: 0,
        };
        let mut rfws = Rfws::new(0.05, 0.9, &cfg.backends);
        let mut rng = SplitMix64::new(7);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(rfws.select(black_box(&cand), &Key::default(), &mut rng, 3)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300))
        .sample_size(20);
    targets = picks
}
criterion_main!(benches);
