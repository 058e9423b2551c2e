//! What the fidelity tests share: the guests (Rust crates of
//! `host-runner/guests/`, hand-written text modules of `host-runner/guests/wat/`),
//! an echo upstream, and what a client observes on each side.
#![allow(dead_code)]

pub mod grpc_server;

use edgepick_host::{BackendResponse, Exchange, Host, HostConfig, Request, Vm};
use edgepick_tests::harness::{self, Envoy, EnvoyBuilder};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

// ---------------------------------------------------------------- guests

/// Builds guest `name` of `host-runner/guests/` for `wasm32-wasip1` (once per
/// test process) and returns its `.wasm`.
pub fn guest(name: &str) -> PathBuf {
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

/// Assembles hand-written text module `host-runner/guests/wat/<name>.wat`
/// (with `prelude.wat` spliced in where it says `;; PRELUDE`) and writes the
/// binary where Envoy can load it; returns its path.
pub fn wat_guest(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-runner/guests/wat");
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("reading {f}: {e}"))
    };
    let text = read(&format!("{name}.wat"));
    assert!(
        text.contains(";; PRELUDE"),
        "{name}.wat has no `;; PRELUDE` marker"
    );
    let text = text.replacen(";; PRELUDE", &read("prelude.wat"), 1);
    let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("assembling {name}.wat: {e}"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wat");
    std::fs::create_dir_all(&out).expect("creating the module directory");
    let path = out.join(format!("{name}.wasm"));
    std::fs::write(&path, wasm).expect("writing the module");
    path
}

// ---------------------------------------------------------------- echo upstream

pub const SERVED_BY: &str = "echo";

/// The upstream of both sides. `/check` is the callout target: 403 `no` when
/// `x-for: /deny-auth`, else 200 `auth-ok`. `/echo-body`: the request body.
/// Anything else: 200 with the
/// request's headers as a JSON array of `[name, value]` (names lower-case).
pub struct Echo {
    /// Where it listens.
    pub addr: SocketAddr,
}

/// What the echo upstream answers; `/echo-body` returns the request body.
pub fn echo_answer(path: &str, headers: &[(String, String)], body: &[u8]) -> (u16, Vec<u8>) {
    if path.split('?').next() == Some("/echo-body") {
        return (200, body.to_vec());
    }
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
    pub fn start() -> Echo {
        let server = tiny_http::Server::http((Ipv4Addr::LOCALHOST, 0)).expect("bind echo server");
        let addr = server
            .server_addr()
            .to_ip()
            .expect("echo server has an IP address");
        std::thread::spawn(move || {
            for mut req in server.incoming_requests() {
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
                let mut received = Vec::new();
                let _ = std::io::Read::read_to_end(req.as_reader(), &mut received);
                let (status, body) = echo_answer(req.url(), &headers, &received);
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
    pub fn simulate(&self, forwarded: &[(String, String)]) -> BackendResponse {
        self.simulate_with_body(forwarded, &[])
    }

    /// What the echo server answers to `forwarded` headers and `body`.
    pub fn simulate_with_body(
        &self,
        forwarded: &[(String, String)],
        body: &[u8],
    ) -> BackendResponse {
        let path = forwarded
            .iter()
            .find(|(k, _)| k == ":path")
            .map_or("/", |(_, v)| v.as_str());
        let plain: Vec<(String, String)> = forwarded
            .iter()
            .filter(|(k, _)| !k.starts_with(':'))
            .cloned()
            .collect();
        let (status, body) = echo_answer(path, &plain, body);
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
pub struct Observed {
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    /// Body of a local response (the echo body is parsed into `upstream`).
    pub local_body: Option<String>,
    /// Request headers the echo server received (`None`: no upstream request).
    pub upstream: Option<Vec<(String, String)>>,
}

impl Observed {
    pub fn from_envoy(r: &harness::Response) -> Observed {
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

    pub fn from_host(ex: &Exchange) -> Observed {
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

    pub fn response(&self, name: &str) -> Vec<String> {
        values(&self.response_headers, name)
    }

    pub fn upstream(&self, name: &str) -> Vec<String> {
        self.upstream
            .as_deref()
            .map(|h| values(h, name))
            .unwrap_or_default()
    }
}

pub fn values(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Compares the named response and upstream request headers, the status and
/// the local-response body; returns the differences.
pub fn differences(
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

pub fn assert_same(d: Vec<String>) {
    assert!(
        d.is_empty(),
        "the host runner and Envoy disagree:\n{}",
        d.join("\n")
    );
}

/// Envoy running guest `wasm` with `config`; the cluster holds the echo server.
pub fn envoy(wasm: &Path, config: &str, echo: &Echo, concurrency: u32) -> Envoy {
    EnvoyBuilder::new(wasm, config)
        .endpoints(&[echo.addr])
        .concurrency(concurrency)
        .num_retries(0)
        .start()
        .expect("envoy starts")
}

/// The request the host runs for a client request to `envoy`'s listener.
pub fn host_request(
    envoy: &Envoy,
    path: &str,
    client: IpAddr,
    headers: &[(&str, &str)],
) -> Request {
    let mut r = Request::get(path).client(&SocketAddr::new(client, 40000).to_string());
    r.authority = envoy.listener(0).to_string();
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r
}

pub fn host_run(vm: &mut Vm, echo: &Echo, req: &Request) -> Observed {
    let ex = vm
        .run_http(req, |fwd| Some(echo.simulate(fwd)))
        .expect("the request runs in the host");
    Observed::from_host(&ex)
}

pub fn host_for(wasm: &Path, config: HostConfig) -> Host {
    let filter = edgepick_host::Filter::from_file(wasm).expect("the guest compiles in the host");
    Host::new(filter, config)
}

pub fn ip_of(addr: &str) -> String {
    addr.parse::<SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| addr.to_string())
}
