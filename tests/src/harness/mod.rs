//! End-to-end harness: test backends, a real Envoy running the edgepick filter,
//! a raw HTTP client that can speak from many loopback addresses, and admin
//! statistics. Used by `tests/e2e_*.rs` and by `cargo xtask demo`.
//!
//! * [`Backend::spawn`] starts an `edgepick-backend` process on a free port and
//!   waits for it; [`Backend::kill`] / [`Backend::restart`] simulate failures.
//! * [`EnvoyBuilder`] writes a bootstrap ([`bootstrap`]) and starts Envoy;
//!   [`Envoy`] exposes listener and admin addresses, stats and the log.
//! * [`Client`] / [`request_once`] send HTTP/1.1 requests, optionally from a
//!   chosen source address.
//! * [`Stats`] / [`Prometheus`] read the admin statistics; [`promql`] lists the
//!   metric names a dashboard query reads.
//!
//! Paths to the filter and to Envoy come from `EDGEPICK_FILTER_WASM` and
//! `EDGEPICK_ENVOY`, which `cargo xtask test` sets; [`filter_wasm`] and
//! [`envoy_binary`] panic with instructions when they are missing, so a test
//! run without them fails loudly instead of skipping.
//!
//! Every child process is killed and reaped when its handle drops (also when a
//! test panics).

pub mod backends;
pub mod bootstrap;
pub mod capture;
pub mod envoy;
mod envoy_instance;
pub mod http;
pub mod l4;
pub mod native;
pub mod promql;
pub mod stats;

pub use backends::{set_backend_binary, Backend, BackendOptions, BackendStats};
pub use bootstrap::DESTINATION_HEADER;
pub use capture::Capture;
pub use envoy::{Envoy, EnvoyBuilder};
pub use http::{request_once, Client, Response};
pub use stats::{Prometheus, Series, Stats};

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};

pub(crate) fn required_file(var: &str, what: &str) -> PathBuf {
    let Some(p) = std::env::var_os(var) else {
        panic!("{var} is not set: the end-to-end tests need {what}. Run `cargo xtask test`, which builds the filter and sets {var}.")
    };
    let p = PathBuf::from(p);
    assert!(
        p.is_file(),
        "{var}={} does not exist: run `cargo xtask test`, which builds {what}.",
        p.display()
    );
    p
}

/// The filter module (`EDGEPICK_FILTER_WASM`); panics with instructions when unset.
pub fn filter_wasm() -> PathBuf {
    required_file(
        "EDGEPICK_FILTER_WASM",
        "the compiled filter (edgepick_filter.wasm)",
    )
}

/// The Envoy binary (`EDGEPICK_ENVOY`); panics with instructions when unset.
pub fn envoy_binary() -> PathBuf {
    required_file("EDGEPICK_ENVOY", "an Envoy 1.40 binary")
}

/// A loopback TCP port free at the time of the call.
pub fn free_port() -> std::io::Result<u16> {
    // Below the kernel's ephemeral range (32768–60999 here): a port the OS
    // hands out as the source of outgoing connections can be taken, while a
    // killed backend is down, by one of the many connections Envoy opens
    // towards it (even to itself: TCP self-connect), and the restarted backend
    // then cannot serve on it. Each process starts at its own offset.
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let offset = (std::process::id() % u32::from(SPAN)) as u16;
    for _ in 0..SPAN {
        let k = NEXT.fetch_add(1, Ordering::Relaxed) % SPAN;
        let port = FIRST + (offset + k) % SPAN;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrNotAvailable,
        "no free loopback port in 20000-31999",
    ))
}

/// A backend entry for a configuration: `{"name":…,"address":…}` plus `extra`
/// fields (a JSON object's members, e.g. `"weight": 5`).
pub fn backend_json(b: &Backend, extra: &str) -> String {
    let sep = if extra.trim().is_empty() { "" } else { "," };
    format!(
        r#"{{"name":"{}","address":"{}"{sep}{extra}}}"#,
        b.name(),
        b.addr()
    )
}

/// `backend_json` for each backend, joined into a JSON array.
pub fn backends_json(backends: &[Backend]) -> String {
    let items: Vec<String> = backends.iter().map(|b| backend_json(b, "")).collect();
    format!("[{}]", items.join(","))
}
