//! Command-line interface: parse flags (no I/O), then build the host.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use edgepick_host::replay::{decision, format_summary, replay, simulate};
use edgepick_host::{Filter, Host, HostConfig, Request, Upstream};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Run proxy-wasm filters (ABI 0.2.1) natively, the way Envoy 1.40 runs them.
#[derive(Parser, Debug)]
#[command(name = "edgepick-host", version, about)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Replay a JSON-lines request trace; print one JSON decision per request,
    /// then a per-endpoint summary on stderr.
    Replay {
        #[command(flatten)]
        common: Common,
        /// Trace file: one JSON request per line.
        #[arg(long)]
        trace: PathBuf,
        /// Number of VMs (Envoy workers); requests go round-robin.
        #[arg(long, default_value_t = 1)]
        workers: usize,
    },
    /// Run one request (the backend answers 200 from the first endpoint the
    /// filter named) and print its decision.
    Run {
        #[command(flatten)]
        common: Common,
        /// Request path.
        #[arg(long, default_value = "/")]
        path: String,
        /// Method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request header `name:value` (repeatable).
        #[arg(long = "header", value_name = "NAME:VALUE")]
        headers: Vec<String>,
        /// Client address `ip:port`.
        #[arg(long, default_value = "127.0.0.1:50000")]
        client: String,
    },
    /// Measure cold start and requests per second through the filter.
    Bench {
        #[command(flatten)]
        common: Common,
        /// Number of requests.
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
    },
}

#[derive(Args, Debug)]
struct Common {
    /// The filter module (.wasm).
    #[arg(long)]
    wasm: PathBuf,
    /// Plugin configuration file, handed to the module as its bytes (JSON, a
    /// plain string, anything: Envoy does not parse it either).
    #[arg(long, value_name = "FILE", conflicts_with = "config_raw")]
    config: Option<PathBuf>,
    /// Plugin configuration given inline, as bytes (`--config-raw ''`: empty).
    /// Without `--config` or `--config-raw` the configuration is empty.
    #[arg(long, value_name = "TEXT")]
    config_raw: Option<String>,
    /// Seed for the guest's randomness (same seed, same run).
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Map a callout cluster to a loopback server: `name=127.0.0.1:port`.
    #[arg(long = "upstream-map", value_name = "NAME=ADDR")]
    upstream_map: Vec<String>,
}

impl Common {
    fn load(&self) -> Result<(Filter, HostConfig)> {
        let config = match (&self.config, &self.config_raw) {
            (Some(file), _) => std::fs::read(file)
                .with_context(|| format!("reading --config {}", file.display()))?,
            (None, Some(text)) => text.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let mut host = HostConfig {
            plugin_config: config,
            seed: self.seed,
            ..HostConfig::default()
        };
        for m in &self.upstream_map {
            let (name, addr) = m
                .split_once('=')
                .ok_or_else(|| anyhow!("--upstream-map {m}: expected NAME=ADDR"))?;
            let addr = addr
                .parse()
                .with_context(|| format!("--upstream-map {m}: bad address"))?;
            host.clusters
                .insert(name.to_string(), Upstream::Address(addr));
        }
        if !self.wasm.exists() {
            bail!("wasm file {} not found", self.wasm.display());
        }
        Ok((Filter::from_file(&self.wasm)?, host))
    }
}

/// Runs the command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Replay {
            common,
            trace,
            workers,
        } => {
            let (filter, config) = common.load()?;
            let file = std::fs::File::open(&trace)
                .with_context(|| format!("opening trace {}", trace.display()))?;
            let stdout = std::io::stdout().lock();
            let summary = replay(filter, config, workers, BufReader::new(file), stdout)
                .with_context(|| format!("replaying {}", trace.display()))?;
            eprint!("---\n{}", format_summary(&summary));
            Ok(())
        }
        Cmd::Run {
            common,
            path,
            method,
            headers,
            client,
        } => {
            let (filter, config) = common.load()?;
            let mut vm = Host::new(filter, config).start_vm()?;
            let mut req = Request::get(&path).client(&client);
            req.method = method;
            for h in &headers {
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| anyhow!("--header {h}: expected NAME:VALUE"))?;
                req = req.header(k.trim(), v.trim());
            }
            let ex = vm.run_http(&req, |fwd| Some(simulate(&None, fwd)))?;
            let text = serde_json::to_string_pretty(&decision(&ex, 0))?;
            writeln!(std::io::stdout().lock(), "{text}")?;
            Ok(())
        }
        Cmd::Bench { common, requests } => bench(&common, requests),
    }
}

fn bench(common: &Common, requests: usize) -> Result<()> {
    let t0 = Instant::now();
    let (filter, config) = common.load()?;
    let compile = t0.elapsed();
    let host = Host::new(filter, config);
    let t1 = Instant::now();
    let mut vm = host.start_vm()?;
    let instantiate = t1.elapsed();
    let t2 = Instant::now();
    let cpu0 = thread_cpu_nanos();
    for i in 0..requests {
        let client = format!("10.0.{}.{}:{}", (i / 250) % 250, i % 250, 1024 + i % 60000);
        let req = Request::get("/bench")
            .client(&client)
            .header("x-user", &i.to_string());
        vm.run_http(&req, |fwd| Some(simulate(&None, fwd)))?;
        if i % 1000 == 999 {
            vm.take_logs();
        }
    }
    let elapsed = t2.elapsed();
    // CPU time of this thread: the figure that holds on a busy machine.
    let cpu = thread_cpu_nanos()
        .zip(cpu0)
        .map(|(b, a)| b.saturating_sub(a) as f64 / 1e9);
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::json!({
            "compile_ms": compile.as_secs_f64() * 1e3,
            "vm_start_ms": instantiate.as_secs_f64() * 1e3,
            "requests": requests,
            "seconds": elapsed.as_secs_f64(),
            "requests_per_second": requests as f64 / elapsed.as_secs_f64(),
            "cpu_seconds": cpu,
            "requests_per_cpu_second": cpu.map(|c| requests as f64 / c),
        })
    )?;
    Ok(())
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), if known.
fn thread_cpu_nanos() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
