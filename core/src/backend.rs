//! Live state of each backend: in-flight requests, latency, load reports,
//! throughput and health. Plain data: the owner (filter, simulator, host)
//! decides where it lives; the core only reads and updates it.

use crate::config::{Backend, Health};
use crate::health::HealthState;

/// Peak-EWMA latency estimate (Finagle `PeakEwma.scala`, tower `load/peak_ewma.rs`):
/// on each sample `w = exp(-Δt/τ)`; `cost = rtt > cost ? rtt : cost·w + rtt·(1−w)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeakEwma {
    /// Current estimate, ms; `None` before the first sample.
    pub cost_ms: Option<f64>,
    /// Time of the last sample, ms.
    pub updated_ms: u64,
}

impl PeakEwma {
    /// Fold in one round-trip sample taken at `now_ms`, with decay constant `tau_ms`.
    pub fn observe(&mut self, rtt_ms: f64, now_ms: u64, tau_ms: f64) {
        let rtt = if rtt_ms.is_finite() {
            rtt_ms.max(0.0)
        } else {
            return;
        };
        self.cost_ms = Some(match self.cost_ms {
            None => rtt,
            Some(cost) if rtt > cost => rtt,
            Some(cost) => {
                let dt = now_ms.saturating_sub(self.updated_ms) as f64;
                let w = (-dt / tau_ms.max(1e-9)).exp();
                cost * w + rtt * (1.0 - w)
            }
        });
        self.updated_ms = now_ms;
    }

    /// The estimate decayed to `now_ms` (peaks fade when no samples come), or `default_ms`.
    pub fn estimate(&self, now_ms: u64, tau_ms: f64, default_ms: f64) -> f64 {
        match self.cost_ms {
            None => default_ms,
            Some(cost) => {
                let dt = now_ms.saturating_sub(self.updated_ms) as f64;
                cost * (-dt / tau_ms.max(1e-9)).exp()
            }
        }
    }
}

/// A load report from the backend (ORCA `endpoint-load-metrics` or `x-edgepick-load`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadSample {
    /// Utilisation in `[0, 1]`.
    pub utilization: f64,
    /// When it was received, ms.
    pub at_ms: u64,
}

/// Reports older than this are ignored, ms.
pub const LOAD_REPORT_TTL_MS: u64 = 30_000;

/// Time constant for throughput and latency measurements feeding RFWS, ms.
pub const MEASURE_TAU_MS: f64 = 10_000.0;

/// Everything known about one backend right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendState {
    /// Requests sent and not yet answered.
    pub inflight: u32,
    /// Latency to response headers.
    pub latency: PeakEwma,
    /// Latest load report.
    pub load: Option<LoadSample>,
    /// Observed throughput towards this node, Mbps (EWMA).
    pub throughput_mbps: f64,
    /// When throughput was last updated, ms.
    pub throughput_at_ms: u64,
    /// Health.
    pub health: HealthState,
}

impl BackendState {
    /// `V_FS(i)`: normalised load in `[0, 1]`, the higher of in-flight over
    /// capacity and a fresh load report.
    pub fn v_fs(&self, b: &Backend, now_ms: u64) -> f64 {
        let by_inflight = f64::from(self.inflight) / f64::from(b.capacity.max(1));
        by_inflight.max(self.reported_load(now_ms)).clamp(0.0, 1.0)
    }

    /// The utilisation of a fresh load report (at most [`LOAD_REPORT_TTL_MS`]
    /// old), else 0.
    #[inline]
    pub fn reported_load(&self, now_ms: u64) -> f64 {
        match self.load {
            Some(s) if now_ms.saturating_sub(s.at_ms) <= LOAD_REPORT_TTL_MS => s.utilization,
            _ => 0.0,
        }
    }

    /// `D(r)`, ms: the route's one-way delay measured from heartbeat round
    /// trips ([`crate::health::LinkRtt`]) once measured, else the configured
    /// `link.delay_ms`. Request latency (service time included) is not part
    /// of it: that is load, and it does not decay while a node is idle.
    pub fn delay_ms(&self, b: &Backend) -> f64 {
        self.delay_or(b.link.delay_ms)
    }

    /// [`BackendState::delay_ms`] with the configured delay given (for
    /// callers that keep it elsewhere).
    #[inline]
    pub fn delay_or(&self, configured_ms: f64) -> f64 {
        match self.health.link_delay_us {
            Some(us) => f64::from(us) / 1000.0,
            None => configured_ms,
        }
    }

    /// `B_R(r)`: configured residual bandwidth minus observed throughput (≥ 0).
    pub fn residual_mbps(&self, b: &Backend) -> f64 {
        (b.link.residual_mbps - self.throughput_mbps).max(0.0)
    }

    /// Fold `bytes` transferred at `now_ms` into the throughput estimate.
    /// The estimate is an EWMA of the rate over the gap since the last sample.
    pub fn observe_bytes(&mut self, bytes: u64, now_ms: u64) {
        let dt = now_ms.saturating_sub(self.throughput_at_ms).max(1) as f64;
        let rate_mbps = bytes as f64 * 8.0 / 1000.0 / dt; // bits per ms / 1000 = Mbps
        let w = (-dt / MEASURE_TAU_MS).exp();
        self.throughput_mbps = self.throughput_mbps * w + rate_mbps * (1.0 - w);
        self.throughput_at_ms = now_ms;
    }

    /// Healthy now under `cfg`.
    pub fn is_healthy(&self, now_ms: u64, cfg: &Health) -> bool {
        self.health.is_healthy(now_ms, cfg)
    }

    /// Configured weight scaled by slow start.
    pub fn effective_weight(&self, b: &Backend, now_ms: u64, cfg: &Health) -> f64 {
        f64::from(b.weight) * self.health.slow_start_factor(now_ms, cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_ewma_follows_finagle() {
        let mut e = PeakEwma::default();
        assert_eq!(e.estimate(0, 10_000.0, 30.0), 30.0);
        e.observe(100.0, 0, 10_000.0);
        assert_eq!(e.cost_ms, Some(100.0));
        e.observe(200.0, 10, 10_000.0);
        assert_eq!(e.cost_ms, Some(200.0), "peaks are taken at once");
        e.observe(0.0, 10_010, 10_000.0);
        let w = (-1.0f64).exp();
        assert!((e.cost_ms.unwrap() - 200.0 * w).abs() < 1e-9);
    }

    #[test]
    fn v_fs_takes_the_higher_signal() {
        let b = Backend {
            name: "a".into(),
            address: "127.0.0.1:1".parse().unwrap(),
            url: None,
            weight: 1,
            capacity: 10,
            link: Default::default(),
            down: false,
        };
        let mut s = BackendState {
            inflight: 5,
            ..Default::default()
        };
        assert_eq!(s.v_fs(&b, 0), 0.5);
        s.load = Some(LoadSample {
            utilization: 0.8,
            at_ms: 0,
        });
        assert_eq!(s.v_fs(&b, 10), 0.8);
        assert_eq!(
            s.v_fs(&b, LOAD_REPORT_TTL_MS + 1),
            0.5,
            "stale reports expire"
        );
        s.inflight = 50;
        assert_eq!(s.v_fs(&b, 0), 1.0);
    }
}
