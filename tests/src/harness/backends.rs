//! Test backends as child processes of `edgepick-backend`: spawned on a free
//! loopback port, waited for until they answer, killed (and reaped) on drop.

use super::free_port;
use super::http::{Client, Response};
use anyhow::{bail, Context};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static BACKEND_BIN: OnceLock<PathBuf> = OnceLock::new();

/// Use this `edgepick-backend` binary (integration tests pass
/// `env!("CARGO_BIN_EXE_edgepick-backend")`). Without it, `EDGEPICK_BACKEND_BIN`
/// or a binary next to (or one directory above) the running executable is used.
pub fn set_backend_binary(path: impl Into<PathBuf>) {
    let _ = BACKEND_BIN.set(path.into());
}

/// Where the `edgepick-backend` binary is.
pub fn backend_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = BACKEND_BIN.get() {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("EDGEPICK_BACKEND_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let name = format!("edgepick-backend{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors().skip(1).take(2).map(|d| d.join(&name)).find(|p| p.is_file()).context(
        "edgepick-backend binary not found: build it (`cargo build -p edgepick-tests`) or set EDGEPICK_BACKEND_BIN",
    )
}

/// How a backend behaves when it starts (all adjustable later over `/__ctl/`).
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    /// Listen port; 0 picks a free one.
    pub port: u16,
    /// Delay before each response, ms.
    pub delay_ms: u64,
    /// Answer every request with this status (0 = normal).
    pub fail_status: u16,
    /// Fixed reported load in `[0, 1]`; None reports in-flight / capacity.
    pub load: Option<f64>,
    /// In-flight requests counted as full load (default 100).
    pub capacity: Option<u32>,
}

/// Counters a backend reports on `/__ctl/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendStats {
    /// Requests being served now.
    pub inflight: u64,
    /// Requests served since start (control and health requests excluded).
    pub served: u64,
}

/// A running (or killed) `edgepick-backend` child process.
#[derive(Debug)]
pub struct Backend {
    name: String,
    addr: SocketAddr,
    opts: BackendOptions,
    child: Option<Child>,
}

impl Backend {
    /// Start backend `name` and wait until it answers `/health`.
    pub fn spawn(name: &str, opts: BackendOptions) -> anyhow::Result<Backend> {
        let port = if opts.port == 0 {
            free_port()?
        } else {
            opts.port
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut b = Backend {
            name: name.to_string(),
            addr,
            opts,
            child: None,
        };
        b.start()?;
        Ok(b)
    }

    /// Start one default backend per name.
    pub fn spawn_many(names: &[&str]) -> anyhow::Result<Vec<Backend>> {
        names
            .iter()
            .map(|n| Backend::spawn(n, BackendOptions::default()))
            .collect()
    }

    fn start(&mut self) -> anyhow::Result<()> {
        let bin = backend_binary()?;
        let mut cmd = Command::new(&bin);
        cmd.arg("--addr")
            .arg(self.addr.to_string())
            .arg("--name")
            .arg(&self.name);
        cmd.arg("--delay-ms").arg(self.opts.delay_ms.to_string());
        cmd.arg("--fail-status")
            .arg(self.opts.fail_status.to_string());
        if let Some(l) = self.opts.load {
            cmd.arg("--load").arg(l.to_string());
        }
        if let Some(c) = self.opts.capacity {
            cmd.arg("--capacity").arg(c.to_string());
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        self.child = Some(
            cmd.spawn()
                .with_context(|| format!("spawn {}", bin.display()))?,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Short tries: one stuck connection must not use up the deadline.
            let mut probe = Client::new(self.addr).timeout(Duration::from_secs(1));
            if let Ok(r) = probe.get_with("/health", &[("connection", "close")]) {
                if r.status == 200 {
                    return Ok(());
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!(
                    "backend {} on {} exited during start: {status}",
                    self.name,
                    self.addr
                );
            }
            if Instant::now() > deadline {
                self.kill();
                bail!(
                    "backend {} on {} did not answer /health within 10 s",
                    self.name,
                    self.addr
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its name (`x-served-by`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kill the process (SIGKILL) and reap it. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port with its starting options.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.start()
    }

    /// Send `/__ctl/<cmd>` directly (not through Envoy).
    pub fn control(&self, cmd: &str) -> anyhow::Result<Response> {
        let path = format!("/__ctl/{cmd}");
        let mut c = Client::new(self.addr).timeout(Duration::from_secs(5));
        let r = c.get_with(&path, &[("connection", "close")])?;
        if r.status != 200 {
            bail!("control {cmd} on {}: {} {}", self.name, r.status, r.text());
        }
        Ok(r)
    }

    /// Delay every response by `ms`.
    pub fn set_delay(&self, ms: u64) -> anyhow::Result<()> {
        self.control(&format!("slow?ms={ms}")).map(drop)
    }

    /// Answer every request with `status` (0 restores normal answers).
    pub fn set_fail(&self, status: u16) -> anyhow::Result<()> {
        self.control(&format!("fail?status={status}")).map(drop)
    }

    /// Report a fixed load, or None for in-flight / capacity.
    pub fn set_load(&self, load: Option<f64>) -> anyhow::Result<()> {
        let v = load.map_or_else(|| "auto".to_string(), |l| l.to_string());
        self.control(&format!("load?value={v}")).map(drop)
    }

    /// In-flight and served counters.
    pub fn stats(&self) -> anyhow::Result<BackendStats> {
        let r = self.control("stats")?;
        let v: serde_json::Value = serde_json::from_slice(&r.body)?;
        let field = |k: &str| {
            v[k].as_u64()
                .with_context(|| format!("stats field {k} in {}", r.text()))
        };
        Ok(BackendStats {
            inflight: field("inflight")?,
            served: field("served")?,
        })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill();
    }
}
