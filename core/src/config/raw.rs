//! Stage one: the JSON document exactly as written. No validation beyond types;
//! unknown fields are rejected so a typo never silently falls back to a default.
//!
//! `Config::from_json` reads these through the table-driven reader in
//! `config/read.rs` (no serde in the Envoy filter); the `Deserialize` derives
//! stay as its reference, checked against it by `config/read_tests.rs`.

/// The whole configuration document as written.
#[derive(Debug, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawConfig {
    /// Document version; 1 when absent.
    #[cfg_attr(test, serde(default))]
    pub version: Option<u32>,
    /// `proxy` (default) or `redirect`.
    #[cfg_attr(test, serde(default))]
    pub mode: Option<String>,
    /// The selection algorithm and its parameters.
    pub algorithm: Option<RawAlgorithm>,
    /// The backend nodes.
    #[cfg_attr(test, serde(default))]
    pub backends: Vec<RawBackend>,
    /// Health checking.
    #[cfg_attr(test, serde(default))]
    pub health: Option<RawHealth>,
    /// Sticky session cookie; absent means no stickiness.
    #[cfg_attr(test, serde(default))]
    pub cookie: Option<RawCookie>,
    /// Client address settings.
    #[cfg_attr(test, serde(default))]
    pub client: Option<RawClient>,
    /// How many fallbacks follow the choice in the ranked list.
    #[cfg_attr(test, serde(default))]
    pub fallbacks: Option<usize>,
    /// Emit the opt-in `x-edgepick-decision` response header.
    #[cfg_attr(test, serde(default))]
    pub decision_header: Option<bool>,
}

/// `algorithm`: a name plus the parameters that name accepts.
#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawAlgorithm {
    pub name: Option<String>,
    pub tie_tolerance: Option<f64>,
    pub load_threshold: Option<f64>,
    pub choices: Option<u32>,
    pub decay_ms: Option<f64>,
    pub default_rtt_ms: Option<f64>,
    pub key: Option<String>,
    pub flavour: Option<String>,
    pub table_size: Option<u64>,
}

/// One entry of `backends`.
#[derive(Debug, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawBackend {
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
    pub weight: Option<u32>,
    pub capacity: Option<u32>,
    pub link: Option<RawLink>,
    pub down: Option<bool>,
}

/// `backends[i].link`: the route from the edge to the node.
#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawLink {
    pub bandwidth_mbps: Option<f64>,
    pub hops: Option<u32>,
    pub delay_ms: Option<f64>,
    pub residual_mbps: Option<f64>,
}

/// `health`.
#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawHealth {
    pub heartbeat: Option<RawHeartbeat>,
    pub max_fails: Option<u32>,
    pub fail_timeout_ms: Option<u64>,
    pub slow_start_ms: Option<u64>,
    pub panic_threshold: Option<f64>,
}

/// `health.heartbeat`.
#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawHeartbeat {
    pub interval_ms: Option<u64>,
    pub window_ms: Option<u64>,
    pub threshold: Option<u32>,
    pub path: Option<String>,
    pub timeout_ms: Option<u64>,
    pub cluster: Option<String>,
}

/// `cookie`.
#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawCookie {
    pub name: Option<String>,
    pub keys: Option<Vec<String>>,
    pub max_age_s: Option<u64>,
    pub path: Option<String>,
    pub same_site: Option<String>,
    pub secure: Option<bool>,
    pub http_only: Option<bool>,
    pub strip: Option<bool>,
    pub keys_env: Option<Vec<String>>,
}

/// `client`.
#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
#[cfg_attr(test, serde(deny_unknown_fields))]
pub struct RawClient {
    pub trusted_hops: Option<u8>,
}
