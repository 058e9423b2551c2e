//! `cargo xtask fuzz [TARGET|all] [--seconds N]`: coverage-guided fuzzing of
//! edgepick-core (and edgepick-dns's query path) with libFuzzer on the stable toolchain. The crate `fuzz/`
//! (a workspace of its own) is built with SanitizerCoverage passes, which
//! stable rustc runs through `-Cpasses`/`-Cllvm-args`; `libfuzzer-sys` builds
//! libFuzzer itself with the machine's C++ compiler. Release code with
//! overflow checks and debug assertions on, so an overflow is a crash.
//!
//! Seeds are `fuzz/corpus/<target>/` (checked in, read only); what the
//! fuzzer learns goes to `<target dir>/fuzz/corpus/<target>/`; crashing
//! inputs to `fuzz/artifacts/<target>/`.

use crate::steps::{cargo, output, root, run, step, target_dir};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The fuzz targets (binaries of `fuzz/`) and what each feeds.
pub const TARGETS: [(&str, &str); 6] = [
    (
        "config",
        "configuration JSON: parse, validate, round trip, router",
    ),
    ("cookie", "Cookie header: find, verify (rotated keys), sign"),
    (
        "load_report",
        "ORCA endpoint-load-metrics and x-edgepick-load",
    ),
    ("client", "client address from the peer and X-Forwarded-For"),
    (
        "snapshot",
        "the shared health record: decode, encode, transitions",
    ),
    (
        "dns_query",
        "edgepick-dns: a UDP packet decoded, answered, encoded",
    ),
];

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;
/// Seconds per target in `cargo xtask test`.
pub const SMOKE_SECONDS: u64 = 6;

const RUSTFLAGS: [&str; 8] = [
    "--cfg=fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

const USAGE: &str = "\
usage: cargo xtask fuzz [TARGET|all] [--seconds N] [--reproduce FILE]
       cargo xtask fuzz --smoke   (what cargo xtask test runs: fmt, clippy,
                                   every target for 6 s)";

/// What one target's run did.
struct Summary {
    target: &'static str,
    runs: u64,
    seconds: f64,
    corpus: usize,
}

/// `cargo xtask fuzz …`.
pub fn run_cli(args: &[String]) -> Result<()> {
    let mut which = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut reproduce = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().context("--seconds needs a number")?;
                seconds = v.parse().with_context(|| format!("--seconds {v:?}"))?;
            }
            "--smoke" if args.len() == 1 => return smoke(),
            "--reproduce" => reproduce = Some(PathBuf::from(it.next().context(USAGE)?)),
            "-h" | "--help" => {
                println!("{USAGE}\n\ntargets:");
                for (t, what) in TARGETS {
                    println!("  {t:<12} {what}");
                }
                return Ok(());
            }
            t if which.is_none() && !t.starts_with('-') => which = Some(t.to_string()),
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }
    let targets = select(which.as_deref().unwrap_or("all"))?;
    let bins = build()?;
    if let Some(file) = reproduce {
        let [target] = targets[..] else {
            bail!("--reproduce needs one target, not all");
        };
        return run(
            &format!("reproduce {target} on {}", file.display()),
            Command::new(bins.join(target)).arg(&file),
        );
    }
    fuzz(&bins, &targets, seconds)
}

/// The step `cargo xtask test` runs: the fuzz crate formatted and clippy
/// clean, then every target for [`SMOKE_SECONDS`]. Clippy runs with the
/// build's flags and directory, so libFuzzer is compiled once for both.
pub fn smoke() -> Result<()> {
    run(
        "cargo fmt --check (fuzz/)",
        cargo().args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]),
    )?;
    run(
        "cargo clippy (fuzz/)",
        instrumented(cargo().args(["clippy", "--quiet", "--release"]))?
            .args(["--", "-D", "warnings"]),
    )?;
    let bins = build()?;
    let all: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
    fuzz(&bins, &all, SMOKE_SECONDS)
}

fn select(name: &str) -> Result<Vec<&'static str>> {
    if name == "all" {
        return Ok(TARGETS.iter().map(|(t, _)| *t).collect());
    }
    match TARGETS.iter().find(|(t, _)| *t == name) {
        Some((t, _)) => Ok(vec![*t]),
        None => {
            let names: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
            bail!(
                "unknown fuzz target {name:?}; targets: {} (or all)",
                names.join(", ")
            )
        }
    }
}

/// `cmd` (a cargo subcommand) for the fuzz crate: its manifest, the host
/// target spelled out (so build scripts and proc macros are not
/// instrumented), the SanitizerCoverage flags and `<target dir>/fuzz`;
/// installs a C++ compiler for libFuzzer when there is none.
fn instrumented(cmd: &mut Command) -> Result<&mut Command> {
    crate::install::cxx()?;
    let host = host_triple()?;
    Ok(cmd
        .args(["--manifest-path", "fuzz/Cargo.toml", "--target", &host])
        .arg("--target-dir")
        .arg(target_dir().join("fuzz"))
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\x1f")))
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let v = output(Command::new(rustc).arg("-vV"))?;
    v.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV names no host")
}

/// Build every target; returns the directory holding the binaries.
fn build() -> Result<PathBuf> {
    run(
        "build fuzz targets (libFuzzer, SanitizerCoverage, stable)",
        instrumented(cargo().args(["build", "--release", "--bins"]))?,
    )?;
    Ok(target_dir()
        .join("fuzz")
        .join(host_triple()?)
        .join("release"))
}

fn fuzz(bins: &Path, targets: &[&'static str], seconds: u64) -> Result<()> {
    let started = Instant::now();
    let mut done = Vec::new();
    for &t in targets {
        done.push(fuzz_one(bins, t, seconds)?);
    }
    eprintln!("\nfuzz summary ({seconds} s per target, no crashes):");
    for s in &done {
        eprintln!(
            "  {:<12} {:>11} runs in {:>5.1} s ({:>9.0} exec/s), corpus {}",
            s.target,
            s.runs,
            s.seconds,
            s.runs as f64 / s.seconds.max(0.001),
            s.corpus
        );
    }
    eprintln!("  total {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Run one target for `seconds`: libFuzzer's output goes to a log, its
/// progress lines to the terminal; a crash fails with the target and input.
fn fuzz_one(bins: &Path, target: &'static str, seconds: u64) -> Result<Summary> {
    let t0 = step(&format!("fuzz {target} for {seconds} s"));
    let fuzz_dir = root().join("fuzz");
    let corpus = target_dir().join("fuzz/corpus").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    let logs = target_dir().join("fuzz/logs");
    for d in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path)?;
    let mut cmd = Command::new(bins.join(target));
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg("-timeout=20")
        .arg("-max_len=4096")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    let dict = fuzz_dir.join("dict").join(format!("{target}.dict"));
    if dict.exists() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    // New inputs go to the first directory; the seeds stay as checked in.
    cmd.arg(&corpus).arg(fuzz_dir.join("corpus").join(target));
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bins.join(target).display()))?;
    let (mut runs, mut crash, mut tail) = (0, None, Vec::new());
    for line in BufReader::new(child.stderr.take().context("no stderr")?).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        if line.contains("pulse ") || line.contains("DONE ") || line.contains("INITED ") {
            eprintln!("    {target}: {line}");
        }
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units: ") {
            runs = v.trim().parse().unwrap_or(0);
        }
        if let Some(p) = line.split("Test unit written to ").nth(1) {
            crash = Some(p.trim().to_string());
        }
        tail.push(line);
        if tail.len() > 40 {
            tail.remove(0);
        }
    }
    let status = child.wait()?;
    let elapsed = t0.elapsed().as_secs_f64();
    if !status.success() || crash.is_some() {
        for l in &tail {
            eprintln!("    | {l}");
        }
        let input = crash.unwrap_or_else(|| "(none written)".into());
        bail!(
            "fuzz target {target} failed ({status}) after {elapsed:.0} s; input: {input}\n\
             full log: {}\nreproduce: cargo xtask fuzz {target} --reproduce {input}",
            log_path.display()
        );
    }
    let corpus_size = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    eprintln!("    ({target}: {runs} runs, {elapsed:.1}s)");
    Ok(Summary {
        target,
        runs,
        seconds: elapsed,
        corpus: corpus_size,
    })
}
