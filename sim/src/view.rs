//! What the page shows: the system at one instant ([`Snapshot`], one
//! [`NodeView`] per node) and the metric buckets as a series.

use crate::engine::Simulation;
use crate::metrics::BucketView;
use serde::Serialize;

/// One node as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    /// Name.
    pub name: String,
    /// Running (not killed).
    pub alive: bool,
    /// Eligible in the edge's view (heartbeats and passive checks).
    pub healthy: bool,
    /// The heartbeat fault flag `W_F`.
    pub faulty: bool,
    /// Requests the edge has outstanding to it.
    pub inflight: u32,
    /// Requests being served.
    pub busy: u32,
    /// Requests waiting.
    pub queued: u32,
    /// (busy + queued) / (workers + queue).
    pub load: f64,
    /// Overload factor (1 = normal).
    pub overload: f64,
    /// Link degrade factor (1 = normal).
    pub degrade: f64,
    /// Requests sent to it so far.
    pub sent: u64,
}

/// The whole system at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Simulated time, ms.
    pub t_ms: f64,
    /// Requests generated.
    pub generated: u64,
    /// Answered.
    pub ok: u64,
    /// Dropped by full queues.
    pub dropped: u64,
    /// Failed.
    pub failed: u64,
    /// In the system now.
    pub in_flight: u32,
    /// Events processed so far.
    pub events: u64,
    /// Closed and open buckets.
    pub buckets: usize,
    /// Per node.
    pub nodes: Vec<NodeView>,
}

impl Simulation {
    /// The system now.
    pub fn snapshot(&self) -> Snapshot {
        let healthy = self.healthy();
        let nodes = self
            .servers
            .iter()
            .zip(&self.topo.servers)
            .zip(self.router.states())
            .enumerate()
            .map(|(i, ((s, spec), st))| {
                let used = (s.running.len() + s.waiting.len()) as f64;
                NodeView {
                    name: spec.name.clone(),
                    alive: s.alive,
                    healthy: healthy[i],
                    faulty: st.health.faulty,
                    inflight: st.inflight,
                    busy: s.running.len() as u32,
                    queued: s.waiting.len() as u32,
                    load: used / f64::from((spec.workers + spec.queue).max(1)),
                    overload: s.slow,
                    degrade: s.link,
                    sent: self.metrics.sent[i],
                }
            })
            .collect();
        Snapshot {
            t_ms: self.now_ms(),
            generated: self.metrics.generated,
            ok: self.metrics.ok,
            dropped: self.metrics.dropped,
            failed: self.metrics.failed,
            in_flight: self.live,
            events: self.events,
            buckets: self.metrics.buckets.len(),
            nodes,
        }
    }

    /// Buckets from index `from` on.
    pub fn series(&self, from: usize) -> Vec<BucketView> {
        (from..self.metrics.buckets.len())
            .filter_map(|i| self.metrics.view(i))
            .collect()
    }
}
