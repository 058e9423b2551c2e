//! Redirect mode: Envoy answers 302 itself; `Location` is the chosen node's URL
//! followed by the request's path and query; no backend sees the request.

mod common;

use common::{backends, setup};
use edgepick_tests::harness::{backend_json, Client, EnvoyBuilder};
use std::collections::BTreeMap;

#[test]
fn location_is_the_chosen_nodes_url_plus_path_and_query() {
    let wasm = setup();
    let bs = backends(&["a", "b", "c"]);
    let urls = [
        "http://node-a.example:8081",
        "https://node-b.example/base/",
        "http://10.9.8.7",
    ];
    let list: Vec<String> = bs
        .iter()
        .zip(urls)
        .map(|(b, u)| backend_json(b, &format!(r#""url":"{u}""#)))
        .collect();
    let cfg = format!(
        r#"{{"mode":"redirect","algorithm":{{"name":"round_robin"}},"decision_header":true,"backends":[{}]}}"#,
        list.join(",")
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .start()
        .expect("envoy starts");
    let mut client = Client::new(envoy.listener(0));
    let mut count = BTreeMap::new();
    for i in 0..30 {
        let path = format!("/shop/item/{i}?id=42&q=a%20b");
        let r = client.get(&path).expect("request");
        assert_eq!(r.status, 302, "{:?}", r.headers);
        let loc = r.header("location").expect("Location");
        let d = r.header("x-edgepick-decision").expect("decision header");
        let choice = d
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.strip_prefix("choice="))
            .unwrap_or("?");
        let k = bs
            .iter()
            .position(|b| b.name() == choice)
            .unwrap_or_else(|| panic!("unknown choice in {d}"));
        assert_eq!(
            loc,
            format!("{}{path}", urls[k].trim_end_matches('/')),
            "decision {d}"
        );
        *count.entry(choice.to_string()).or_insert(0) += 1;
    }
    assert_eq!(
        count.values().copied().collect::<Vec<_>>(),
        [10, 10, 10],
        "round robin over urls: {count:?}"
    );
    for b in &bs {
        assert_eq!(
            b.stats().unwrap().served,
            0,
            "{} must not see redirected requests",
            b.name()
        );
    }
}
