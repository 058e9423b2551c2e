//! What the DNS tests share: the server binary run on a temporary
//! configuration, HTTP backends that can be killed, a DNS client (hickory's
//! messages over a UDP socket bound to any loopback source) and `dig`.

#![allow(dead_code)]

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RData, RecordType};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgepick-dns-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating a scratch directory");
    d
}

/// A free loopback port (TCP; the UDP one is almost always free too).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The path of a Debian tool, or a panic saying how to get it.
pub fn tool(name: &str, package: &str) -> PathBuf {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: install Debian's {package} (cargo xtask test does)")
        })
}

/// An HTTP backend answering `200 ok` to every request until stopped.
pub struct Backend {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    pub fn start(addr: SocketAddr) -> std::io::Result<Backend> {
        let l = TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 1024];
                        let _ = s.read(&mut buf);
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Backend {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Close the listener: connections are refused from now on.
    pub fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Backends on `ips`, all on one port (gdnsd's checks use one port per service).
pub fn backends(ips: &[&str]) -> Vec<Backend> {
    for _ in 0..50 {
        let port = free_port();
        let started: Result<Vec<Backend>, _> = ips
            .iter()
            .map(|ip| Backend::start(SocketAddr::new(ip.parse().unwrap(), port)))
            .collect();
        if let Ok(b) = started {
            return b;
        }
    }
    panic!("no common free port for {ips:?}");
}

/// Whether an HTTP GET to `addr` is answered with 200 within a second.
pub fn http_ok(addr: SocketAddr) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// The edgepick-dns binary serving a configuration file.
pub struct Server {
    pub addr: SocketAddr,
    pub config: PathBuf,
    pub log: PathBuf,
    child: Child,
}

impl Server {
    /// Write `doc` (with `"LISTEN"` replaced by a free address) and start the server.
    pub fn start(dir: &std::path::Path, doc: &str) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = dir.join("edgepick-dns.json");
        std::fs::write(&config, doc.replace("LISTEN", &addr.to_string())).unwrap();
        let log = dir.join("edgepick-dns.log");
        let child = Command::new(env!("CARGO_BIN_EXE_edgepick-dns"))
            .arg("--config")
            .arg(&config)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting edgepick-dns");
        let s = Server {
            addr,
            config,
            log,
            child,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if try_query(self.addr, "127.0.0.1", "invalid.", RecordType::SOA, None).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "edgepick-dns did not answer on {}; log:\n{}",
            self.addr,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static NEXT_ID: AtomicU16 = AtomicU16::new(1);

/// One UDP query from `src` (a loopback address), optionally with an ECS
/// option (`"127.5.0.0/24"`); `None` after three timeouts.
pub fn try_query(
    server: SocketAddr,
    src: &str,
    name: &str,
    qtype: RecordType,
    ecs: Option<&str>,
) -> Option<Message> {
    let mut m = Message::new();
    m.set_id(NEXT_ID.fetch_add(1, Ordering::Relaxed));
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some(e) = ecs {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.options_mut()
            .insert(EdnsOption::Subnet(e.parse().unwrap()));
        m.set_edns(edns);
    }
    let bytes = m.to_vec().unwrap();
    let sock = UdpSocket::bind((src.parse::<IpAddr>().unwrap(), 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    for _ in 0..3 {
        sock.send_to(&bytes, server).ok()?;
        let mut buf = [0u8; 4096];
        if let Ok(n) = sock.recv(&mut buf) {
            let r = Message::from_vec(&buf[..n]).ok()?;
            if r.id() == m.id() {
                return Some(r);
            }
        }
    }
    None
}

/// [`try_query`] that must be answered.
pub fn query(
    server: SocketAddr,
    src: &str,
    name: &str,
    qtype: RecordType,
    ecs: Option<&str>,
) -> Message {
    try_query(server, src, name, qtype, ecs)
        .unwrap_or_else(|| panic!("no answer from {server} to {name}"))
}

/// The addresses in a response's answer section, in order.
pub fn addresses(m: &Message) -> Vec<IpAddr> {
    m.answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// The smallest TTL in the answer section.
pub fn min_ttl(m: &Message) -> u32 {
    m.answers().iter().map(|r| r.ttl()).min().unwrap_or(0)
}

/// Run `dig` with `args`; its standard output.
pub fn dig(args: &[&str]) -> String {
    let out = Command::new(tool("dig", "dnsutils"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running dig");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
