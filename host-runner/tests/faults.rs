//! Guest faults end the VM with a clear error; the host keeps working.
//! Modules importing what Envoy lacks, or with another ABI, are refused.

mod common;

use edgepick_host::{FaultKind, Filter, HostConfig, HostError, Request};

fn fault_of(mode: &str, config: HostConfig) -> HostError {
    let host = common::host_with(
        "faults",
        HostConfig {
            plugin_config: mode.as_bytes().to_vec(),
            ..config
        },
    );
    let mut vm = host.start_vm().unwrap();
    let err = vm.run_http(&Request::get("/"), |_| None).unwrap_err();
    // The VM is unusable now, but a new one on the same host starts fine.
    assert!(matches!(
        vm.run_http(&Request::get("/"), |_| None),
        Err(HostError::VmFailed(_))
    ));
    assert!(vm.failure().is_some());
    assert!(host.start_vm().is_ok());
    err
}

fn kind(e: &HostError) -> FaultKind {
    match e {
        HostError::Fault { kind, .. } => *kind,
        other => panic!("expected a fault, got {other}"),
    }
}

#[test]
fn panic_is_contained_with_its_message() {
    let e = fault_of("panic", HostConfig::default());
    assert_eq!(kind(&e), FaultKind::Panic);
    let text = e.to_string();
    assert!(text.contains("proxy_on_request_headers"), "{text}");
    assert!(text.contains("guest panicked on purpose"), "{text}");
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    let e = fault_of(
        "loop",
        HostConfig {
            fuel_per_callback: 20_000_000,
            ..HostConfig::default()
        },
    );
    assert_eq!(kind(&e), FaultKind::OutOfFuel);
}

#[test]
fn memory_growth_hits_the_limit() {
    let e = fault_of(
        "grow",
        HostConfig {
            max_memory_bytes: 32 << 20,
            ..HostConfig::default()
        },
    );
    assert_eq!(kind(&e), FaultKind::MemoryLimit, "{e}");
}

#[test]
fn out_of_bounds_load_traps() {
    assert_eq!(
        kind(&fault_of("oob", HostConfig::default())),
        FaultKind::Trap
    );
}

#[test]
fn proc_exit_ends_the_vm() {
    assert_eq!(
        kind(&fault_of("exit", HostConfig::default())),
        FaultKind::Exit
    );
}

#[test]
fn wild_pointer_gets_invalid_memory_access() {
    let host = common::host("faults", "badptr");
    let mut vm = host.start_vm().unwrap();
    let ex = vm.run_http(&Request::get("/"), |_| None).unwrap();
    assert_eq!(ex.request_header("x-badptr-status"), Some("6"));
}

#[test]
fn rejected_configuration_is_an_error_with_the_logs() {
    let host = common::host("faults", "reject");
    let Err(e) = host.start_vm() else {
        panic!("configuration accepted")
    };
    assert!(matches!(e, HostError::ConfigurationRejected { .. }));
    assert!(
        e.to_string().contains("bad configuration: mode reject"),
        "{e}"
    );
}

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

const ABI: &str = r#"(func (export "proxy_abi_version_0_2_1")) (memory (export "memory") 1)"#;

#[test]
fn unknown_import_is_refused_at_load() {
    let wat = format!(r#"(module (import "env" "proxy_make_coffee" (func (param i32))) {ABI})"#);
    let e = Filter::compile(&wasm(&wat)).err().unwrap();
    assert_eq!(
        e.to_string(),
        "Failed to load Wasm module due to a missing import: env.proxy_make_coffee"
    );
    let wat = format!(r#"(module (import "wasi_snapshot_preview1" "sock_open" (func)) {ABI})"#);
    let e = Filter::compile(&wasm(&wat)).err().unwrap();
    assert!(
        e.to_string().ends_with("wasi_snapshot_preview1.sock_open"),
        "{e}"
    );
    // Envoy registers `path_open`, with another signature than `(func)`.
    let wat = format!(r#"(module (import "wasi_snapshot_preview1" "path_open" (func)) {ABI})"#);
    let e = Filter::compile(&wasm(&wat)).err().unwrap();
    assert!(
        e.to_string().starts_with(
            "Failed to load Wasm module due to an import type mismatch: wasi_snapshot_preview1.path_open"
        ),
        "{e}"
    );
}

#[test]
fn abi_versions_are_checked() {
    let old = r#"(module (func (export "proxy_abi_version_0_1_0")))"#;
    let e = Filter::compile(&wasm(old)).err().unwrap();
    assert!(e.to_string().contains("proxy_abi_version_0_1_0"), "{e}");
    let none = r#"(module)"#;
    assert!(matches!(
        Filter::compile(&wasm(none)),
        Err(HostError::UnsupportedAbi(_))
    ));
    let v020 = r#"(module (func (export "proxy_abi_version_0_2_0")))"#;
    assert_eq!(
        Filter::compile(&wasm(v020)).unwrap().abi(),
        edgepick_host::AbiVersion::V0_2_0
    );
}

#[test]
fn minimal_wat_module_runs_without_callbacks() {
    let wat = format!("(module {ABI})");
    let f = Filter::compile(&wasm(&wat)).unwrap();
    let host = edgepick_host::Host::new(f, HostConfig::default());
    let mut vm = host.start_vm().unwrap();
    let ex = vm.run_http(&Request::get("/"), |_| None).unwrap();
    assert_eq!(ex.status, Some(503));
}

#[test]
fn trap_during_start_is_reported() {
    let wat = format!(r#"(module (func (export "_initialize") unreachable) {ABI})"#);
    let host =
        edgepick_host::Host::new(Filter::compile(&wasm(&wat)).unwrap(), HostConfig::default());
    let Err(e) = host.start_vm() else {
        panic!("started")
    };
    assert_eq!(kind(&e), FaultKind::Panic);
    assert!(e.to_string().contains("_initialize"), "{e}");
}

#[test]
fn endless_loop_hits_the_epoch_deadline_in_epoch_mode() {
    let filter = Filter::from_file_with(
        common::guest_path("faults"),
        edgepick_host::Interrupt::Epoch,
    )
    .unwrap();
    assert_eq!(filter.interrupt(), edgepick_host::Interrupt::Epoch);
    let host = edgepick_host::Host::new(
        filter,
        HostConfig {
            plugin_config: b"loop".to_vec(),
            epochs_per_callback: 5,
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().unwrap();
    let started = std::time::Instant::now();
    let e = vm.run_http(&Request::get("/"), |_| None).unwrap_err();
    assert_eq!(kind(&e), FaultKind::Deadline, "{e}");
    // 5 ticks of 10 ms, with slack for a busy machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
