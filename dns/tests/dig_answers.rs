//! The server as a resolver sees it, asked with `dig` (Debian's dnsutils)
//! and a Rust client from many loopback sources: per-subnet answers (RFWS
//! regions, ip_hash), ECS scope, negative answers, TCP, truncation, reloads
//! without a dropped query, malformed packets, metrics.

mod common;

use common::*;
use edgepick_core::{Config, Request, Router, SplitMix64};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RFWS: &str = r#"{
  "algorithm": {"name": "rfws"},
  "backends": [
    {"name": "a", "address": "127.0.3.1:80", "link": {"bandwidth_mbps": 100, "hops": 2}},
    {"name": "b", "address": "127.0.3.2:80", "link": {"bandwidth_mbps": 100, "hops": 1}},
    {"name": "c", "address": "127.0.3.3:80", "link": {"bandwidth_mbps": 10, "hops": 4}}
  ],
  "dns": {"zone": "example.test", "names": ["www"], "listen": "LISTEN", "metrics": "METRICS",
    "regions": [
      {"name": "east", "subnets": ["127.5.0.0/16"], "links": {"a": {"bandwidth_mbps": 1000, "hops": 1}}},
      {"name": "west", "subnets": ["127.6.0.0/16"], "links": {"c": {"bandwidth_mbps": 1000, "hops": 1}}}
    ]}
}"#;

fn first_a(out: &str) -> String {
    out.lines().next().unwrap_or_default().trim().to_string()
}

#[test]
fn answers_per_client_subnet_with_dig() {
    let dir = scratch("per-subnet");
    let metrics = format!("127.0.0.1:{}", free_port());
    let s = Server::start(&dir, &RFWS.replace("METRICS", &metrics));
    let at = format!("@{}", s.addr.ip());
    let port = s.addr.port().to_string();
    let dig_a = |extra: &[&str]| {
        let mut args = vec![
            at.as_str(),
            "-p",
            port.as_str(),
            "+short",
            "www.example.test",
            "A",
        ];
        args.extend_from_slice(extra);
        first_a(&dig(&args))
    };
    // No region: b's route (100 Mbps, 1 hop) is best.
    assert_eq!(dig_a(&["-b", "127.0.0.1"]), "127.0.3.2");
    // The resolver's own address in east, then west.
    assert_eq!(dig_a(&["-b", "127.5.0.1"]), "127.0.3.1");
    assert_eq!(dig_a(&["-b", "127.6.0.1"]), "127.0.3.3");
    // A client subnet forwarded by a resolver outside both regions; over TCP too.
    assert_eq!(
        dig_a(&["-b", "127.0.0.1", "+subnet=127.5.9.0/24"]),
        "127.0.3.1"
    );
    assert_eq!(
        dig_a(&["-b", "127.0.0.1", "+subnet=127.6.1.0/24", "+tcp"]),
        "127.0.3.3"
    );
    let full = dig(&[
        &at,
        "-p",
        &port,
        "www.example.test",
        "A",
        "+subnet=127.5.9.0/24",
    ]);
    assert!(
        full.contains("CLIENT-SUBNET: 127.5.9.0/24/24"),
        "ECS echoed with scope 24:\n{full}"
    );
    assert!(
        full.contains("flags: qr aa rd;") && full.contains("status: NOERROR"),
        "{full}"
    );
    let nx = dig(&[&at, "-p", &port, "nope.example.test", "A"]);
    assert!(
        nx.contains("status: NXDOMAIN") && nx.contains("SOA"),
        "{nx}"
    );
    let refused = dig(&[&at, "-p", &port, "www.example.org", "A"]);
    assert!(refused.contains("status: REFUSED"), "{refused}");
    let ns = dig(&[&at, "-p", &port, "+short", "+tcp", "example.test", "NS"]);
    assert_eq!(ns.trim(), "ns1.example.test.");
    let text = scrape(&metrics);
    assert!(
        text.contains(r#"edgepick_dns_answers_total{backend="a",reason="score"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"edgepick_dns_responses_total{rcode="nxdomain"} 1"#),
        "{text}"
    );
}

fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn ip_hash_answers_are_the_cores_pick_for_each_client_subnet() {
    let doc = r#"{"algorithm": {"name": "ip_hash"}, "fallbacks": 0,
      "backends": [{"name": "a", "address": "127.0.4.1:80"}, {"name": "b", "address": "127.0.4.2:80"},
                   {"name": "c", "address": "127.0.4.3:80"}, {"name": "d", "address": "127.0.4.4:80"}],
      "dns": {"zone": "example.test", "names": ["www"], "listen": "LISTEN"}}"#;
    let dir = scratch("ip-hash");
    let s = Server::start(&dir, doc);
    let mut core_doc: serde_json::Value = serde_json::from_str(doc).unwrap();
    core_doc.as_object_mut().unwrap().remove("dns");
    let cfg = Config::from_json(&core_doc.to_string()).unwrap();
    let mut router = Router::new(cfg);
    let mut rng = SplitMix64::new(1);
    let mut seen = std::collections::BTreeSet::new();
    for k in 0..48u8 {
        let subnet_ip: IpAddr = format!("127.7.{k}.0").parse().unwrap();
        let req = Request {
            peer: Some(subnet_ip),
            ..Request::default()
        };
        let t = router.pick(&req, 0, &mut rng);
        let want = router.config().backends[t.ranked()[0]].address.ip();
        router.abandon(t);
        let ecs = format!("127.7.{k}.0/24");
        let by_ecs = query(
            s.addr,
            "127.0.0.1",
            "www.example.test.",
            RecordType::A,
            Some(&ecs),
        );
        assert_eq!(addresses(&by_ecs), [want], "client subnet {ecs}");
        let scope = by_ecs
            .extensions()
            .as_ref()
            .and_then(|e| e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet))
            .cloned();
        assert!(
            matches!(scope, Some(hickory_proto::rr::rdata::opt::EdnsOption::Subnet(s)) if s.scope_prefix() == 24)
        );
        // The same client as its own resolver, anywhere in its /24.
        let src = format!("127.7.{k}.{}", 1 + k % 200);
        let direct = query(s.addr, &src, "www.example.test.", RecordType::A, None);
        assert_eq!(addresses(&direct), [want], "resolver {src}");
        seen.insert(want);
    }
    assert!(
        seen.len() >= 3,
        "48 subnets spread over the backends: {seen:?}"
    );
}

#[test]
fn truncation_sets_tc_and_tcp_carries_every_record() {
    let backends: Vec<String> = (1..=17)
        .map(|i| format!(r#"{{"name": "n{i}", "address": "[2001:db8::{i}]:80"}}"#))
        .collect();
    let doc = format!(
        r#"{{"algorithm": {{"name": "random"}}, "fallbacks": 16, "backends": [{}],
            "dns": {{"zone": "example.test", "names": ["www"], "listen": "LISTEN"}}}}"#,
        backends.join(",")
    );
    let dir = scratch("truncation");
    let s = Server::start(&dir, &doc);
    let (at, port) = (format!("@{}", s.addr.ip()), s.addr.port().to_string());
    let plain = dig(&[
        &at,
        "-p",
        &port,
        "+noedns",
        "+ignore",
        "www.example.test",
        "AAAA",
    ]);
    assert!(
        plain.contains("flags: qr aa tc rd;"),
        "TC without EDNS:\n{plain}"
    );
    let shown = plain.lines().filter(|l| l.contains("\tAAAA\t")).count();
    assert!(
        (1..17).contains(&shown),
        "{shown} records within 512 bytes:\n{plain}"
    );
    let tcp = dig(&[
        &at,
        "-p",
        &port,
        "+tcp",
        "+short",
        "www.example.test",
        "AAAA",
    ]);
    assert_eq!(tcp.lines().count(), 17, "{tcp}");
    let edns = dig(&[
        &at,
        "-p",
        &port,
        "+bufsize=4096",
        "www.example.test",
        "AAAA",
    ]);
    assert!(
        !edns.contains(" tc") && edns.contains("udp: 1232"),
        "payload bounded to 1232:\n{edns}"
    );
}

#[test]
fn reloads_on_file_change_and_sighup_without_dropping_a_query() {
    let doc = |ttl: u32| {
        RFWS.replace(
            r#""names": ["www"],"#,
            &format!(r#""names": ["www"], "ttl_s": {ttl},"#),
        )
        .replace(r#", "metrics": "METRICS""#, "")
    };
    let dir = scratch("reload");
    let s = Server::start(&dir, &doc(5));
    let ttl = || {
        min_ttl(&query(
            s.addr,
            "127.0.0.1",
            "www.example.test.",
            RecordType::A,
            None,
        ))
    };
    assert_eq!(ttl(), 5);
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, lost) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let addr = s.addr;
    let load = {
        let (stop, sent, lost) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&lost));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                match try_query(addr, "127.0.0.2", "www.example.test.", RecordType::A, None) {
                    Some(m)
                        if m.response_code() == ResponseCode::NoError
                            && !m.answers().is_empty() => {}
                    _ => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    let write = |text: String| {
        std::fs::write(&s.config, text.replace("LISTEN", &s.addr.to_string())).unwrap()
    };
    let wait_ttl = |want: u32| {
        let until = Instant::now() + Duration::from_secs(20);
        while ttl() != want {
            assert!(
                Instant::now() < until,
                "TTL {want} never served; log:\n{}",
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    std::thread::sleep(Duration::from_millis(1100)); // a new modification time
    write(doc(9));
    wait_ttl(9);
    std::thread::sleep(Duration::from_millis(1100));
    write(doc(9).replace(r#""hops": 4"#, r#""hops": 0"#));
    let until = Instant::now() + Duration::from_secs(20);
    while !s.log_text().contains("refused") {
        assert!(
            Instant::now() < until,
            "no refusal logged:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        s.log_text().contains("backends[2].link.hops"),
        "{}",
        s.log_text()
    );
    assert_eq!(ttl(), 9, "a refused configuration keeps the running one");
    // SIGHUP reloads even when the modification time has not moved.
    let mtime = std::fs::metadata(&s.config).unwrap().modified().unwrap();
    write(doc(11));
    std::fs::File::options()
        .write(true)
        .open(&s.config)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_ttl(11);
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert!(sent.load(Ordering::Relaxed) > 20);
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "queries lost across reloads"
    );
}

#[test]
fn malformed_packets_never_stop_it() {
    let dir = scratch("malformed");
    let s = Server::start(&dir, &RFWS.replace(r#", "metrics": "METRICS""#, ""));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let good = query(
        s.addr,
        "127.0.0.1",
        "www.example.test.",
        RecordType::A,
        Some("127.5.0.0/24"),
    );
    let wire = good.to_vec().unwrap(); // a response: must be ignored, never answered
    let mut rng = SplitMix64::new(7);
    use edgepick_core::Rng;
    for i in 0..3000u64 {
        let len = (rng.next_u64() % 300) as usize;
        let mut p: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if i % 3 == 0 {
            // A real message with bytes flipped or cut short.
            p = wire.clone();
            p[2] &= 0x7f; // QR = 0: a query
            let at = (rng.next_u64() as usize) % p.len();
            p[at] ^= rng.next_u64() as u8;
            p.truncate(at.max(1) + (rng.next_u64() as usize % 8));
        }
        let _ = sock.send_to(&p, s.addr);
    }
    let after = query(
        s.addr,
        "127.0.0.1",
        "www.example.test.",
        RecordType::A,
        None,
    );
    assert_eq!(addresses(&after)[0].to_string(), "127.0.3.2");
    let tcp = dig(&[
        &format!("@{}", s.addr.ip()),
        "-p",
        &s.addr.port().to_string(),
        "+tcp",
        "+short",
        "www.example.test",
    ]);
    assert_eq!(first_a(&tcp), "127.0.3.2");
}
