//! The proxy-wasm ABI 0.2.1 hostcalls, one host function per hostcall, named
//! like the imports in `proxy-wasm-rust-sdk/src/hostcalls.rs`. Statuses follow
//! Envoy's `source/extensions/common/wasm/context.cc`.

mod buffers;
mod core;
mod headers;
mod http;
mod shared;

pub use buffers::property_path;

use crate::state::VmState;
use wasmtime::Linker;

/// Every hostcall this host defines in module `env`.
pub const HOSTCALLS: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_call_foreign_function",
    "proxy_get_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_add_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_size",
    "proxy_get_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_set_buffer_bytes",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_configuration",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
    "proxy_http_call",
    "proxy_send_local_response",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_get_status",
];

/// Registers every proxy-wasm hostcall and the WASI subset in `linker`.
pub fn add_to_linker(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    core::add_to_linker(linker)?;
    headers::add_to_linker(linker)?;
    buffers::add_to_linker(linker)?;
    shared::add_to_linker(linker)?;
    http::add_to_linker(linker)?;
    crate::wasi::add_to_linker(linker)
}

/// Whether the host provides import `module.name`.
pub fn is_provided(module: &str, name: &str) -> bool {
    (module == "env" && HOSTCALLS.contains(&name))
        || (crate::wasi::WASI_MODULES.contains(&module)
            && crate::wasi::WASI_FUNCTIONS.contains(&name))
}
