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
use crate::steps::{output, root, run, target_dir};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the bench's ports start: `EDGEPICK_BENCH_PORT_BASE`, default 18080
/// (Envoy's listener; admin +1; the 64 nginx backends from +21). Two benches
/// on one machine need different bases (the Envoy base ids move with it).
pub(crate) fn port_base() -> u16 {
    std::env::var("EDGEPICK_BENCH_PORT_BASE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(18080)
}

/// Ports of the nginx backends; a variant uses the first 3 or all 64.
pub(crate) fn backend_ports() -> [u16; 64] {
    let base = port_base();
    std::array::from_fn(|i| base + 21 + i as u16)
}
/// The backend counts variants run at.
pub(crate) const FEW: usize = 3;
pub(crate) const MANY: usize = 64;

/// Envoy's listener.
pub(crate) fn envoy_port() -> u16 {
    port_base()
}

/// Envoy's admin listener.
pub(crate) fn admin_port() -> u16 {
    port_base() + 1
}

/// Envoy's `--base-id` for `id` (47 or 48), moved with the port base.
pub(crate) fn base_id(id: u16) -> u16 {
    id + port_base().abs_diff(18080)
}
pub(crate) const KEY: &str = "bench-signing-key-0123456789abcdef";

pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait until something listens on `127.0.0.1:port`, for at most `secs`.
pub(crate) fn wait_port(port: u16, secs: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on 127.0.0.1:{port} after {secs} s")
}

pub(crate) fn nginx(dir: &Path) -> Result<Killed> {
    let servers: String = backend_ports()
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
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()?;
    for p in backend_ports() {
        wait_port(p, 20)?;
    }
    Ok(Killed(child))
}

pub(crate) fn endpoints() -> String {
    endpoints_of(FEW)
}

/// `127.0.0.1:<port>,…` of the first `n` backends.
pub(crate) fn endpoints_of(n: usize) -> String {
    backend_ports()[..n]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// How Envoy is set up for one variant.
pub(crate) enum Setup {
    Native(&'static str),
    /// `override_host`, optionally behind a wasm filter (module, configuration).
    OverrideHost(Option<(PathBuf, String)>),
    /// edgepick's filter (module, configuration) as `deploy/envoy.yaml` runs
    /// it, with (or, to measure what it saves, without) the virtual host's
    /// `include_attempt_count_in_response`.
    Edgepick(PathBuf, String, bool),
    /// edgepick's native load-balancing policy (`libedgepick_envoy.so`) with
    /// this configuration, no HTTP filter.
    Module(String),
}

/// What the load generator sends.
pub(crate) enum Client {
    Plain,
    /// One extra request header.
    Header(String),
    /// The session cookie the filter set on a first request.
    HeldCookie,
}

/// One Envoy set-up and its traffic.
pub(crate) struct Variant {
    pub(crate) name: &'static str,
    /// Backends in the cluster (and in the filter's configuration).
    pub(crate) backends: usize,
    pub(crate) setup: Setup,
    pub(crate) client: Client,
}

impl Variant {
    /// The extra request headers (`HeldCookie` asks the running Envoy for one).
    pub(crate) fn headers(&self) -> Result<Vec<String>> {
        Ok(match &self.client {
            Client::Plain => Vec::new(),
            Client::Header(h) => vec![h.clone()],
            Client::HeldCookie => vec![format!("cookie: {}", fetch_cookie()?)],
        })
    }
}

/// The bootstrap for one variant, as JSON (which Envoy reads as YAML).
pub(crate) fn envoy_yaml(setup: &Setup, backends: usize) -> String {
    let sock =
        |port: u16| json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } });
    let mut cluster = json!({
        "name": "backends",
        "connect_timeout": "1s",
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": "backends",
            "endpoints": [{ "lb_endpoints": backend_ports()[..backends].iter().map(|&p| json!({ "endpoint": { "address": sock(p) } })).collect::<Vec<_>>() }]
        }
    });
    match setup {
        Setup::Module(cfg) => {
            cluster["load_balancing_policy"] = json!({ "policies": [{ "typed_extension_config": {
                "name": "envoy.load_balancing_policies.dynamic_modules",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.dynamic_modules.v3.DynamicModulesLoadBalancerConfig",
                    "dynamic_module_config": { "name": "edgepick_envoy" },
                    "lb_policy_name": "edgepick",
                    "lb_policy_config": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": cfg }
                }
            }}]});
        }
        Setup::Native("ring_hash") => cluster["lb_policy"] = json!("RING_HASH"),
        Setup::Native(_) => cluster["lb_policy"] = json!("ROUND_ROBIN"),
        Setup::OverrideHost(_) | Setup::Edgepick(..) => {
            cluster["load_balancing_policy"] = json!({ "policies": [{ "typed_extension_config": {
                "name": "envoy.load_balancing_policies.override_host",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
                    "override_host_sources": [{ "header": "x-gateway-destination-endpoint" }],
                    "fallback_policy": { "policies": [{ "typed_extension_config": {
                        "name": "envoy.load_balancing_policies.round_robin",
                        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin" }
                    }}]}
                }
            }}]});
        }
    }
    let mut route = json!({
        "cluster": "backends",
        "retry_policy": { "retry_on": "connect-failure,refused-stream,reset", "num_retries": 2 }
    });
    if matches!(setup, Setup::Native("ring_hash")) {
        route["hash_policy"] = json!([{ "header": { "header_name": "x-user" } }]);
    }
    let rule = json!({ "match": { "prefix": "/" }, "route": route });
    let mut vhost = json!({ "name": "all", "domains": ["*"], "routes": [rule] });
    let filter = match setup {
        Setup::OverrideHost(Some((wasm, cfg))) => Some((wasm, cfg)),
        Setup::Edgepick(wasm, cfg, attempts) => {
            vhost["include_attempt_count_in_response"] = json!(attempts);
            Some((wasm, cfg))
        }
        _ => None,
    };
    let mut http_filters = Vec::new();
    if let Some((wasm, cfg)) = filter {
        http_filters.push(json!({
            "name": "envoy.filters.http.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": {
                    "name": "bench",
                    "configuration": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": cfg },
                    "vm_config": { "runtime": "envoy.wasm.runtime.v8", "code": { "local": { "filename": wasm.display().to_string() } } }
                }
            }
        }));
    }
    http_filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    }));
    json!({
        "admin": { "address": sock(admin_port()) },
        "static_resources": {
            "listeners": [{
                "address": sock(envoy_port()),
                "filter_chains": [{ "filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "bench",
                        "route_config": { "virtual_hosts": [vhost] },
                        "http_filters": http_filters
                    }
                }]}]
            }],
            "clusters": [cluster]
        }
    })
    .to_string()
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
        .args(envoy_args(&yaml, base_id(47)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let _guard = Killed(child);
    wait_port(envoy_port(), 20)?;
    // Warm up: the first requests instantiate the wasm VM.
    let _ = Command::new("wrk")
        .args(["-t1", "-c4", "-d1s"])
        .arg(format!("http://127.0.0.1:{}/", envoy_port()))
        .output();
    f()
}

/// Envoy's command line for a bench variant: one worker, its own base id.
pub(crate) fn envoy_args(yaml: &Path, base_id: u16) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = vec!["-c".into(), yaml.into()];
    for s in [
        "--concurrency",
        "1",
        "--base-id",
        &base_id.to_string(),
        "--log-level",
        "warn",
    ] {
        a.push(s.into());
    }
    a
}

pub(crate) fn edgepick_config(algorithm: &str, cookie: bool, n: usize) -> String {
    let backends: Vec<String> = backend_ports()[..n]
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{{\"name\":\"n{i}\",\"address\":\"127.0.0.1:{p}\",\"link\":{{\"bandwidth_mbps\":{}}}}}", 100 * (i + 1)))
        .collect();
    let cookie = if cookie {
        format!(",\"cookie\":{{\"keys\":[\"{KEY}\"]}}")
    } else {
        String::new()
    };
    format!(
        "{{\"algorithm\":{{\"name\":\"{algorithm}\"}}{cookie},\"health\":{{\"panic_threshold\":0}},\"backends\":[{}]}}",
        backends.join(",")
    )
}

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

/// Run every variant and print the table.
pub fn run_bench(args: &[String]) -> Result<()> {
    let secs: u64 = args
        .iter()
        .position(|a| a == "--duration")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let instructions = args.iter().any(|a| a == "--instructions");
    install::rust_targets()?;
    install::debian_tools()?;
    if !crate::steps::have("nginx") && !Path::new("/usr/sbin/nginx").exists() {
        install::apt(&["nginx"])?;
    }
    let envoy = install::envoy()?;
    let filter = crate::test::build_filter()?;
    let native = crate::test::build_native()?;
    // Every Envoy started below (directly or under valgrind) finds the module here.
    if let Some(dir) = native.parent() {
        std::env::set_var("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", dir);
    }
    let minimal = build_minimal()?;
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
    let mut variants = variants(&filter, &minimal);
    if !only.is_empty() {
        variants.retain(|v| {
            v.name.starts_with("envoy round_robin")
                || v.name.starts_with("minimal")
                || only.iter().any(|t| v.name.contains(t.as_str()))
        });
    }
    if instructions {
        return crate::bench_instr::run(&envoy, &dir, &variants, secs);
    }
    eprintln!("\n==> wrk -t1 -c32 -d{secs}s, Envoy --concurrency 1, nginx backends (3, or 64 where named)");
    let mut rows = vec![wrk("direct to one backend", backend_ports()[0], &[], secs)?];
    for v in &variants {
        rows.push(with_envoy(&envoy, &dir, v, || {
            wrk(v.name, envoy_port(), &v.headers()?, secs)
        })?);
    }
    print_table(&rows);
    Ok(())
}

pub(crate) fn fetch_cookie() -> Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", envoy_port()))?;
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
    let p = crate::test::artifacts().join("edgepick_filter.wasm");
    if let Ok(m) = std::fs::metadata(&p) {
        println!(
            "\nedgepick_filter.wasm after wasm-opt: {:.1} KiB",
            m.len() as f64 / 1024.0
        );
    }
}
