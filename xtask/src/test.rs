//! `cargo xtask test`: every check, in the order that fails fastest.

use crate::build::{build_filter, build_native, build_web};
use crate::fuzz;
use crate::install;
use crate::steps::{cargo, root, run, step};
use anyhow::{Context, Result};
use std::process::Command;
use std::time::Instant;

/// Run every check.
pub fn all(args: &[String]) -> Result<()> {
    let started = Instant::now();
    let quick = args.iter().any(|a| a == "--quick");
    install::rust_targets()?;
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy (native)",
        cargo().args([
            "clippy",
            "--quiet",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "cargo clippy (edgepick-filter, wasm32-wasip1)",
        cargo().args([
            "clippy",
            "--quiet",
            "-p",
            "edgepick-filter",
            "--target",
            "wasm32-wasip1",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "cargo clippy (edgepick-web, wasm32-unknown-unknown)",
        cargo().args([
            "clippy",
            "--quiet",
            "-p",
            "edgepick-web",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Every fuzz target briefly (libFuzzer, about a minute with its build):
    // a parser that panics or a clock that overflows fails here.
    fuzz::smoke()?;
    for target in ["wasm32-wasip1", "wasm32-unknown-unknown"] {
        run(
            &format!("build edgepick-core ({target})"),
            cargo().args([
                "build",
                "--quiet",
                "-p",
                "edgepick-core",
                "--target",
                target,
            ]),
        )?;
    }
    // binaryen (wasm-opt) before the first filter build, so a fresh machine
    // tests the optimised module it ships.
    install::debian_tools()?;
    let filter = build_filter()?;
    let native = build_native()?;
    let envoy = install::envoy()?;
    let pkg = build_web()?;
    install::npm_packages()?;
    let t = step(
        "cargo test --workspace (unit, property, golden, host runner, real Envoy, DNS beside gdnsd)",
    );
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    if quick {
        test.env("PROPTEST_CASES", "32");
    }
    test.env("EDGEPICK_ENVOY", &envoy)
        .env("EDGEPICK_FILTER_WASM", &filter)
        .env("EDGEPICK_NATIVE_MODULE", &native)
        .env("EDGEPICK_WEB_PKG", &pkg);
    let status = test.status().context("starting cargo test")?;
    if !status.success() {
        anyhow::bail!("cargo test failed ({status})");
    }
    eprintln!("    (cargo test: {:.1}s)", t.elapsed().as_secs_f64());
    run(
        "browser test (real Chromium via playwright-core)",
        Command::new("node")
            .arg("web-demo/tests/browser.mjs")
            .current_dir(root())
            .env("EDGEPICK_WEB_PKG", &pkg),
    )?;
    eprintln!(
        "\nxtask test: everything passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
