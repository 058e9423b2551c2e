//! A kill storm on the shipped `deploy/envoy.yaml` (which the harness runs):
//! while clients send at least 20,000 requests, one of three backends is
//! killed (SIGKILL) and restarted at least 10 times, and two at once at least
//! twice. Failover is a retry through the filter's ranked list, and the
//! shipped circuit breakers must admit every one (Envoy's default of 3 retries
//! in flight lost 7.4 % of requests here; without the previous-hosts retry
//! predicate 8 of 64,741 failed).
//!
//! 0 failures. An earlier version of this test allowed one in 20,000: over
//! 40 runs (2,825,622 requests) 7 requests failed, each after a try that
//! reached a live, newly restarted backend on a fresh connection and got no
//! answer (670 ms and 1,427 ms, until that backend was killed; Envoy's
//! upstream log showed it). The test backend then used tiny_http; with its own
//! thread-per-connection server (`edgepick_tests::http_server`) 40 runs
//! (3,211,385 requests) lost none.
//!
//! The storm prints its kills and restarts (Unix ms); run it with
//! `EDGEPICK_UPSTREAM_LOG=<file>` to log every upstream try Envoy makes and
//! match a failure against them.

mod common;

use common::{backends, send_until, setup, Tally};
use edgepick_tests::harness::{backends_json, EnvoyBuilder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MIN_REQUESTS: usize = 20_000;
const SINGLE_KILLS: usize = 10;
const DOUBLE_KILLS: usize = 2;
/// How long a killed node stays down, and how long all run between kills.
const DOWN: Duration = Duration::from_millis(400);
const UP: Duration = Duration::from_millis(300);
const CLIENTS: usize = 6;

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[test]
fn killing_and_restarting_nodes_under_load_fails_no_request() {
    let wasm = setup();
    let mut bs = backends(&["a", "b", "c"]);
    // The shipped configuration's algorithm and health settings, with
    // heartbeats fast enough that restarted nodes come back within the storm.
    let cfg = format!(
        r#"{{"algorithm":{{"name":"rfws","tie_tolerance":0.05,"load_threshold":0.9}},
            "backends":{},"fallbacks":2,
            "health":{{"max_fails":2,"fail_timeout_ms":1000,
                       "heartbeat":{{"interval_ms":200,"window_ms":600,"threshold":1,"timeout_ms":150}}}}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .concurrency(2)
        .start()
        .expect("envoy starts");
    let tally = Tally::default();
    let stop = AtomicBool::new(false);
    let t0 = Instant::now();
    let limit = Duration::from_secs(120);

    let (singles, doubles, restart_error) = std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| send_until(envoy.listener(0), "/storm", 8, &stop, &tally, |_| {}));
        }
        let (mut singles, mut doubles) = (0, 0);
        let mut round = 0usize;
        let mut restart_error = None;
        while (singles < SINGLE_KILLS
            || doubles < DOUBLE_KILLS
            || tally.total.load(Ordering::SeqCst) < MIN_REQUESTS)
            && t0.elapsed() < limit
        {
            // Every fourth round kills two nodes at once.
            let victims: Vec<usize> = if round % 4 == 3 {
                vec![round % 3, (round + 1) % 3]
            } else {
                vec![round % 3]
            };
            for &v in &victims {
                bs[v].kill();
                eprintln!("storm {} kill {v}", unix_ms());
            }
            std::thread::sleep(DOWN);
            // A failed restart ends the storm (and fails the test below)
            // instead of leaving the clients running.
            if let Some(e) = victims.iter().find_map(|&v| bs[v].restart().err()) {
                restart_error = Some(format!("{e:#}"));
                break;
            }
            eprintln!("storm {} restarted {victims:?}", unix_ms());
            std::thread::sleep(UP);
            if victims.len() == 2 {
                doubles += 1;
            } else {
                singles += 1;
            }
            round += 1;
        }
        stop.store(true, Ordering::SeqCst);
        (singles, doubles, restart_error)
    });
    assert_eq!(restart_error, None, "a killed backend did not restart");

    let n = tally.total.load(Ordering::SeqCst);
    let failures = tally.failures.into_inner().unwrap();
    eprintln!(
        "kill storm: {n} requests, {singles} single and {doubles} double kills in {:.1}s, {} failed",
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(n >= MIN_REQUESTS, "only {n} requests in {limit:?}");
    assert!(singles >= SINGLE_KILLS && doubles >= DOUBLE_KILLS);
    assert!(
        failures.is_empty(),
        "{} of {n} client requests failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let stats = envoy.stats().unwrap();
    assert_eq!(
        stats.get("cluster.edgepick.upstream_rq_retry_overflow"),
        Some(0.0),
        "the shipped circuit breakers refused retries"
    );
}
