//! # edgepick-host
//!
//! A [proxy-wasm] host on wasmtime that runs a proxy-wasm module (ABI 0.2.1
//! or 0.2.0, e.g. built with the Rust SDK `proxy-wasm` 0.2.5) the way Envoy
//! 1.40 does, so a compiled filter can be tested natively: real shared data
//! with CAS, queues, metrics, properties, callouts, ticks on a virtual clock,
//! several VMs (workers) sharing state, Envoy's statuses, and only Envoy's
//! WASI subset. Guest faults (trap, panic, endless loop, runaway memory) end
//! that VM with a [`HostError::Fault`]; the host carries on.
//!
//! ```no_run
//! use edgepick_host::{Filter, Host, HostConfig, Request};
//! let filter = Filter::from_file("filter.wasm")?;
//! let host = Host::new(filter, HostConfig {
//!     plugin_config: br#"{"backends":[]}"#.to_vec(),
//!     ..HostConfig::default()
//! });
//! let mut vm = host.start_vm()?;
//! let ex = vm.run_http(&Request::get("/x").client("127.0.0.5:4000"), |_| None)?;
//! println!("{:?}", ex.request_header("x-gateway-destination-endpoint"));
//! # Ok::<(), edgepick_host::HostError>(())
//! ```
//!
//! [proxy-wasm]: https://github.com/proxy-wasm/spec

mod callout;
mod error;
mod exchange;
mod grpc;
mod host;
pub mod hostcalls;
mod memory;
mod policy;
pub mod replay;
pub mod report;
mod shared;
mod state;
mod stream;
pub mod types;
mod vm;
pub mod wasi;

pub use error::{FaultKind, HostError};
pub use exchange::{BackendResponse, Exchange, Request};
pub use grpc::{PendingGrpc, ScriptedGrpc};
pub use host::{
    AbiVersion, Filter, Host, HostConfig, Interrupt, ScriptedResponse, Upstream, EPOCH_TICK,
};
pub use shared::{MetricKind, MetricValue, Shared};
pub use state::{ForeignCall, LocalResponse, LogLine, StreamData};
pub use stream::{FilterOutcome, HttpStream};
pub use types::{HeaderMap, LogLevel, Status};
pub use vm::Vm;
