//! The compiled edgepick filter in the host runner, on its virtual clock:
//! heartbeats (ticks send probes through the heartbeat cluster, a loopback
//! server answering per `x-gateway-destination-endpoint`; a node without
//! enough 2xx answers in the window is left out and comes back), and two VMs
//! (workers) of one host sharing health.

mod filter_host_support;

use edgepick_host::Upstream;
use filter_host_support::*;
use std::collections::{HashMap, HashSet};
use std::net::TcpListener;

#[test]
fn heartbeats_take_a_silent_node_out_after_the_window_and_back_in() {
    let server = ProbeServer::start();
    let clusters = HashMap::from([("edgepick".to_string(), Upstream::Address(server.addr))]);
    let host = host(&heartbeat_config(""), clusters);
    let mut vm = start(&host);
    assert_eq!(vm.tick_period_ms(), 100);
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    let without_b: HashSet<String> = [A, C].map(String::from).into();

    server.set_failing(B, true);
    // Ticks 1–3 (100–300 ms after start): probes go to every node, through
    // the heartbeat cluster, but b's window is not over yet: it stays in.
    for t in 1..=3 {
        tick(&host, &mut [&mut vm]);
        let mut probed = server.take_probed();
        probed.sort();
        assert_eq!(probed, [A, B, C], "tick {t}: one probe per node");
        assert_eq!(
            listed(&mut vm),
            all,
            "tick {t}: b out before its window passed"
        );
    }
    // Tick 4: a whole window without a 2xx from b: faulty, left out.
    tick(&host, &mut [&mut vm]);
    let logs = vm.take_logs();
    assert!(
        logs.iter()
            .any(|l| l.message.contains("backend b faulty (too few heartbeats)")),
        "{logs:?}"
    );
    assert!(
        !logs
            .iter()
            .any(|l| l.message.contains("backend a faulty")
                || l.message.contains("backend c faulty")),
        "{logs:?}"
    );
    for t in 4..=6 {
        if t > 4 {
            tick(&host, &mut [&mut vm]);
        }
        assert_eq!(listed(&mut vm), without_b, "tick {t}: b still listed");
    }

    // b answers again. One heartbeat is below the threshold of 2…
    server.set_failing(B, false);
    tick(&host, &mut [&mut vm]); // probe answered: 1 heartbeat
    tick(&host, &mut [&mut vm]); // verdict on 1 heartbeat, second probe answered
    assert_eq!(
        listed(&mut vm),
        without_b,
        "b back after a single heartbeat (threshold 2)"
    );
    // …two are enough.
    tick(&host, &mut [&mut vm]);
    assert!(
        vm.take_logs()
            .iter()
            .any(|l| l.message.contains("backend b running again")),
        "no recovery logged"
    );
    assert_eq!(listed(&mut vm), all, "b did not come back");
    for _ in 0..5 {
        tick(&host, &mut [&mut vm]);
        assert_eq!(listed(&mut vm), all);
    }
}

#[test]
fn an_unreachable_heartbeat_cluster_is_a_missed_heartbeat_for_every_node() {
    // The cluster refuses connections: Envoy answers each call with a local
    // 503, which is no heartbeat. Every node goes faulty after the window;
    // with none healthy, panic mode (threshold 0.5) lists them all again.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let clusters = HashMap::from([("edgepick".to_string(), Upstream::Address(addr))]);
    let host = host(&heartbeat_config(""), clusters);
    let mut vm = start(&host);
    for _ in 0..3 {
        tick(&host, &mut [&mut vm]);
    }
    assert!(
        !vm.logs().iter().any(|l| l.message.contains("faulty")),
        "verdict before the window: {:?}",
        vm.logs()
    );
    tick(&host, &mut [&mut vm]);
    for n in ["a", "b", "c"] {
        assert!(
            vm.logs()
                .iter()
                .any(|l| l.message.contains(&format!("backend {n} faulty"))),
            "{n}: {:?}",
            vm.logs()
        );
    }
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    assert_eq!(listed(&mut vm), all, "panic mode lists every node");
}

#[test]
fn sticky_client_moves_when_heartbeats_mark_its_node_faulty() {
    let server = ProbeServer::start();
    let clusters = HashMap::from([("edgepick".to_string(), Upstream::Address(server.addr))]);
    let cfg = heartbeat_config("").replace(
        r#""health":"#,
        &format!(r#""cookie": {{"name": "edgepick", "keys": ["{COOKIE_KEY}"]}}, "health":"#),
    );
    let host = host(&cfg, clusters);
    let mut vm = start(&host);
    // A client pinned to b.
    let pinned = send_via(&mut vm, None, |_| (B.to_string(), 200));
    let cookie = session_cookie(&pinned).expect("a cookie");
    assert_eq!(cookie_names(&host, &cookie), "b");

    server.set_failing(B, true);
    for t in 1..=3 {
        tick(&host, &mut [&mut vm]);
        let ex = send(&mut vm, Some(&cookie), 200);
        assert_eq!(primary(&ex), B, "tick {t}: moved before the window passed");
        assert_eq!(session_cookie(&ex), None, "tick {t}");
    }
    tick(&host, &mut [&mut vm]);
    let moved = send(&mut vm, Some(&cookie), 200);
    let new_home = primary(&moved);
    assert_ne!(new_home, B, "the cookie still leads to the faulty node");
    assert!(!endpoints(&moved).contains(&B.to_string()));
    let new_cookie = session_cookie(&moved).expect("a new cookie after the move");
    assert_eq!(cookie_names(&host, &new_cookie), name_of(&new_home));

    // b recovers (two heartbeats): the old cookie leads there again.
    server.set_failing(B, false);
    for _ in 0..3 {
        tick(&host, &mut [&mut vm]);
    }
    let back = send(&mut vm, Some(&cookie), 200);
    assert_eq!(primary(&back), B);
    assert_eq!(session_cookie(&back), None);
}

// ---------------------------------------------------------------- several VMs

#[test]
fn a_passive_failure_on_one_vm_takes_the_node_out_on_another_within_a_sync_period() {
    let cfg = format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS},
            "health": {{"max_fails": 1, "fail_timeout_ms": 10000}}}}"#
    );
    let host = host(&cfg, HashMap::new());
    let (mut vm1, mut vm2) = (start(&host), start(&host));
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    assert_eq!(listed(&mut vm2), all);

    // VM 1 sees its primary answer 503.
    let failed = send(&mut vm1, None, 503);
    let down = primary(&failed);
    assert!(
        log_text(&failed).contains("out for 10000 ms"),
        "{}",
        log_text(&failed)
    );

    // VM 1 acts on what it saw at once.
    let next = send(&mut vm1, None, 200);
    assert!(!endpoints(&next).contains(&down), "VM 1 still lists {down}");
    // VM 2 leaves it out once it has synced: within one sync period (100 ms).
    host.advance_ms(100);
    vm2.poll().expect("VM 2 ticks");
    for i in 0..6 {
        let ex = send(&mut vm2, None, 200);
        assert!(
            !endpoints(&ex).contains(&down),
            "VM 2 request {i} lists {down}: {:?}",
            endpoints(&ex)
        );
    }
    // Both are back after fail_timeout.
    host.advance_ms(10_001);
    assert_eq!(listed(&mut vm2), all);
    assert_eq!(listed(&mut vm1), all);
}

#[test]
fn one_vm_probes_and_every_vm_follows_its_verdicts() {
    let server = ProbeServer::start();
    // A cluster named in the configuration, not the default one.
    let clusters = HashMap::from([("hb-probes".to_string(), Upstream::Address(server.addr))]);
    let host = host(&heartbeat_config(r#", "cluster": "hb-probes""#), clusters);
    let (mut vm1, mut vm2) = (start(&host), start(&host));
    let all: HashSet<String> = [A, B, C].map(String::from).into();
    let without_b: HashSet<String> = [A, C].map(String::from).into();

    server.set_failing(B, true);
    for t in 1..=4 {
        tick(&host, &mut [&mut vm1, &mut vm2]);
        // One prober (the lease holder): one probe per node per tick, not two.
        let mut probed = server.take_probed();
        probed.sort();
        assert_eq!(probed, [A, B, C], "tick {t}");
    }
    for (n, vm) in [&mut vm1, &mut vm2].into_iter().enumerate() {
        assert_eq!(listed(vm), without_b, "VM {}", n + 1);
    }
    server.set_failing(B, false);
    for _ in 0..3 {
        tick(&host, &mut [&mut vm1, &mut vm2]);
    }
    for (n, vm) in [&mut vm1, &mut vm2].into_iter().enumerate() {
        assert_eq!(listed(vm), all, "VM {} after recovery", n + 1);
    }
}
