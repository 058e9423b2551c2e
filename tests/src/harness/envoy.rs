//! A real Envoy as a child process: bootstrap written to a scratch directory,
//! started with `--disable-hot-restart` (no shared-memory base id to collide on),
//! waited for on admin `/ready`, killed and reaped on drop. Its log is kept on
//! disk and, when a test panics, the directory is left behind and its path printed.

use super::bootstrap::{bootstrap, lds_document, BootstrapSpec, ListenerSpec};
use super::{envoy_binary, free_port};
use anyhow::Context;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Builds and starts an Envoy running the edgepick filter.
///
/// ```no_run
/// # fn main() -> anyhow::Result<()> {
/// use edgepick_tests::harness::{Backend, EnvoyBuilder, filter_wasm};
/// let backends = Backend::spawn_many(&["a", "b"])?;
/// let cfg = format!(r#"{{"algorithm":{{"name":"round_robin"}},"backends":[
///   {{"name":"a","address":"{}"}},{{"name":"b","address":"{}"}}]}}"#,
///   backends[0].addr(), backends[1].addr());
/// let envoy = EnvoyBuilder::new(filter_wasm(), &cfg).concurrency(2).start()?;
/// let mut client = edgepick_tests::harness::Client::new(envoy.listener(0));
/// assert_eq!(client.get("/")?.status, 200);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EnvoyBuilder {
    envoy: Option<PathBuf>,
    wasm: Option<PathBuf>,
    pub(super) listeners: Vec<ListenerSpec>,
    endpoints: Vec<SocketAddr>,
    concurrency: u32,
    admin_port: u16,
    num_retries: u32,
    route_timeout_ms: u64,
    per_try_timeout_ms: u64,
    fail_open: bool,
    dynamic: bool,
    ready_timeout: Duration,
    extra_clusters: Vec<serde_json::Value>,
    filters_before_wasm: Vec<serde_json::Value>,
}

/// The `backends[].address` values of a configuration, when it parses that far.
pub fn config_addresses(config_json: &str) -> Vec<SocketAddr> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(config_json) else {
        return Vec::new();
    };
    let Some(list) = v.get("backends").and_then(|b| b.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|b| b.get("address")?.as_str()?.parse().ok())
        .collect()
}

/// A filter VM's environment variables (name, value).
pub type VmEnv<'a> = &'a [(&'a str, &'a str)];

impl EnvoyBuilder {
    /// One listener running filter `wasm` with `config_json`; the cluster holds
    /// the configuration's backend addresses.
    pub fn new(wasm: impl Into<PathBuf>, config_json: &str) -> Self {
        let mut b = Self::without_filter(&[]);
        b.wasm = Some(wasm.into());
        b.listeners[0].filter_config = Some(config_json.to_string());
        b
    }

    /// One listener without the filter (clients choose via the destination header).
    pub fn without_filter(endpoints: &[SocketAddr]) -> Self {
        EnvoyBuilder {
            envoy: None,
            wasm: None,
            listeners: vec![ListenerSpec {
                port: 0,
                filter_config: None,
                vm_env: Vec::new(),
            }],
            endpoints: endpoints.to_vec(),
            concurrency: 1,
            admin_port: 0,
            num_retries: 2,
            route_timeout_ms: 15_000,
            per_try_timeout_ms: 5_000,
            fail_open: false,
            dynamic: false,
            ready_timeout: Duration::from_secs(30),
            extra_clusters: Vec::new(),
            filters_before_wasm: Vec::new(),
        }
    }

    /// The envoy binary (default: [`envoy_binary`], from `EDGEPICK_ENVOY`).
    pub fn envoy_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.envoy = Some(path.into());
        self
    }

    /// Worker threads (`--concurrency`), default 1.
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Port of the first listener (default: a free one).
    pub fn listener_port(mut self, port: u16) -> Self {
        self.listeners[0].port = port;
        self
    }

    /// Admin port (default: a free one).
    pub fn admin_port(mut self, port: u16) -> Self {
        self.admin_port = port;
        self
    }

    /// Add a listener on a free port, with the filter and `config_json`, or
    /// without the filter when None. Its backends join the cluster.
    pub fn add_listener(mut self, config_json: Option<&str>) -> Self {
        self.listeners.push(ListenerSpec {
            port: 0,
            filter_config: config_json.map(str::to_string),
            vm_env: Vec::new(),
        });
        self
    }

    /// The filter module, for listeners added with a configuration.
    pub fn wasm(mut self, wasm: impl Into<PathBuf>) -> Self {
        self.wasm = Some(wasm.into());
        self
    }

    /// Extra cluster endpoints beyond those named in the configurations.
    pub fn endpoints(mut self, endpoints: &[SocketAddr]) -> Self {
        self.endpoints.extend_from_slice(endpoints);
        self
    }

    /// `retry_policy.num_retries` (default 2, the default number of fallbacks).
    pub fn num_retries(mut self, n: u32) -> Self {
        self.num_retries = n;
        self
    }

    /// Route and per-try timeouts, ms (default 15 000 and 5 000).
    pub fn timeouts_ms(mut self, route: u64, per_try: u64) -> Self {
        self.route_timeout_ms = route;
        self.per_try_timeout_ms = per_try;
        self
    }

    /// The wasm filter's `fail_open` (default false).
    pub fn fail_open(mut self, yes: bool) -> Self {
        self.fail_open = yes;
        self
    }

    /// Also watch an LDS file, so [`Envoy::set_dynamic_listeners`] can add
    /// listeners to the running Envoy (as a control plane would).
    pub fn dynamic_listeners(mut self) -> Self {
        self.dynamic = true;
        self
    }

    /// A cluster beside `edgepick`, in Envoy's JSON form (for callouts).
    pub fn cluster(mut self, cluster: serde_json::Value) -> Self {
        self.extra_clusters.push(cluster);
        self
    }

    /// An HTTP filter that runs just before the wasm filter, in Envoy's JSON
    /// form (e.g. one that sets dynamic metadata the module reads).
    pub fn filter_before_wasm(mut self, filter: serde_json::Value) -> Self {
        self.filters_before_wasm.push(filter);
        self
    }

    pub(super) fn spec<'a>(&'a self, admin_port: u16, lds: Option<&'a Path>) -> BootstrapSpec<'a> {
        BootstrapSpec {
            admin_port,
            listeners: &self.listeners,
            endpoints: &self.endpoints,
            wasm: self.wasm.as_deref(),
            num_retries: self.num_retries,
            route_timeout_ms: self.route_timeout_ms,
            per_try_timeout_ms: self.per_try_timeout_ms,
            fail_open: self.fail_open,
            lds_path: lds,
            extra_clusters: &self.extra_clusters,
            filters_before_wasm: &self.filters_before_wasm,
        }
    }

    /// Write the bootstrap, start Envoy and wait until admin `/ready` answers 200.
    pub fn start(mut self) -> anyhow::Result<Envoy> {
        let envoy_bin = match self.envoy.take() {
            Some(p) => p,
            None => envoy_binary(),
        };
        for l in &mut self.listeners {
            if l.port == 0 {
                l.port = free_port()?;
            }
            for a in l
                .filter_config
                .as_deref()
                .map(config_addresses)
                .unwrap_or_default()
            {
                if !self.endpoints.contains(&a) {
                    self.endpoints.push(a);
                }
            }
        }
        let admin_port = if self.admin_port == 0 {
            free_port()?
        } else {
            self.admin_port
        };
        let dir = scratch_dir()?;
        let lds = self.dynamic.then(|| dir.join("lds.yaml"));
        if let Some(p) = &lds {
            std::fs::write(
                p,
                serde_json::to_string(&lds_document(&self.spec(admin_port, None), 0, &[], 0)?)?,
            )?;
        }
        let doc = bootstrap(&self.spec(admin_port, lds.as_deref()))?;
        let ports: Vec<u16> = self.listeners.iter().map(|l| l.port).collect();
        let mut envoy = launch(&Launch {
            envoy: &envoy_bin,
            doc: &doc,
            dir,
            admin_port,
            listener_ports: &ports,
            concurrency: self.concurrency,
            env: &[],
            template: self.clone(),
        })?;
        envoy.lds = lds;
        envoy.wait_ready(self.ready_timeout)?;
        Ok(envoy)
    }
}

/// What [`launch`] starts.
pub(crate) struct Launch<'a> {
    pub envoy: &'a Path,
    pub doc: &'a serde_json::Value,
    /// Scratch directory (created by the caller): bootstrap, log, output.
    pub dir: PathBuf,
    pub admin_port: u16,
    pub listener_ports: &'a [u16],
    pub concurrency: u32,
    /// Extra environment for the Envoy process.
    pub env: &'a [(&'a str, std::ffi::OsString)],
    pub template: EnvoyBuilder,
}

/// Write `doc` as the bootstrap, start Envoy and return it unready (the
/// caller waits with `wait_ready`).
pub(crate) fn launch(l: &Launch<'_>) -> anyhow::Result<Envoy> {
    let yaml = l.dir.join("bootstrap.yaml");
    std::fs::write(&yaml, serde_json::to_string_pretty(l.doc)?)?;
    let log = l.dir.join("envoy.log");
    let mut cmd = Command::new(l.envoy);
    cmd.arg("-c")
        .arg(&yaml)
        .args(["--concurrency", &l.concurrency.to_string()])
        .args(["--disable-hot-restart", "--log-level", "info"])
        // Log lines reach the file within 100 ms (default 10 s), for tests
        // that wait for one.
        .args(["--file-flush-interval-msec", "100"])
        .arg("--log-path")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(l.dir.join("stdout.txt"))?)
        .stderr(std::fs::File::create(l.dir.join("stderr.txt"))?);
    for (k, v) in l.env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("start {}", l.envoy.display()))?;
    let local = |p| SocketAddr::from((Ipv4Addr::LOCALHOST, p));
    Ok(Envoy {
        child: Some(child),
        dir: l.dir.clone(),
        log,
        admin: local(l.admin_port),
        listeners: l.listener_ports.iter().map(|&p| local(p)).collect(),
        template: l.template.clone(),
        lds: None,
        lds_version: 0,
    })
}

/// A fresh scratch directory for one Envoy.
pub(crate) fn scratch_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "edgepick-e2e-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub use super::envoy_instance::Envoy;
