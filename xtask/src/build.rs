//! Build steps shared by `test`, `bench`, `demo` and the `build-*` commands:
//! the Envoy filter, the native module, the browser package and the minimal
//! filter the benchmark compares with, each collected under
//! `<target>/edgepick/`.

use crate::install;
use crate::steps::{cargo, have, root, run, target_dir};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Where built artifacts are collected.
pub fn artifacts() -> PathBuf {
    target_dir().join("edgepick")
}

/// Build the filter for wasm32-wasip1 (profile `wasm`), optimise it with
/// wasm-opt when available; returns the path Envoy and the host runner load
/// (`<target>/edgepick/edgepick_filter.wasm`, the path `deploy/envoy.yaml` names).
pub fn build_filter() -> Result<PathBuf> {
    run(
        "build edgepick-filter (wasm32-wasip1)",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "edgepick-filter",
            "--target",
            "wasm32-wasip1",
            "--profile",
            "filter",
        ]),
    )?;
    let built = target_dir().join("wasm32-wasip1/filter/edgepick_filter.wasm");
    let out = artifacts().join("edgepick_filter.wasm");
    std::fs::create_dir_all(artifacts())?;
    optimise(&built, &out)?;
    report_size("edgepick_filter.wasm", &built, &out);
    Ok(out)
}

/// Build the native Envoy module (`edgepick-envoy`, release) into
/// `<target>/edgepick/libedgepick_envoy.so`; Envoy finds it there with
/// `ENVOY_DYNAMIC_MODULES_SEARCH_PATH=<target>/edgepick` and
/// `dynamic_module_config: {name: edgepick_envoy}`.
pub fn build_native() -> Result<PathBuf> {
    run(
        "build edgepick-envoy (native dynamic module)",
        cargo().args(["build", "--quiet", "--release", "-p", "edgepick-envoy"]),
    )?;
    let built = target_dir().join("release/libedgepick_envoy.so");
    std::fs::create_dir_all(artifacts())?;
    let out = artifacts().join("libedgepick_envoy.so");
    // A new file rather than overwriting one a running Envoy may have mapped.
    let tmp = artifacts().join("libedgepick_envoy.so.tmp");
    std::fs::copy(&built, &tmp).with_context(|| format!("copying {}", built.display()))?;
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

/// Build the browser package into `web-demo/www/pkg`, optimised for speed
/// (profile `wasm` and `wasm-opt -O3`; see the profile). wasm-opt runs before
/// wasm-bindgen: binaryen 108 run on wasm-bindgen's output breaks its table
/// set-up ("WebAssembly.Table.set(): Argument 1 is invalid"). `strip=false`
/// keeps the target-features section wasm-bindgen and wasm-opt read.
pub fn build_web() -> Result<PathBuf> {
    let bindgen = install::wasm_bindgen()?;
    run(
        "build edgepick-web (wasm32-unknown-unknown)",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "edgepick-web",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm",
            "--config",
            "profile.wasm.strip=false",
        ]),
    )?;
    let built = target_dir().join("wasm32-unknown-unknown/wasm/edgepick_web.wasm");
    std::fs::create_dir_all(artifacts())?;
    let opt = artifacts().join("edgepick_web.wasm");
    let status = Command::new("wasm-opt")
        .args(["-O3", "--strip-debug", "--strip-producers"])
        .arg(&built)
        .arg("-o")
        .arg(&opt)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("    wasm-opt unavailable or failed; using the unoptimised module");
        std::fs::copy(&built, &opt)?;
    }
    let pkg = root().join("web-demo/www/pkg");
    run(
        "wasm-bindgen --target web",
        Command::new(&bindgen)
            .args(["--target", "web", "--out-dir"])
            .arg(&pkg)
            .arg(&opt),
    )?;
    report_size(
        "edgepick_web_bg.wasm",
        &built,
        &pkg.join("edgepick_web_bg.wasm"),
    );
    Ok(pkg)
}

fn optimise(input: &std::path::Path, output: &std::path::Path) -> Result<()> {
    if have("wasm-opt") {
        let status = Command::new("wasm-opt")
            .args([
                "-O3",
                "--enable-bulk-memory",
                "--enable-sign-ext",
                "--enable-nontrapping-float-to-int",
                "--enable-mutable-globals",
            ])
            .arg(input)
            .arg("-o")
            .arg(output)
            .status()?;
        if status.success() {
            return Ok(());
        }
        eprintln!("    wasm-opt failed ({status}); using the unoptimised module");
    }
    std::fs::copy(input, output).with_context(|| format!("copying {}", input.display()))?;
    Ok(())
}

fn report_size(name: &str, before: &std::path::Path, after: &std::path::Path) {
    let kib = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.len() as f64 / 1024.0)
            .unwrap_or(0.0)
    };
    eprintln!(
        "    {name}: {:.1} KiB built, {:.1} KiB after wasm-opt",
        kib(before),
        kib(after)
    );
}

/// Build `xtask/minimal-filter` (a filter that only writes a round-robin
/// header: the floor any wasm filter pays) in its own target directory.
pub(crate) fn build_minimal() -> Result<PathBuf> {
    let manifest = root().join("xtask/minimal-filter/Cargo.toml");
    let target = target_dir().join("minimal-filter");
    run(
        "build the minimal filter",
        Command::new("cargo")
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip1",
                "--manifest-path",
            ])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target),
    )?;
    Ok(target.join("wasm32-wasip1/release/minimal_filter.wasm"))
}
