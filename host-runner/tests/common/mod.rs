//! Shared test helpers: builds the guest crates under `guests/` for
//! `wasm32-wasip1` once per test process and loads them.

#![allow(dead_code)]

use edgepick_host::{Filter, Host, HostConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Builds guest `name` (cargo serialises concurrent builds itself) and
/// returns the path of its `.wasm`.
pub fn guest_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.get(name) {
        return p.clone();
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("guests")
        .join(name)
        .join("Cargo.toml");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running cargo to build a test guest");
    assert!(
        out.status.success(),
        "building guest {name} failed (is the target installed? `rustup target add wasm32-wasip1`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = target
        .join("wasm32-wasip1/release")
        .join(format!("guest_{name}.wasm"));
    built.insert(name.to_string(), wasm.clone());
    wasm
}

/// Compiles guest `name` (compiled filters are cached per process).
pub fn filter(name: &str) -> Filter {
    static CACHE: OnceLock<Mutex<HashMap<String, Filter>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(f) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
        return f.clone();
    }
    let f = Filter::from_file(guest_path(name)).expect("guest compiles");
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name.into(), f.clone());
    f
}

/// A host running guest `name` with plugin configuration `config`.
pub fn host(name: &str, config: &str) -> Host {
    host_with(
        name,
        HostConfig {
            plugin_config: config.as_bytes().to_vec(),
            ..HostConfig::default()
        },
    )
}

/// A host running guest `name` with `config`.
pub fn host_with(name: &str, config: HostConfig) -> Host {
    Host::new(filter(name), config)
}

/// The compiled edgepick filter (`EDGEPICK_FILTER_WASM`, set by `cargo xtask test`).
pub fn filter_wasm() -> PathBuf {
    let Some(p) = std::env::var_os("EDGEPICK_FILTER_WASM") else {
        panic!(
            "EDGEPICK_FILTER_WASM is not set: this test runs the compiled edgepick filter. \
             Run `cargo xtask test`, which builds the filter and sets it."
        )
    };
    let p = PathBuf::from(p);
    assert!(
        p.is_file(),
        "EDGEPICK_FILTER_WASM={} does not exist: run `cargo xtask test`, which builds it.",
        p.display()
    );
    p
}

/// Assembles hand-written text module `guests/wat/<name>.wat` (with
/// `prelude.wat` spliced in at `;; PRELUDE`) into a `.wasm` file.
pub fn wat_guest(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/wat");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("reading a .wat file");
    let text = read(&format!("{name}.wat")).replacen(";; PRELUDE", &read("prelude.wat"), 1);
    let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("assembling {name}.wat: {e}"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wat");
    std::fs::create_dir_all(&out).expect("creating the module directory");
    let path = out.join(format!("{name}.wasm"));
    std::fs::write(&path, wasm).expect("writing the module");
    path
}
