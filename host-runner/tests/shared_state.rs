//! State shared across VMs (workers): shared data with CAS, queues, ticks on
//! the virtual clock, and metrics with Envoy's statuses.

mod common;

use edgepick_host::{MetricKind, Request};

#[test]
fn shared_counter_is_shared_by_two_vms() {
    let host = common::host("shared_counter", "");
    let mut a = host.start_vm().unwrap();
    let mut b = host.start_vm().unwrap();
    let mut counts = Vec::new();
    for i in 0..6 {
        let vm = if i % 2 == 0 { &mut a } else { &mut b };
        let ex = vm.run_http(&Request::get("/"), |_| None).unwrap();
        counts.push(ex.request_header("x-count").unwrap().to_string());
        assert_eq!(ex.request_header("x-missing-shared"), Some("none"));
        assert_eq!(ex.request_header("x-unknown-queue"), Some("None"));
        assert_eq!(ex.request_header("x-stale-cas"), Some("Err(CasMismatch)"));
    }
    assert_eq!(counts, ["1", "2", "3", "4", "5", "6"]);
    assert_eq!(
        host.shared().shared_data().get(&b"count"[..]),
        Some(&b"6".to_vec())
    );
}

#[test]
fn queue_ready_reaches_the_registering_root_context() {
    let host = common::host("shared_counter", "");
    let mut a = host.start_vm().unwrap();
    // The second VM registers the same queue name: it now owns delivery.
    let mut b = host.start_vm().unwrap();
    a.run_http(&Request::get("/"), |_| None).unwrap();
    // b has not run yet: its notification waits for it.
    assert_eq!(host.shared().shared_data().get(&b"queue_seen"[..]), None);
    b.poll().unwrap();
    assert_eq!(
        host.shared().shared_data().get(&b"queue_seen"[..]),
        Some(&b"1".to_vec())
    );
    let ex = b.run_http(&Request::get("/"), |_| None).unwrap();
    assert_eq!(ex.request_header("x-queue-seen"), Some("1"));
    b.poll().unwrap();
    assert_eq!(
        host.shared().shared_data().get(&b"queue_seen"[..]),
        Some(&b"2".to_vec())
    );
}

#[test]
fn ticks_follow_the_virtual_clock() {
    let host = common::host("shared_counter", "");
    let mut vm = host.start_vm().unwrap();
    assert_eq!(vm.tick_period_ms(), 100);
    vm.poll().unwrap();
    assert_eq!(host.shared().shared_data().get(&b"ticks"[..]), None);
    host.advance_ms(99);
    vm.poll().unwrap();
    assert_eq!(host.shared().shared_data().get(&b"ticks"[..]), None);
    host.advance_ms(1);
    vm.poll().unwrap();
    assert_eq!(
        host.shared().shared_data().get(&b"ticks"[..]),
        Some(&b"1".to_vec())
    );
    host.advance_ms(350);
    vm.poll().unwrap();
    let ex = vm.run_http(&Request::get("/"), |_| None).unwrap();
    assert_eq!(ex.request_header("x-ticks"), Some("4"));
}

#[test]
fn metrics_follow_envoy_rules() {
    let host = common::host("metrics", "");
    let mut a = host.start_vm().unwrap();
    let mut b = host.start_vm().unwrap();
    let ex = a.run_http(&Request::get("/"), |_| None).unwrap();
    // Envoy's ids: kind in the low two bits.
    assert_eq!(ex.request_header("x-ids"), Some("4,5,6"));
    assert_eq!(ex.request_header("x-requests"), Some("Ok(1)"));
    assert_eq!(ex.request_header("x-inflight"), Some("Ok(3)"));
    assert_eq!(
        ex.request_header("x-counter-negative"),
        Some("Err(BadArgument)")
    );
    assert_eq!(
        ex.request_header("x-histogram-get"),
        Some("Err(BadArgument)")
    );
    assert_eq!(ex.request_header("x-unknown-get"), Some("Err(NotFound)"));
    assert_eq!(ex.request_header("x-unknown-record"), Some("Err(NotFound)"));
    // A second worker moves the same stats.
    let ex = b.run_http(&Request::get("/"), |_| None).unwrap();
    assert_eq!(ex.request_header("x-requests"), Some("Ok(2)"));
    let m = host.shared().metrics();
    assert_eq!(m["requests"].kind, MetricKind::Counter);
    assert_eq!(m["requests"].value, 2);
    assert_eq!(m["inflight"].value, 6);
    assert_eq!(m["latency_ms"].samples, vec![42, 42]);
}
