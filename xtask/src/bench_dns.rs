//! `cargo xtask bench --dns [--duration S]`: dnsperf (Debian) against
//! edgepick-dns (release, RFWS answers with the ranked list) and gdnsd
//! (multifo) in the same run on loopback, for the same name, the same three
//! live HTTP backends and the same probe period, in three alternating
//! rounds. Reports queries/s (the median round), latency p50/p99/max over
//! all rounds (from dnsperf's per-query `-v` lines) and the ratio.
//!
//! edgepick-dns runs with two tokio workers (one per core) and with one;
//! gdnsd with `udp_threads => 2`. dnsperf runs one client thread with 100
//! queries outstanding.

use crate::install;
use crate::procs::Killed;
use crate::steps::{cargo, run, target_dir};
use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IPS: [&str; 3] = ["127.0.20.1", "127.0.20.2", "127.0.20.3"];
/// dnsperf runs per server, alternating.
const ROUNDS: usize = 3;

struct Row {
    name: &'static str,
    qps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    lost: u64,
}

/// Run the DNS benchmark.
pub fn run_dns(secs: u64) -> Result<()> {
    install::dns_packages()?;
    if !crate::steps::have("nginx") && !Path::new("/usr/sbin/nginx").exists() {
        install::apt(&["nginx"])?;
    }
    run(
        "build edgepick-dns (release)",
        cargo().args(["build", "--quiet", "--release", "-p", "edgepick-dns"]),
    )?;
    let dir = target_dir().join("bench-dns");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let _backends = backends(&dir, port)?;
    let queries = dir.join("queries.txt");
    std::fs::write(&queries, "www.example.test A\n")?;
    // Every server runs throughout (idle but for its probes when not
    // measured); the rounds alternate so a change in the machine's load
    // falls on each alike. Queries/s: the median round; latency: all rounds.
    let addr = || free_port().map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
    let (e2, e1, g) = (addr()?, addr()?, addr()?);
    let _servers = [
        edgepick(&dir.join("e2"), e2, port, 2)?,
        edgepick(&dir.join("e1"), e1, port, 1)?,
        gdnsd(&dir.join("gdnsd"), g, port)?,
    ];
    let servers = [
        ("edgepick-dns (rfws, 2 thr)", e2),
        ("edgepick-dns (rfws, 1 thr)", e1),
        ("gdnsd 3.8 (multifo, 2 thr)", g),
    ];
    let mut runs: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
    for round in 1..=ROUNDS {
        for (k, (name, a)) in servers.iter().enumerate() {
            eprintln!("    round {round}/{ROUNDS}: {name}");
            runs[k].push(dnsperf(*a, &queries, secs)?);
        }
    }
    let rows: Vec<Row> = servers
        .iter()
        .zip(runs)
        .map(|((name, _), r)| row(name, r))
        .collect();
    println!(
        "\n{:<28} {:>10} {:>9} {:>9} {:>9} {:>6}",
        "server", "queries/s", "p50 ms", "p99 ms", "max ms", "lost"
    );
    for r in &rows {
        println!(
            "{:<28} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>6}",
            r.name, r.qps, r.p50_ms, r.p99_ms, r.max_ms, r.lost
        );
    }
    let gdnsd = rows.last().map_or(f64::NAN, |r| r.qps);
    for r in &rows[..rows.len() - 1] {
        println!("{} / gdnsd queries/s: {:.2}", r.name, r.qps / gdnsd);
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// nginx answering 200 on the three backend addresses (what both servers probe).
fn backends(dir: &Path, port: u16) -> Result<Killed> {
    let servers: String = IPS
        .iter()
        .map(|ip| format!("server {{ listen {ip}:{port}; access_log off; location / {{ return 200 \"ok\\n\"; }} }}\n"))
        .collect();
    let conf = format!(
        "worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/nginx.err;\n\
         events {{ worker_connections 256; }}\n\
         http {{ client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n{servers}}}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()?;
    let guard = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect((IPS[0], port)).is_err() {
        if Instant::now() > deadline {
            bail!("nginx did not start on {}:{port}", IPS[0]);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(guard)
}

fn edgepick(dir: &Path, addr: SocketAddr, port: u16, threads: usize) -> Result<Killed> {
    let links = [(100, 2), (100, 1), (10, 4)];
    let backends: Vec<String> = IPS
        .iter()
        .zip(links)
        .enumerate()
        .map(|(i, (ip, (bw, hops)))| {
            format!(r#"{{"name": "n{i}", "address": "{ip}:{port}", "link": {{"bandwidth_mbps": {bw}, "hops": {hops}}}}}"#)
        })
        .collect();
    let doc = format!(
        r#"{{"algorithm": {{"name": "rfws"}}, "backends": [{}],
          "health": {{"heartbeat": {{"interval_ms": 2000, "window_ms": 2500, "threshold": 1, "timeout_ms": 1000, "path": "/health"}}}},
          "dns": {{"zone": "example.test", "names": ["www"], "listen": "{addr}", "ttl_s": 5, "threads": {threads}}}}}"#,
        backends.join(",")
    );
    std::fs::create_dir_all(dir)?;
    let config = dir.join("edgepick-dns.json");
    std::fs::write(&config, doc)?;
    let child = Command::new(target_dir().join("release/edgepick-dns"))
        .arg("--config")
        .arg(&config)
        .stderr(std::fs::File::create(dir.join("edgepick-dns.log"))?)
        .spawn()
        .context("starting edgepick-dns")?;
    let guard = Killed(child);
    wait_dns(addr, "edgepick-dns")?;
    Ok(guard)
}

fn gdnsd(dir: &Path, addr: SocketAddr, port: u16) -> Result<Killed> {
    for d in ["zones", "run", "state"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    let addrs: Vec<String> = IPS
        .iter()
        .enumerate()
        .map(|(i, ip)| format!("n{i} => {ip}"))
        .collect();
    let config = format!(
        "options => {{ listen => [ {addr} ], run_dir => {d}/run, state_dir => {d}/state, udp_threads => 2, tcp_threads => 1 }}\n\
         service_types => {{ web => {{ plugin => http_status, port => {port}, url_path => /health, interval => 2, timeout => 1, up_thresh => 1, ok_thresh => 1, down_thresh => 1 }} }}\n\
         plugins => {{ multifo => {{ www => {{ service_types => web, {} }} }} }}\n",
        addrs.join(", "),
        d = dir.display()
    );
    std::fs::write(dir.join("config"), config)?;
    std::fs::write(
        dir.join("zones/example.test"),
        "@ 5 SOA ns1 hostmaster 1 3600 600 86400 5\n@ 5 NS ns1\nns1 5 A 127.0.0.1\nwww 5 DYNA multifo!www\n",
    )?;
    let child = Command::new("gdnsd")
        .arg("-c")
        .arg(dir)
        .arg("start")
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.join("gdnsd.log"))?)
        .spawn()
        .context("starting gdnsd")?;
    let guard = Killed(child);
    wait_dns(addr, "gdnsd")?;
    // Its first probe round marks the backends up.
    std::thread::sleep(Duration::from_secs(3));
    Ok(guard)
}

/// Wait until `addr` answers a query (any answer) over UDP.
fn wait_dns(addr: SocketAddr, what: &str) -> Result<()> {
    // A query for example.test SOA, id 0x4242.
    let mut q = vec![0x42, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["example", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 6, 0, 1]);
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        sock.send_to(&q, addr)?;
        let mut buf = [0u8; 512];
        if sock.recv(&mut buf).is_ok() {
            return Ok(());
        }
    }
    bail!("{what} did not answer on {addr}")
}

/// One dnsperf run: queries/s, every query's latency (ms), queries lost.
struct Run {
    qps: f64,
    lat: Vec<f64>,
    lost: u64,
}

/// The median round's queries/s and the latency percentiles of all rounds.
fn row(name: &'static str, mut runs: Vec<Run>) -> Row {
    runs.sort_by(|a, b| a.qps.total_cmp(&b.qps));
    let qps = runs[runs.len() / 2].qps;
    let lost = runs.iter().map(|r| r.lost).sum();
    let mut lat: Vec<f64> = runs.into_iter().flat_map(|r| r.lat).collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    Row {
        name,
        qps,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        lost,
    }
}

fn dnsperf(addr: SocketAddr, queries: &Path, secs: u64) -> Result<Run> {
    let out = Command::new("dnsperf")
        .args(["-s", &addr.ip().to_string(), "-p", &addr.port().to_string()])
        .args(["-l", &secs.to_string(), "-v", "-d"])
        .arg(queries)
        .stderr(Stdio::null())
        .output()
        .context("running dnsperf")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lat: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("> "))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|s| s * 1000.0)
        .collect();
    let field = |key: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.trim_start().starts_with(key))?;
        line.split(':')
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let qps = field("Queries per second").context("dnsperf printed no queries/s")?;
    if lat.is_empty() {
        bail!("dnsperf printed no per-query latencies");
    }
    let lost = field("Queries lost").unwrap_or(0.0) as u64;
    Ok(Run { qps, lat, lost })
}
