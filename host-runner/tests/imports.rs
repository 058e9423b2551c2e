//! The import surface: what the linker defines is what Envoy 1.40 registers
//! (proxy-wasm-cpp-host `include/proxy-wasm/exports.h`, `src/wasm.cc`), per
//! ABI version; anything else is refused with Envoy's words.

use edgepick_host::hostcalls::imports;
use edgepick_host::{AbiVersion, Filter, HostError};

/// `FOR_ALL_WASI_FUNCTIONS` of the proxy-wasm-cpp-host Envoy 1.40 builds.
const ENVOY_WASI: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "clock_res_get",
    "fd_advise",
    "fd_allocate",
    "fd_datasync",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_pwrite",
    "fd_readdir",
    "fd_renumber",
    "fd_sync",
    "fd_tell",
    "path_create_directory",
    "path_filestat_set_times",
    "path_link",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
    "random_get",
    "sched_yield",
    "poll_oneoff",
    "proc_exit",
    "path_open",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "path_filestat_get",
    "fd_filestat_get",
];

/// `FOR_ALL_HOST_FUNCTIONS` (registered as `env.proxy_<name>`).
const ENVOY_PROXY: &[&str] = &[
    "log",
    "get_status",
    "set_property",
    "get_property",
    "send_local_response",
    "get_shared_data",
    "set_shared_data",
    "register_shared_queue",
    "resolve_shared_queue",
    "dequeue_shared_queue",
    "enqueue_shared_queue",
    "get_header_map_value",
    "add_header_map_value",
    "replace_header_map_value",
    "remove_header_map_value",
    "get_header_map_pairs",
    "set_header_map_pairs",
    "get_header_map_size",
    "get_buffer_status",
    "get_buffer_bytes",
    "set_buffer_bytes",
    "http_call",
    "grpc_call",
    "grpc_stream",
    "grpc_close",
    "grpc_cancel",
    "grpc_send",
    "set_tick_period_milliseconds",
    "get_current_time_nanoseconds",
    "define_metric",
    "increment_metric",
    "record_metric",
    "get_metric",
    "set_effective_context",
    "done",
    "call_foreign_function",
];

fn envoy_list(abi: AbiVersion) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for m in ["wasi_snapshot_preview1", "wasi_unstable"] {
        v.extend(ENVOY_WASI.iter().map(|n| (m.to_string(), n.to_string())));
    }
    let mut proxy: Vec<&str> = ENVOY_PROXY.to_vec();
    proxy.extend(["continue_stream", "close_stream"]);
    if abi == AbiVersion::V0_2_1 {
        proxy.push("get_log_level");
    }
    v.extend(proxy.iter().map(|n| ("env".into(), format!("proxy_{n}"))));
    v.push(("env".into(), "pthread_equal".into()));
    v.push(("env".into(), "emscripten_notify_memory_growth".into()));
    v.sort();
    v
}

#[test]
fn the_linker_defines_exactly_what_envoy_registers() {
    assert_eq!(ENVOY_WASI.len(), 45);
    for abi in [AbiVersion::V0_2_0, AbiVersion::V0_2_1] {
        assert_eq!(imports(abi).unwrap(), envoy_list(abi), "{abi:?}");
    }
}

fn module(import: &str, abi: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {import} (memory (export "memory") 1) (func (export "proxy_abi_version_{abi}")))"#
    ))
    .unwrap()
}

#[test]
fn abi_specific_hostcalls_follow_envoy() {
    // `proxy_get_log_level` exists for 0.2.1 only; 0.1.0's spellings never.
    let log_level = r#"(import "env" "proxy_get_log_level" (func (param i32) (result i32)))"#;
    assert!(Filter::compile(&module(log_level, "0_2_1")).is_ok());
    let e = Filter::compile(&module(log_level, "0_2_0")).err().unwrap();
    assert!(matches!(e, HostError::MissingImport { .. }), "{e}");
    for old in ["proxy_get_configuration", "proxy_continue_request"] {
        let import = format!(r#"(import "env" "{old}" (func (result i32)))"#);
        let e = Filter::compile(&module(&import, "0_2_1")).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!("Failed to load Wasm module due to a missing import: env.{old}")
        );
    }
}

#[test]
fn a_wrong_signature_is_a_type_mismatch_naming_the_import() {
    let import = r#"(import "env" "proxy_log" (func (param i64) (result i32)))"#;
    let e = Filter::compile(&module(import, "0_2_1")).err().unwrap();
    let text = e.to_string();
    assert!(
        text.starts_with(
            "Failed to load Wasm module due to an import type mismatch: env.proxy_log"
        ),
        "{text}"
    );
}

#[test]
fn grpc_cancel_close_and_send_answer_with_envoys_statuses() {
    // Envoy's Context::grpcCancel / grpcClose / grpcSend: a pending call's
    // token (5) cancels once (Ok, and its answer never comes), then NotFound;
    // a stream token (6) has nothing open: NotFound; an HTTP token (4) is
    // BadArgument. Any other answer traps (`$expect`).
    let text = r#"(module
      (import "env" "proxy_grpc_call" (func $call
        (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_grpc_cancel" (func $cancel (param i32) (result i32)))
      (import "env" "proxy_grpc_close" (func $close (param i32) (result i32)))
      (import "env" "proxy_grpc_send" (func $send (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "authz")
      (func $expect (param $got i32) (param $want i32)
        (if (i32.ne (local.get $got) (local.get $want)) (then unreachable)))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_grpc_receive") (param i32 i32 i32) unreachable)
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $expect (call $call (i32.const 0) (i32.const 5) (i32.const 0)
          (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
          (i32.const 0) (i32.const 100) (i32.const 600)) (i32.const 0))
        (call $expect (i32.load (i32.const 600)) (i32.const 5))
        (call $expect (call $cancel (i32.const 5)) (i32.const 0))
        (call $expect (call $close (i32.const 5)) (i32.const 1))
        (call $expect (call $close (i32.const 6)) (i32.const 1))
        (call $expect (call $send (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 0))
          (i32.const 1))
        (call $expect (call $send (i32.const 5) (i32.const 0) (i32.const 0) (i32.const 0))
          (i32.const 2))
        (call $expect (call $cancel (i32.const 4)) (i32.const 2))
        (i32.const 0)))"#;
    let filter = Filter::compile(&wat::parse_str(text).unwrap()).unwrap();
    let mut config = edgepick_host::HostConfig::default();
    config.clusters.insert(
        "authz".into(),
        edgepick_host::Upstream::Grpc(edgepick_host::ScriptedGrpc {
            status: 0,
            message: Some(b"ok".to_vec()),
            status_message: String::new(),
        }),
    );
    let mut vm = edgepick_host::Host::new(filter, config).start_vm().unwrap();
    let ex = vm.run_http(&edgepick_host::Request::get("/"), |_| None);
    assert!(ex.is_ok(), "a status differs from Envoy's: {:?}", ex.err());
}
