//! [`Filter`] (a module compiled once) and [`Host`] (one plugin with its
//! shared state, running any number of [`Vm`]s).

use crate::error::HostError;
use crate::shared::Shared;
use crate::state::VmState;
use crate::types::{HeaderMap, LogLevel};
use crate::vm::Vm;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wasmtime::{Config, Engine, InstancePre, Linker, Module};

/// The ABI version a module declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiVersion {
    /// `proxy_abi_version_0_2_0`
    V0_2_0,
    /// `proxy_abi_version_0_2_1`
    V0_2_1,
}

/// How a callback that runs too long (an endless loop) is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interrupt {
    /// Count instructions (fuel): the limit is
    /// [`HostConfig::fuel_per_callback`], the same on every run.
    #[default]
    Fuel,
    /// Wall-clock epochs (a thread ticks every [`EPOCH_TICK`]): faster, but
    /// where a long callback stops depends on the machine. The limit is
    /// [`HostConfig::epochs_per_callback`] ticks.
    Epoch,
}

/// The epoch clock's period for [`Interrupt::Epoch`].
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// A module compiled and linked once; cheap to clone and instantiate.
#[derive(Clone)]
pub struct Filter {
    engine: Engine,
    pre: InstancePre<VmState>,
    abi: AbiVersion,
    interrupt: Interrupt,
}

impl Filter {
    /// Compiles a binary `wasm` module, checks its ABI export and that it
    /// imports only what Envoy provides, and links it; endless loops are
    /// stopped by fuel ([`Interrupt::Fuel`], deterministic).
    pub fn compile(wasm: &[u8]) -> Result<Filter, HostError> {
        Filter::compile_with(wasm, Interrupt::Fuel)
    }

    /// [`Filter::compile`] with the given way of stopping endless loops.
    pub fn compile_with(wasm: &[u8], interrupt: Interrupt) -> Result<Filter, HostError> {
        let mut config = Config::new();
        config.consume_fuel(interrupt == Interrupt::Fuel);
        config.epoch_interruption(interrupt == Interrupt::Epoch);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&config).map_err(|e| HostError::Load(format!("{e:#}")))?;
        let module = Module::new(&engine, wasm).map_err(|e| HostError::Load(format!("{e:#}")))?;
        let has = |n: &str| module.get_export(n).is_some();
        let abi = if has("proxy_abi_version_0_2_1") {
            AbiVersion::V0_2_1
        } else if has("proxy_abi_version_0_2_0") {
            AbiVersion::V0_2_0
        } else {
            let found: Vec<_> = module
                .exports()
                .map(|e| e.name().to_string())
                .filter(|n| n.starts_with("proxy_abi_version_"))
                .collect();
            return Err(HostError::UnsupportedAbi(if found.is_empty() {
                "the module exports no proxy_abi_version_* function".into()
            } else {
                format!("{} (supported: 0_2_0, 0_2_1)", found.join(", "))
            }));
        };
        let mut linker = Linker::new(&engine);
        crate::hostcalls::add_to_linker(&mut linker, abi)
            .map_err(|e| HostError::Load(format!("{e:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| link_error(&module, e))?;
        if interrupt == Interrupt::Epoch {
            // The epoch clock lives as long as the engine does.
            let weak = engine.weak();
            std::thread::spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            });
        }
        Ok(Filter {
            engine,
            pre,
            abi,
            interrupt,
        })
    }

    /// How this filter's callbacks are stopped when they run too long.
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt
    }

    /// Reads and compiles a `.wasm` file (fuel metering).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Filter, HostError> {
        Filter::from_file_with(path, Interrupt::Fuel)
    }

    /// Reads and compiles a `.wasm` file with the given interrupt mode.
    pub fn from_file_with(
        path: impl AsRef<Path>,
        interrupt: Interrupt,
    ) -> Result<Filter, HostError> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|e| HostError::Load(format!("{}: {e}", path.display())))?;
        Filter::compile_with(&bytes, interrupt)
    }

    /// The ABI version the module declares.
    pub fn abi(&self) -> AbiVersion {
        self.abi
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn pre(&self) -> &InstancePre<VmState> {
        &self.pre
    }
}

/// Why linking failed: an import the linker lacks (Envoy's "missing
/// import"), an import with another signature than Envoy's ("import type
/// mismatch"), or another wasmtime error.
fn link_error(module: &Module, e: wasmtime::Error) -> HostError {
    if let Some(u) = e.downcast_ref::<wasmtime::UnknownImportError>() {
        return HostError::MissingImport {
            module: u.module().to_string(),
            name: u.name().to_string(),
        };
    }
    let text = format!("{e:#}");
    // wasmtime names the import as `module::name`.
    let named = module
        .imports()
        .find(|i| text.contains(&format!("`{}::{}`", i.module(), i.name())));
    match named {
        Some(i) => HostError::ImportTypeMismatch {
            module: i.module().to_string(),
            name: i.name().to_string(),
            detail: text,
        },
        None => HostError::Load(text),
    }
}

/// A canned answer to `proxy_http_call`.
#[derive(Debug, Clone, Default)]
pub struct ScriptedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers (without `:status`).
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// Virtual time the call takes.
    pub latency_ms: u64,
}

/// Where a cluster named in `proxy_http_call` or `proxy_grpc_call` leads.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// A real HTTP/1.1 server on loopback. gRPC is not carried to it: a
    /// gRPC call naming it is refused as Envoy refuses an unknown cluster,
    /// with a host log line saying why.
    Address(SocketAddr),
    /// A scripted HTTP response (gRPC calls refused as for `Address`).
    Scripted(ScriptedResponse),
    /// A scripted gRPC answer, delivered as Envoy's gRPC client delivers it
    /// (see [`ScriptedGrpc`]); an HTTP call gets it as a gRPC server sends
    /// it over HTTP.
    Grpc(crate::ScriptedGrpc),
}

/// How a [`Host`] runs its plugin: Envoy's plugin settings plus test knobs.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// `configuration` of the plugin (read in `proxy_on_configure`).
    pub plugin_config: Vec<u8>,
    /// `vm_config.configuration` (read in `proxy_on_vm_start`).
    pub vm_config: Vec<u8>,
    /// Plugin name (`plugin_name` property).
    pub plugin_name: String,
    /// Root id (`plugin_root_id` property).
    pub root_id: String,
    /// VM id: shared data and queues are scoped by it.
    pub vm_id: String,
    /// What `proxy_get_log_level` answers (Envoy's default: info).
    pub log_level: LogLevel,
    /// Properties every context sees (path segments joined by NUL).
    pub properties: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Clusters callouts may name.
    pub clusters: HashMap<String, Upstream>,
    /// Seed for WASI `random_get`; the same seed replays identically.
    pub seed: u64,
    /// Virtual clock start, nanoseconds since the Unix epoch.
    pub start_time_nanos: u64,
    /// Instructions (fuel) one callback may run before it is stopped
    /// ([`Interrupt::Fuel`]).
    pub fuel_per_callback: u64,
    /// Epoch ticks ([`EPOCH_TICK`] each) one callback may run before it is
    /// stopped ([`Interrupt::Epoch`]).
    pub epochs_per_callback: u64,
    /// Largest guest linear memory, bytes.
    pub max_memory_bytes: usize,
    /// Run the filter's `on_response_headers` on its own local replies, as
    /// Envoy's filter chain does.
    pub local_reply_through_filter: bool,
    /// The HTTP connection manager's `xff_num_trusted_hops`, with
    /// `use_remote_address: true` as in the shipped `deploy/envoy.yaml`: the
    /// client's address is appended to `x-forwarded-for`, and `source.address`
    /// becomes the N-th entry from the right of the header the client sent
    /// (the connection's address when the header is shorter).
    pub xff_num_trusted_hops: u32,
    /// Envoy's `fail_open` for the plugin: after a guest fault, requests
    /// skip the failed plugin instead of getting a 503 ([`crate::Vm::serve`]).
    pub fail_open: bool,
    /// What Envoy appends to x-forwarded-for for a loopback client: its own
    /// local address (the first non-loopback interface address). `None`:
    /// the address this machine routes out from.
    pub local_address: Option<String>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            plugin_config: Vec::new(),
            vm_config: Vec::new(),
            plugin_name: "edgepick".into(),
            root_id: String::new(),
            vm_id: String::new(),
            log_level: LogLevel::Info,
            properties: BTreeMap::new(),
            clusters: HashMap::new(),
            seed: 0x5eed,
            start_time_nanos: 1_700_000_000_000_000_000,
            fuel_per_callback: 1_000_000_000,
            epochs_per_callback: 100,
            max_memory_bytes: 256 << 20,
            local_reply_through_filter: true,
            xff_num_trusted_hops: 0,
            fail_open: false,
            local_address: None,
        }
    }
}

pub(crate) struct HostInner {
    pub(crate) config: HostConfig,
    pub(crate) shared: Shared,
    pub(crate) filter: Filter,
    next_vm: AtomicUsize,
}

/// One plugin: a compiled filter, its configuration and the state its VMs
/// share (shared data, queues, metrics, virtual clock). Clone to share.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

impl Host {
    /// A host running `filter` with `config`.
    pub fn new(filter: Filter, config: HostConfig) -> Host {
        let shared = Shared::new(config.start_time_nanos);
        Host {
            inner: Arc::new(HostInner {
                config,
                shared,
                filter,
                next_vm: AtomicUsize::new(0),
            }),
        }
    }

    /// Starts a VM (an Envoy worker): instantiates the module and runs
    /// `_initialize`, `proxy_on_vm_start` and `proxy_on_configure`.
    pub fn start_vm(&self) -> Result<Vm, HostError> {
        let index = self.inner.next_vm.fetch_add(1, Ordering::SeqCst);
        Vm::start(self.inner.clone(), index)
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// Shared data, queues, metrics and the virtual clock.
    pub fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Moves the virtual clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.inner
            .shared
            .advance_nanos(ms.saturating_mul(1_000_000));
    }
}
