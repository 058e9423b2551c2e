//! RFWS through real Envoy: with one node slowed and one on a low-bandwidth
//! link (configured `link.bandwidth_mbps`), new requests go to the remaining,
//! best node. A slow node's requests stay in flight, so its load `V_FS` grows
//! (service time is load, not route delay): the wasm filter counts them, the
//! native policy sees Envoy's active requests. On both targets; the wasm
//! filter's pick counters and decision header show it too.

mod common;

use common::target::{Edge, Target};
use common::{backend, setup, stats_after_sync, tally};
use edgepick_tests::harness::{backend_json, BackendOptions, Client, EnvoyBuilder, Response};

on_both_targets!(traffic_moves_to_the_best_node);

fn traffic_moves_to_the_best_node(target: Target) {
    let a = backend("a", BackendOptions::default());
    let b = backend(
        "b",
        BackendOptions {
            delay_ms: 150,
            ..Default::default()
        },
    );
    let c = backend("c", BackendOptions::default());
    // The best node is listed last, so "first eligible" or "cyclic from the end" cannot pass.
    // Each node serves 4 requests at a time: one in flight is a quarter of its load.
    let cfg = format!(
        r#"{{"algorithm":{{"name":"rfws"}},"decision_header":true,"backends":[{},{},{}]}}"#,
        backend_json(
            &b,
            r#""capacity":4,"link":{"bandwidth_mbps":1000,"hops":1}"#
        ),
        backend_json(&c, r#""capacity":4,"link":{"bandwidth_mbps":1,"hops":1}"#),
        backend_json(
            &a,
            r#""capacity":4,"link":{"bandwidth_mbps":1000,"hops":1}"#
        ),
    );
    let addresses = [b.addr(), c.addr(), a.addr()];
    let envoy = Edge::new(&cfg, &addresses).start(target);
    let run = |n: usize| -> Vec<Response> {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        // Bounded in time too: a wrong pick costs 150 ms per request.
                        let deadline =
                            std::time::Instant::now() + std::time::Duration::from_secs(6);
                        let mut cl = Client::new(envoy.listener(0));
                        (0..n)
                            .take_while(|_| std::time::Instant::now() < deadline)
                            .map(|_| cl.get("/r").expect("request"))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        })
    };
    // Warm-up: every node gets measured at least once.
    let warm = run(15);
    assert!(warm.iter().all(|r| r.status == 200));
    let before = (target == Target::Wasm).then(|| stats_after_sync(&envoy));
    let rs = run(100);
    assert!(rs.iter().all(|r| r.status == 200));
    let t = tally(&rs);
    assert!(
        rs.len() >= 200 && t.get("a").copied().unwrap_or(0) * 10 >= rs.len() * 8,
        "served {t:?}"
    );
    let Some(before) = before else {
        return;
    };
    let after = stats_after_sync(&envoy);
    let picks = |n: &str| {
        let m = format!("edgepick.picks.{n}");
        after.custom(&m) - before.custom(&m)
    };
    let (pa, pb, pc) = (picks("a"), picks("b"), picks("c"));
    assert_eq!(
        (pa + pb + pc) as usize,
        rs.len(),
        "every request is one pick"
    );
    assert!(
        pa >= 0.8 * (pa + pb + pc),
        "a should take most new requests; picks a={pa} b={pb} c={pc}, served {t:?}"
    );
    // The decision header explains the choice and agrees with the node that served.
    for r in &rs {
        let d = r
            .header("x-edgepick-decision")
            .expect("decision header when decision_header is on");
        assert!(d.starts_with("rfws choice="), "{d}");
        let choice = d
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.strip_prefix("choice="))
            .unwrap_or("?");
        assert_eq!(Some(choice), r.served_by(), "{d}");
    }
}

/// `D` is measured from heartbeat round trips and shared by every worker: two
/// nodes equal in everything configured, one whose heartbeats take 60 ms to
/// come back (a long route), serve one request at a time; every request goes to
/// the other, and the decision says the delay decided. Without the measurement
/// the two tie and the seeded draw splits them.
#[test]
fn heartbeats_measure_the_route_delay_for_every_worker() {
    let wasm = setup();
    // `/hb` is an ordinary path: the far node answers it after 60 ms.
    let far = backend(
        "far",
        BackendOptions {
            delay_ms: 60,
            ..Default::default()
        },
    );
    let near = backend("near", BackendOptions::default());
    let cfg = format!(
        r#"{{"algorithm":{{"name":"rfws"}},"decision_header":true,"backends":[{},{}],
            "health":{{"heartbeat":{{"interval_ms":100,"window_ms":1000,"threshold":1,"path":"/hb","timeout_ms":500}}}}}}"#,
        backend_json(&far, ""),
        backend_json(&near, ""),
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .concurrency(2)
        .start()
        .expect("envoy starts");
    // A few heartbeats, then the prober's publication reaches both workers.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut tied_on_delay = 0;
    for i in 0..40 {
        let r =
            edgepick_tests::harness::request_once(envoy.listener(0), None, &format!("/r{i}"), &[])
                .expect("request");
        assert_eq!(r.status, 200);
        let d = r.header("x-edgepick-decision").unwrap_or("-").to_string();
        assert_eq!(r.served_by(), Some("near"), "request {i}: {d}");
        tied_on_delay += usize::from(d.contains("tie=delay"));
    }
    assert_eq!(tied_on_delay, 40, "the delay decided every pick");
}
