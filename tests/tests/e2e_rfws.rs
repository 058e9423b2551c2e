//! RFWS through real Envoy: with one node slowed (its measured delay grows) and
//! one on a low-bandwidth link (configured `link.bandwidth_mbps`), new requests
//! go to the remaining, best node. On both targets (the wasm filter measures
//! the delay; the native policy sees it as Envoy's active requests piling up
//! on the slow node); the wasm filter's pick counters and decision header
//! show it too.

mod common;

use common::target::{Edge, Target};
use common::{backend, stats_after_sync, tally};
use edgepick_tests::harness::{backend_json, BackendOptions, Client, Response};

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
    let cfg = format!(
        r#"{{"algorithm":{{"name":"rfws"}},"decision_header":true,"backends":[{},{},{}]}}"#,
        backend_json(&b, r#""link":{"bandwidth_mbps":1000,"hops":1}"#),
        backend_json(&c, r#""link":{"bandwidth_mbps":1,"hops":1}"#),
        backend_json(&a, r#""link":{"bandwidth_mbps":1000,"hops":1}"#),
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
