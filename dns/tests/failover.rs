//! A killed backend leaves the answers within the documented bound
//! (heartbeat window + one evaluation period), and a client that respects
//! the TTL moves to a live backend once its cached answer expires.

mod common;

use common::*;
use edgepick_dns::probe::EVALUATE_MS;
use hickory_proto::rr::RecordType;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

const WINDOW_MS: u64 = 1000;
const TTL_S: u64 = 2;
/// Slack for a loaded 2-core CI machine (probe scheduling, process start).
const SLACK_MS: u64 = 2000;

fn doc(port: u16) -> String {
    format!(
        r#"{{"algorithm": {{"name": "rfws"}},
  "backends": [
    {{"name": "a", "address": "127.0.8.1:{port}", "link": {{"bandwidth_mbps": 100, "hops": 2}}}},
    {{"name": "b", "address": "127.0.8.2:{port}", "link": {{"bandwidth_mbps": 100, "hops": 1}}}},
    {{"name": "c", "address": "127.0.8.3:{port}", "link": {{"bandwidth_mbps": 10, "hops": 4}}}}
  ],
  "health": {{"heartbeat": {{"interval_ms": 200, "window_ms": {WINDOW_MS}, "threshold": 2, "timeout_ms": 500, "path": "/health"}}}},
  "dns": {{"zone": "example.test", "names": ["www"], "listen": "LISTEN", "records": "one", "ttl_s": {TTL_S}, "probe": "http"}}}}"#
    )
}

fn answer(s: &Server) -> IpAddr {
    let m = query(
        s.addr,
        "127.0.0.1",
        "www.example.test.",
        RecordType::A,
        None,
    );
    addresses(&m)[0]
}

/// A stub resolver with a cache that honours the TTL, and an application
/// that uses the cached address for every request.
struct TtlClient {
    cached: Option<(SocketAddr, Instant)>,
    lookups: Vec<Instant>,
}

impl TtlClient {
    fn address(&mut self, s: &Server, port: u16) -> SocketAddr {
        match self.cached {
            Some((a, until)) if Instant::now() < until => a,
            _ => {
                let m = query(
                    s.addr,
                    "127.0.0.1",
                    "www.example.test.",
                    RecordType::A,
                    None,
                );
                let a = SocketAddr::new(addresses(&m)[0], port);
                let ttl = Duration::from_secs(u64::from(min_ttl(&m)));
                self.cached = Some((a, Instant::now() + ttl));
                self.lookups.push(Instant::now());
                a
            }
        }
    }
}

#[test]
fn a_killed_backend_leaves_the_answers_and_a_ttl_client_follows() {
    let mut bs = backends(&["127.0.8.1", "127.0.8.2", "127.0.8.3"]);
    let port = bs[0].addr.port();
    let dir = scratch("failover");
    let s = Server::start(&dir, &doc(port));
    // Let a whole window of heartbeats arrive, then b (the best route) is the answer.
    std::thread::sleep(Duration::from_millis(WINDOW_MS + 500));
    let b: IpAddr = "127.0.8.2".parse().unwrap();
    assert_eq!(answer(&s), b);
    let mut client = TtlClient {
        cached: None,
        lookups: Vec::new(),
    };
    let first = client.address(&s, port);
    assert_eq!(first.ip(), b);
    assert!(http_ok(first));

    let cached_until = client.cached.map(|(_, until)| until).unwrap();
    bs[1].kill();
    let killed = Instant::now();
    let mut left = None;
    let mut served_again = None;
    let mut failures = 0;
    while killed.elapsed() < Duration::from_secs(20) && (left.is_none() || served_again.is_none()) {
        if left.is_none() && answer(&s) != b {
            left = Some(killed.elapsed());
        }
        if served_again.is_none() {
            let a = client.address(&s, port);
            if http_ok(a) {
                served_again = Some((killed.elapsed(), a));
            } else {
                assert_eq!(a.ip(), b, "only the dead backend fails");
                failures += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = left.unwrap_or_else(|| panic!("b never left the answers; log:\n{}", s.log_text()));
    let bound = Duration::from_millis(WINDOW_MS + EVALUATE_MS);
    eprintln!("b left the answers {left:?} after the kill (documented bound {bound:?})");
    assert!(
        left <= bound + Duration::from_millis(SLACK_MS),
        "left after {left:?}; bound {bound:?}"
    );
    assert!(
        s.log_text().contains("backend b (127.0.8.2"),
        "the log names the failed node:\n{}",
        s.log_text()
    );

    let (again, addr) = served_again.expect("the TTL client never reached a live backend");
    eprintln!(
        "the TTL client was served again {again:?} after the kill, {failures} failed requests"
    );
    assert_ne!(addr.ip(), b);
    if killed + Duration::from_millis(300) < cached_until {
        assert!(
            failures > 0,
            "the client kept its cached answer while it was fresh"
        );
    }
    assert!(again <= bound + Duration::from_secs(TTL_S) + Duration::from_millis(SLACK_MS));
    for w in client.lookups.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(TTL_S * 1000 - 50),
            "looked up again before the TTL ran out"
        );
    }
    // b comes back when it answers probes again.
    bs[1] = Backend::start(SocketAddr::new(b, port)).unwrap();
    let back = Instant::now();
    while answer(&s) != b {
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "b never returned; log:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
