//! Round robin and weighted round robin through real Envoy: shares counted from
//! `x-served-by` on both targets; on the wasm filter also the ranked list the
//! backend received and the pick counters (the native policy has neither).

mod common;

use common::target::{Edge, Target};
use common::{backends, destination_names, stats_after_sync, tally};
use edgepick_tests::harness::{backend_json, Client, DESTINATION_HEADER};
use std::collections::BTreeMap;

fn within(t: &BTreeMap<String, usize>, name: &str, expected: f64, tolerance: f64) -> bool {
    let got = t.get(name).copied().unwrap_or(0) as f64;
    (got - expected).abs() <= tolerance
}

on_both_targets!(round_robin_and_weighted_shares_follow_the_weights);

fn round_robin_and_weighted_shares_follow_the_weights(target: Target) {
    let wasm = target == Target::Wasm;
    let bs = backends(&["a", "b", "c"]);
    let equal: Vec<String> = bs.iter().map(|b| backend_json(b, "")).collect();
    let weighted: Vec<String> = bs
        .iter()
        .zip([5, 2, 1])
        .map(|(b, w)| backend_json(b, &format!(r#""weight":{w}"#)))
        .collect();
    let cfg = |list: &[String]| {
        format!(
            r#"{{"algorithm":{{"name":"round_robin"}},"backends":[{}]}}"#,
            list.join(",")
        )
    };
    let addresses: Vec<_> = bs.iter().map(|b| b.addr()).collect();
    let envoy = Edge::new(&cfg(&equal), &addresses)
        .and(&cfg(&weighted))
        .start(target);
    // A client-sent destination must be overwritten by the filter (and is
    // ignored by the native policy).
    let forged = bs[2].addr().to_string();

    let run = |listener: usize, n: usize| {
        let before = wasm.then(|| stats_after_sync(&envoy));
        let mut client = Client::new(envoy.listener(listener));
        let rs: Vec<_> = (0..n)
            .map(|i| {
                client
                    .get_with(&format!("/d?i={i}"), &[(DESTINATION_HEADER, &forged)])
                    .expect("request")
            })
            .collect();
        for r in &rs {
            assert_eq!(r.status, 200, "{}", r.text());
            if !wasm {
                continue;
            }
            let list = destination_names(r.header("x-received-destination").unwrap_or("-"), &bs);
            assert_eq!(
                list.len(),
                3,
                "primary + 2 fallbacks expected, got {list:?}"
            );
            assert_eq!(
                Some(list[0].as_str()),
                r.served_by(),
                "primary must be the node that served: {list:?}"
            );
            let mut uniq = list.clone();
            uniq.sort();
            uniq.dedup();
            assert_eq!(uniq.len(), 3, "ranked list must not repeat: {list:?}");
        }
        let t = tally(&rs);
        let Some(before) = before else {
            return t;
        };
        let after = stats_after_sync(&envoy);
        for b in &bs {
            let picks = after.custom(&format!("edgepick.picks.{}", b.name()))
                - before.custom(&format!("edgepick.picks.{}", b.name()));
            assert_eq!(
                picks as usize,
                t.get(b.name()).copied().unwrap_or(0),
                "picks counter of {} vs served",
                b.name()
            );
        }
        t
    };

    let t = run(0, 1200);
    for name in ["a", "b", "c"] {
        assert!(within(&t, name, 400.0, 20.0), "equal weights: {t:?}");
    }
    let t = run(1, 1600);
    assert!(
        within(&t, "a", 1000.0, 48.0)
            && within(&t, "b", 400.0, 48.0)
            && within(&t, "c", 200.0, 48.0),
        "5:2:1: {t:?}"
    );

    if !wasm {
        return;
    }
    // The same counters on /stats/prometheus: one metric, the backend a label
    // (deploy/envoy.yaml's stats_tags).
    let prom = envoy.prometheus().unwrap();
    let stats = envoy.stats().unwrap();
    for b in &bs {
        assert_eq!(
            prom.labelled("edgepick_picks", "backend", b.name()),
            Some(stats.custom(&format!("edgepick.picks.{}", b.name()))),
            "edgepick_picks{{backend=\"{}\"}} on /stats/prometheus",
            b.name()
        );
    }
}
