//! The test backend behind `edgepick-backend`: a small HTTP/1.1 server
//! ([`crate::http_server`]: keep-alive, a thread per connection so a slow
//! request never blocks others) that names itself in every response and can be
//! told to misbehave.
//!
//! Every response carries
//! * `x-served-by: NAME` and a body starting `served-by NAME`;
//! * `endpoint-load-metrics: TEXT cpu_utilization:<u>` (ORCA TEXT), where `u` is
//!   the configured load or in-flight / capacity;
//! * `x-received-destination: <value>` echoing the request's
//!   `x-gateway-destination-endpoint` (or `-` when absent), so tests can check
//!   the ranked list the filter wrote.
//!
//! Control requests (answered at once, never slowed or failed):
//! `/__ctl/slow?ms=N`, `/__ctl/fail?status=503` (`0` clears),
//! `/__ctl/load?value=0.8` (`auto` clears), `/__ctl/exit`, and
//! `/__ctl/stats` → `{"name":…,"inflight":…,"served":…}`.
//! `GET /health` always answers 200 at once.

use crate::http_server::{serve, After, Request, Response};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Command-line options of `edgepick-backend`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "edgepick-backend",
    about = "Test backend for edgepick's end-to-end tests"
)]
pub struct Options {
    /// Listen address, e.g. 127.0.0.1:18101.
    #[arg(long)]
    pub addr: SocketAddr,
    /// Name reported in `x-served-by` and the body.
    #[arg(long)]
    pub name: String,
    /// Delay before each (non-control) response, ms.
    #[arg(long, default_value_t = 0)]
    pub delay_ms: u64,
    /// Answer every (non-control, non-health) request with this status (0 = normal).
    #[arg(long, default_value_t = 0)]
    pub fail_status: u16,
    /// Report this fixed load (0..1) instead of in-flight / capacity.
    #[arg(long)]
    pub load: Option<f64>,
    /// In-flight requests that count as full load.
    #[arg(long, default_value_t = 100)]
    pub capacity: u32,
}

/// Live, adjustable behaviour shared by the worker threads.
#[derive(Debug)]
struct State {
    name: String,
    capacity: u32,
    delay_ms: AtomicU64,
    fail_status: AtomicU16,
    /// Fixed load × 1e6, or `u64::MAX` for "in-flight / capacity".
    load_micro: AtomicU64,
    inflight: AtomicUsize,
    served: AtomicU64,
}

const AUTO_LOAD: u64 = u64::MAX;

fn load_micro(v: Option<f64>) -> u64 {
    v.filter(|v| v.is_finite())
        .map_or(AUTO_LOAD, |v| (v.clamp(0.0, 1.0) * 1e6) as u64)
}

/// Serve until `/__ctl/exit` or the process is killed.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(opts.addr).map_err(|e| anyhow::anyhow!("bind {}: {e}", opts.addr))?;
    let state = Arc::new(State {
        name: opts.name.clone(),
        capacity: opts.capacity.max(1),
        delay_ms: AtomicU64::new(opts.delay_ms),
        fail_status: AtomicU16::new(opts.fail_status),
        load_micro: AtomicU64::new(load_micro(opts.load)),
        inflight: AtomicUsize::new(0),
        served: AtomicU64::new(0),
    });
    serve(listener, Arc::new(move |req: &Request| handle(&state, req)))?;
    Ok(())
}

fn query_param<'a>(url: &'a str, key: &str) -> Option<&'a str> {
    let (_, q) = url.split_once('?')?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then_some(v)
    })
}

fn handle(state: &State, req: &Request) -> (Response, After) {
    let url = req.url.as_str();
    let path = url.split('?').next().unwrap_or("");
    if let Some(cmd) = path.strip_prefix("/__ctl/") {
        return control(state, cmd, url);
    }
    if path == "/health" {
        let ok = Response::plain(200, "ok\n").with("x-served-by", &state.name);
        return (ok, After::Continue);
    }
    let inflight = state.inflight.fetch_add(1, Ordering::SeqCst) + 1;
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let fixed = state.load_micro.load(Ordering::SeqCst);
    let load = if fixed == AUTO_LOAD {
        inflight as f64 / f64::from(state.capacity)
    } else {
        fixed as f64 / 1e6
    };
    let received = req
        .header("x-gateway-destination-endpoint")
        .unwrap_or("-")
        .to_string();
    let fail = state.fail_status.load(Ordering::SeqCst);
    let status = if fail == 0 { 200 } else { fail };
    let body = format!("served-by {} status={status} path={url}\n", state.name);
    let resp = Response::plain(status, body)
        .with("x-served-by", &state.name)
        .with(
            "endpoint-load-metrics",
            format!("TEXT cpu_utilization:{load:.4}"),
        )
        .with("x-received-destination", received);
    state.served.fetch_add(1, Ordering::SeqCst);
    state.inflight.fetch_sub(1, Ordering::SeqCst);
    (resp, After::Continue)
}

fn control(state: &State, cmd: &str, url: &str) -> (Response, After) {
    let mut exit = false;
    let reply = match cmd {
        "slow" => match query_param(url, "ms").and_then(|v| v.parse().ok()) {
            Some(ms) => {
                state.delay_ms.store(ms, Ordering::SeqCst);
                Ok(format!("delay_ms={ms}"))
            }
            None => Err("expected ?ms=N"),
        },
        "fail" => match query_param(url, "status").and_then(|v| v.parse::<u16>().ok()) {
            Some(s) if s == 0 || (100..=599).contains(&s) => {
                state.fail_status.store(s, Ordering::SeqCst);
                Ok(format!("fail_status={s}"))
            }
            _ => Err("expected ?status=0 or 100..599"),
        },
        "load" => match query_param(url, "value") {
            Some("auto") => {
                state.load_micro.store(AUTO_LOAD, Ordering::SeqCst);
                Ok("load=auto".to_string())
            }
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => {
                    state
                        .load_micro
                        .store(load_micro(Some(x)), Ordering::SeqCst);
                    Ok(format!("load={x}"))
                }
                _ => Err("expected ?value=0..1 or auto"),
            },
            None => Err("expected ?value=0..1 or auto"),
        },
        "stats" => Ok(format!(
            "{{\"name\":{},\"inflight\":{},\"served\":{}}}",
            serde_json::Value::from(state.name.as_str()),
            state.inflight.load(Ordering::SeqCst),
            state.served.load(Ordering::SeqCst)
        )),
        "exit" => {
            exit = true;
            Ok("bye".to_string())
        }
        _ => Err("unknown control command"),
    };
    let resp = match reply {
        Ok(text) => Response::plain(200, text + "\n"),
        Err(why) => Response::plain(400, format!("{why}\n")),
    };
    let after = if exit { After::Exit } else { After::Continue };
    (resp.with("x-served-by", &state.name), after)
}
