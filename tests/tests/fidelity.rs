//! Fidelity of the host runner (`edgepick-host`) against real Envoy: each small
//! guest module of `host-runner/guests/` runs in Envoy (`EDGEPICK_ENVOY`, set by
//! `cargo xtask test`) and in the host with the same requests, and what a
//! client observes must be the same: status, the response headers the guest
//! added, the local-response body, and the request headers the guest left for
//! the upstream (an echo server in this file returns them as JSON).
//!
//! Values that depend on the environment (time, randomness, the client port)
//! are left out on purpose; everything else is compared exactly.

use edgepick_host::{BackendResponse, Exchange, Host, HostConfig, Request, Upstream, Vm};
use edgepick_tests::harness::{self, request_once, Client, Envoy, EnvoyBuilder, Prometheus};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- guests

/// Builds guest `name` of `host-runner/guests/` for `wasm32-wasip1` (once per
/// test process) and returns its `.wasm`.
fn guest(name: &str) -> PathBuf {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _one_at_a_time = LOCK
        .get_or_init(|| Mutex::new(()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../host-runner/guests")
        .join(name)
        .join("Cargo.toml");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running cargo to build a guest");
    assert!(
        out.status.success(),
        "building guest {name} failed (`rustup target add wasm32-wasip1`?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join("wasm32-wasip1/release")
        .join(format!("guest_{name}.wasm"))
}

// ---------------------------------------------------------------- echo upstream

const SERVED_BY: &str = "echo";

/// The upstream of both sides. `/check` is the callout target: 403 `no` when
/// `x-for: /deny-auth`, else 200 `auth-ok`. Anything else: 200 with the
/// request's headers as a JSON array of `[name, value]` (names lower-case).
struct Echo {
    addr: SocketAddr,
}

fn echo_answer(path: &str, headers: &[(String, String)]) -> (u16, Vec<u8>) {
    if path.split('?').next() == Some("/check") {
        let denied = headers
            .iter()
            .any(|(k, v)| k == "x-for" && v == "/deny-auth");
        return if denied {
            (403, b"no".to_vec())
        } else {
            (200, b"auth-ok".to_vec())
        };
    }
    let body = serde_json::to_vec(headers).expect("headers serialize");
    (200, body)
}

impl Echo {
    fn start() -> Echo {
        let server = tiny_http::Server::http((Ipv4Addr::LOCALHOST, 0)).expect("bind echo server");
        let addr = server
            .server_addr()
            .to_ip()
            .expect("echo server has an IP address");
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_ascii_lowercase(),
                            h.value.as_str().to_string(),
                        )
                    })
                    .collect();
                let (status, body) = echo_answer(req.url(), &headers);
                let served =
                    tiny_http::Header::from_bytes("x-served-by", SERVED_BY).expect("ASCII header");
                let resp = tiny_http::Response::from_data(body)
                    .with_status_code(status)
                    .with_header(served);
                let _ = req.respond(resp);
            }
        });
        Echo { addr }
    }

    /// What the echo server answers to `forwarded` (the host's simulated backend).
    fn simulate(&self, forwarded: &[(String, String)]) -> BackendResponse {
        let path = forwarded
            .iter()
            .find(|(k, _)| k == ":path")
            .map_or("/", |(_, v)| v.as_str());
        let plain: Vec<(String, String)> = forwarded
            .iter()
            .filter(|(k, _)| !k.starts_with(':'))
            .cloned()
            .collect();
        let (status, body) = echo_answer(path, &plain);
        BackendResponse {
            status,
            headers: vec![("x-served-by".into(), SERVED_BY.into())],
            body,
            upstream_address: Some(self.addr.to_string()),
            latency_ms: 0,
        }
    }
}

// ---------------------------------------------------------------- both sides

/// What a client observes, plus the request headers the upstream received.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    status: u16,
    response_headers: Vec<(String, String)>,
    /// Body of a local response (the echo body is parsed into `upstream`).
    local_body: Option<String>,
    /// Request headers the echo server received (`None`: no upstream request).
    upstream: Option<Vec<(String, String)>>,
}

impl Observed {
    fn from_envoy(r: &harness::Response) -> Observed {
        let echoed = r.served_by() == Some(SERVED_BY);
        let upstream = echoed
            .then(|| serde_json::from_slice::<Vec<(String, String)>>(&r.body).ok())
            .flatten();
        Observed {
            status: r.status,
            response_headers: r.headers.clone(),
            local_body: (!echoed).then(|| r.text()),
            upstream,
        }
    }

    fn from_host(ex: &Exchange) -> Observed {
        let upstream = ex.local_response.is_none().then(|| {
            ex.request_headers
                .iter()
                .filter(|(k, _)| !k.starts_with(':'))
                .cloned()
                .collect()
        });
        Observed {
            status: ex.status.expect("the host produced a status"),
            response_headers: ex.response_headers.clone(),
            local_body: ex.local_response.as_ref().map(|l| l.body.clone()),
            upstream,
        }
    }

    fn response(&self, name: &str) -> Vec<String> {
        values(&self.response_headers, name)
    }

    fn upstream(&self, name: &str) -> Vec<String> {
        self.upstream
            .as_deref()
            .map(|h| values(h, name))
            .unwrap_or_default()
    }
}

fn values(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Compares the named response and upstream request headers, the status and
/// the local-response body; returns the differences.
fn differences(
    what: &str,
    envoy: &Observed,
    host: &Observed,
    response: &[&str],
    upstream: &[&str],
) -> Vec<String> {
    let mut d = Vec::new();
    if envoy.status != host.status {
        d.push(format!(
            "{what}: status envoy {} host {}",
            envoy.status, host.status
        ));
    }
    if envoy.local_body != host.local_body {
        d.push(format!(
            "{what}: local body envoy {:?} host {:?}",
            envoy.local_body, host.local_body
        ));
    }
    if envoy.upstream.is_some() != host.upstream.is_some() {
        d.push(format!(
            "{what}: upstream request envoy {} host {}",
            envoy.upstream.is_some(),
            host.upstream.is_some()
        ));
    }
    for name in response {
        let (e, h) = (envoy.response(name), host.response(name));
        if e != h {
            d.push(format!(
                "{what}: response header {name}: envoy {e:?} host {h:?}"
            ));
        }
    }
    for name in upstream {
        let (e, h) = (envoy.upstream(name), host.upstream(name));
        if e != h {
            d.push(format!(
                "{what}: upstream header {name}: envoy {e:?} host {h:?}"
            ));
        }
    }
    d
}

fn assert_same(d: Vec<String>) {
    assert!(
        d.is_empty(),
        "the host runner and Envoy disagree:\n{}",
        d.join("\n")
    );
}

/// Envoy running guest `wasm` with `config`; the cluster holds the echo server.
fn envoy(wasm: &Path, config: &str, echo: &Echo, concurrency: u32) -> Envoy {
    EnvoyBuilder::new(wasm, config)
        .endpoints(&[echo.addr])
        .concurrency(concurrency)
        .num_retries(0)
        .start()
        .expect("envoy starts")
}

/// The request the host runs for a client request to `envoy`'s listener.
fn host_request(envoy: &Envoy, path: &str, client: IpAddr, headers: &[(&str, &str)]) -> Request {
    let mut r = Request::get(path).client(&SocketAddr::new(client, 40000).to_string());
    r.authority = envoy.listener(0).to_string();
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r
}

fn host_run(vm: &mut Vm, echo: &Echo, req: &Request) -> Observed {
    let ex = vm
        .run_http(req, |fwd| Some(echo.simulate(fwd)))
        .expect("the request runs in the host");
    Observed::from_host(&ex)
}

fn host_for(wasm: &Path, config: HostConfig) -> Host {
    let filter = edgepick_host::Filter::from_file(wasm).expect("the guest compiles in the host");
    Host::new(filter, config)
}

fn ip_of(addr: &str) -> String {
    addr.parse::<SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| addr.to_string())
}

// ---------------------------------------------------------------- tests

#[test]
fn header_rewrite_and_host_answers_match_envoy() {
    let wasm = guest("headers");
    let echo = Echo::start();
    let config = format!("\"{}\"", echo.addr);
    let envoy = envoy(&wasm, &config, &echo, 1);
    let host = host_for(
        &wasm,
        HostConfig {
            plugin_config: config.clone().into_bytes(),
            ..HostConfig::default()
        },
    );
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = "127.0.0.7".parse().unwrap();
    let headers = [
        ("x-remove-me", "bye"),
        ("x-gateway-destination-endpoint", "1.2.3.4:5"),
    ];
    let e = Observed::from_envoy(
        &Client::new(envoy.listener(0))
            .source(client)
            .get_with("/h?x=1", &headers)
            .expect("request through envoy"),
    );
    let h = host_run(
        &mut vm,
        &echo,
        &host_request(&envoy, "/h?x=1", client, &headers),
    );
    let mut d = differences(
        "headers guest",
        &e,
        &h,
        &["set-cookie", "x-response-code", "x-filter-saw-served-by"],
        &[
            "x-gateway-destination-endpoint",
            "x-added",
            "x-remove-me",
            "x-seen-path",
            "x-missing",
            "x-count",
            "x-eos",
            "x-plugin-name",
            "x-method",
            "x-prop-missing",
            "x-prop-roundtrip",
            "x-log-level",
            "x-foreign",
            "x-pairs",
        ],
    );
    let (ec, hc) = (e.upstream("x-client"), h.upstream("x-client"));
    let ips = |v: &[String]| v.iter().map(|a| ip_of(a)).collect::<Vec<_>>();
    if ips(&ec) != ips(&hc) {
        d.push(format!("x-client: envoy {ec:?} host {hc:?}"));
    }
    // The order of what the filter saw and left: Envoy's connection manager
    // headers, then the guest's (a replaced header moves to the end). `host`
    // (from `:authority`) and the router's own header are upstream-only.
    let order = |o: &Observed| {
        o.upstream
            .iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .filter(|k| !matches!(*k, "host" | "x-envoy-expected-rq-timeout-ms"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if order(&e) != order(&h) {
        d.push("upstream header order differs".to_string());
    }
    if !d.is_empty() {
        d.push(format!("envoy upstream request: {:?}", e.upstream));
        d.push(format!("host upstream request: {:?}", h.upstream));
    }
    assert_same(d);
}

#[test]
fn local_response_matches_envoy_and_settles_local_reply_through_filter() {
    let wasm = guest("local_response");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let mut d = Vec::new();
    for path in ["/deny", "/fine"] {
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, path, &[]).expect("request through envoy"),
        );
        let h = host_run(&mut vm, &echo, &host_request(&envoy, path, client, &[]));
        // The echo body (and so its length) differs by Envoy's own headers.
        let framing: &[&str] = if path == "/deny" {
            &["content-type", "content-length"]
        } else {
            &[]
        };
        d.extend(differences(
            path,
            &e,
            &h,
            &[&["x-deny", "x-filter-status"], framing].concat(),
            &[],
        ));
        if path == "/deny" {
            // Does Envoy run on_response_headers on the filter's own local
            // reply? The host's default must answer the same.
            let envoy_runs_it = !e.response("x-filter-status").is_empty();
            let host_default = HostConfig::default().local_reply_through_filter;
            if envoy_runs_it != host_default {
                d.push(format!(
                    "local_reply_through_filter: Envoy {envoy_runs_it}, host default {host_default}"
                ));
            }
        }
    }
    assert_same(d);
}

#[test]
fn callout_pause_and_resume_match_envoy() {
    let wasm = guest("callout");
    let echo = Echo::start();
    // The bootstrap has one cluster, `edgepick`, holding the echo server.
    let envoy = envoy(&wasm, "edgepick", &echo, 1);
    let mut config = HostConfig {
        plugin_config: b"edgepick".to_vec(),
        ..HostConfig::default()
    };
    config
        .clusters
        .insert("edgepick".into(), Upstream::Address(echo.addr));
    let host = host_for(&wasm, config);
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let mut d = Vec::new();
    // A fresh connection each time: one request per Envoy stream, the same
    // callout token sequence as one VM in the host.
    for path in ["/ok", "/deny-auth", "/bad-cluster", "/again"] {
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, path, &[]).expect("request through envoy"),
        );
        let h = host_run(&mut vm, &echo, &host_request(&envoy, path, client, &[]));
        d.extend(differences(
            path,
            &e,
            &h,
            &["x-auth-status"],
            &["x-auth-status", "x-auth-body", "x-auth-token"],
        ));
    }
    assert_same(d);
}

#[test]
fn shared_data_counter_across_two_workers_matches_envoy() {
    const N: usize = 16;
    let wasm = guest("shared_counter");
    let echo = Echo::start();
    // Two workers; which one takes a connection is up to the kernel, so only
    // what is independent of that is compared: requests in sequence see the
    // shared counter go 1, 2, …, N whichever worker runs them.
    let envoy = envoy(&wasm, "", &echo, 2);
    let host = host_for(&wasm, HostConfig::default());
    let mut vms = [
        host.start_vm().expect("vm 0 starts"),
        host.start_vm().expect("vm 1 starts"),
    ];
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let names = [
        "x-count",
        "x-missing-shared",
        "x-unknown-queue",
        "x-stale-cas",
    ];
    let mut d = Vec::new();
    let (mut envoy_counts, mut host_counts) = (Vec::new(), Vec::new());
    for i in 0..N {
        let path = format!("/c{i}");
        let e = Observed::from_envoy(
            &request_once(envoy.listener(0), None, &path, &[]).expect("request through envoy"),
        );
        let h = host_run(
            &mut vms[i % 2],
            &echo,
            &host_request(&envoy, &path, client, &[]),
        );
        d.extend(differences(&path, &e, &h, &[], &names));
        envoy_counts.extend(e.upstream("x-count"));
        host_counts.extend(h.upstream("x-count"));
    }
    let expected: Vec<String> = (1..=N).map(|n| n.to_string()).collect();
    if envoy_counts != expected {
        d.push(format!("envoy counted {envoy_counts:?}"));
    }
    if host_counts != expected {
        d.push(format!("host counted {host_counts:?}"));
    }
    assert_same(d);
}

#[test]
fn metrics_match_envoy_admin_stats() {
    const N: usize = 5;
    let wasm = guest("metrics");
    let echo = Echo::start();
    let envoy = envoy(&wasm, "", &echo, 1);
    let host = host_for(&wasm, HostConfig::default());
    let mut vm = host.start_vm().expect("vm starts");
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let names = [
        "x-ids",
        "x-requests",
        "x-inflight",
        "x-counter-negative",
        "x-histogram-get",
        "x-unknown-get",
        "x-unknown-record",
    ];
    let mut d = Vec::new();
    let mut c = Client::new(envoy.listener(0));
    for i in 0..N {
        let path = format!("/m{i}");
        let e = Observed::from_envoy(&c.get(&path).expect("request through envoy"));
        let h = host_run(&mut vm, &echo, &host_request(&envoy, &path, client, &[]));
        d.extend(differences(&path, &e, &h, &[], &names));
    }
    // Values as the admin endpoint shows them (custom stats under `wasmcustom.`).
    let metrics = host.shared().metrics();
    let stats = envoy.stats().expect("admin /stats");
    for name in ["requests", "inflight"] {
        let e = stats.get(&format!("wasmcustom.{name}"));
        let h = metrics.get(name).map(|m| m.value as f64);
        if e != h {
            d.push(format!("metric {name}: envoy {e:?} host {h:?}"));
        }
    }
    // Histograms reach the admin endpoint at the next stats flush (5 s).
    let samples = metrics.get("latency_ms").map(|m| m.samples.clone());
    let (count, sum) = samples.as_ref().map_or((0.0, 0.0), |s| {
        (s.len() as f64, s.iter().sum::<u64>() as f64)
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut e_count, mut e_sum) = (None, None);
    while Instant::now() < deadline {
        let p: Prometheus = envoy.prometheus().expect("admin /stats/prometheus");
        e_count = p.get("latency_ms_count");
        e_sum = p.get("latency_ms_sum");
        if e_count == Some(count) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // Envoy's histogram sum comes from its log-linear buckets: close, not exact.
    let sum_close = e_sum.is_some_and(|s| (s - sum).abs() <= 0.02 * sum.max(1.0));
    if e_count != Some(count) || !sum_close {
        d.push(format!(
            "histogram latency_ms: envoy count {e_count:?} sum {e_sum:?}, host {samples:?}"
        ));
    }
    assert_same(d);
}
