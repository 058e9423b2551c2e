//! Malformed configurations: each is refused with the log line
//! `edgepick: invalid configuration: <field>:`. Pushed over LDS to a running
//! Envoy (as Istio or Envoy Gateway would), the listener carrying it is refused
//! while Envoy keeps serving its other listeners. In a static bootstrap Envoy
//! refuses to start at all (whatever `fail_open` says: the plugin fails to load).

mod common;

use common::target::{Edge, Target};
use common::{backends, setup};
use edgepick_tests::harness::{backends_json, request_once, EnvoyBuilder};
use std::time::{Duration, Instant};

/// (configuration, the field its error must name) from
/// `tests/golden/bad_configs.json`; `{B}` stands for a valid backend list.
fn cases() -> Vec<(String, String)> {
    edgepick_core::vectors::parse_bad_configs(include_str!("../golden/bad_configs.json"))
        .expect("bad_configs.json parses")
        .into_iter()
        .map(|c| (c.config, c.field))
        .collect()
}

#[test]
fn each_bad_configuration_is_refused_naming_its_field() {
    let wasm = setup();
    let bs = backends(&["a", "b"]);
    let list = backends_json(&bs);
    let good = format!(r#"{{"algorithm":{{"name":"round_robin"}},"backends":{list}}}"#);
    let mut envoy = EnvoyBuilder::new(&wasm, &good)
        .dynamic_listeners()
        .start()
        .expect("envoy starts");
    // As a control plane would: push every bad configuration, plus one valid, over LDS.
    let cases = cases();
    assert_eq!(cases.len(), 18, "bad_configs.json lost cases");
    let bad: Vec<String> = cases
        .iter()
        .map(|(cfg, _)| cfg.replace("{B}", &list))
        .collect();
    let mut pushed: Vec<Option<&str>> = bad.iter().map(|c| Some(c.as_str())).collect();
    pushed.push(Some(&good));
    let addrs = envoy
        .set_dynamic_listeners(&pushed)
        .expect("write LDS file");

    let mut missing = Vec::new();
    for (i, (cfg, field)) in cases.iter().enumerate() {
        let needle = format!("edgepick: invalid configuration: {field}:");
        if envoy
            .wait_for_log(&needle, Duration::from_secs(if i == 0 { 10 } else { 1 }))
            .is_none()
        {
            missing.push(format!("{needle}  (config {cfg})"));
        }
    }
    assert!(
        missing.is_empty(),
        "log lines missing:\n{}\nlog tail:\n{}",
        missing.join("\n"),
        envoy.log_tail(30)
    );

    // The static listener keeps serving, with the plugin picking.
    let picked = |r: &edgepick_tests::harness::Response| {
        r.status == 200 && r.header("x-received-destination").is_some_and(|d| d != "-")
    };
    for _ in 0..10 {
        let r = request_once(envoy.listener(0), None, "/ok", &[]).expect("valid listener answers");
        assert!(picked(&r), "static listener: {} {:?}", r.status, r.headers);
    }
    // The valid dynamic listener comes up beside the refused ones.
    let valid = *addrs.last().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match request_once(valid, None, "/ok", &[]) {
            Ok(r) if picked(&r) => break,
            other => assert!(
                Instant::now() < deadline,
                "valid dynamic listener not serving: {other:?}\n{}",
                envoy.log_tail(10)
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // A refused plugin never picks: its listener is absent, fails, or reaches a backend without a choice.
    for (addr, (cfg, _)) in addrs.iter().zip(&cases) {
        if let Ok(r) = request_once(*addr, None, "/bad", &[]) {
            assert!(
                !picked(&r),
                "listener with config {cfg} is served by the plugin: {} {:?}",
                r.status,
                r.headers
            );
        }
    }
    assert!(envoy.is_running());
}

on_both_targets!(a_bad_configuration_is_refused_at_start_naming_the_field);

/// Envoy does not start half configured: the wasm filter fails closed, the
/// native policy fails its cluster; either way the log names the field.
fn a_bad_configuration_is_refused_at_start_naming_the_field(target: Target) {
    let bs = backends(&["a"]);
    let addresses = [bs[0].addr()];
    for (cfg, field) in [
        (
            format!(r#"{{"backends":{},"fallbacks":99}}"#, backends_json(&bs)),
            "fallbacks:",
        ),
        (
            format!(
                r#"{{"backends":{},"algorithm":{{"name":"rfws","load_threshold":1.5}}}}"#,
                backends_json(&bs)
            ),
            "algorithm.load_threshold:",
        ),
    ] {
        let err = Edge::new(&cfg, &addresses)
            .try_start(target)
            .expect_err("a bad configuration is refused");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("edgepick: ") && msg.contains(field),
            "{target:?}: Envoy's log names {field}\n{msg}"
        );
    }
}
