//! `cargo xtask demo`: three sample backends, Envoy with the filter in front of
//! them, and the browser simulator — all on loopback, stopped by Ctrl-C.

use crate::steps::{cargo, root, run, target_dir};
use crate::{build, install};
use anyhow::{Context, Result};
use edgepick_tests::harness::native::{Endpoint, NativeBuilder};
use edgepick_tests::harness::{set_backend_binary, Backend, BackendOptions, EnvoyBuilder};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "demo-signing-key-change-me-0123456789";

fn flag(args: &[String], name: &str, default: u16) -> Result<u16> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} needs a port number")),
    }
}

/// The demo's filter configuration: RFWS, sticky cookies, heartbeats, and the
/// decision header so curl shows why each node was chosen.
fn config(backends: &[Backend]) -> String {
    let links = [(1000, 2, 5), (400, 1, 2), (100, 3, 20)];
    let list: Vec<String> = backends
        .iter()
        .zip(links)
        .map(|(b, (bw, hops, delay))| {
            format!(
                r#"{{"name": "{}", "address": "{}", "url": "http://{}", "capacity": 50,
       "link": {{"bandwidth_mbps": {bw}, "hops": {hops}, "delay_ms": {delay}}}}}"#,
                b.name(),
                b.addr(),
                b.addr()
            )
        })
        .collect();
    format!(
        r#"{{
  "algorithm": {{"name": "rfws", "tie_tolerance": 0.05, "load_threshold": 0.9}},
  "backends": [
    {}
  ],
  "health": {{"heartbeat": {{"interval_ms": 500, "window_ms": 1500, "threshold": 2, "path": "/health"}},
             "max_fails": 1, "fail_timeout_ms": 5000, "slow_start_ms": 5000}},
  "cookie": {{"name": "edgepick", "keys": ["{KEY}"], "max_age_s": 3600}},
  "decision_header": true
}}"#,
        list.join(",\n    ")
    )
}

/// The demo's configuration for the native policy (`--native`): RFWS over the
/// same links; Envoy's own health checks and retries, no cookie (the native
/// policy has no response filter yet) and no decision header.
fn native_config(backends: &[Backend]) -> String {
    let links = [(1000, 2, 5), (400, 1, 2), (100, 3, 20)];
    let list: Vec<String> = backends
        .iter()
        .zip(links)
        .map(|(b, (bw, hops, delay))| {
            format!(
                r#"{{"name": "{}", "address": "{}", "capacity": 50, "link": {{"bandwidth_mbps": {bw}, "hops": {hops}, "delay_ms": {delay}}}}}"#,
                b.name(),
                b.addr()
            )
        })
        .collect();
    format!(
        r#"{{"algorithm": {{"name": "rfws"}}, "backends": [{}], "health": {{"max_fails": 1, "fail_timeout_ms": 5000, "slow_start_ms": 5000}}}}"#,
        list.join(", ")
    )
}

/// Build, start everything, print what to open, wait for Ctrl-C.
pub fn run_demo(args: &[String]) -> Result<()> {
    let port = flag(args, "--port", 10000)?;
    let admin = flag(args, "--admin-port", 9901)?;
    let web_port = flag(args, "--web-port", 8080)?;
    let native = args.iter().any(|a| a == "--native");
    install::rust_targets()?;
    install::debian_tools()?;
    let envoy_bin = install::envoy()?;
    let wasm = build::build_filter()?;
    let module = if native {
        Some(build::build_native()?)
    } else {
        None
    };
    let www = build::build_web().map(|pkg| pkg.parent().map(Path::to_path_buf).unwrap_or(pkg))?;
    run(
        "build edgepick-backend",
        cargo().args([
            "build",
            "--quiet",
            "-p",
            "edgepick-tests",
            "--bin",
            "edgepick-backend",
        ]),
    )?;
    set_backend_binary(target_dir().join("debug/edgepick-backend"));

    let backends: Vec<Backend> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Backend::spawn(
                n,
                BackendOptions {
                    port: 18001 + i as u16,
                    ..Default::default()
                },
            )
        })
        .collect::<Result<_>>()?;
    let cfg = if native {
        native_config(&backends)
    } else {
        config(&backends)
    };
    let cfg_path = build::artifacts().join("demo-config.json");
    std::fs::write(&cfg_path, &cfg)?;
    let envoy = match &module {
        Some(m) => {
            // The harness reads both from the environment.
            std::env::set_var("EDGEPICK_ENVOY", &envoy_bin);
            std::env::set_var("EDGEPICK_NATIVE_MODULE", m);
            let eps: Vec<Endpoint> = backends.iter().map(|b| Endpoint::from(b.addr())).collect();
            NativeBuilder::new(&cfg, &eps)
                .concurrency(2)
                .listener_port(port)
                .admin_port(admin)
                .start()
        }
        None => EnvoyBuilder::new(&wasm, &cfg)
            .envoy_binary(envoy_bin)
            .concurrency(2)
            .listener_port(port)
            .admin_port(admin)
            .start(),
    }
    .context("starting Envoy (is something else on the port? use --port / --admin-port)")?;
    let web = WebServer::start(&www, web_port)?;

    println!(
        "\nedgepick demo is running (Ctrl-C stops everything)\n\
         \n  Envoy ({})  http://127.0.0.1:{port}/\n  Envoy admin             http://127.0.0.1:{admin}/stats/prometheus\n  browser simulator       http://127.0.0.1:{web_port}/\n\
         \n  backends  a {}  b {}  c {}\n  config    {}\n  Envoy log {}\n\
         \nTry:\n  curl -si http://127.0.0.1:{port}/hello | grep -iE 'x-served-by|set-cookie|x-edgepick-decision'\n  \
         curl -si -b 'edgepick=<value from set-cookie>' http://127.0.0.1:{port}/hello   # sticks to the same node\n  \
         curl -s http://127.0.0.1:{admin}/stats/prometheus | grep edgepick\n  \
         curl -s http://{}/__ctl/exit   # kill node a; the next requests fail over, no errors\n",
        if native {
            "native load-balancing policy libedgepick_envoy.so"
        } else {
            "wasm filter"
        },
        backends[0].addr(),
        backends[1].addr(),
        backends[2].addr(),
        cfg_path.display(),
        envoy.dir().join("envoy.log").display(),
        backends[0].addr(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::SeqCst))
        .context("installing the Ctrl-C handler")?;
    let deadline = demo_deadline(args)?;
    while !stop.load(Ordering::SeqCst) && deadline.is_none_or(|d| std::time::Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("\nstopping Envoy, the backends and the web server…");
    drop(web);
    drop(envoy);
    drop(backends);
    Ok(())
}

/// `web-demo/serve.mjs` (the browser test's server too) serving the page.
struct WebServer(std::process::Child);

impl WebServer {
    fn start(www: &Path, port: u16) -> Result<WebServer> {
        let child = std::process::Command::new("node")
            .arg(root().join("web-demo/serve.mjs"))
            .args(["--port", &port.to_string(), "--root"])
            .arg(www)
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting node web-demo/serve.mjs (is Node.js installed?)")?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                anyhow::bail!(
                    "the web server did not listen on 127.0.0.1:{port} (in use? try --web-port)"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(WebServer(child))
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `--for SECONDS` stops the demo by itself (used by scripts and CI smoke runs).
fn demo_deadline(args: &[String]) -> Result<Option<std::time::Instant>> {
    match args.iter().position(|a| a == "--for") {
        None => Ok(None),
        Some(i) => {
            let s: u64 = args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .context("--for needs seconds")?;
            Ok(Some(std::time::Instant::now() + Duration::from_secs(s)))
        }
    }
}
