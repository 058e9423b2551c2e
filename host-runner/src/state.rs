//! Per-VM state kept in each wasmtime `Store`: contexts, streams, logs and the
//! effects a guest produced that the embedder reads back.

use crate::grpc::{GrpcStatus, PendingGrpc};
use crate::host::HostInner;
use crate::types::{HeaderMap, LogLevel};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use wasmtime::{Memory, ResourceLimiter, TypedFunc};

/// One log line written by the guest (`proxy_log` or WASI stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    /// Level.
    pub level: LogLevel,
    /// Message text.
    pub message: String,
    /// Context the line was written from (0: none).
    pub context_id: u32,
}

/// A response the filter produced itself (`proxy_send_local_response`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalResponse {
    /// HTTP status.
    pub status: u32,
    /// Details string (`status_code_details`).
    pub details: String,
    /// Body.
    pub body: String,
    /// Extra headers.
    pub headers: HeaderMap,
    /// gRPC status, -1 when none.
    pub grpc_status: i32,
}

/// A `proxy_call_foreign_function` the guest made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignCall {
    /// Function name.
    pub name: String,
    /// Argument bytes.
    pub args: Vec<u8>,
}

/// What an HTTP stream (one request) holds, as the filter sees it.
#[derive(Debug, Default, Clone)]
pub struct StreamData {
    /// Request headers, with `:method`, `:path`, `:authority`, `:scheme`.
    pub request_headers: Option<HeaderMap>,
    /// Request trailers, when the request has some.
    pub request_trailers: Option<HeaderMap>,
    /// Response headers, with `:status`.
    pub response_headers: Option<HeaderMap>,
    /// Response trailers.
    pub response_trailers: Option<HeaderMap>,
    /// Request body seen so far.
    pub request_body: Option<Vec<u8>>,
    /// Response body seen so far.
    pub response_body: Option<Vec<u8>>,
    /// Properties by path (segments joined by NUL).
    pub properties: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Local response the filter sent.
    pub local_response: Option<LocalResponse>,
    /// Set by `proxy_continue_stream(HttpRequest)`.
    pub request_resumed: bool,
    /// Set by `proxy_continue_stream(HttpResponse)`.
    pub response_resumed: bool,
    /// Set by `proxy_close_stream`.
    pub reset: bool,
}

/// An outgoing `proxy_http_call` waiting for its answer.
#[derive(Debug, Clone)]
pub struct PendingCallout {
    /// Token returned to the guest.
    pub token: u32,
    /// Context the answer goes to: the root context of the one that
    /// dispatched it, as in Envoy.
    pub context_id: u32,
    /// Cluster name.
    pub upstream: String,
    /// Request headers (pseudo-headers included).
    pub headers: HeaderMap,
    /// Request body.
    pub body: Vec<u8>,
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
}

/// The answer to a callout while `proxy_on_http_call_response` runs.
#[derive(Debug, Clone, Default)]
pub struct CalloutAnswer {
    /// Headers (`:status` first); `None` on failure (reset/timeout).
    pub headers: Option<HeaderMap>,
    /// Body.
    pub body: Vec<u8>,
    /// Trailers.
    pub trailers: Option<HeaderMap>,
}

/// A memory limiter that remembers it refused a growth.
pub struct Limiter {
    /// Largest linear memory in bytes.
    pub max_memory: usize,
    /// Set once a growth past the limit was refused.
    pub exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _cur: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.exceeded = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit exceeded: guest asked for {desired} bytes, limit is {}",
                self.max_memory
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _cur: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Which configuration buffer the current callback may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Outside start-up callbacks.
    Running,
    /// Inside `proxy_on_vm_start`: the VM configuration is readable.
    VmStart,
    /// Inside `proxy_on_configure`: the plugin configuration is readable.
    Configure,
}

/// Everything a `Store` holds for one VM.
pub struct VmState {
    pub(crate) host: Arc<HostInner>,
    pub(crate) vm_index: usize,
    pub(crate) memory: Option<Memory>,
    pub(crate) malloc: Option<TypedFunc<u32, u32>>,
    pub(crate) limiter: Limiter,
    pub(crate) phase: Phase,
    pub(crate) root_context_id: u32,
    pub(crate) active_context: u32,
    pub(crate) streams: HashMap<u32, StreamData>,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) tick_period_ms: u32,
    pub(crate) next_tick_nanos: u64,
    pub(crate) callouts: Vec<PendingCallout>,
    pub(crate) answer: Option<CalloutAnswer>,
    pub(crate) next_callout: u32,
    pub(crate) grpc_calls: Vec<PendingGrpc>,
    pub(crate) grpc_received: Option<Vec<u8>>,
    pub(crate) grpc_status: GrpcStatus,
    pub(crate) next_grpc_call: u32,
    pub(crate) metric_ids: HashMap<u32, String>,
    pub(crate) next_metric: [u32; 3],
    pub(crate) foreign_calls: Vec<ForeignCall>,
    pub(crate) rng: u64,
    /// The code of a WASI `proc_exit` call (Envoy returns to the guest).
    pub(crate) exit_code: Option<i32>,
}

impl VmState {
    pub(crate) fn new(host: Arc<HostInner>, vm_index: usize, max_memory: usize, seed: u64) -> Self {
        VmState {
            host,
            vm_index,
            memory: None,
            malloc: None,
            limiter: Limiter {
                max_memory,
                exceeded: false,
            },
            phase: Phase::Running,
            root_context_id: 1,
            active_context: 0,
            streams: HashMap::new(),
            logs: Vec::new(),
            tick_period_ms: 0,
            next_tick_nanos: 0,
            callouts: Vec::new(),
            answer: None,
            // Envoy's `nextHttpCallId`: 4, 8, 12, … per VM.
            next_callout: 4,
            grpc_calls: Vec::new(),
            grpc_received: None,
            grpc_status: GrpcStatus::default(),
            // Envoy's `nextGrpcCallId`: 5, 9, 13, … per VM.
            next_grpc_call: 5,
            metric_ids: HashMap::new(),
            // Envoy: id = type | (n << 2), counters from 4, gauges 5, histograms 6.
            next_metric: [0, 1, 2],
            foreign_calls: Vec::new(),
            rng: seed,
            exit_code: None,
        }
    }

    /// The stream of the active context, when it is an HTTP context.
    pub(crate) fn stream(&mut self) -> Option<&mut StreamData> {
        let id = self.active_context;
        self.streams.get_mut(&id)
    }

    /// Records a log line from the active context.
    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        let context_id = self.active_context;
        self.logs.push(LogLine {
            level,
            message,
            context_id,
        });
    }

    /// Next pseudo-random word (splitmix64): seeded, so runs replay.
    pub(crate) fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
