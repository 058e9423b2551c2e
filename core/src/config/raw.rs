//! Stage one: the JSON document exactly as written. No validation beyond types;
//! unknown fields are rejected so a typo never silently falls back to a default.
//!
//! Each struct is declared once, below: [`raw_structs!`](super::shapes) makes
//! from it the struct, the table `Config::from_json` reads it by (the
//! table-driven reader in `config/read.rs`; no serde in the Envoy filter) and
//! the mover into the struct. Under `cfg(test)` the same declaration derives
//! serde's `Deserialize`, the reference `config/read_tests.rs` holds the reader to.

use super::shapes::{raw_structs, Section};

raw_structs! {
    /// The whole configuration document as written.
    RawConfig, SHAPE_CONFIG {
        /// Document version; 1 when absent.
        version: Option<u32>,
        /// `proxy` (default) or `redirect`.
        mode: Option<String>,
        /// The selection algorithm and its parameters.
        algorithm: Option<RawAlgorithm>,
        /// The backend nodes.
        backends: Vec<RawBackend>,
        /// Health checking.
        health: Option<RawHealth>,
        /// Sticky session cookie; absent means no stickiness.
        cookie: Option<RawCookie>,
        /// Client address settings.
        client: Option<RawClient>,
        /// How many fallbacks follow the choice in the ranked list.
        fallbacks: Option<usize>,
        /// Emit the opt-in `x-edgepick-decision` response header.
        decision_header: Option<bool>,
        /// The DNS server's section (`edgepick-dns` reads and validates it).
        dns: Option<Section>,
    }

    /// `algorithm`: a name plus the parameters that name accepts.
    RawAlgorithm, SHAPE_ALGORITHM {
        name: Option<String>,
        tie_tolerance: Option<f64>,
        load_threshold: Option<f64>,
        choices: Option<u32>,
        decay_ms: Option<f64>,
        default_rtt_ms: Option<f64>,
        key: Option<String>,
        flavour: Option<String>,
        table_size: Option<u64>,
    }

    /// One entry of `backends`.
    RawBackend, SHAPE_BACKEND {
        name: Option<String>,
        address: Option<String>,
        url: Option<String>,
        weight: Option<u32>,
        capacity: Option<u32>,
        link: Option<RawLink>,
        down: Option<bool>,
    }

    /// `backends[i].link`: the route from the edge to the node.
    RawLink, SHAPE_LINK {
        bandwidth_mbps: Option<f64>,
        hops: Option<u32>,
        delay_ms: Option<f64>,
        residual_mbps: Option<f64>,
    }

    /// `health`.
    RawHealth, SHAPE_HEALTH {
        heartbeat: Option<RawHeartbeat>,
        max_fails: Option<u32>,
        fail_timeout_ms: Option<u64>,
        slow_start_ms: Option<u64>,
        panic_threshold: Option<f64>,
    }

    /// `health.heartbeat`.
    RawHeartbeat, SHAPE_HEARTBEAT {
        interval_ms: Option<u64>,
        window_ms: Option<u64>,
        threshold: Option<u32>,
        path: Option<String>,
        timeout_ms: Option<u64>,
        cluster: Option<String>,
    }

    /// `cookie`.
    RawCookie, SHAPE_COOKIE {
        name: Option<String>,
        keys: Option<Vec<String>>,
        max_age_s: Option<u64>,
        path: Option<String>,
        same_site: Option<String>,
        secure: Option<bool>,
        http_only: Option<bool>,
        strip: Option<bool>,
        keys_env: Option<Vec<String>>,
    }

    /// `client`.
    RawClient, SHAPE_CLIENT {
        trusted_hops: Option<u8>,
    }
}
