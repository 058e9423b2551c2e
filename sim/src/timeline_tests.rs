//! Native tests of the fault timeline: scheduled faults at their times, a
//! timeline changed during a run (past faults not applied again, pending
//! ones re-indexed), and Compare replaying it.

use super::*;
use serde_json::json;

fn two_nodes() -> Topology {
    Topology {
        seed: 7,
        algorithm: json!({"name": "round_robin"}),
        clients: vec![ClientGroup {
            rate: 300.0,
            ..ClientGroup::default()
        }],
        servers: ["a", "b"]
            .iter()
            .map(|n| Server {
                name: (*n).into(),
                ..Server::default()
            })
            .collect(),
        ..Topology::default()
    }
}

fn fault(at_ms: u64, action: FaultAction, target: &str) -> ScheduledFault {
    ScheduledFault {
        at_ms,
        action,
        target: target.into(),
        factor: 4.0,
    }
}

fn alive(sim: &Simulation, i: usize) -> bool {
    sim.snapshot().nodes[i].alive
}

#[test]
fn scheduled_faults_apply_at_their_times() {
    let mut t = two_nodes();
    t.faults = vec![
        fault(2000, FaultAction::Kill, "b"),
        fault(6000, FaultAction::Revive, "b"),
    ];
    let mut sim = Simulation::new(t).unwrap();
    sim.run_until(1999.0);
    assert!(alive(&sim, 1));
    sim.run_until(2000.0);
    assert!(!alive(&sim, 1));
    assert_eq!(sim.faults_applied(), 1);
    sim.run_until(5999.0);
    assert!(!alive(&sim, 1));
    sim.run_until(6000.0);
    assert!(alive(&sim, 1));
    assert_eq!(sim.faults_applied(), 2);
}

#[test]
fn a_fault_recorded_after_its_time_is_not_applied_again() {
    let mut sim = Simulation::new(two_nodes()).unwrap();
    sim.run_until(1000.0);
    // Overloaded by hand at 1 s and recorded there, then relieved by hand.
    let b = sim.server_index("b").unwrap();
    sim.apply(FaultAction::Overload, b, 4.0);
    sim.set_faults(vec![fault(1000, FaultAction::Overload, "b")])
        .unwrap();
    sim.apply(FaultAction::Relieve, b, 1.0);
    sim.run_until(3000.0);
    assert_eq!(sim.snapshot().nodes[b].overload, 1.0);
    assert_eq!(sim.faults_applied(), 0);
}

#[test]
fn a_timeline_changed_live_schedules_future_faults_only() {
    let mut t = two_nodes();
    t.faults = vec![
        fault(2000, FaultAction::Kill, "a"),
        fault(3000, FaultAction::Kill, "b"),
    ];
    let mut sim = Simulation::new(t.clone()).unwrap();
    sim.run_until(1000.0);
    // Drop the first row: the old event for row 0 must not kill `b` (now row 0) at 2 s.
    t.faults.remove(0);
    t.faults.push(fault(4000, FaultAction::Revive, "b"));
    sim.reconfigure(t).unwrap();
    sim.run_until(2500.0);
    assert!(alive(&sim, 0) && alive(&sim, 1));
    sim.run_until(3000.0);
    assert!(alive(&sim, 0) && !alive(&sim, 1));
    sim.run_until(4000.0);
    assert!(alive(&sim, 1));
    assert_eq!(sim.faults_applied(), 2);
    // An unchanged timeline passed again schedules nothing twice.
    let same = sim.topology().clone();
    sim.reconfigure(same).unwrap();
    sim.run_until(8000.0);
    assert_eq!(sim.faults_applied(), 2);
}

#[test]
fn compare_replays_the_timeline() {
    let plain = compare(&two_nodes(), 8000.0).unwrap();
    let mut t = two_nodes();
    t.faults = vec![
        fault(2000, FaultAction::Kill, "b"),
        fault(6000, FaultAction::Revive, "b"),
    ];
    let faulted = compare(&t, 8000.0).unwrap();
    for (p, f) in plain.iter().zip(&faulted) {
        assert_eq!(p.faults_replayed, 0, "{}", p.id);
        assert_eq!(f.faults_replayed, 2, "{}", f.id);
    }
    let rr = |rows: &[CompareRow]| {
        rows.iter()
            .find(|r| r.id == "round_robin")
            .cloned()
            .unwrap()
    };
    let (p, f) = (rr(&plain), rr(&faulted));
    assert!(
        f.share[1] < p.share[1] - 0.1,
        "b's share {} vs {}",
        f.share[1],
        p.share[1]
    );
    // The proxy retries requests the dead node loses (slower, not failed);
    // without retries they fail.
    assert!(
        f.p99_ms > p.p99_ms * 2.0,
        "p99 {} vs {}",
        f.p99_ms,
        p.p99_ms
    );
    assert!(plain.iter().all(|r| r.errors == 0));
    t.edge.retries = 0;
    let bare = compare(&t, 8000.0).unwrap();
    assert!(
        bare.iter().all(|r| r.errors > 0),
        "{:?}",
        bare.iter().map(|r| r.errors).collect::<Vec<_>>()
    );
}

#[test]
fn set_faults_checks_the_timeline_and_keeps_the_last_valid_one() {
    let mut sim = Simulation::new(two_nodes()).unwrap();
    let good = vec![fault(2000, FaultAction::Kill, "b")];
    sim.set_faults(good.clone()).unwrap();
    let e = sim
        .set_faults(vec![fault(3000, FaultAction::Kill, "zz")])
        .unwrap_err();
    assert_eq!(e.field, "faults[0].target");
    let mut weak = fault(3000, FaultAction::Overload, "a");
    weak.factor = 0.5;
    assert_eq!(
        sim.set_faults(vec![weak]).unwrap_err().field,
        "faults[0].factor"
    );
    assert_eq!(sim.topology().faults, good);
    sim.run_until(2500.0);
    assert!(!alive(&sim, 1));
}
