//! Active health probes, the paper's fault-detection centre: every
//! `health.heartbeat.interval_ms` the server probes each backend (HTTP GET of
//! `health.heartbeat.path`, or a TCP connect); a success is a heartbeat. Every
//! [`EVALUATE_MS`] the core re-evaluates the fault flags (fewer than
//! `threshold` heartbeats in the last `window_ms` = faulty).
//!
//! A failed node leaves the answers at most `window_ms + EVALUATE_MS` after
//! its last heartbeat; resolvers may keep the old answer one TTL more.

use crate::handler::Shared;
use crate::settings::Probe;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How often fault flags are re-evaluated, ms.
pub const EVALUATE_MS: u64 = 100;

/// Probe and evaluate forever (a no-op loop while no heartbeat is configured).
pub async fn run(shared: Arc<Shared>) {
    let mut next_probe = 0u64;
    loop {
        let zone = shared.zone();
        let now = shared.now_ms();
        if let Some(hb) = zone.settings.base.health.heartbeat.clone() {
            if now >= next_probe {
                next_probe = now + hb.interval_ms;
                let timeout = Duration::from_millis(hb.timeout_ms);
                for (i, b) in zone.settings.base.backends.iter().enumerate() {
                    let (zone, shared) = (Arc::clone(&zone), Arc::clone(&shared));
                    let (addr, path, kind) = (b.address, hb.path.clone(), zone.settings.probe);
                    tokio::spawn(async move {
                        if probe(kind, addr, &path, timeout).await {
                            if let Ok(mut pool) = zone.pool.lock() {
                                pool.heartbeat(i, shared.now_ms());
                            }
                        }
                    });
                }
            }
            let (changed, flags) = match zone.pool.lock() {
                Ok(mut pool) => {
                    let changed = pool.evaluate(now);
                    let flags: Vec<bool> = changed.iter().map(|&i| pool.faulty(i)).collect();
                    (changed, flags)
                }
                Err(_) => (Vec::new(), Vec::new()),
            };
            for (i, faulty) in changed.into_iter().zip(flags) {
                let b = &zone.settings.base.backends[i];
                if faulty {
                    eprintln!(
                        "edgepick-dns: backend {} ({}) is faulty: fewer than {} heartbeats in the last {} ms; it leaves the answers",
                        b.name, b.address, hb.threshold, hb.window_ms
                    );
                } else {
                    eprintln!(
                        "edgepick-dns: backend {} ({}) is running again; it returns to the answers",
                        b.name, b.address
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(EVALUATE_MS)).await;
    }
}

/// One probe: true when the backend answered in time.
pub async fn probe(kind: Probe, addr: SocketAddr, path: &str, timeout: Duration) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        if kind == Probe::Tcp {
            return Some(true);
        }
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: edgepick-dns\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            match s.read(&mut buf[n..]).await.ok()? {
                0 => break,
                k => n += k,
            }
        }
        Some(status_ok(&buf[..n]))
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

/// A status line `HTTP/1.x 2xx|3xx`.
fn status_ok(head: &[u8]) -> bool {
    let line = String::from_utf8_lossy(head);
    let mut parts = line.split(' ');
    let proto_ok = parts.next().is_some_and(|p| p.starts_with("HTTP/1."));
    let code = parts
        .next()
        .and_then(|c| c.get(..3))
        .and_then(|c| c.parse::<u16>().ok());
    proto_ok && code.is_some_and(|c| (200..400).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_line() {
        assert!(status_ok(b"HTTP/1.1 200 OK\r\n"));
        assert!(status_ok(b"HTTP/1.0 302 Found\r\n"));
        assert!(!status_ok(b"HTTP/1.1 503 Unavailable\r\n"));
        assert!(!status_ok(b"SSH-2.0-OpenSSH"));
        assert!(!status_ok(b""));
    }
}
