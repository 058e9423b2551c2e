//! The policy against a plain [`Cluster`]: what Envoy would see, without Envoy.

use crate::abi::LogLevel;
use crate::cluster::Cluster;
use crate::guard::{configure, guarded_choose};
use crate::picker::{client_of, Picker};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
struct Fake {
    /// (address, weight, healthy, active requests)
    hosts: Vec<(String, u32, bool, u64)>,
    headers: HashMap<String, String>,
    rejected: Vec<usize>,
    panic_on_header: bool,
    metadata: HashMap<(usize, String), f64>,
    connect_fails: Vec<u64>,
    header_reads: Cell<usize>,
    active_reads: Cell<usize>,
    /// Envoy's `hash_policy` hash (`tcp_proxy` with `source_ip`).
    hash: Option<u64>,
}

impl Fake {
    fn new(n: usize) -> Self {
        Fake {
            hosts: (0..n)
                .map(|i| (format!("127.0.0.1:{}", 9001 + i), 1, true, 0))
                .collect(),
            connect_fails: vec![0; n],
            ..Fake::default()
        }
    }
    fn healthy(&self) -> Vec<usize> {
        (0..self.hosts.len()).filter(|&i| self.hosts[i].2).collect()
    }
}

impl Cluster for Fake {
    fn priorities(&self) -> u32 {
        1
    }
    fn hosts(&self, _: u32) -> usize {
        self.hosts.len()
    }
    fn healthy_hosts(&self, _: u32) -> usize {
        self.healthy().len()
    }
    fn address(&self, _: u32, i: usize) -> Option<&str> {
        self.hosts.get(i).map(|h| h.0.as_str())
    }
    fn healthy_address(&self, _: u32, k: usize) -> Option<&str> {
        self.healthy().get(k).map(|&i| self.hosts[i].0.as_str())
    }
    fn weight(&self, _: u32, i: usize) -> u32 {
        self.hosts[i].1
    }
    fn is_healthy(&self, _: u32, i: usize) -> bool {
        self.hosts[i].2
    }
    fn active_requests(&self, _: u32, i: usize) -> u64 {
        self.active_reads.set(self.active_reads.get() + 1);
        self.hosts[i].3
    }
    fn outcomes(&self, _: u32, i: usize) -> (u64, u64, u64) {
        (self.connect_fails[i], 0, 0)
    }
    fn metadata_str(&self, _: u32, _: usize, _: &str, _: &str) -> Option<&str> {
        None
    }
    fn metadata_num(&self, _: u32, i: usize, ns: &str, key: &str) -> Option<f64> {
        assert_eq!(ns, "edgepick");
        self.metadata.get(&(i, key.to_string())).copied()
    }
    fn metadata_bool(&self, _: u32, _: usize, _: &str, _: &str) -> Option<bool> {
        None
    }
    fn header(&self, name: &str) -> Option<&str> {
        assert!(!self.panic_on_header, "header read failed");
        self.header_reads.set(self.header_reads.get() + 1);
        self.headers.get(name).map(String::as_str)
    }
    fn hash_key(&self) -> Option<u64> {
        self.hash
    }
    fn reject(&self, _: u32, i: usize) -> bool {
        self.rejected.contains(&i)
    }
}

fn picker(json: &str) -> Picker {
    Picker::new(
        Arc::new(configure(b"edgepick", json.as_bytes()).unwrap()),
        7,
    )
}

/// The address picked: healthy index mapped back through the fake.
fn pick(p: &mut Picker, c: &Fake, now: u64) -> String {
    let (choice, fallback) = p.choose(c, now);
    assert_eq!(fallback, None);
    let (_, k) = choice.expect("a host");
    c.healthy_address(0, k as usize).unwrap().to_string()
}

fn port(a: &str) -> u16 {
    a.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn round_robin_over_the_cluster_hosts_with_envoy_weights() {
    let mut c = Fake::new(3);
    c.hosts[0].1 = 5;
    let mut p = picker(r#"{"algorithm":{"name":"round_robin"}}"#);
    let seq: Vec<u16> = (0..7).map(|t| port(&pick(&mut p, &c, t))).collect();
    // nginx's smooth weighted sequence for weights 5,1,1.
    assert_eq!(seq, [9001, 9001, 9002, 9001, 9003, 9001, 9001]);
    assert_eq!(c.header_reads.get(), 0, "round robin reads no header");
}

#[test]
fn configured_entries_win_over_envoy_weights_and_metadata_fills_the_rest() {
    let mut c = Fake::new(2);
    c.metadata.insert((1, "weight".into()), 3.0);
    let mut p = picker(
        r#"{"algorithm":{"name":"round_robin"},"backends":[{"name":"a","address":"127.0.0.1:9001","weight":1}]}"#,
    );
    pick(&mut p, &c, 0);
    let cfg = p.router().unwrap().config();
    let w: Vec<(&str, u32)> = cfg
        .backends
        .iter()
        .map(|b| (b.name.as_str(), b.weight))
        .collect();
    assert_eq!(w, [("a", 1), ("127.0.0.1:9002", 3)]);
}

#[test]
fn unhealthy_hosts_are_skipped_and_the_healthy_index_is_envoys() {
    let mut c = Fake::new(3);
    c.hosts[0].2 = false;
    let mut p = picker(r#"{"algorithm":{"name":"round_robin"}}"#);
    let picks: Vec<u16> = (0..6).map(|t| port(&pick(&mut p, &c, t))).collect();
    assert!(picks.iter().all(|&x| x != 9001), "{picks:?}");
    assert!(picks.contains(&9002) && picks.contains(&9003), "{picks:?}");
    // It comes back.
    c.hosts[0].2 = true;
    let picks: Vec<u16> = (10..16).map(|t| port(&pick(&mut p, &c, t))).collect();
    assert!(picks.contains(&9001), "{picks:?}");
}

#[test]
fn retry_predicates_move_the_pick_to_the_next_ranked_host() {
    let mut c = Fake::new(3);
    let mut p = picker(r#"{"algorithm":{"name":"ip_hash"}}"#);
    c.headers
        .insert("x-forwarded-for".into(), "192.168.1.10".into());
    let first = pick(&mut p, &c, 0);
    let i = c.hosts.iter().position(|h| h.0 == first).unwrap();
    c.rejected.push(i);
    let second = pick(&mut p, &c, 1);
    assert_ne!(first, second);
}

#[test]
fn ip_hash_reads_the_client_from_envoys_x_forwarded_for() {
    assert_eq!(client_of("10.0.0.1", 0), "10.0.0.1".parse().ok());
    assert_eq!(
        client_of("203.0.113.9, 10.0.0.1", 1),
        "203.0.113.9".parse().ok()
    );
    assert_eq!(client_of("10.0.0.1", 1), None);
    let c = {
        let mut c = Fake::new(3);
        c.headers
            .insert("x-forwarded-for".into(), "192.168.1.10".into());
        c
    };
    let mut p = picker(r#"{"algorithm":{"name":"ip_hash"}}"#);
    // algorithms.md: 192.168.1.10 over three equal peers -> the second.
    assert_eq!(port(&pick(&mut p, &c, 0)), 9002);
}

#[test]
fn without_headers_ip_hash_and_client_hashing_key_on_envoys_hash_key() {
    for algo in [
        r#"{"name":"ip_hash"}"#,
        r#"{"name":"consistent_hash","key":"client_address"}"#,
    ] {
        let cfg = format!(r#"{{"algorithm":{algo}}}"#);
        let mut c = Fake::new(5);
        let mut p = picker(&cfg);
        let mut seen = std::collections::BTreeSet::new();
        for h in 0..64u64 {
            c.hash = Some(h.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let first = pick(&mut p, &c, h);
            // The same hash (the same source) keeps its host.
            assert_eq!(pick(&mut p, &c, h), first, "{algo}");
            seen.insert(first);
        }
        // Different sources spread (a missing key would pin them all to one host).
        assert!(seen.len() >= 4, "{algo}: {seen:?}");
    }
}

#[test]
fn least_connections_reads_envoys_active_requests() {
    let mut c = Fake::new(3);
    c.hosts[0].3 = 9;
    c.hosts[1].3 = 2;
    c.hosts[2].3 = 7;
    let mut p = picker(r#"{"algorithm":{"name":"least_connections"}}"#);
    for t in 0..5 {
        assert_eq!(port(&pick(&mut p, &c, t)), 9002);
    }
}

#[test]
fn active_requests_are_read_once_in_eight_picks_and_own_picks_count_between() {
    use crate::picker::{EXACT_UP_TO_HOSTS, INFLIGHT_EVERY};
    // A cluster just above the size read on every pick; the last host idle.
    let n = EXACT_UP_TO_HOSTS + 1;
    let idle = 9000 + n as u16;
    let mut c = Fake::new(n);
    for h in &mut c.hosts[..n - 1] {
        h.3 = 2;
    }
    let mut p = picker(r#"{"algorithm":{"name":"least_connections"}}"#);
    let every = INFLIGHT_EVERY as usize;
    // Same clock: reads go by picks only. Between reads this worker's own
    // picks count: the idle host takes two, then the load spreads (without
    // counting them all eight would go to it).
    let first: Vec<u16> = (0..every).map(|_| port(&pick(&mut p, &c, 5))).collect();
    assert_eq!(first[..2], [idle, idle], "{first:?}");
    let on_idle = first.iter().filter(|&&p| p == idle).count();
    assert!(on_idle <= 4, "own picks spread the load: {first:?}");
    assert_eq!(c.active_reads.get(), n, "one read of every host");
    for _ in 0..every * 9 {
        pick(&mut p, &c, 5);
    }
    assert_eq!(c.active_reads.get(), n * 10, "a read every {every} picks");
    // Envoy's count moves (another worker loads the others): seen within
    // INFLIGHT_EVERY picks, after which only the idle host is chosen.
    for h in &mut c.hosts[..n - 1] {
        h.3 = 1_000;
    }
    let after: Vec<u16> = (0..every * 2).map(|_| port(&pick(&mut p, &c, 5))).collect();
    assert!(after[every..].iter().all(|&p| p == idle), "{after:?}");
    // And at least every INFLIGHT_MAX_AGE_MS on a slow worker.
    let reads = c.active_reads.get();
    pick(&mut p, &c, 5 + crate::picker::INFLIGHT_MAX_AGE_MS);
    assert_eq!(c.active_reads.get(), reads + n);
}

#[test]
fn small_clusters_read_active_requests_on_every_pick() {
    let mut c = Fake::new(3);
    c.hosts[0].3 = 1;
    c.hosts[1].3 = 1;
    let mut p = picker(r#"{"algorithm":{"name":"least_connections"}}"#);
    for k in 1..=5 {
        assert_eq!(
            port(&pick(&mut p, &c, 5)),
            9003,
            "exact: the idle host each time"
        );
        assert_eq!(c.active_reads.get(), 3 * k);
    }
}

#[test]
fn churn_keeps_the_state_of_hosts_that_stay() {
    let mut c = Fake::new(3);
    let mut p = picker(
        r#"{"algorithm":{"name":"round_robin"},"health":{"max_fails":1,"fail_timeout_ms":10000}}"#,
    );
    pick(&mut p, &c, 0);
    c.connect_fails[2] = 4; // 127.0.0.1:9003 fails: passively out
    pick(&mut p, &c, 1_000);
    let out = |p: &Picker| {
        let r = p.router().unwrap();
        let i = r.config().backend_index("127.0.0.1:9003").unwrap();
        r.states()[i].health.passive.fails
    };
    assert_eq!(out(&p), 1);
    // Host 9001 leaves, 9004 joins: 9003 keeps its failure.
    c.hosts.remove(0);
    c.connect_fails.remove(0);
    c.hosts.push(("127.0.0.1:9004".into(), 1, true, 0));
    c.connect_fails.push(0);
    p.membership_changed();
    for t in 0..6 {
        assert_ne!(port(&pick(&mut p, &c, 1_100 + t)), 9003);
    }
    assert_eq!(out(&p), 1);
    assert_eq!(p.router().unwrap().config().backends.len(), 3);
}

#[test]
fn a_connect_failure_on_the_picked_host_is_read_before_the_next_scan() {
    let mut c = Fake::new(3);
    c.hash = Some(42);
    let mut p = picker(
        r#"{"algorithm":{"name":"consistent_hash","key":"client_address"},"health":{"max_fails":1,"fail_timeout_ms":10000}}"#,
    );
    let first = pick(&mut p, &c, 1_000);
    assert_eq!(pick(&mut p, &c, 1_001), first, "hashing repeats the host");
    // tcp_proxy's connect to it was refused; its retry comes 1 ms later,
    // long before the next scan (SCAN_MS): another host.
    let i = c.hosts.iter().position(|h| h.0 == first).unwrap();
    c.connect_fails[i] += 1;
    assert_ne!(pick(&mut p, &c, 1_002), first);
}

#[test]
fn a_panic_is_caught_and_answered_with_a_healthy_host() {
    let mut c = Fake::new(2);
    c.panic_on_header = true;
    c.hosts[0].2 = false;
    let mut p = picker(r#"{"algorithm":{"name":"ip_hash"}}"#);
    let lines = std::cell::RefCell::new(Vec::new());
    let got = guarded_choose(&mut p, &c, 0, &|l, m| {
        lines.borrow_mut().push((l, m.to_string()))
    });
    assert_eq!(got, Some((0, 0)), "the only healthy host");
    assert_eq!(lines.borrow()[0].0, LogLevel::Error);
    assert!(lines.borrow()[0].1.contains("panicked"));
}

#[test]
fn bad_configuration_is_refused_with_the_field() {
    let e = configure(
        b"edgepick",
        br#"{"algorithm":{"name":"rfws","tie_tolerance":7}}"#,
    )
    .unwrap_err();
    assert!(e.contains("algorithm.tie_tolerance"), "{e}");
    let e = configure(b"other", b"{}").unwrap_err();
    assert!(e.contains("\"other\""), "{e}");
}

#[test]
fn hosts_that_make_no_valid_configuration_fall_back_to_envoys_healthy_hosts() {
    let c = Fake::new(8);
    // maglev needs more slots than backends: 7 slots for 8 hosts.
    let mut p = picker(
        r#"{"algorithm":{"name":"consistent_hash","key":"path","flavour":"maglev","table_size":7}}"#,
    );
    let (choice, fallback) = p.choose(&c, 0);
    assert!(choice.is_some());
    assert!(
        matches!(fallback, Some(crate::picker::Fallback::Config(ref e)) if e.contains("table")),
        "{fallback:?}"
    );
    // Reported once: the next picks use Envoy's healthy hosts without retrying.
    let (choice, fallback) = p.choose(&c, 1);
    assert!(choice.is_some());
    assert_eq!(fallback, None);
}
