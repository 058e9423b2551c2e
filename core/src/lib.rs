//! # edgepick-core
//!
//! Portable backend selection for edge routing: the RFWS algorithm (request-
//! forwarding web server selection, from Hu & Shi, "E-Commerce System Based on
//! Distributed Load Balancing") and the classics — nginx's smooth weighted round
//! robin and `ip_hash`, ketama and maglev consistent hashing, random, weighted
//! random, least connections and peak-EWMA least response time — with signed
//! sticky cookies, heartbeat and passive fault detection, slow start and panic
//! mode.
//!
//! The crate knows nothing of Envoy, browsers or wasmtime: time (`now_ms`) and
//! randomness ([`Rng`]) are inputs, so the same inputs give the same decision on
//! every target. It builds for the host, `wasm32-wasip1` and
//! `wasm32-unknown-unknown`.
//!
//! ```
//! use edgepick_core::{Config, Router, Request, SplitMix64};
//! let cfg = Config::from_json(r#"{
//!   "algorithm": {"name": "round_robin"},
//!   "backends": [
//!     {"name": "a", "address": "127.0.0.1:9001", "weight": 5},
//!     {"name": "b", "address": "127.0.0.1:9002"},
//!     {"name": "c", "address": "127.0.0.1:9003"}
//!   ]
//! }"#).unwrap();
//! let mut router = Router::new(cfg);
//! let mut rng = SplitMix64::new(1);
//! let mut picks = Vec::new();
//! for _ in 0..7 {
//!     let ticket = router.pick(&Request::default(), 0, &mut rng);
//!     picks.push(router.config().backends[ticket.ranked()[0]].name.clone());
//!     router.abandon(ticket); // or router.finish(ticket, served, outcome, now_ms)
//! }
//! assert_eq!(picks, ["a", "a", "b", "a", "c", "a", "a"]); // nginx's sequence
//! ```

pub mod backend;
pub mod client;
pub mod config;
pub mod cookie;
pub mod cookie_memo;
pub mod decision;
mod float;
pub mod hash;
pub mod health;
mod json;
pub mod load_report;
pub mod rng;
pub mod router;
pub mod select;
pub mod ticket;
#[cfg(feature = "serde")]
pub mod vectors;

pub use backend::BackendState;
pub use config::{Algorithm, Config, ConfigError, Mode};
pub use cookie::{CookieVerdict, Rejection};
pub use decision::{Decision, Reason, TieBreak};
pub use rng::{Rng, SplitMix64};
pub use router::{Outcome, Request, Router};
pub use select::{Candidates, Key, Selection, Selector};
pub use ticket::{Attribution, Ticket};
