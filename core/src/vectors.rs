//! Golden vectors: cases of (configuration, backend state, requests) → expected
//! ranked picks, stored in `tests/golden/vectors.json` and replayed natively, in
//! the browser package and through the compiled filter in the host runner, so
//! every target is held to the same decisions.
//!
//! [`replay`] is the one reference implementation of a case; front ends that
//! cannot call it (the filter inside a proxy-wasm host) replay the
//! [`Case::deterministic`] cases through their own path and compare.

use crate::backend::LoadSample;
use crate::config::Config;
use crate::rng::SplitMix64;
use crate::router::{Request, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Format version of the vectors file.
pub const VERSION: u32 = 1;

/// The whole vectors file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorFile {
    /// Always [`VERSION`].
    pub version: u32,
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case: a router built from `config`, put in `state`, fed `requests` in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// The configuration document.
    pub config: serde_json::Value,
    /// Seed of the SplitMix64 random source.
    pub seed: u64,
    /// Time of every pick, Unix ms.
    pub now_ms: u64,
    /// True when the decisions do not depend on randomness and the state is
    /// empty, so a front end with its own random source must reproduce them.
    pub deterministic: bool,
    /// Backend state applied before the first request.
    #[serde(default)]
    pub state: Vec<StateEntry>,
    /// Requests, in order (one router serves them all).
    pub requests: Vec<VectorRequest>,
    /// Expected ranked backend names, one list per request.
    pub expected: Vec<Vec<String>>,
}

/// State of one backend at the start of a case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StateEntry {
    /// Backend name.
    pub backend: String,
    /// Fault flag `W_F`.
    pub faulty: bool,
    /// In-flight requests.
    pub inflight: u32,
    /// Reported utilisation.
    pub load: Option<f64>,
    /// Measured latency, ms.
    pub latency_ms: Option<f64>,
}

/// One request of a case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VectorRequest {
    /// Connection peer address.
    pub peer: Option<String>,
    /// `X-Forwarded-For` value.
    pub xff: Option<String>,
    /// `Cookie` header value.
    pub cookie: Option<String>,
    /// Path and query (`/` when empty).
    pub path: String,
    /// Other request headers (lower-case names).
    pub headers: BTreeMap<String, String>,
}

/// A case that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorError(pub String);

impl core::fmt::Display for VectorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VectorError {}

/// One malformed configuration of `tests/golden/bad_configs.json`, the list
/// the host-runner and real-Envoy tests both refuse.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BadConfig {
    /// The document; `{B}` stands for a valid backend list.
    pub config: String,
    /// The field its error must name.
    pub field: String,
}

#[derive(Deserialize)]
struct BadConfigFile {
    cases: Vec<BadConfig>,
}

/// Parse `bad_configs.json`.
pub fn parse_bad_configs(text: &str) -> Result<Vec<BadConfig>, VectorError> {
    serde_json::from_str::<BadConfigFile>(text)
        .map(|f| f.cases)
        .map_err(|e| VectorError(format!("bad configs: {e}")))
}

/// Parse a vectors file.
pub fn parse(text: &str) -> Result<VectorFile, VectorError> {
    let file: VectorFile =
        serde_json::from_str(text).map_err(|e| VectorError(format!("vectors: {e}")))?;
    if file.version != VERSION {
        return Err(VectorError(format!(
            "vectors: version {} is not {VERSION}",
            file.version
        )));
    }
    Ok(file)
}

/// Build the router a case starts from.
pub fn router_for(case: &Case) -> Result<Router, VectorError> {
    let cfg = Config::from_json(&case.config.to_string())
        .map_err(|e| VectorError(format!("{}: config: {e}", case.name)))?;
    let mut router = Router::new(cfg);
    for s in &case.state {
        let i = router.config().backend_index(&s.backend).ok_or_else(|| {
            VectorError(format!(
                "{}: state names unknown backend {:?}",
                case.name, s.backend
            ))
        })?;
        let st = &mut router.states_mut()[i];
        st.health.faulty = s.faulty;
        st.inflight = s.inflight;
        st.load = s.load.map(|u| LoadSample {
            utilization: u,
            at_ms: case.now_ms,
        });
        if let Some(ms) = s.latency_ms {
            st.latency.cost_ms = Some(ms);
            st.latency.updated_ms = case.now_ms;
        }
    }
    Ok(router)
}

/// Replay a case with the core: the ranked backend names for each request.
pub fn replay(case: &Case) -> Result<Vec<Vec<String>>, VectorError> {
    let mut router = router_for(case)?;
    let mut rng = SplitMix64::new(case.seed);
    let mut out = Vec::with_capacity(case.requests.len());
    for r in &case.requests {
        let peer: Option<IpAddr> = match &r.peer {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| VectorError(format!("{}: bad peer {p:?}", case.name)))?,
            ),
            None => None,
        };
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let path = if r.path.is_empty() {
            "/"
        } else {
            r.path.as_str()
        };
        let req = Request {
            peer,
            forwarded_for: r.xff.as_deref(),
            cookie: r.cookie.as_deref(),
            path,
            headers: &headers,
        };
        // Each request ends before the next one (as in the filter's replay).
        let t = router.pick(&req, case.now_ms, &mut rng);
        out.push(
            t.ranked()
                .iter()
                .map(|&i| router.config().backends[i].name.clone())
                .collect(),
        );
        router.abandon(t);
    }
    Ok(out)
}

/// Replay every case; returns the names of cases whose decisions differ, with
/// the first differing request.
pub fn check(file: &VectorFile) -> Vec<String> {
    let mut bad = Vec::new();
    for case in &file.cases {
        match replay(case) {
            Ok(got) => {
                if let Some(k) = got.iter().zip(&case.expected).position(|(g, e)| g != e) {
                    bad.push(format!(
                        "{}: request {k}: expected {:?}, got {:?}",
                        case.name, case.expected[k], got[k]
                    ));
                } else if got.len() != case.expected.len() {
                    bad.push(format!(
                        "{}: {} decisions, {} expected",
                        case.name,
                        got.len(),
                        case.expected.len()
                    ));
                }
            }
            Err(e) => bad.push(e.0),
        }
    }
    bad
}
