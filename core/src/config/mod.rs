//! Configuration: one JSON document read by the Envoy filter, the host runner and
//! the browser simulator alike.
//!
//! Reading is two stages, after ripgrep's flags: [`raw`] is what was written
//! (types only, unknown fields rejected; read by `read.rs`), then [`validate`] builds the
//! typed [`Config`], returning a [`ConfigError`] that names the field and the
//! problem. No input makes either stage panic.
//!
//! ```
//! let cfg = edgepick_core::Config::from_json(r#"{
//!   "algorithm": {"name": "rfws"},
//!   "backends": [
//!     {"name": "a", "address": "127.0.0.1:9001", "link": {"bandwidth_mbps": 100, "hops": 2}},
//!     {"name": "b", "address": "127.0.0.1:9002"}
//!   ]
//! }"#).unwrap();
//! assert_eq!(cfg.backends.len(), 2);
//! assert!(edgepick_core::Config::from_json(r#"{"backends": []}"#).is_err());
//! ```

pub mod raw;
mod read;
#[cfg(feature = "serde")]
mod serialize;
mod shapes;
mod validate;
mod validate_algorithm;
mod validate_policy;

use core::fmt;
use std::net::SocketAddr;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Forward the request (`proxy`) or answer with a 302 to the node (`redirect`).
    pub mode: Mode,
    /// The selection algorithm.
    pub algorithm: Algorithm,
    /// Backend nodes, in configuration order (hash algorithms depend on it).
    pub backends: Vec<Backend>,
    /// Health checking and failover.
    pub health: Health,
    /// Sticky session cookie, when enabled.
    pub cookie: Option<Cookie>,
    /// Number of trusted proxies in front of the edge (X-Forwarded-For hops).
    pub trusted_hops: u8,
    /// Fallbacks after the choice in each ranked list (0..=16, default 2).
    pub fallbacks: usize,
    /// Emit `x-edgepick-decision` on responses.
    pub decision_header: bool,
}

/// How the chosen node is reached: the paper's step 7 allows both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward the request to the node.
    Proxy,
    /// Answer `302` with the node's public URL.
    Redirect,
}

/// A backend node.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    /// Unique name, used in cookies, metrics and explanations.
    pub name: String,
    /// `ip:port` the proxy connects to; unique.
    pub address: SocketAddr,
    /// Public base URL for redirect mode (`http://…` or `https://…`, no trailing `/`).
    pub url: Option<String>,
    /// Relative weight (0 drains the node: no new sessions).
    pub weight: u32,
    /// In-flight requests at which the node counts as fully loaded (`V_FS = 1`).
    pub capacity: u32,
    /// The route from the edge to the node.
    pub link: Link,
    /// Out of rotation (nginx `down`): never picked, not even in panic mode,
    /// and its sessions move; hash tables still count it, so no other
    /// client's mapping changes.
    pub down: bool,
}

/// Route metrics used by RFWS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// `B(r)`: the smallest link bandwidth on the route, Mbps (> 0).
    pub bandwidth_mbps: f64,
    /// `h(r)`: hop count (≥ 1).
    pub hops: u32,
    /// `D(r)`: configured delay in ms, until measurements replace it.
    pub delay_ms: f64,
    /// `B_R(r)`: configured residual bandwidth in Mbps, until measurements replace it.
    pub residual_mbps: f64,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            bandwidth_mbps: 1000.0,
            hops: 1,
            delay_ms: 0.0,
            residual_mbps: 1000.0,
        }
    }
}

/// The selection algorithm and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Algorithm {
    /// The paper's request-forwarding web server selection.
    Rfws {
        /// Scores within this relative band of the best count as tied (0..1, default 0.05).
        tie_tolerance: f64,
        /// Nodes with `V_FS` above this receive no new requests (0 < t < 1, default 0.9).
        load_threshold: f64,
    },
    /// nginx's smooth weighted round robin.
    RoundRobin,
    /// Uniform random.
    Random,
    /// Random in proportion to weight.
    WeightedRandom,
    /// Fewest in-flight requests per weight; `choices` = Some(k) samples k (P2C for 2).
    LeastConnections {
        /// None scans every backend; Some(k) samples k with replacement (Envoy least_request).
        choices: Option<u32>,
    },
    /// Peak EWMA latency times pending requests, P2C (Finagle, Linkerd, tower).
    LeastResponseTime {
        /// Decay time constant τ in ms (default 10 000).
        decay_ms: f64,
        /// RTT assumed before the first measurement, ms (default 30).
        default_rtt_ms: f64,
    },
    /// nginx `ip_hash`.
    IpHash,
    /// Consistent hashing on a request key.
    ConsistentHash {
        /// Where the key comes from.
        key: HashKey,
        /// Ring flavour.
        flavour: HashFlavour,
    },
}

impl Algorithm {
    /// Every algorithm name accepted in `algorithm.name`.
    pub const NAMES: [&'static str; 8] = [
        names::RFWS,
        names::ROUND_ROBIN,
        names::RANDOM,
        names::WEIGHTED_RANDOM,
        names::LEAST_CONNECTIONS,
        names::LEAST_RESPONSE_TIME,
        names::IP_HASH,
        names::CONSISTENT_HASH,
    ];

    /// Whether picks read in-flight request counts (so a front end that keeps
    /// them elsewhere must supply them before each pick).
    pub fn uses_inflight(&self) -> bool {
        matches!(
            self,
            Algorithm::Rfws { .. }
                | Algorithm::LeastConnections { .. }
                | Algorithm::LeastResponseTime { .. }
        )
    }

    /// The configuration name of this algorithm.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Rfws { .. } => names::RFWS,
            Algorithm::RoundRobin => names::ROUND_ROBIN,
            Algorithm::Random => names::RANDOM,
            Algorithm::WeightedRandom => names::WEIGHTED_RANDOM,
            Algorithm::LeastConnections { .. } => names::LEAST_CONNECTIONS,
            Algorithm::LeastResponseTime { .. } => names::LEAST_RESPONSE_TIME,
            Algorithm::IpHash => names::IP_HASH,
            Algorithm::ConsistentHash { .. } => names::CONSISTENT_HASH,
        }
    }
}

/// Each algorithm's `algorithm.name`, spelled once: [`Algorithm::NAMES`],
/// [`Algorithm::name`] and the parser use these.
pub mod names {
    /// [`Algorithm::Rfws`](super::Algorithm::Rfws), the default.
    pub const RFWS: &str = "rfws";
    /// [`Algorithm::RoundRobin`](super::Algorithm::RoundRobin).
    pub const ROUND_ROBIN: &str = "round_robin";
    /// [`Algorithm::Random`](super::Algorithm::Random).
    pub const RANDOM: &str = "random";
    /// [`Algorithm::WeightedRandom`](super::Algorithm::WeightedRandom).
    pub const WEIGHTED_RANDOM: &str = "weighted_random";
    /// [`Algorithm::LeastConnections`](super::Algorithm::LeastConnections).
    pub const LEAST_CONNECTIONS: &str = "least_connections";
    /// [`Algorithm::LeastResponseTime`](super::Algorithm::LeastResponseTime).
    pub const LEAST_RESPONSE_TIME: &str = "least_response_time";
    /// [`Algorithm::IpHash`](super::Algorithm::IpHash).
    pub const IP_HASH: &str = "ip_hash";
    /// [`Algorithm::ConsistentHash`](super::Algorithm::ConsistentHash).
    pub const CONSISTENT_HASH: &str = "consistent_hash";
}

/// Source of a consistent-hash key. Written `header:NAME`, `cookie:NAME`, `path`
/// or `client_address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashKey {
    /// A request header (lower-cased name).
    Header(String),
    /// A request cookie.
    Cookie(String),
    /// The request path including the query.
    Path,
    /// The client address (after trusted X-Forwarded-For hops).
    ClientAddress,
}

/// Consistent hash flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFlavour {
    /// nginx `hash … consistent` (ketama, crc32, 160 points per weight).
    Ketama,
    /// Maglev lookup table (Eisenbud et al., NSDI 2016) of a prime size.
    Maglev {
        /// Table size, prime (default 65537).
        table_size: u64,
    },
}

/// Health checking, failover, slow start and panic mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// Active heartbeats, the paper's fault-detection centre.
    pub heartbeat: Option<Heartbeat>,
    /// Passive failures before a node is taken out (nginx `max_fails`; 0 disables).
    pub max_fails: u32,
    /// How long a passively failed node stays out (nginx `fail_timeout`), ms.
    pub fail_timeout_ms: u64,
    /// Linear weight ramp after recovery, ms (0 disables).
    pub slow_start_ms: u64,
    /// Below this healthy fraction every node is eligible (Envoy's panic mode).
    pub panic_threshold: f64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            heartbeat: None,
            max_fails: 1,
            fail_timeout_ms: 10_000,
            slow_start_ms: 0,
            panic_threshold: 0.5,
        }
    }
}

/// Heartbeat fault detection: a node is faulty when fewer than `threshold`
/// heartbeats arrived in the last `window_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    /// Probe period, ms.
    pub interval_ms: u64,
    /// Sliding window, ms.
    pub window_ms: u64,
    /// Heartbeats needed in the window to count as running.
    pub threshold: u32,
    /// HTTP path probed on each backend.
    pub path: String,
    /// Probe timeout, ms.
    pub timeout_ms: u64,
    /// Envoy cluster the probes are sent through.
    pub cluster: String,
}

/// SameSite attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`
    Strict,
    /// `SameSite=Lax`
    Lax,
    /// `SameSite=None` (requires Secure)
    None,
}

/// The signed session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name.
    pub name: String,
    /// HMAC-SHA256 keys, newest first: sign with the first, verify with any.
    pub keys: Vec<Vec<u8>>,
    /// Where the keys came from when not inline: the environment variables
    /// named by `keys_env`, newest first (serialised instead of the keys).
    pub keys_env: Vec<String>,
    /// Lifetime, seconds.
    pub max_age_s: u64,
    /// `Path` attribute.
    pub path: String,
    /// `SameSite` attribute.
    pub same_site: SameSite,
    /// `Secure` attribute.
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub http_only: bool,
    /// Remove the cookie from the request before it goes upstream (HAProxy's
    /// `indirect`): the application never sees the balancer's cookie.
    pub strip: bool,
}

/// A configuration problem: the field (JSON path) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the offending field, e.g. `backends[2].address`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    // Not inlined into the ~50 places that report an error: smaller filter.
    #[inline(never)]
    pub(crate) fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parse and validate a JSON document.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        Self::from_json_bytes(text.as_bytes())
    }

    /// Parse and validate a JSON document given as bytes (UTF-8 checked).
    /// `cookie.keys_env` finds no variable here: see [`Config::from_json_env`].
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Config, ConfigError> {
        Self::from_json_env(bytes, &|_| None)
    }

    /// [`Config::from_json_bytes`], reading the cookie keys named by
    /// `cookie.keys_env` through `env` (the filter passes the VM's
    /// environment: Envoy's `vm_config.environment_variables`).
    pub fn from_json_env(
        bytes: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw = validate::parse_raw(bytes)?;
        validate::validate(raw, env)
    }

    #[cfg(feature = "serde")]
    /// Serialise back to the JSON document format (round-trips through [`Config::from_json`]).
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    #[cfg(feature = "serde")]
    /// Pretty-printed JSON document.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }

    /// Index of the backend with this name.
    pub fn backend_index(&self, name: &str) -> Option<usize> {
        self.backends.iter().position(|b| b.name == name)
    }

    /// Index of the backend with this address.
    pub fn backend_by_address(&self, addr: &SocketAddr) -> Option<usize> {
        self.backends.iter().position(|b| b.address == *addr)
    }
}
