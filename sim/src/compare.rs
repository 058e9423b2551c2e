//! Every algorithm on the same topology and seed: the page's Compare table.

use super::engine::Simulation;
use super::topology::Topology;
use edgepick_core::config::{names, ConfigError};
use serde::Serialize;
use serde_json::{json, Value};

/// The algorithms the simulator offers: `(id, label, core algorithm object)`.
pub fn catalogue() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("rfws", "RFWS (paper)", json!({"name": names::RFWS})),
        (
            "round_robin",
            "Round robin (nginx)",
            json!({"name": names::ROUND_ROBIN}),
        ),
        ("random", "Random", json!({"name": names::RANDOM})),
        (
            "weighted_random",
            "Weighted random",
            json!({"name": names::WEIGHTED_RANDOM}),
        ),
        (
            "least_connections",
            "Least connections",
            json!({"name": names::LEAST_CONNECTIONS}),
        ),
        (
            "least_connections_p2c",
            "Least connections, P2C",
            json!({"name": names::LEAST_CONNECTIONS, "choices": 2}),
        ),
        (
            "least_response_time",
            "Least response time (peak EWMA)",
            json!({"name": names::LEAST_RESPONSE_TIME}),
        ),
        (
            "ip_hash",
            "IP hash (nginx)",
            json!({"name": names::IP_HASH}),
        ),
        (
            "ketama",
            "Consistent hash: ketama",
            json!({"name": names::CONSISTENT_HASH, "flavour": "ketama"}),
        ),
        (
            "maglev",
            "Consistent hash: maglev",
            json!({"name": names::CONSISTENT_HASH, "flavour": "maglev"}),
        ),
    ]
}

/// One algorithm's result.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// Catalogue id.
    pub id: String,
    /// Display label.
    pub label: String,
    /// Requests generated.
    pub generated: u64,
    /// Answered.
    pub ok: u64,
    /// Dropped + failed.
    pub errors: u64,
    /// Mean latency of answered requests, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Share of requests sent to each node.
    pub share: Vec<f64>,
    /// Simulation events processed.
    pub events: u64,
    /// Faults of the topology's timeline applied during the run.
    pub faults_replayed: u32,
}

/// Run `topo` for `duration_ms` under each catalogue algorithm, its fault
/// timeline replayed in each run, then let requests in flight end.
pub fn compare(topo: &Topology, duration_ms: f64) -> Result<Vec<CompareRow>, ConfigError> {
    catalogue()
        .into_iter()
        .map(|(id, label, alg)| run_one(topo, duration_ms, id, label, alg))
        .collect()
}

fn run_one(
    topo: &Topology,
    duration_ms: f64,
    id: &str,
    label: &str,
    alg: Value,
) -> Result<CompareRow, ConfigError> {
    let mut t = topo.clone();
    t.algorithm = alg;
    let mut sim = Simulation::new(t)?;
    sim.run_until(duration_ms);
    sim.drain();
    let m = &sim.metrics;
    let total: u64 = m.sent.iter().sum();
    Ok(CompareRow {
        id: id.into(),
        label: label.into(),
        generated: m.generated,
        ok: m.ok,
        errors: m.dropped + m.failed,
        mean_ms: m.total_latency.mean(),
        p50_ms: m.total_latency.quantile(0.5),
        p95_ms: m.total_latency.quantile(0.95),
        p99_ms: m.total_latency.quantile(0.99),
        share: m
            .sent
            .iter()
            .map(|&s| {
                if total == 0 {
                    0.0
                } else {
                    s as f64 / total as f64
                }
            })
            .collect(),
        events: sim.events(),
        faults_replayed: sim.faults_applied(),
    })
}
