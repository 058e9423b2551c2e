//! edgepick-dns beside gdnsd (Debian's, the multifo plugin with http_status
//! checks) for the same name, backends and probe period: the same address
//! set while every backend is healthy and after one dies, and how long each
//! takes to drop the dead one (printed for the report).

mod common;

use common::*;
use edgepick_dns::probe::EVALUATE_MS;
use hickory_proto::rr::RecordType;
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Both probe every 2 s (gdnsd's shortest interval); edgepick-dns marks a
/// node faulty with no successful probe in 3 s (one missed probe, with 1 s to spare
/// for a probe late on a loaded machine), gdnsd after one failed probe.
const INTERVAL_S: u64 = 2;
const WINDOW_MS: u64 = 3000;
const IPS: [&str; 3] = ["127.0.10.1", "127.0.10.2", "127.0.10.3"];

struct Gdnsd {
    addr: SocketAddr,
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Gdnsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gdnsd(dir: &Path, port: u16) -> Gdnsd {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    for d in ["zones", "run", "state"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let addrs: Vec<String> = IPS
        .iter()
        .enumerate()
        .map(|(i, ip)| format!("n{i} => {ip}"))
        .collect();
    let config = format!(
        "options => {{\n  listen => [ {addr} ]\n  run_dir => {run}\n  state_dir => {state}\n  udp_threads => 1\n  tcp_threads => 1\n}}\n\
         service_types => {{\n  web => {{ plugin => http_status, port => {port}, url_path => /health, interval => {INTERVAL_S}, timeout => 1, up_thresh => 1, ok_thresh => 1, down_thresh => 1 }}\n}}\n\
         plugins => {{\n  multifo => {{ www => {{ service_types => web, up_thresh => 0.01, {} }} }}\n}}\n",
        addrs.join(", "),
        run = dir.join("run").display(),
        state = dir.join("state").display(),
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(
        dir.join("zones/example.test"),
        "@ 5 SOA ns1 hostmaster 1 3600 600 86400 5\n@ 5 NS ns1\nns1 5 A 127.0.0.1\nwww 5 DYNA multifo!www\n",
    )
    .unwrap();
    let log = dir.join("gdnsd.log");
    let child = Command::new(tool("gdnsd", "gdnsd"))
        .args(["-c"])
        .arg(dir)
        .arg("start")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting gdnsd");
    let g = Gdnsd { addr, child, log };
    let until = Instant::now() + Duration::from_secs(30);
    while try_query(addr, "127.0.0.1", "example.test.", RecordType::SOA, None).is_none() {
        let log = std::fs::read_to_string(&g.log).unwrap_or_default();
        assert!(Instant::now() < until, "gdnsd did not answer; log:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
    g
}

fn set(server: SocketAddr) -> BTreeSet<IpAddr> {
    addresses(&query(
        server,
        "127.0.0.1",
        "www.example.test.",
        RecordType::A,
        None,
    ))
    .into_iter()
    .collect()
}

fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

/// Poll until `server`'s answer set equals `want`; the time it took.
fn until_set(server: SocketAddr, want: &BTreeSet<IpAddr>, from: Instant, what: &str) -> Duration {
    while &set(server) != want {
        assert!(
            from.elapsed() < Duration::from_secs(30),
            "{what} never answered {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    from.elapsed()
}

#[test]
fn same_answers_as_gdnsd_and_failover_time_compared() {
    let mut bs = backends(&IPS);
    let port = bs[0].addr.port();
    let dir = scratch("gdnsd");
    let backends: Vec<String> = IPS
        .iter()
        .enumerate()
        .map(|(i, ip)| format!(r#"{{"name": "n{i}", "address": "{ip}:{port}"}}"#))
        .collect();
    let doc = format!(
        r#"{{"algorithm": {{"name": "round_robin"}}, "fallbacks": 2, "backends": [{}],
          "health": {{"heartbeat": {{"interval_ms": {}, "window_ms": {WINDOW_MS}, "threshold": 1, "timeout_ms": 1000, "path": "/health"}}}},
          "dns": {{"zone": "example.test", "names": ["www"], "listen": "LISTEN", "ttl_s": 5}}}}"#,
        backends.join(","),
        INTERVAL_S * 1000
    );
    let edge = Server::start(&dir, &doc);
    let g = gdnsd(&dir.join("gdnsd"), port);
    let all = ips(&IPS);
    let start = Instant::now();
    until_set(g.addr, &all, start, "gdnsd");
    for _ in 0..5 {
        assert_eq!(set(edge.addr), all);
        assert_eq!(set(g.addr), all);
    }
    // Both wait for a probe round to begin from; then the middle node dies.
    std::thread::sleep(Duration::from_millis(INTERVAL_S * 1000 + 500));
    bs[1].kill();
    let killed = Instant::now();
    let alive = ips(&[IPS[0], IPS[2]]);
    let (mut edge_t, mut gdnsd_t) = (None, None);
    while edge_t.is_none() || gdnsd_t.is_none() {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "edgepick {edge_t:?}, gdnsd {gdnsd_t:?}"
        );
        if edge_t.is_none() && set(edge.addr) == alive {
            edge_t = Some(killed.elapsed());
        }
        if gdnsd_t.is_none() && set(g.addr) == alive {
            gdnsd_t = Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (edge_t, gdnsd_t) = (edge_t.unwrap(), gdnsd_t.unwrap());
    eprintln!(
        "failover (dead node out of the answers): edgepick-dns {edge_t:?}, gdnsd {gdnsd_t:?}"
    );
    let bound = Duration::from_millis(WINDOW_MS + EVALUATE_MS + 2000);
    assert!(edge_t <= bound, "edgepick-dns took {edge_t:?}");
    for _ in 0..5 {
        assert_eq!(set(edge.addr), alive);
        assert_eq!(set(g.addr), alive);
    }
    // The node returns: both put it back.
    bs[1] = Backend::start(SocketAddr::new(IPS[1].parse().unwrap(), port)).unwrap();
    let back = Instant::now();
    let e = until_set(edge.addr, &all, back, "edgepick-dns");
    let gt = until_set(g.addr, &all, back, "gdnsd");
    eprintln!("recovery: edgepick-dns {e:?}, gdnsd {gt:?} (measured one after the other)");
}
