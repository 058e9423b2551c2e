//! The running server: UDP threads ([`crate::udp`]) and the TCP listener
//! (hickory-server), the probe
//! loop, the metrics endpoint and reloads (SIGHUP or the file changing).

use crate::handler::{Handler, Shared};
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::zone::Zone;
use anyhow::{Context, Result};
use hickory_server::ServerFuture;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long a TCP client may stay idle.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the configuration file's modification time is checked.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Read and validate the configuration file into a zone.
pub fn load(path: &Path) -> Result<Zone> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let settings = Settings::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{}: invalid configuration: {e}", path.display()))?;
    Ok(Zone::new(
        settings,
        edgepick_core::hash::crc32::hash(text.as_bytes()),
    ))
}

/// Serve `zone` (loaded from `path`, which reloads re-read) until the process ends.
pub async fn run(path: PathBuf, zone: Zone) -> Result<()> {
    let listen = zone.settings.listen;
    let metrics_addr = zone.settings.metrics;
    let shared = Arc::new(Shared {
        zone: RwLock::new(Arc::new(zone)),
        metrics: Metrics::default(),
        started: Instant::now(),
    });
    let mut server = ServerFuture::new(Handler(Arc::clone(&shared)));
    let udp = std::net::UdpSocket::bind(listen).with_context(|| format!("binding UDP {listen}"))?;
    let threads = shared
        .zone()
        .settings
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    crate::udp::spawn(udp, &shared, threads).context("starting the UDP threads")?;
    server.register_listener(
        TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding TCP {listen}"))?,
        TCP_TIMEOUT,
    );
    if let Some(addr) = metrics_addr {
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding metrics {addr}"))?;
        tokio::spawn(serve_metrics(l, Arc::clone(&shared)));
        eprintln!("edgepick-dns: metrics on http://{addr}/metrics");
    }
    tokio::spawn(crate::probe::run(Arc::clone(&shared)));
    tokio::spawn(watch(path.clone(), Arc::clone(&shared)));
    let z = shared.zone();
    eprintln!(
        "edgepick-dns: serving {} ({} names, {} backends, algorithm {}) on {listen} (UDP: {threads} threads; TCP) from {}",
        z.settings.zone,
        z.settings.names.len(),
        z.settings.base.backends.len(),
        z.settings.base.algorithm.name(),
        path.display()
    );
    server
        .block_until_done()
        .await
        .context("DNS server stopped")?;
    Ok(())
}

/// Reload on SIGHUP or when the file's modification time changes. A
/// refused configuration is logged and the running one stays.
async fn watch(path: PathBuf, shared: Arc<Shared>) {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut seen: Option<SystemTime> = mtime(&path);
    loop {
        let signalled = match hup.as_mut() {
            Some(h) => tokio::select! {
                _ = h.recv() => true,
                _ = tokio::time::sleep(WATCH_EVERY) => false,
            },
            None => {
                tokio::time::sleep(WATCH_EVERY).await;
                false
            }
        };
        let now = mtime(&path);
        if !signalled && now == seen {
            continue;
        }
        seen = now;
        reload(
            &path,
            &shared,
            if signalled { "SIGHUP" } else { "file changed" },
        );
    }
}

fn reload(path: &Path, shared: &Shared, why: &str) {
    match load(path) {
        Ok(zone) => {
            let old = shared.zone();
            if zone.settings.listen != old.settings.listen
                || zone.settings.metrics != old.settings.metrics
            {
                eprintln!("edgepick-dns: reload ({why}): listen addresses changed; they take effect on restart");
            }
            if let (Ok(mut new), Ok(old)) = (zone.pool.lock(), old.pool.lock()) {
                new.carry_health(&old);
            }
            if let Ok(mut z) = shared.zone.write() {
                *z = Arc::new(zone);
            }
            shared.metrics.reload(true);
            eprintln!("edgepick-dns: reloaded {} ({why})", path.display());
        }
        Err(e) => {
            shared.metrics.reload(false);
            eprintln!(
                "edgepick-dns: reload ({why}) refused, keeping the running configuration: {e:#}"
            );
        }
    }
}

/// `GET /metrics` (any path) answers the exposition text.
async fn serve_metrics(l: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
            let zone = shared.zone();
            let up: Vec<(String, bool)> = match zone.pool.lock() {
                Ok(p) => zone
                    .settings
                    .base
                    .backends
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (b.name.clone(), !p.faulty(i)))
                    .collect(),
                Err(_) => Vec::new(),
            };
            let body = shared.metrics.render(&up);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(body.as_bytes()).await;
        });
    }
}
