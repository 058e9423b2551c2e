//! Labelled metrics through real Envoy running deploy/envoy.yaml: each
//! per-backend metric is one Prometheus metric with a `backend` label (the
//! shipped `stats_config.stats_tags`), and every metric the shipped Grafana
//! dashboard queries is one this run exports.

mod common;

use common::{backends, setup, stats_after_sync, tally};
use edgepick_tests::harness::{backends_json, promql, Client, EnvoyBuilder, Prometheus};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Backend names that a careless tag regex would split or confuse: a `-`, a
/// `_`, and one named like a metric kind.
const NAMES: [&str; 3] = ["eu-west_1", "picks", "b"];

/// The per-backend metrics, by their Prometheus name.
const PER_BACKEND: [&str; 4] = [
    "edgepick_picks",
    "edgepick_failures",
    "edgepick_inflight",
    "edgepick_healthy",
];

/// `/stats/prometheus` after every worker has published (once a second,
/// `METRICS_MS`, plus scheduling slack).
fn prometheus_after_sync(envoy: &edgepick_tests::harness::Envoy) -> Prometheus {
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    envoy.prometheus().expect("admin /stats/prometheus")
}

/// Each per-backend metric: exactly one series per backend, each with the
/// `backend` label, and no other series; its value per backend in `NAMES` order.
fn per_backend(p: &Prometheus, metric: &str) -> Vec<f64> {
    let labels: Vec<Option<&str>> = p.all(metric).map(|s| s.label("backend")).collect();
    let mut want: Vec<Option<&str>> = NAMES.iter().copied().map(Some).collect();
    let mut got = labels.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{metric}: one series per backend, labelled");
    NAMES
        .iter()
        .map(|n| p.labelled(metric, "backend", n).expect("one series"))
        .collect()
}

#[test]
fn per_backend_metrics_are_labelled_series() {
    let wasm = setup();
    let bs = backends(&NAMES);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{},
            "health":{{"max_fails":1,"fail_timeout_ms":60000}}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .concurrency(2)
        .start()
        .expect("envoy starts");

    // Healthy backends: picks add up to the requests sent, per backend to
    // the responses each served; nothing failed, nothing in flight.
    const N: usize = 90;
    let mut client = Client::new(envoy.listener(0));
    let rs: Vec<_> = (0..N)
        .map(|i| client.get(&format!("/m?i={i}")).expect("request"))
        .collect();
    assert!(rs.iter().all(|r| r.status == 200), "all served");
    let served = tally(&rs);
    let p = prometheus_after_sync(&envoy);
    let picks = per_backend(&p, "edgepick_picks");
    assert_eq!(
        picks.iter().sum::<f64>(),
        N as f64,
        "picks add up: {picks:?}"
    );
    for (n, v) in NAMES.iter().zip(&picks) {
        assert_eq!(*v as usize, served[*n], "picks of {n} vs served");
    }
    assert_eq!(per_backend(&p, "edgepick_failures"), [0.0; 3]);
    assert_eq!(per_backend(&p, "edgepick_inflight"), [0.0; 3]);
    assert_eq!(per_backend(&p, "edgepick_healthy"), [1.0; 3]);
    let writes: Vec<_> = p.all("edgepick_health_writes").collect();
    assert!(
        writes.len() == 1 && writes[0].label("plugin") == Some("edgepick"),
        "health writes labelled by plugin: {writes:?}"
    );
    assert!(p.get("edgepick_warnings_suppressed").is_some());
    // No metric keeps a backend or plugin in its name.
    let leftovers: BTreeSet<&str> = p
        .series
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| {
            n.starts_with("edgepick_")
                && !PER_BACKEND.contains(n)
                && *n != "edgepick_health_writes"
                && *n != "edgepick_warnings_suppressed"
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "unlabelled edgepick metrics: {leftovers:?}"
    );

    // `picks` answers 503: its failures count on its own series, it goes out
    // of rotation, and the other two take every request.
    bs[1].set_fail(503).expect("control");
    let rs: Vec<_> = (0..30)
        .map(|i| client.get(&format!("/f?i={i}")).expect("request"))
        .collect();
    assert!(rs.iter().all(|r| r.status == 200), "retried elsewhere");
    let p = prometheus_after_sync(&envoy);
    let failures = per_backend(&p, "edgepick_failures");
    assert!(
        failures[1] >= 1.0 && failures[0] == 0.0 && failures[2] == 0.0,
        "failures: {failures:?}"
    );
    assert_eq!(per_backend(&p, "edgepick_healthy"), [1.0, 0.0, 1.0]);
    let after = per_backend(&p, "edgepick_picks");
    assert_eq!(after.iter().sum::<f64>(), (N + 30) as f64, "{after:?}");

    // /stats keeps the full names, with the same values.
    let stats = stats_after_sync(&envoy);
    for (n, v) in NAMES.iter().zip(&after) {
        assert_eq!(stats.custom(&format!("edgepick.picks.{n}")), *v, "{n}");
    }

    // Every metric the dashboard queries is one this run exports.
    let wanted = dashboard_metrics(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana-dashboard.json"),
    );
    assert!(
        wanted.contains("edgepick_picks") && wanted.len() >= 8,
        "{wanted:?}"
    );
    let missing: Vec<&String> = wanted.iter().filter(|m| !p.exports(m)).collect();
    assert!(
        missing.is_empty(),
        "deploy/grafana-dashboard.json queries metrics this Envoy does not export: {missing:?}"
    );
}

/// Every metric name in a Grafana dashboard: the `expr` of every panel target
/// (rows' nested panels too) and the metric of every `label_values(metric,
/// label)` template variable.
fn dashboard_metrics(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).expect("dashboard");
    let dash: Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let mut names = BTreeSet::new();
    let mut exprs = 0;
    let mut panels: Vec<&Value> = dash["panels"].as_array().expect("panels").iter().collect();
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for t in panel["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().expect("every target has an expr");
            let found = promql::metric_names(expr);
            assert!(!found.is_empty(), "no metric in {expr}");
            names.extend(found);
            exprs += 1;
        }
    }
    assert!(exprs >= 10, "{exprs} queries found");
    for var in dash["templating"]["list"].as_array().into_iter().flatten() {
        let q = var["query"]["query"].as_str().or(var["query"].as_str());
        if let Some(args) = q.and_then(|q| q.trim().strip_prefix("label_values(")) {
            let metric = args.rsplit_once(',').map_or(args, |(m, _)| m);
            names.extend(promql::metric_names(metric));
        }
    }
    names
}
