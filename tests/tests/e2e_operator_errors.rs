//! What an operator sees when a client or the configuration misbehaves:
//! warnings a client can trigger at will are limited by time (at most 5 lines
//! a minute of each kind, the rest counted in `edgepick.warnings_suppressed`),
//! and heartbeats Envoy refuses to send (an unknown cluster) are reported once
//! and do not mark every node faulty.

mod common;

use common::{backends, setup, stats_after_sync, tally};
use edgepick_tests::harness::{backends_json, Client, EnvoyBuilder};
use std::time::Duration;

#[test]
fn a_flood_of_bad_cookies_logs_a_few_lines_and_counts_the_rest() {
    let wasm = setup();
    let bs = backends(&["a", "b"]);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{},
            "cookie":{{"keys":["e2e-test-signing-key-0001"]}}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .start()
        .expect("envoy starts");
    let mut client = Client::new(envoy.listener(0));
    for i in 0..40 {
        let r = client
            .get_with("/", &[("cookie", &format!("edgepick=forged-{i}"))])
            .expect("request");
        assert_eq!(r.status, 200, "a bad cookie never fails a request");
    }
    let stats = stats_after_sync(&envoy);
    // Envoy writes its log file in batches.
    envoy.wait_for_log("session cookie ignored", Duration::from_secs(20));
    let lines = envoy
        .log()
        .lines()
        .filter(|l| l.contains("session cookie ignored"))
        .count();
    assert!(
        (1..=5).contains(&lines),
        "{lines} warning lines for 40 bad cookies"
    );
    assert_eq!(
        stats.custom("edgepick.warnings_suppressed") as usize + lines,
        40,
        "every warning is either logged or counted"
    );
}

#[test]
fn heartbeats_through_an_unknown_cluster_are_reported_once_and_fail_no_node() {
    let wasm = setup();
    let bs = backends(&["a", "b", "c"]);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{},
            "health":{{"heartbeat":{{"interval_ms":100,"window_ms":300,"threshold":1,
                                     "cluster":"no-such-cluster"}}}}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .start()
        .expect("envoy starts");
    // Ten heartbeat rounds, three windows: every node would be faulty by now.
    std::thread::sleep(Duration::from_millis(1000));
    let mut client = Client::new(envoy.listener(0));
    let rs: Vec<_> = (0..30).map(|_| client.get("/").expect("request")).collect();
    assert!(rs.iter().all(|r| r.status == 200));
    let t = tally(&rs);
    assert_eq!(t.len(), 3, "every node still gets traffic: {t:?}");
    let needle = "refuses heartbeats through cluster \"no-such-cluster\"";
    envoy.wait_for_log(needle, Duration::from_secs(20));
    let log = envoy.log();
    let reports = log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(reports, 1, "said once:\n{}", envoy.log_tail(30));
    assert_eq!(stats_after_sync(&envoy).custom("edgepick.healthy.a"), 1.0);
}
