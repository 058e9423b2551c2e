//! The simulator's clock at the ends of `u64` (a DNS TTL and a metrics bucket
//! of `u64::MAX`) saturates instead of overflowing.

use edgepick_sim::{Method, Server, Simulation, Topology};

#[test]
fn the_simulator_clock_saturates() {
    let topo = Topology {
        algorithm: serde_json::json!({"name": "round_robin"}),
        servers: vec![Server {
            name: "a".into(),
            ..Server::default()
        }],
        method: Method::Dns,
        dns_ttl_ms: u64::MAX,
        bucket_ms: u64::MAX,
        ..Topology::default()
    };
    let mut sim = Simulation::new(topo).unwrap();
    sim.run_until(500.0);
    sim.drain();
    assert!(sim.metrics.generated > 0);
}
