//! # edgepick-filter
//!
//! The Envoy proxy-wasm filter (ABI 0.2.1, `wasm32-wasip1`) that picks each
//! request's backend with [`edgepick_core`] and hands the choice to Envoy's
//! `envoy.load_balancing_policies.override_host` policy.
//!
//! ## What it does per request
//! 1. Pull shared state (below), build a [`edgepick_core::Request`] from the
//!    `Cookie` and `X-Forwarded-For` headers, `:path` and the `source.address`
//!    property, and [`Router::pick`](edgepick_core::Router::pick).
//! 2. **proxy** mode: overwrite `x-gateway-destination-endpoint` with
//!    `Decision::endpoints` (`primary,fallback1,…`; a client-sent value is
//!    always removed). The route's retry policy walks the list. The session
//!    cookie is stripped from the upstream request (HAProxy `indirect`).
//!    **redirect** mode: answer `302` to the node's `url` + path and query.
//! 3. Response headers: the node that served (`upstream.address`) gets the
//!    signed session cookie unless the request's valid cookie already named
//!    it; ORCA `endpoint-load-metrics` / `x-edgepick-load` become the load
//!    sample; `x-edgepick-decision` when `decision_header` is on.
//! 4. End of stream (`on_log`): `response.code` / `response.flags` /
//!    `upstream.address` decide the outcome; every ranked node before the one
//!    that served failed (the retry moved on) and counts a passive failure.
//!
//! ## State across worker threads
//! Envoy runs one VM per worker (`--concurrency N`). Everything that must
//! agree between them lives in shared data (see [`shared`] for formats):
//!
//! * `edgepick.<ns>.inflight.<i>` — decimal in-flight count of backend `i`,
//!   incremented on pick, decremented in `on_log`, each a CAS loop
//!   ([`shared::MAX_CAS_TRIES`] tries; a lost update is logged, never fatal).
//! * `edgepick.<ns>.health` — `E1 <version> <faulty>:<fails>:<checked_ms>:<recovered_ms|->…`:
//!   heartbeat flag `W_F`, nginx passive failures and recovery time (slow
//!   start) per backend. Any worker CAS-updates passive entries; only the
//!   prober writes `W_F`. Readers decode it only when its CAS token changed.
//! * `edgepick.<ns>.probe_lease` — `<worker id hex>,<expiry ms>`: the worker
//!   holding it sends heartbeats; it renews every tick and expires after three
//!   ticks (≥ 1 s), so another worker takes over if its VM goes away.
//!
//! `<ns>` = plugin name (`plugin_name` property) + `.` + CRC-32 of the backend
//! list, so a configuration that renumbers backends starts from fresh keys.
//! Before each pick a worker copies the record and the N counters into its
//! [`Router`](edgepick_core::Router) (`states_mut`); the heartbeat windows stay
//! in the prober's router alone. Latency, throughput and load reports stay
//! per worker.
//!
//! Known races, all benign: two workers creating a key at the same instant
//! (Envoy ignores CAS on creation; keys are created at configure time, before
//! traffic), and a counter that drifts if a VM dies mid-request.
//!
//! ## Heartbeats
//! With `health.heartbeat`, the lease holder sends `GET <path>` every
//! `interval_ms` to each backend through cluster `heartbeat.cluster` with
//! `x-gateway-destination-endpoint: <ip:port>`, so the same `override_host`
//! cluster carries them to the right node. A 2xx answer is a heartbeat; the
//! core's window decides `W_F`.
//!
//! ## Pure pieces
//! [`headers`], [`outcome`], [`shared`], [`sync`], [`plugin`] and [`metrics`]
//! hold the logic and run natively under `cargo test -p edgepick-filter`;
//! [`root`], [`http`] and [`host`] are Envoy I/O.
//!
//! ```
//! use edgepick_filter::headers::strip_cookie;
//! assert_eq!(strip_cookie("a=1; edgepick=v1.x; b=2", "edgepick").as_deref(), Some("a=1; b=2"));
//! ```

pub mod headers;
pub mod host;
pub mod http;
pub mod log;
pub mod metrics;
pub mod outcome;
pub mod plugin;
pub mod root;
pub mod seed;
pub mod shared;
pub mod sync;

#[cfg(target_arch = "wasm32")]
proxy_wasm::main! {{
    proxy_wasm::set_root_context(|context_id| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::EdgepickRoot::new(context_id))
    });
}}
