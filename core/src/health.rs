//! Backend health: the paper's fault-detection centre plus nginx's passive checks.
//!
//! * [`HeartbeatWindow`] — each node's status component sends "I am running"
//!   messages; the centre counts those in a sliding window and compares the count
//!   with a threshold to set the fault flag `W_F` (paper, §3).
//! * [`PassiveHealth`] — nginx `max_fails` / `fail_timeout`
//!   (`ngx_http_upstream_round_robin.c`): after `max_fails` failures a node is out
//!   until `fail_timeout` has passed since the last failure; one success clears it.
//! * Slow start — after recovery, a node's weight ramps linearly from 10 % to
//!   100 % (HAProxy `slowstart`, Envoy's `min_weight_percent` floor).
//! * [`HealthEntry`] — the part every front end shares between workers
//!   (`W_F`, passive failures, recovery time), with the one copy of the
//!   transitions ([`HealthEntry::observe`], [`HealthEntry::set_faulty`]);
//!   [`HealthState`] delegates to it. [`HealthSnapshot`] is all backends'
//!   entries as bytes, for stores such as Envoy's shared data.
//! * [`LinkRtt`] — RFWS's route delay `D(r)`, measured from heartbeat round
//!   trips by the same centre and shared with the verdicts.

mod link;
mod snapshot;

pub use link::LinkRtt;
pub use snapshot::{HealthSnapshot, SnapshotError};

use crate::config::{Health, Heartbeat};

/// Heartbeat arrival times inside the current window (bounded by the threshold
/// needed, so memory is O(threshold)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeartbeatWindow {
    arrivals: Vec<u64>,
}

impl HeartbeatWindow {
    /// Record a heartbeat received at `now_ms`.
    pub fn record(&mut self, now_ms: u64, cfg: &Heartbeat) {
        self.arrivals.push(now_ms);
        self.prune(now_ms, cfg);
        // Keep only as many as the verdict needs (the newest ones).
        let keep = cfg.threshold as usize;
        if self.arrivals.len() > keep {
            let drop = self.arrivals.len() - keep;
            self.arrivals.drain(..drop);
        }
    }

    /// Heartbeats inside `(now - window, now]`.
    pub fn count(&self, now_ms: u64, cfg: &Heartbeat) -> u32 {
        let from = now_ms.saturating_sub(cfg.window_ms);
        self.arrivals
            .iter()
            .filter(|&&t| t > from && t <= now_ms)
            .count() as u32
    }

    fn prune(&mut self, now_ms: u64, cfg: &Heartbeat) {
        let from = now_ms.saturating_sub(cfg.window_ms);
        self.arrivals.retain(|&t| t > from);
    }
}

/// nginx-style passive failure accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassiveHealth {
    /// Failures since the last success.
    pub fails: u32,
    /// Time of the last failure, ms.
    pub checked_ms: u64,
}

impl PassiveHealth {
    /// A request to the node failed (connect failure, reset, 5xx).
    pub fn failure(&mut self, now_ms: u64) {
        self.fails = self.fails.saturating_add(1);
        self.checked_ms = now_ms;
    }

    /// A request to the node succeeded.
    pub fn success(&mut self) {
        self.fails = 0;
    }

    /// Whether nginx would skip the node now.
    pub fn is_out(&self, now_ms: u64, cfg: &Health) -> bool {
        cfg.max_fails > 0
            && self.fails >= cfg.max_fails
            && now_ms.saturating_sub(self.checked_ms) <= cfg.fail_timeout_ms
    }
}

/// What one passive outcome did to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed.
    Unchanged,
    /// Counted; the node's state did not flip.
    Counted,
    /// This failure reached `max_fails`: the node is out.
    WentOut,
    /// A success after being out: the node is back (slow start begins).
    CameBack,
}

/// One backend's shareable health: the heartbeat fault flag `W_F`, nginx
/// passive failures and the time it last came back (for slow start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthEntry {
    /// `W_F`, set by the heartbeat prober.
    pub faulty: bool,
    /// Passive failures.
    pub passive: PassiveHealth,
    /// When the node last recovered, ms.
    pub recovered_at_ms: Option<u64>,
    /// RFWS's `D(r)` measured from heartbeat round trips ([`LinkRtt`]), µs;
    /// `None` until measured (the configured delay applies).
    pub link_delay_us: Option<u32>,
}

impl HealthEntry {
    /// Apply one request outcome (nginx `max_fails`: a failure counts and
    /// stamps the time, a success clears; a success that ends an outage starts
    /// slow start).
    pub fn observe(&mut self, failure: bool, now_ms: u64, max_fails: u32) -> Transition {
        let was_out = max_fails > 0 && self.passive.fails >= max_fails;
        if failure {
            self.passive.failure(now_ms);
            if max_fails > 0 && self.passive.fails == max_fails {
                Transition::WentOut
            } else {
                Transition::Counted
            }
        } else if self.passive.fails == 0 {
            Transition::Unchanged
        } else {
            self.passive.success();
            if was_out {
                self.recovered_at_ms = Some(now_ms);
                Transition::CameBack
            } else {
                Transition::Counted
            }
        }
    }

    /// Set `W_F` (a heartbeat verdict or an operator). Recovery clears passive
    /// failures and starts slow start. Returns true when the flag changed.
    pub fn set_faulty(&mut self, faulty: bool, now_ms: u64) -> bool {
        if faulty == self.faulty {
            return false;
        }
        self.faulty = faulty;
        if !faulty {
            self.recovered_at_ms = Some(now_ms);
            self.passive = PassiveHealth::default();
        }
        true
    }
}

/// Health of one backend: fault flag, passive state and recovery time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthState {
    /// Heartbeats received.
    pub heartbeats: HeartbeatWindow,
    /// Passive failures.
    pub passive: PassiveHealth,
    /// `W_F`: set by heartbeat evaluation (or by an operator).
    pub faulty: bool,
    /// When the node last came back, for slow start.
    pub recovered_at_ms: Option<u64>,
    /// Time evaluation started; no verdict before a whole window has passed.
    pub since_ms: Option<u64>,
    /// Heartbeat round trips (the prober's own).
    pub link: LinkRtt,
    /// `D(r)` measured, µs (the prober's, or the one it shared).
    pub link_delay_us: Option<u32>,
}

impl HealthState {
    /// Re-evaluate the heartbeat fault flag at `now_ms`. Returns true when the
    /// flag changed. Before one whole window has elapsed the node keeps its flag.
    pub fn evaluate(&mut self, now_ms: u64, cfg: &Health) -> bool {
        let Some(hb) = &cfg.heartbeat else {
            return false;
        };
        let since = *self.since_ms.get_or_insert(now_ms);
        if now_ms.saturating_sub(since) < hb.window_ms && !self.faulty {
            return false;
        }
        let faulty = self.heartbeats.count(now_ms, hb) < hb.threshold;
        self.set_faulty(faulty, now_ms)
    }

    /// Set `W_F` directly (operator action or a verdict computed elsewhere),
    /// through [`HealthEntry::set_faulty`]. Returns true when the flag changed.
    pub fn set_faulty(&mut self, faulty: bool, now_ms: u64) -> bool {
        self.update(|e| e.set_faulty(faulty, now_ms))
    }

    /// Count one passive outcome, through [`HealthEntry::observe`].
    pub fn observe(&mut self, failure: bool, now_ms: u64, cfg: &Health) -> Transition {
        self.update(|e| e.observe(failure, now_ms, cfg.max_fails))
    }

    /// A heartbeat that took `rtt_ms` round trip ended at `now_ms`: fold it
    /// into `D(r)` (half the smallest round trip inside `window_ms`). Returns
    /// true when the measured delay changed.
    pub fn record_rtt(&mut self, rtt_ms: f64, now_ms: u64, window_ms: u64) -> bool {
        self.link.record(rtt_ms, now_ms);
        let d = self
            .link
            .one_way_us(now_ms, window_ms)
            .or(self.link_delay_us);
        let changed = d != self.link_delay_us;
        self.link_delay_us = d;
        changed
    }

    /// The shareable part.
    pub fn entry(&self) -> HealthEntry {
        HealthEntry {
            faulty: self.faulty,
            passive: self.passive,
            recovered_at_ms: self.recovered_at_ms,
            link_delay_us: self.link_delay_us,
        }
    }

    /// Take the shareable part from `e` (e.g. a record another worker wrote);
    /// heartbeat windows stay.
    pub fn apply(&mut self, e: &HealthEntry) {
        self.faulty = e.faulty;
        self.passive = e.passive;
        self.recovered_at_ms = e.recovered_at_ms;
        self.link_delay_us = e.link_delay_us;
    }

    fn update<T>(&mut self, f: impl FnOnce(&mut HealthEntry) -> T) -> T {
        let mut e = self.entry();
        let out = f(&mut e);
        self.apply(&e);
        out
    }

    /// Healthy: not faulty and not passively out.
    pub fn is_healthy(&self, now_ms: u64, cfg: &Health) -> bool {
        !self.faulty && !self.passive.is_out(now_ms, cfg)
    }

    /// Weight multiplier in `[0.1, 1]` during slow start, else 1.
    pub fn slow_start_factor(&self, now_ms: u64, cfg: &Health) -> f64 {
        match self.recovered_at_ms {
            Some(t) if cfg.slow_start_ms > 0 => {
                let elapsed = now_ms.saturating_sub(t) as f64 / cfg.slow_start_ms as f64;
                elapsed.clamp(0.1, 1.0)
            }
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Health {
        Health {
            heartbeat: Some(Heartbeat {
                interval_ms: 100,
                window_ms: 300,
                threshold: 2,
                path: "/health".into(),
                timeout_ms: 50,
                cluster: "c".into(),
            }),
            slow_start_ms: 1000,
            ..Health::default()
        }
    }

    #[test]
    fn heartbeat_window_sets_and_clears_fault() {
        let c = cfg();
        let hb = c.heartbeat.clone().unwrap();
        let mut h = HealthState::default();
        assert!(!h.evaluate(0, &c), "no verdict before a window");
        h.heartbeats.record(100, &hb);
        h.heartbeats.record(200, &hb);
        assert!(!h.evaluate(300, &c));
        assert!(h.is_healthy(300, &c));
        // Heartbeats stop: at 501 only the one at 200 is inside (201..=501]? no: 200 is out.
        assert!(h.evaluate(501, &c));
        assert!(h.faulty);
        h.heartbeats.record(600, &hb);
        assert!(
            !h.evaluate(650, &c),
            "one heartbeat is below the threshold of 2"
        );
        h.heartbeats.record(700, &hb);
        assert!(h.evaluate(700, &c));
        assert!(!h.faulty);
        assert_eq!(h.recovered_at_ms, Some(700));
        assert!((h.slow_start_factor(700, &c) - 0.1).abs() < 1e-9);
        assert!((h.slow_start_factor(1200, &c) - 0.5).abs() < 1e-9);
        assert_eq!(h.slow_start_factor(5000, &c), 1.0);
    }

    #[test]
    fn passive_matches_nginx() {
        let c = Health {
            max_fails: 2,
            fail_timeout_ms: 1000,
            ..Health::default()
        };
        let mut p = PassiveHealth::default();
        p.failure(10);
        assert!(!p.is_out(10, &c));
        p.failure(20);
        assert!(p.is_out(20, &c));
        assert!(p.is_out(1020, &c));
        assert!(!p.is_out(1021, &c), "tried again after fail_timeout");
        p.success();
        assert!(!p.is_out(1022, &c));
        let off = Health { max_fails: 0, ..c };
        p.failure(1);
        p.failure(1);
        assert!(!p.is_out(1, &off));
    }

    #[test]
    fn entry_transitions_follow_nginx() {
        let mut e = HealthEntry::default();
        assert_eq!(e.observe(false, 1, 2), Transition::Unchanged);
        assert_eq!(e.observe(true, 5, 2), Transition::Counted);
        assert_eq!(e.observe(true, 6, 2), Transition::WentOut);
        assert_eq!((e.passive.fails, e.passive.checked_ms), (2, 6));
        assert_eq!(e.observe(true, 7, 2), Transition::Counted);
        assert_eq!(e.observe(false, 9, 2), Transition::CameBack);
        assert_eq!((e.passive.fails, e.recovered_at_ms), (0, Some(9)));
        let mut off = HealthEntry::default();
        assert_eq!(
            off.observe(true, 1, 0),
            Transition::Counted,
            "max_fails 0 never takes a node out"
        );
        assert_eq!(off.observe(false, 2, 0), Transition::Counted);
        assert_eq!(off.recovered_at_ms, None);
    }

    #[test]
    fn recovery_clears_passive_state_and_starts_slow_start() {
        let c = cfg();
        let mut h = HealthState::default();
        h.passive.fails = 4;
        assert!(h.set_faulty(true, 10));
        assert!(!h.set_faulty(true, 11));
        assert!(h.set_faulty(false, 20));
        assert_eq!(
            h.entry(),
            HealthEntry {
                faulty: false,
                passive: PassiveHealth::default(),
                recovered_at_ms: Some(20),
                link_delay_us: None,
            }
        );
        let out = Health {
            max_fails: 1,
            ..c.clone()
        };
        assert_eq!(h.observe(true, 30, &out), Transition::WentOut);
        assert!(!h.is_healthy(30, &out));
        assert_eq!(h.observe(false, 31, &out), Transition::CameBack);
        assert_eq!(h.recovered_at_ms, Some(31));
    }
}
