//! [`Envoy`]: a running Envoy that [`EnvoyBuilder`] started: its addresses,
//! admin interface, log, dynamic listeners; killed and reaped on drop.

use super::bootstrap::{lds_document, ListenerSpec};
use super::envoy::{EnvoyBuilder, VmEnv};
use super::free_port;
use super::http::{request_once, Response};
use super::stats::{Prometheus, Stats};
use anyhow::bail;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// A running Envoy; killed and reaped on drop.
#[derive(Debug)]
pub struct Envoy {
    pub(super) child: Option<Child>,
    pub(super) dir: PathBuf,
    pub(super) log: PathBuf,
    pub(super) admin: SocketAddr,
    pub(super) listeners: Vec<SocketAddr>,
    pub(super) template: EnvoyBuilder,
    pub(super) lds: Option<PathBuf>,
    pub(super) lds_version: u64,
}

impl Envoy {
    /// Replace the dynamic listeners (needs [`EnvoyBuilder::dynamic_listeners`]):
    /// one per entry, with the filter and that configuration, or without the
    /// filter for None. Returns their addresses. Envoy applies the file
    /// asynchronously; listeners it rejects never open.
    pub fn set_dynamic_listeners(
        &mut self,
        configs: &[Option<&str>],
    ) -> anyhow::Result<Vec<SocketAddr>> {
        let with_env: Vec<_> = configs.iter().map(|c| (*c, &[][..])).collect();
        self.set_dynamic_listeners_env(&with_env)
    }

    /// [`Envoy::set_dynamic_listeners`], each filter VM with its own
    /// environment (`vm_config.environment_variables`).
    pub fn set_dynamic_listeners_env(
        &mut self,
        configs: &[(Option<&str>, VmEnv<'_>)],
    ) -> anyhow::Result<Vec<SocketAddr>> {
        let Some(lds) = self.lds.clone() else {
            bail!("Envoy was started without dynamic_listeners()")
        };
        let specs = configs
            .iter()
            .map(|(c, env)| {
                Ok(ListenerSpec {
                    port: free_port()?,
                    filter_config: c.map(str::to_string),
                    vm_env: env
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        self.lds_version += 1;
        let spec = self.template.spec(self.admin.port(), None);
        let first = self.template.listeners.len() + 100 * self.lds_version as usize;
        let doc = lds_document(&spec, first, &specs, self.lds_version)?;
        let tmp = lds.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&doc)?)?;
        std::fs::rename(&tmp, &lds)?;
        Ok(specs
            .iter()
            .map(|l| SocketAddr::from((Ipv4Addr::LOCALHOST, l.port)))
            .collect())
    }

    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(r) = request_once(self.admin, None, "/ready", &[]) {
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
                    "envoy exited during start ({status}); log tail:\n{}",
                    self.log_tail(40)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "envoy not ready within {timeout:?}; log tail:\n{}",
                    self.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Address of listener `i` (0 is the first).
    pub fn listener(&self, i: usize) -> SocketAddr {
        self.listeners[i]
    }

    /// The admin address.
    pub fn admin(&self) -> SocketAddr {
        self.admin
    }

    /// The scratch directory (bootstrap, log, stdout, stderr).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// GET an admin path.
    pub fn admin_get(&self, path: &str) -> anyhow::Result<Response> {
        Ok(request_once(self.admin, None, path, &[])?)
    }

    /// All of `/stats`.
    pub fn stats(&self) -> anyhow::Result<Stats> {
        Ok(Stats::parse(&self.admin_get("/stats")?.text()))
    }

    /// All of `/stats/prometheus`.
    pub fn prometheus(&self) -> anyhow::Result<Prometheus> {
        Ok(Prometheus::parse(
            &self.admin_get("/stats/prometheus")?.text(),
        ))
    }

    /// Envoy's log (log file plus stderr) so far.
    pub fn log(&self) -> String {
        let mut s = std::fs::read_to_string(&self.log).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default());
        s
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Wait until the log contains `needle`; returns the matching line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.log().lines().find(|l| l.contains(needle)) {
                return Some(l.to_string());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill and reap Envoy. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("envoy files kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
