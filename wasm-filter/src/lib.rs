//! # edgepick-filter
//!
//! The Envoy proxy-wasm filter (ABI 0.2.1, `wasm32-wasip1`) that picks each
//! request's backend with [`edgepick_core`] and hands the choice to Envoy's
//! `envoy.load_balancing_policies.override_host` policy.
//!
//! ## What it does per request
//! 1. Pull shared state (below), build a [`edgepick_core::Request`] from the
//!    `Cookie` and `X-Forwarded-For` headers, `:path` and the `source.address`
//!    property, and [`Router::pick`](edgepick_core::Router::pick): the
//!    request's [`Ticket`](edgepick_core::Ticket) holds the decision, the
//!    cookie verdict, the start time and an in-flight count until `on_log`
//!    closes it (or the context is dropped).
//! 2. **proxy** mode: overwrite `x-gateway-destination-endpoint` with
//!    `Decision::endpoints` (`primary,fallback1,…`; a client-sent value is
//!    always removed). The route's retry policy walks the list. The session
//!    cookie is stripped from the upstream request (HAProxy `indirect`).
//!    **redirect** mode: answer `302` to the node's `url` + path and query.
//! 3. Response headers: the ticket says which session cookie to set for the
//!    node that served (`upstream.address`): none when the request's valid
//!    cookie already named it under the newest key, none on a 5xx; ORCA `endpoint-load-metrics` / `x-edgepick-load` become the load
//!    sample; `x-edgepick-decision` when `decision_header` is on.
//! 4. End of stream (`on_log`): the response's `:status` (or, after a reset
//!    or local reply, `response.code` / `response.flags`) and
//!    `upstream.address` decide the outcome, and
//!    [`Router::finish`](edgepick_core::Router::finish) accounts it: every
//!    ranked node before the one that served failed (the retry moved on) and
//!    counts a passive failure, mirrored into the shared health record.
//!
//! ## State across worker threads
//! Envoy runs one VM per worker (`--concurrency N`). Each worker keeps its
//! own exact state and syncs with the others on its tick, every
//! [`sync::SYNC_MS`] (100 ms) at most — never on the request path, which
//! makes no shared-data or stat call for it (see [`sync`]). The bound: a
//! pick uses the worker's own exact in-flight counts plus the other
//! workers' as of at most one sync period ago, and a node any worker found
//! faulty is avoided by every worker within one sync period (the worker that
//! saw the failure acts on it at once). What they share ([`shared`] for formats):
//!
//! * `edgepick.inflight.<backend>` — a stat gauge, one process-wide atomic:
//!   each worker adds the change of its own count on every sync; algorithms
//!   that weigh load (rfws, least connections, least response time) read
//!   every gauge then.
//! * `edgepick.<ns>.health` (shared data) —
//!   `E1 <version> <faulty>:<fails>:<checked_ms>:<recovered_ms|->…`:
//!   heartbeat flag `W_F`, nginx passive failures and recovery time (slow
//!   start) per backend. Any worker CAS-updates passive entries; only the
//!   prober writes `W_F`. After a write the writer bumps the counter
//!   `edgepick.health_writes.<plugin>`; a worker re-reads the record on its
//!   sync only when that counter moved.
//! * `edgepick.<ns>.probe_lease` (shared data) — `<worker id hex>,<expiry ms>`:
//!   the worker holding it sends heartbeats; it renews every tick and expires
//!   after three ticks (≥ 1 s), so another worker takes over if its VM goes
//!   away.
//!
//! `<ns>` = plugin name (`plugin_name` property) + `.` + CRC-32 of the backend
//! list, so a configuration that renumbers backends starts from a fresh
//! record. Latency, throughput and load reports stay per worker.
//!
//! Known races, all benign: two workers creating the record at the same
//! instant (Envoy ignores CAS on creation; it is created at configure time,
//! before traffic), a pick that runs between another worker's record write
//! and its counter bump (it sees the write on its next sync), and a gauge
//! that stays high if a VM dies with requests open.
//!
//! ## Heartbeats
//! With `health.heartbeat`, the lease holder sends `GET <path>` every
//! `interval_ms` to each backend through cluster `heartbeat.cluster` with
//! `x-gateway-destination-endpoint: <ip:port>`, so the same `override_host`
//! cluster carries them to the right node. A 2xx answer is a heartbeat; the
//! core's window decides `W_F`.
//!
//! ## Pure pieces
//! [`cookies`], [`headers`], [`outcome`], [`shared`], [`sync`], [`plugin`] and [`metrics`]
//! hold the logic and run natively under `cargo test -p edgepick-filter`;
//! [`root`], [`worker`], [`http`] and [`host`] are Envoy I/O.
//!
//! ```
//! use edgepick_filter::cookies::strip_cookie;
//! assert_eq!(strip_cookie(b"a=1; edgepick=v1.x; b=2", "edgepick").unwrap(), b"a=1; b=2");
//! ```

pub mod cookies;
pub mod headers;
pub mod host;
pub mod http;
pub mod log;
pub mod metrics;
pub mod needs;
pub mod outcome;
pub mod plugin;
pub mod reports;
pub mod root;
pub mod seed;
pub mod shared;
pub mod sync;
pub mod worker;

#[cfg(target_arch = "wasm32")]
proxy_wasm::main! {{
    proxy_wasm::set_root_context(|context_id| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::EdgepickRoot::new(context_id))
    });
}}
