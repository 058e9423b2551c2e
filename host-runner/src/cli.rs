//! Command-line interface: parse flags (no I/O), then build the host
//! (`Common::load`); the commands themselves are in `cmd.rs`.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use edgepick_host::report::Format;
use edgepick_host::{Filter, HostConfig, Interrupt, ScriptedGrpc, ScriptedResponse, Upstream};
use std::path::PathBuf;

/// Run proxy-wasm modules (ABI 0.2.0 / 0.2.1) natively, the way Envoy 1.40
/// runs them: same imports, statuses, fault policy and request handling.
#[derive(Parser, Debug)]
#[command(
    name = "edgepick-host",
    version,
    about,
    after_help = "\
Examples (a module you downloaded, filter.wasm):
  edgepick-host run --wasm filter.wasm --format text
  edgepick-host run --wasm filter.wasm --config-raw 'my setting' \\
      --method POST --path /api --header host:example.com --body '{\"a\":1}'
  edgepick-host run --wasm filter.wasm --config plugin.json \\
      --scripted auth=200:ok --format text
  edgepick-host run --wasm authz.wasm --grpc-scripted authz=0@allow.bin \\
      --property 'metadata.filter_metadata.envoy\\.lb.version=v2'
  edgepick-host tick --wasm service.wasm --ms 10000 --format text
  edgepick-host replay --wasm filter.wasm --config plugin.json --trace requests.jsonl

Each request prints what went upstream (headers, body), what the client got
(status, headers, body, or the module's local reply) and every log line in
order; `--format text` shows them side by side. Callouts reach only clusters
given with --scripted, --grpc-scripted or --upstream-map.

A module importing something Envoy 1.40 does not provide is refused with
Envoy's own message; a module Envoy loads, loads here. More: the
\"First day\" section of host-runner/README.md."
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Replay a JSON-lines request trace (one request per line: client,
    /// method, path, headers, body, properties, time_ms, response) and print
    /// one record per request; a per-endpoint summary goes to stderr.
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
    /// Run one request. The simulated backend answers 200 with a short body
    /// (from the first endpoint in x-gateway-destination-endpoint, if any),
    /// so the module's response callbacks run.
    Run {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        request: RequestArgs,
    },
    /// Start the module (VM start, configure), then move the virtual clock
    /// forward, firing on_tick once per elapsed tick period: for service
    /// (root-only) modules.
    Tick {
        #[command(flatten)]
        common: Common,
        /// Virtual milliseconds to run.
        #[arg(long, default_value_t = 1000)]
        ms: u64,
    },
    /// Measure cold start and requests per second through the filter.
    Bench {
        #[command(flatten)]
        common: Common,
        /// Number of requests.
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
        /// Every request after the first carries the cookies the first got.
        #[arg(long)]
        sticky: bool,
        /// Stop endless loops by wall-clock epochs instead of counting
        /// instructions (faster; the limit is then not reproducible).
        #[arg(long)]
        epoch: bool,
    },
}

/// The request `run` sends.
#[derive(Args, Debug)]
pub(crate) struct RequestArgs {
    /// Request path.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Method.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Request header `name:value` (repeatable). `host:NAME` sets
    /// `:authority`, as Envoy does for HTTP/1.1.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Client address `ip:port`.
    #[arg(long, default_value = "127.0.0.1:50000")]
    pub client: String,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body from a file (bytes).
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// A property of this request, `path=value` (`path` dotted, segments
    /// with dots quoted by a backslash: `metadata.a\.b`) (repeatable).
    #[arg(long = "property", value_name = "PATH=VALUE")]
    pub properties: Vec<String>,
    /// Virtual milliseconds to run before the request (ticks fire).
    #[arg(long, default_value_t = 0)]
    pub advance_ms: u64,
}

/// How records are printed.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub(crate) enum FormatArg {
    /// One JSON object per line.
    Json,
    /// Readable text.
    Text,
}

#[derive(Args, Debug)]
pub(crate) struct Common {
    /// The module (.wasm).
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
    /// VM configuration (`vm_config.configuration`), read in on_vm_start.
    #[arg(long, value_name = "TEXT")]
    vm_config: Option<String>,
    /// Seed for the guest's randomness (same seed, same run).
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Map a callout cluster to a loopback server: `name=127.0.0.1:port`.
    #[arg(long = "upstream-map", value_name = "NAME=ADDR")]
    upstream_map: Vec<String>,
    /// Answer callouts to cluster NAME with STATUS and BODY, without a
    /// server: `name=200:body` (repeatable).
    #[arg(long = "scripted", value_name = "NAME=STATUS[:BODY]")]
    scripted: Vec<String>,
    /// Answer gRPC calls to cluster NAME as a gRPC server would, without
    /// one: `name=0:MESSAGE` (status OK and the response message's bytes),
    /// `name=0@FILE` (the message read from FILE), `name=7:denied` (another
    /// status and its status message), `name=0` (OK without a message,
    /// which Envoy reports as status 13) (repeatable). gRPC to other
    /// clusters is refused as Envoy refuses an unknown cluster.
    #[arg(long = "grpc-scripted", value_name = "NAME=STATUS[:TEXT|@FILE]")]
    grpc_scripted: Vec<String>,
    /// Envoy's fail_open: after a guest fault requests pass unfiltered
    /// instead of getting 503.
    #[arg(long)]
    fail_open: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: FormatArg,
}

impl Common {
    /// The output format.
    pub(crate) fn format(&self) -> Format {
        match self.format {
            FormatArg::Json => Format::Json,
            FormatArg::Text => Format::Text,
        }
    }

    /// Reads the module (fuel metering) and the configuration.
    pub(crate) fn load(&self) -> Result<(Filter, HostConfig)> {
        self.load_with(Interrupt::Fuel)
    }

    /// Reads the module and the configuration; every error names the flag.
    pub(crate) fn load_with(&self, interrupt: Interrupt) -> Result<(Filter, HostConfig)> {
        let config = match (&self.config, &self.config_raw) {
            (Some(file), _) => std::fs::read(file)
                .with_context(|| format!("reading --config {}", file.display()))?,
            (None, Some(text)) => text.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let mut host = HostConfig {
            plugin_config: config,
            vm_config: self.vm_config.clone().unwrap_or_default().into_bytes(),
            seed: self.seed,
            fail_open: self.fail_open,
            ..HostConfig::default()
        };
        for m in &self.upstream_map {
            let (name, addr) = m
                .split_once('=')
                .ok_or_else(|| anyhow!("--upstream-map {m}: expected NAME=ADDR"))?;
            let addr = addr
                .parse()
                .with_context(|| format!("--upstream-map {m}: bad address"))?;
            add_cluster(&mut host, name.to_string(), Upstream::Address(addr))?;
        }
        for s in &self.scripted {
            let (name, answer) = scripted_http(s)?;
            add_cluster(&mut host, name, Upstream::Scripted(answer))?;
        }
        for s in &self.grpc_scripted {
            let (name, answer) = scripted_grpc(s)?;
            add_cluster(&mut host, name, Upstream::Grpc(answer))?;
        }
        if !self.wasm.exists() {
            bail!("wasm file {} not found", self.wasm.display());
        }
        Ok((Filter::from_file_with(&self.wasm, interrupt)?, host))
    }
}

/// Adds cluster `name`; a name given twice is an error, not a silent choice.
fn add_cluster(host: &mut HostConfig, name: String, upstream: Upstream) -> Result<()> {
    if host.clusters.contains_key(&name) {
        bail!("cluster {name:?} is given more than once (--upstream-map, --scripted, --grpc-scripted)");
    }
    host.clusters.insert(name, upstream);
    Ok(())
}

/// `--scripted NAME=STATUS[:BODY]`.
fn scripted_http(s: &str) -> Result<(String, ScriptedResponse)> {
    let (name, answer) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--scripted {s}: expected NAME=STATUS[:BODY]"))?;
    let (status, body) = answer.split_once(':').unwrap_or((answer, ""));
    let status = status
        .parse()
        .with_context(|| format!("--scripted {s}: bad status {status:?}"))?;
    let answer = ScriptedResponse {
        status,
        body: body.as_bytes().to_vec(),
        ..ScriptedResponse::default()
    };
    Ok((name.to_string(), answer))
}

/// `--grpc-scripted NAME=STATUS[:TEXT|@FILE]`: with status 0 the text or
/// file is the response message, with another status the status message.
fn scripted_grpc(s: &str) -> Result<(String, ScriptedGrpc)> {
    let (name, answer) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--grpc-scripted {s}: expected NAME=STATUS[:TEXT|@FILE]"))?;
    let at = answer.find([':', '@']).unwrap_or(answer.len());
    let (status, rest) = answer.split_at(at);
    let status: u32 = status
        .parse()
        .ok()
        .filter(|s| *s <= 16)
        .ok_or_else(|| anyhow!("--grpc-scripted {s}: bad gRPC status {status:?} (0 to 16)"))?;
    let text = match rest.split_at(rest.len().min(1)) {
        (":", text) => Some(text.as_bytes().to_vec()),
        ("@", file) => Some(
            std::fs::read(file).with_context(|| format!("--grpc-scripted {s}: reading {file}"))?,
        ),
        _ => None,
    };
    let answer = if status == 0 {
        ScriptedGrpc {
            status,
            message: text,
            status_message: String::new(),
        }
    } else {
        ScriptedGrpc {
            status,
            message: None,
            status_message: String::from_utf8_lossy(&text.unwrap_or_default()).into_owned(),
        }
    };
    Ok((name.to_string(), answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_scripts_parse_or_name_the_problem() {
        let (name, a) = scripted_grpc("auth=0:yes").unwrap();
        assert_eq!(
            (name.as_str(), a.message.as_deref()),
            ("auth", Some(&b"yes"[..]))
        );
        let (_, a) = scripted_grpc("auth=7:denied").unwrap();
        assert_eq!(
            (a.status, a.status_message.as_str(), a.message),
            (7, "denied", None)
        );
        let (_, a) = scripted_grpc("auth=0").unwrap();
        assert_eq!((a.status, a.message), (0, None));
        let e = scripted_grpc("auth=99:x").unwrap_err().to_string();
        assert!(e.contains("bad gRPC status \"99\""), "{e}");
        let e = scripted_grpc("auth").unwrap_err().to_string();
        assert!(e.contains("expected NAME=STATUS"), "{e}");
        let e = format!(
            "{:#}",
            scripted_grpc("auth=0@/nonexistent/m.bin").unwrap_err()
        );
        assert!(e.contains("reading /nonexistent/m.bin"), "{e}");
    }
}
