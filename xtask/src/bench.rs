//! `cargo xtask bench`: requests/s, p50 and p99 through Envoy with and without
//! filters, measured with wrk on loopback in one run, reported as ratios.
//! `--instructions` counts instead (see [`crate::bench_instr`]).
//!
//! Variants, all against the same nginx backends (three; 64 for the variants
//! named so) and the same Envoy
//! binary with `--concurrency 1`: wrk straight to one backend; Envoy's native
//! `round_robin` and `ring_hash`; `override_host` with the header sent by the
//! client; a minimal wasm filter that only writes a round-robin header (the
//! floor any wasm filter pays); and edgepick with rfws + sticky cookies,
//! ip_hash, and rfws with a cookie already held.

pub(crate) use crate::bench_variants::variants;
use crate::install;
use crate::steps::{output, target_dir};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub(crate) use crate::bench_setup::*;
use crate::procs::{wait_port, Killed};

pub(crate) fn nginx(dir: &Path) -> Result<Killed> {
    let servers: String = BACKENDS
        .iter()
        .map(|p| format!("server {{ listen 127.0.0.1:{p}; access_log off; location / {{ return 200 \"backend {p}\\n\"; }} }}\n"))
        .collect();
    let conf = format!(
        "worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/nginx.err;\n\
         events {{ worker_connections 1024; }}\n\
         http {{ client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n{servers}}}\n",
        d = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    // Another bench (or a stale nginx worker) on these ports would answer
    // for this one and mix its traffic into the counts.
    if let Some(p) = BACKENDS
        .iter()
        .find(|&&p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok())
    {
        bail!(
            "something already listens on 127.0.0.1:{p}: is another `cargo xtask bench` running?"
        );
    }
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()?;
    for p in BACKENDS {
        wait_port(p, 20)?;
    }
    Ok(Killed(child))
}

struct Result1 {
    name: String,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn ms(v: &str) -> f64 {
    let v = v.trim();
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let x: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => x / 1000.0,
        "ms" => x,
        "s" => x * 1000.0,
        _ => f64::NAN,
    }
}

fn wrk(name: &str, port: u16, headers: &[String], secs: u64) -> Result<Result1> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c32", &format!("-d{secs}s"), "--latency"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    cmd.arg(format!("http://127.0.0.1:{port}/"));
    let out = output(&mut cmd)?;
    let rps = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("wrk printed no Requests/sec:\n{out}"))?;
    let pct = |p: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(ms))
            .unwrap_or(f64::NAN)
    };
    let non2xx = out
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"));
    if let Some(l) = non2xx {
        eprintln!("    {name}: wrk reports: {}", l.trim());
    }
    let r = Result1 {
        name: name.into(),
        rps,
        p50_ms: pct("50%"),
        p99_ms: pct("99%"),
    };
    eprintln!(
        "    {:<40} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        r.name, r.rps, r.p50_ms, r.p99_ms
    );
    Ok(r)
}

fn with_envoy(
    envoy: &Path,
    dir: &Path,
    v: &Variant,
    f: impl FnOnce() -> Result<Result1>,
) -> Result<Result1> {
    let yaml = dir.join("envoy.yaml");
    std::fs::write(&yaml, envoy_yaml(&v.setup, v.backends))?;
    let log = std::fs::File::create(dir.join("envoy.log"))?;
    let child = Command::new(envoy)
        .args(envoy_args(&yaml, 47))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let _guard = Killed(child);
    wait_port(ENVOY_PORT, 20)?;
    // Warm up: the first requests instantiate the wasm VM.
    let _ = Command::new("wrk")
        .args(["-t1", "-c4", "-d1s"])
        .arg(format!("http://127.0.0.1:{ENVOY_PORT}/"))
        .output();
    f()
}

/// Run every variant and print the table.
pub fn run_bench(args: &[String]) -> Result<()> {
    let secs: u64 = args
        .iter()
        .position(|a| a == "--duration")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    if args.iter().any(|a| a == "--dns") {
        return crate::bench_dns::run_dns(secs);
    }
    let instructions = args.iter().any(|a| a == "--instructions");
    install::rust_targets()?;
    install::debian_tools()?;
    if !crate::steps::have("nginx") && !Path::new("/usr/sbin/nginx").exists() {
        install::apt(&["nginx"])?;
    }
    let envoy = install::envoy()?;
    // `--filter PATH`: measure a module built elsewhere (other build flags,
    // another revision) in place of this tree's.
    let filter = match args.iter().position(|a| a == "--filter") {
        Some(i) => {
            let p = PathBuf::from(args.get(i + 1).context("--filter needs a path")?);
            if !p.is_file() {
                bail!("--filter {}: no such file", p.display());
            }
            p
        }
        None => crate::build::build_filter()?,
    };
    let native = crate::build::build_native()?;
    // Every Envoy started below (directly or under valgrind) finds the module here.
    if let Some(dir) = native.parent() {
        std::env::set_var("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", dir);
    }
    let minimal = crate::build::build_minimal()?;
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let _nginx = nginx(&dir)?;
    // `--only TEXT` (repeatable): the variants whose names contain one of
    // the texts, plus the two every ratio needs (native round robin, floor).
    let only: Vec<&String> = args
        .iter()
        .zip(args.iter().skip(1))
        .filter(|(flag, _)| *flag == "--only")
        .map(|(_, text)| text)
        .collect();
    // `--no-baselines`: not even those (a comparison across runs, e.g. of
    // two builds of the filter, leans on the counts repeating).
    let baselines = !args.iter().any(|a| a == "--no-baselines");
    let mut variants = variants(&filter, &minimal);
    if !only.is_empty() {
        variants.retain(|v| {
            (baselines
                && (v.name.starts_with("envoy round_robin") || v.name.starts_with("minimal")))
                || only.iter().any(|t| v.name.contains(t.as_str()))
        });
    }
    if instructions {
        return crate::bench_instr::run(&envoy, &dir, &variants, secs);
    }
    eprintln!("\n==> wrk -t1 -c32 -d{secs}s, Envoy --concurrency 1, nginx backends (3, or 64 where named)");
    let mut rows = vec![wrk("direct to one backend", BACKENDS[0], &[], secs)?];
    for v in &variants {
        rows.push(with_envoy(&envoy, &dir, v, || {
            wrk(v.name, ENVOY_PORT, &v.headers()?, secs)
        })?);
    }
    print_table(&rows);
    Ok(())
}

pub(crate) fn fetch_cookie() -> Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", ENVOY_PORT))?;
    s.write_all(b"GET / HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    resp.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().split(';').next().unwrap_or("").to_string())
        })
        .context("the filter set no cookie")
}

fn print_table(rows: &[Result1]) {
    let base = rows
        .iter()
        .find(|r| r.name.starts_with("envoy round_robin"))
        .map_or(f64::NAN, |r| r.rps);
    let floor = rows
        .iter()
        .find(|r| r.name.starts_with("minimal"))
        .map_or(f64::NAN, |r| r.rps);
    println!("\n| variant | req/s | p50 ms | p99 ms | × native RR | × minimal filter |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.name,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.rps / base,
            r.rps / floor
        );
    }
    let p = crate::build::artifacts().join("edgepick_filter.wasm");
    if let Ok(m) = std::fs::metadata(&p) {
        println!(
            "\nedgepick_filter.wasm after wasm-opt: {:.1} KiB",
            m.len() as f64 / 1024.0
        );
    }
}
