//! The scenario a simulation runs: client groups, the edge node, web server
//! nodes, the links between them, the load-balancing method, the algorithm and
//! scheduled faults. It is one JSON document (the browser page edits it and
//! shares it in the URL; checked by [`Topology::validate`]) and maps onto the
//! core [`Config`](edgepick_core::Config) the Envoy filter reads
//! ([`Topology::to_config`] and [`Topology::export`] in `export.rs`, [`Topology::import`] in `import.rs`).

use edgepick_core::config::names;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How clients reach the chosen node (seed 001: redirect, DNS, reverse proxy, LVS NAT / DR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// L7 reverse proxy: every request and response passes the edge; it retries and reads cookies.
    #[default]
    Proxy,
    /// HTTP 302: the first request goes to the edge; afterwards the client talks to the node directly.
    Redirect,
    /// DNS: the edge answers name lookups; clients cache the answer for the TTL.
    Dns,
    /// L4 NAT (LVS-NAT): requests and responses pass the edge; its bandwidth is the bottleneck.
    Nat,
    /// L4 direct routing (LVS-DR): requests pass the edge, responses go straight to the client.
    Dr,
}

impl Method {
    /// The edge sees every response (and so measures latency, and can retry when L7).
    pub fn responses_via_edge(self) -> bool {
        matches!(self, Method::Proxy | Method::Nat)
    }

    /// Requests go through the edge (not cached by the client).
    pub fn requests_via_edge(self) -> bool {
        matches!(self, Method::Proxy | Method::Nat | Method::Dr)
    }

    /// The edge reads HTTP (cookies) when it picks.
    pub fn is_l7(self) -> bool {
        matches!(self, Method::Proxy | Method::Redirect)
    }
}

/// One network link: bandwidth, propagation delay, hop count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkSpec {
    /// Bandwidth, Mbps (> 0).
    pub bandwidth_mbps: f64,
    /// One-way delay, ms.
    pub delay_ms: f64,
    /// Hop count `h(r)` (RFWS's `V_net = B / h`).
    pub hops: u32,
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec {
            bandwidth_mbps: 1000.0,
            delay_ms: 2.0,
            hops: 1,
        }
    }
}

/// A population of clients behind one access link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientGroup {
    /// Display name.
    pub name: String,
    /// Canvas position (page only).
    pub x: f64,
    /// Canvas position (page only).
    pub y: f64,
    /// Poisson request rate of the whole group, requests per second.
    pub rate: f64,
    /// Distinct clients (addresses) in the group.
    pub clients: u32,
    /// Fraction of clients that keep cookies (sessions), in `[0, 1]`.
    pub session_share: f64,
    /// Request size, KB.
    pub request_kb: f64,
    /// Response size, KB.
    pub response_kb: f64,
    /// Each client's access link to the edge (not shared between clients).
    pub link: LinkSpec,
}

impl Default for ClientGroup {
    fn default() -> Self {
        ClientGroup {
            name: "clients".into(),
            x: 80.0,
            y: 200.0,
            rate: 200.0,
            clients: 500,
            session_share: 0.5,
            request_kb: 1.0,
            response_kb: 20.0,
            link: LinkSpec {
                bandwidth_mbps: 50.0,
                delay_ms: 10.0,
                hops: 1,
            },
        }
    }
}

/// A web server node and its link from the edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    /// Name (also the backend name in the exported configuration).
    pub name: String,
    /// Canvas position (page only).
    pub x: f64,
    /// Canvas position (page only).
    pub y: f64,
    /// Performance: requests per second the node serves with all workers busy.
    pub rate: f64,
    /// Requests served in parallel.
    pub workers: u32,
    /// Waiting room; a request arriving to a full queue is dropped (503).
    pub queue: u32,
    /// Configured weight (weighted algorithms).
    pub weight: u32,
    /// The route from the edge to the node (shared by all its traffic).
    pub link: LinkSpec,
    /// `ip:port` the filter connects to (exported as written; none: the
    /// export writes a placeholder and says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Public URL for redirect mode (exported as written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// In-flight requests at which the node counts as full (`V_FS = 1`);
    /// none: workers + queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Configured residual bandwidth `B_R`, Mbps; none: the link's bandwidth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residual_mbps: Option<f64>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            name: "ws".into(),
            x: 600.0,
            y: 200.0,
            rate: 500.0,
            workers: 8,
            queue: 64,
            weight: 1,
            link: LinkSpec::default(),
            address: None,
            url: None,
            capacity: None,
            residual_mbps: None,
        }
    }
}

/// The edge node (the paper's forwarding server / scheduler).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Edge {
    /// Display name.
    pub name: String,
    /// Canvas position (page only).
    pub x: f64,
    /// Canvas position (page only).
    pub y: f64,
    /// The edge's network bandwidth per direction, Mbps (the NAT bottleneck).
    pub bandwidth_mbps: f64,
    /// Processing per request as an L7 proxy, ms.
    pub l7_overhead_ms: f64,
    /// Processing per packet flow as an L4 balancer, ms.
    pub l4_overhead_ms: f64,
    /// Retries after a failure (L7 proxy only).
    pub retries: u32,
    /// Time to give up on a node that does not answer, ms.
    pub connect_timeout_ms: f64,
}

impl Default for Edge {
    fn default() -> Self {
        Edge {
            name: "edge".into(),
            x: 330.0,
            y: 200.0,
            bandwidth_mbps: 1000.0,
            l7_overhead_ms: 0.3,
            l4_overhead_ms: 0.02,
            retries: 1,
            connect_timeout_ms: 500.0,
        }
    }
}

/// Fault detection: heartbeats (the paper's status component) and passive checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthParams {
    /// Heartbeat period, ms.
    pub interval_ms: u64,
    /// Counting window, ms.
    pub window_ms: u64,
    /// Heartbeats needed in the window.
    pub threshold: u32,
    /// Passive failures before a node is taken out (0 disables).
    pub max_fails: u32,
    /// How long a passively failed node stays out, ms.
    pub fail_timeout_ms: u64,
    /// Below this healthy fraction every node is eligible (panic mode).
    pub panic_threshold: f64,
    /// Slow start after recovery, ms (none: the core's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_start_ms: Option<u64>,
}

impl Default for HealthParams {
    fn default() -> Self {
        HealthParams {
            interval_ms: 200,
            window_ms: 600,
            threshold: 2,
            max_fails: 5,
            fail_timeout_ms: 2000,
            panic_threshold: 0.3,
            slow_start_ms: None,
        }
    }
}

/// A fault or repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// The node stops: queued and running requests fail, heartbeats stop.
    Kill,
    /// The node comes back.
    Revive,
    /// The node's link: bandwidth divided and delay multiplied by `factor`.
    Degrade,
    /// The node's link back to normal.
    Restore,
    /// The node's service rate divided by `factor` (background load).
    Overload,
    /// The node's service rate back to normal.
    Relieve,
}

/// A fault at a given time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledFault {
    /// When, ms of simulated time.
    pub at_ms: u64,
    /// What happens.
    pub action: FaultAction,
    /// The server's name.
    pub target: String,
    /// Strength for degrade/overload (≥ 1).
    #[serde(default = "two")]
    pub factor: f64,
}

fn two() -> f64 {
    2.0
}

/// The whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Topology {
    /// Seed of every random draw.
    pub seed: u64,
    /// Load-balancing method.
    pub method: Method,
    /// DNS answer lifetime, ms (method `dns`).
    pub dns_ttl_ms: u64,
    /// The core `algorithm` object, e.g. `{"name": "rfws"}`.
    pub algorithm: Value,
    /// Sticky sessions by signed cookie (L7 methods only).
    pub sticky: bool,
    /// Fault detection.
    pub health: HealthParams,
    /// Metrics bucket width, ms.
    pub bucket_ms: u64,
    /// The edge node.
    pub edge: Edge,
    /// Client groups.
    pub clients: Vec<ClientGroup>,
    /// Web server nodes.
    pub servers: Vec<Server>,
    /// Faults at given times.
    pub faults: Vec<ScheduledFault>,
    /// The session cookie object as the core writes it (`name`, `keys`,
    /// `max_age_s`, `path`, …); none: name `edgepick`, max-age 3600. Without
    /// `keys` the simulation signs with [`SIM_COOKIE_KEY`] and each export
    /// writes a fresh random key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<Value>,
    /// Fallbacks after the choice in each ranked list (none: the core's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallbacks: Option<usize>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            seed: 1,
            method: Method::Proxy,
            dns_ttl_ms: 5000,
            algorithm: json!({"name": names::RFWS}),
            sticky: false,
            health: HealthParams::default(),
            bucket_ms: 500,
            edge: Edge::default(),
            clients: vec![ClientGroup::default()],
            servers: vec![Server::default()],
            faults: Vec::new(),
            cookie: None,
            fallbacks: None,
        }
    }
}

/// Signing key used for the simulated session cookie.
pub const SIM_COOKIE_KEY: &str = "edgepick-simulator-demo-key";
