//! Native tests: determinism, conservation, fault detection, DNS TTL, speed.

use super::*;
use serde_json::json;

fn servers(n: usize) -> Vec<Server> {
    (0..n)
        .map(|i| Server {
            name: format!("ws{}", i + 1),
            rate: 400.0,
            ..Server::default()
        })
        .collect()
}

fn topo(method: Method, n: usize, rate: f64) -> Topology {
    Topology {
        seed: 42,
        method,
        algorithm: json!({"name": "round_robin"}),
        clients: vec![
            ClientGroup {
                name: "pc1".into(),
                rate,
                ..ClientGroup::default()
            },
            ClientGroup {
                name: "pc2".into(),
                rate: rate / 2.0,
                ..ClientGroup::default()
            },
        ],
        servers: servers(n),
        ..Topology::default()
    }
}

fn conserved(sim: &Simulation) {
    let m = &sim.metrics;
    assert_eq!(
        m.generated,
        m.ok + m.dropped + m.failed + u64::from(sim.live_requests()),
        "{:?}",
        sim.topology().method
    );
}

fn sent_to(sim: &Simulation, node: usize, from_ms: u64, to_ms: u64) -> u64 {
    let w = sim.metrics.bucket_ms();
    sim.metrics
        .buckets
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u64) * w >= from_ms && (*i as u64 + 1) * w <= to_ms)
        .map(|(_, b)| u64::from(b.sent[node]))
        .sum()
}

fn failed_between(sim: &Simulation, from_ms: u64, to_ms: u64) -> u64 {
    let w = sim.metrics.bucket_ms();
    sim.metrics
        .buckets
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u64) * w >= from_ms && (*i as u64 + 1) * w <= to_ms)
        .map(|(_, b)| b.failed)
        .sum()
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut t = topo(Method::Proxy, 3, 600.0);
        t.seed = seed;
        t.sticky = true;
        t.algorithm = json!({"name": "random"});
        t.faults = vec![ScheduledFault {
            at_ms: 1000,
            action: FaultAction::Kill,
            target: "ws2".into(),
            factor: 2.0,
        }];
        let mut sim = Simulation::new(t).unwrap();
        sim.run_until(3000.0);
        (sim.metrics.clone(), sim.events())
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7).0.generated, run(8).0.generated);
}

#[test]
fn every_request_is_counted_for_every_method() {
    for method in [
        Method::Proxy,
        Method::Redirect,
        Method::Dns,
        Method::Nat,
        Method::Dr,
    ] {
        let mut t = topo(method, 3, 2500.0); // over capacity: drops happen
        t.faults = vec![
            ScheduledFault {
                at_ms: 500,
                action: FaultAction::Kill,
                target: "ws1".into(),
                factor: 2.0,
            },
            ScheduledFault {
                at_ms: 800,
                action: FaultAction::Overload,
                target: "ws3".into(),
                factor: 4.0,
            },
            ScheduledFault {
                at_ms: 900,
                action: FaultAction::Degrade,
                target: "ws2".into(),
                factor: 3.0,
            },
            ScheduledFault {
                at_ms: 1500,
                action: FaultAction::Revive,
                target: "ws1".into(),
                factor: 2.0,
            },
        ];
        let mut sim = Simulation::new(t).unwrap();
        for step in 1..=8 {
            sim.run_until(f64::from(step) * 250.0);
            conserved(&sim);
        }
        sim.drain();
        conserved(&sim);
        assert_eq!(sim.live_requests(), 0);
        let m = &sim.metrics;
        assert!(
            m.ok > 0 && m.failed > 0,
            "{method:?}: {} ok {} failed",
            m.ok,
            m.failed
        );
        let bucketed: u64 = m.buckets.iter().map(|b| b.ok + b.dropped + b.failed).sum();
        assert_eq!(bucketed, m.generated, "{method:?}: buckets hold every end");
    }
}

#[test]
fn a_dead_node_gets_no_traffic_once_detected() {
    // (Redirect is left out on purpose: a client keeps its redirect target until
    // a request to it fails, so it may try the dead node once after detection.)
    for method in [Method::Proxy, Method::Nat, Method::Dr] {
        let mut t = topo(method, 4, 500.0);
        t.faults = vec![ScheduledFault {
            at_ms: 2000,
            action: FaultAction::Kill,
            target: "ws2".into(),
            factor: 2.0,
        }];
        let mut sim = Simulation::new(t).unwrap();
        sim.run_until(6000.0);
        assert!(
            sent_to(&sim, 1, 0, 2000) > 0,
            "{method:?}: ws2 served before"
        );
        // Heartbeats every 200 ms, 2 needed in 600 ms: faulty by 2000 + 600 + 200.
        assert!(sim.snapshot().nodes[1].faulty);
        assert_eq!(
            sent_to(&sim, 1, 3000, 6000),
            0,
            "{method:?}: no traffic after detection"
        );
        assert!(sent_to(&sim, 0, 3000, 6000) > 0);
        assert_eq!(failed_between(&sim, 3500, 6000), 0, "{method:?}");
    }
}

#[test]
fn a_revived_node_gets_traffic_again() {
    let mut t = topo(Method::Proxy, 3, 300.0);
    t.faults = vec![
        ScheduledFault {
            at_ms: 1000,
            action: FaultAction::Kill,
            target: "ws3".into(),
            factor: 2.0,
        },
        ScheduledFault {
            at_ms: 3000,
            action: FaultAction::Revive,
            target: "ws3".into(),
            factor: 2.0,
        },
    ];
    let mut sim = Simulation::new(t).unwrap();
    sim.run_until(6000.0);
    assert_eq!(sent_to(&sim, 2, 2000, 3000), 0);
    assert!(sent_to(&sim, 2, 4000, 6000) > 0);
}

#[test]
fn dns_clients_keep_failing_until_the_ttl_passes() {
    let mut t = topo(Method::Dns, 3, 300.0); // 450 req/s: two nodes still cope
    t.dns_ttl_ms = 4000;
    t.faults = vec![ScheduledFault {
        at_ms: 2000,
        action: FaultAction::Kill,
        target: "ws1".into(),
        factor: 2.0,
    }];
    let mut sim = Simulation::new(t.clone()).unwrap();
    sim.run_until(12_000.0);
    assert!(sim.snapshot().nodes[0].faulty, "detected by heartbeats");
    // Detection takes < 1 s, but cached answers still point at ws1.
    assert!(
        failed_between(&sim, 3500, 5000) > 0,
        "cached answers keep failing after detection"
    );
    // TTL 4 s + detection 0.8 s + connect timeout 0.5 s: all clean by 2000 + 5500.
    assert_eq!(
        failed_between(&sim, 7500, 12_000),
        0,
        "no failures once every TTL expired"
    );
    // The reverse proxy on the same topology stops failing right after detection.
    t.method = Method::Proxy;
    let mut proxy = Simulation::new(t).unwrap();
    proxy.run_until(12_000.0);
    assert_eq!(failed_between(&proxy, 3500, 12_000), 0);
}

#[test]
fn sticky_cookies_keep_clients_on_one_node() {
    let mut t = topo(Method::Proxy, 3, 300.0);
    t.sticky = true;
    t.clients = vec![ClientGroup {
        clients: 1,
        session_share: 1.0,
        rate: 200.0,
        ..ClientGroup::default()
    }];
    let mut sim = Simulation::new(t).unwrap();
    sim.run_until(3000.0);
    let busy = sim.metrics.sent.iter().filter(|&&s| s > 0).count();
    assert_eq!(
        busy, 1,
        "one client with a cookie stays on one node: {:?}",
        sim.metrics.sent
    );
}

#[test]
fn nat_is_limited_by_the_edge_and_dr_is_not() {
    let mut t = topo(Method::Nat, 4, 1500.0);
    t.edge.bandwidth_mbps = 100.0; // 20 KB responses: at most ~600 per second through the edge
    t.clients[0].response_kb = 20.0;
    t.clients[1].response_kb = 20.0;
    let mut nat = Simulation::new(t.clone()).unwrap();
    nat.run_until(3000.0);
    t.method = Method::Dr;
    let mut dr = Simulation::new(t).unwrap();
    dr.run_until(3000.0);
    let p99 = |s: &Simulation| s.metrics.total_latency.quantile(0.99);
    assert!(
        p99(&nat) > 3.0 * p99(&dr),
        "nat p99 {} dr p99 {}",
        p99(&nat),
        p99(&dr)
    );
}

#[test]
fn live_reconfigure_keeps_time_and_state() {
    let t = topo(Method::Proxy, 3, 500.0);
    let mut sim = Simulation::new(t.clone()).unwrap();
    sim.run_until(1000.0);
    let mut t2 = t.clone();
    t2.algorithm = json!({"name": "least_connections"});
    sim.reconfigure(t2).unwrap();
    sim.run_until(2000.0);
    conserved(&sim);
    assert_eq!(sim.router().config().algorithm.name(), "least_connections");
    let mut t3 = t;
    t3.servers.pop();
    assert_eq!(sim.reconfigure(t3).unwrap_err().field, "servers");
}

#[test]
fn topology_errors_name_the_field_and_config_round_trips() {
    let e = Topology::from_json(r#"{"servers": [{"name": "a", "rate": -1}]}"#).unwrap_err();
    assert_eq!(e.field, "servers[0].rate");
    let e = Topology::from_json(r#"{"servers": [{"name": "a"}], "algorithm": {"name": "nope"}}"#)
        .unwrap();
    assert_eq!(e.to_config().unwrap_err().field, "algorithm.name");
    let t = topo(Method::Redirect, 3, 10.0);
    let cfg = t.to_config().unwrap();
    let back = edgepick_core::Config::from_json(&cfg.to_json_pretty()).unwrap();
    assert_eq!(back, cfg);
    let mut t2 = topo(Method::Proxy, 3, 10.0);
    assert!(t2
        .import(&cfg.to_json_pretty())
        .unwrap()
        .unmatched
        .is_empty());
    assert_eq!(t2.method, Method::Redirect);
}

#[test]
fn compare_runs_every_algorithm() {
    let rows = compare(&topo(Method::Proxy, 3, 300.0), 1000.0).unwrap();
    assert_eq!(rows.len(), catalogue().len());
    for r in rows {
        assert!(r.ok > 0, "{}", r.id);
        assert!((r.share.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}

/// The page's `stress64` preset (web-demo/www/presets.js): 4 groups of
/// 12,000 req/s to 64 nodes of 1,000 req/s, RFWS through a reverse proxy.
fn stress64() -> Topology {
    let link = |bw: f64, delay: f64| json!({"bandwidth_mbps": bw, "delay_ms": delay, "hops": 1});
    let clients: Vec<_> = (0..4)
        .map(|i| {
            json!({"name": format!("clients {}", i + 1), "rate": 12000, "clients": 5000,
                "session_share": 0.5, "request_kb": 1, "response_kb": 20,
                "link": link(100.0, 5.0 + 5.0 * f64::from(i))})
        })
        .collect();
    let servers: Vec<_> = (0..64)
        .map(|i| {
            json!({"name": format!("n{}", i + 1), "rate": 1000, "workers": 8, "queue": 64,
                "weight": 1, "link": link(1000.0, f64::from(1 + i % 8))})
        })
        .collect();
    let t = json!({
        "seed": 1, "method": "proxy", "algorithm": {"name": "rfws"}, "bucket_ms": 1000,
        "health": {"interval_ms": 200, "window_ms": 600, "threshold": 2, "max_fails": 5,
            "fail_timeout_ms": 2000, "panic_threshold": 0.3},
        "edge": {"name": "edge", "bandwidth_mbps": 100000, "l7_overhead_ms": 0.3,
            "l4_overhead_ms": 0.02, "retries": 1, "connect_timeout_ms": 500},
        "clients": clients, "servers": servers,
    });
    Topology::from_json(&t.to_string()).unwrap()
}

fn timed(label: &str, t: Topology, sim_ms: f64) {
    let mut sim = Simulation::new(t).unwrap();
    let start = std::time::Instant::now();
    sim.run_until(sim_ms);
    let secs = start.elapsed().as_secs_f64();
    let (m, req) = (&sim.metrics, sim.metrics.generated as f64);
    // The counts show a change of speed left the run itself alone.
    println!(
        "{label:<28} {:>10.0} simulated requests/s ({req} requests, {secs:.2}s; \
         ok {} dropped {} failed {} events {})",
        req / secs,
        m.ok,
        m.dropped,
        m.failed,
        sim.events()
    );
}

/// Simulated requests per second of wall time at 4 and 64 nodes, and for the
/// page's `stress64` (its 16× needs 768,000):
/// `cargo test -p edgepick-sim --release sim_speed -- --ignored --nocapture`
#[test]
#[ignore]
fn sim_speed() {
    for n in [4usize, 64] {
        let mut t = topo(Method::Proxy, n, 0.0);
        let per = 2000.0 * n as f64;
        t.clients = vec![ClientGroup {
            rate: per,
            clients: 10_000,
            ..ClientGroup::default()
        }];
        for s in &mut t.servers {
            s.rate = 3000.0;
        }
        for alg in ["round_robin", "rfws", "least_connections"] {
            t.algorithm = json!({"name": alg});
            timed(&format!("{n:>3} nodes {alg}"), t.clone(), 20_000.0);
        }
    }
    timed("stress64 (64 nodes, rfws)", stress64(), 20_000.0);
}

/// `stress64` alone, for profiling:
/// `cargo test -p edgepick-sim --release stress64_speed -- --ignored --nocapture`
#[test]
#[ignore]
fn stress64_speed() {
    timed("stress64 (64 nodes, rfws)", stress64(), 20_000.0);
}
