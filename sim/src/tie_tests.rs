//! RFWS's tie-breaks in a running simulation, as the paper orders them: among
//! nodes tied on availability, the smaller route delay `D` wins every request,
//! then the larger residual bandwidth `B_R`. Before `D` was the link's delay
//! measured by heartbeats, it was the request time (service included, decaying
//! while idle) and a slower route still drew a share of the traffic.

use super::*;
use serde_json::json;

/// Two nodes with room for 512 requests each and about one in flight, so
/// their availability stays inside the 5 % tie band: load is equal.
fn two_nodes(seed: u64, links: [LinkSpec; 2]) -> Topology {
    Topology {
        seed,
        method: Method::Proxy,
        algorithm: json!({"name": "rfws"}),
        clients: vec![ClientGroup {
            name: "pcs".into(),
            rate: 40.0,
            ..ClientGroup::default()
        }],
        servers: links
            .iter()
            .enumerate()
            .map(|(i, &link)| Server {
                name: format!("ws{}", i + 1),
                rate: 20_000.0,
                workers: 256,
                queue: 256,
                link,
                ..Server::default()
            })
            .collect(),
        ..Topology::default()
    }
}

fn served(sim: &Simulation) -> [u64; 2] {
    let mut n = [0u64; 2];
    for b in &sim.metrics.buckets {
        n[0] += u64::from(b.sent[0]);
        n[1] += u64::from(b.sent[1]);
    }
    n
}

fn link(bandwidth_mbps: f64, hops: u32, delay_ms: f64) -> LinkSpec {
    LinkSpec {
        bandwidth_mbps,
        delay_ms,
        hops,
    }
}

#[test]
fn the_smaller_route_delay_wins_every_tie() {
    for seed in [1, 7, 42, 1234, 99_999] {
        let mut sim = Simulation::new(two_nodes(
            seed,
            [link(1000.0, 1, 5.0), link(1000.0, 1, 20.0)],
        ))
        .unwrap();
        sim.run_until(20_000.0);
        let [fast, slow] = served(&sim);
        assert!(fast > 500, "seed {seed}: {fast} requests served");
        assert_eq!(
            slow,
            0,
            "seed {seed}: the 20 ms route drew {slow} of {}",
            fast + slow
        );
    }
}

#[test]
fn then_the_larger_residual_bandwidth_wins() {
    // Equal V_net (200/2 = 100/1) and equal delay; the simulator gives each
    // route its bandwidth as residual: 200 against 100 Mbps.
    for seed in [1, 7, 42, 1234, 99_999] {
        let mut sim = Simulation::new(two_nodes(
            seed,
            [link(100.0, 1, 10.0), link(200.0, 2, 10.0)],
        ))
        .unwrap();
        sim.run_until(20_000.0);
        let [narrow, wide] = served(&sim);
        assert!(wide > 500, "seed {seed}: {wide} requests served");
        assert_eq!(
            narrow,
            0,
            "seed {seed}: the 100 Mbps route drew {narrow} of {}",
            narrow + wide
        );
    }
}

#[test]
fn a_degraded_route_loses_the_tie_once_heartbeats_measure_it() {
    let mut t = two_nodes(3, [link(1000.0, 1, 5.0), link(1000.0, 1, 8.0)]);
    // ws1's link gets 4× slower at 5 s: 20 ms one way against ws2's 8 ms.
    t.faults = vec![ScheduledFault {
        at_ms: 5000,
        action: FaultAction::Degrade,
        target: "ws1".into(),
        factor: 4.0,
    }];
    let mut sim = Simulation::new(t).unwrap();
    sim.run_until(5000.0);
    assert_eq!(served(&sim)[1], 0, "ws1's route is shorter before");
    sim.run_until(15_000.0);
    let before = served(&sim);
    sim.run_until(25_000.0);
    let after = served(&sim);
    // Once the 5 ms samples have left the heartbeat window, ws2 takes all.
    assert_eq!(
        after[0], before[0],
        "ws1 drew requests after the measurement"
    );
    assert!(after[1] > before[1]);
}

/// "Why this node?" names the step that decided, with the inputs the core read.
#[test]
fn why_names_the_step_that_decided() {
    let sim = Simulation::new(two_nodes(3, [link(1000.0, 1, 5.0), link(1000.0, 1, 20.0)])).unwrap();
    let why = sim.why();
    assert_eq!((why.decided_by.as_str(), why.step), ("delay", Some(4)));
    assert_eq!(why.choice_name.as_deref(), Some("ws1"));
    let d: Vec<f64> = why.nodes.iter().map(|n| n.d_ms).collect();
    assert_eq!(d, [5.0, 20.0]);
    assert!(why.nodes.iter().all(|n| n.in_band && n.a == Some(1000.0)));
    assert_eq!(why.band_from, Some(1000.0 * (1.0 - 0.05)));

    // Equal V_net (200/2 = 100/1) and delay: the larger residual bandwidth.
    let sim = Simulation::new(two_nodes(3, [link(100.0, 1, 5.0), link(200.0, 2, 5.0)])).unwrap();
    let why = sim.why();
    assert_eq!(
        (why.decided_by.as_str(), why.step),
        ("residual_bandwidth", Some(5))
    );
    assert_eq!(why.choice_name.as_deref(), Some("ws2"));
    assert_eq!(why.nodes[1].b_r_mbps, 200.0);

    // Outright: the step-3 score, the other node outside the band.
    let sim = Simulation::new(two_nodes(3, [link(100.0, 1, 5.0), link(1000.0, 1, 20.0)])).unwrap();
    let why = sim.why();
    assert_eq!(
        (why.decided_by.as_str(), why.step),
        ("availability", Some(3))
    );
    assert_eq!(why.choice_name.as_deref(), Some("ws2"));
    assert_eq!((why.nodes[0].v_net, why.nodes[0].in_band), (100.0, false));
    assert!(
        why.explain.starts_with("rfws choice=ws2"),
        "{}",
        why.explain
    );

    // Another algorithm: its reason, its own scores, no RFWS step and no `A`.
    let mut topo = two_nodes(3, [link(100.0, 1, 5.0), link(1000.0, 1, 20.0)]);
    topo.algorithm = json!({"name": "least_connections"});
    let why = Simulation::new(topo).unwrap().why();
    assert_eq!((why.decided_by.as_str(), why.step), ("least_loaded", None));
    assert!(why.nodes.iter().all(|n| n.a.is_none()) && why.band_from.is_none());
}
