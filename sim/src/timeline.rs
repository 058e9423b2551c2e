//! The fault timeline in a run: the topology's scheduled faults queued by
//! epoch (a timeline changed during a run voids the events of the old one and
//! queues only faults after the clock), and faults applied to a node now.

use super::engine::Simulation;
use super::queue::Ev;
use super::topology::{FaultAction, ScheduledFault};
use edgepick_core::config::ConfigError;

impl Simulation {
    /// Queue the timeline's faults under the current epoch: those after
    /// the clock, and with `including_now` those at it too (a new run).
    /// Faults already past are not applied again.
    pub(super) fn schedule_faults(&mut self, including_now: bool) {
        for (k, f) in self.topo.faults.iter().enumerate() {
            let at = f.at_ms.saturating_mul(1000);
            if at > self.now || (including_now && at == self.now) {
                let epoch = self.fault_epoch;
                self.queue.push(at, Ev::Fault { k: k as u32, epoch });
            }
        }
    }

    /// Scheduled faults of the timeline applied so far in this run.
    pub fn faults_applied(&self) -> u32 {
        self.faults_applied
    }

    /// Replace only the fault timeline (checked against the servers), as
    /// [`Simulation::reconfigure`] does, leaving the router as it is.
    pub fn set_faults(&mut self, faults: Vec<ScheduledFault>) -> Result<(), ConfigError> {
        let mut t = self.topo.clone();
        t.faults = faults;
        t.validate()?;
        if t.faults != self.topo.faults {
            self.topo.faults = t.faults;
            self.reschedule_faults();
        }
        Ok(())
    }

    /// A new timeline epoch: events queued for the old one are void.
    pub(super) fn reschedule_faults(&mut self) {
        self.fault_epoch = self.fault_epoch.wrapping_add(1);
        self.schedule_faults(false);
    }

    pub(super) fn on_fault(&mut self, k: usize, epoch: u32) {
        if epoch != self.fault_epoch {
            return;
        }
        if let Some(f) = self.topo.faults.get(k).cloned() {
            if let Some(i) = self.server_index(&f.target) {
                self.apply(f.action, i, f.factor);
                self.faults_applied += 1;
            }
        }
    }

    /// Apply a fault or repair to server `i` now.
    pub fn apply(&mut self, action: FaultAction, i: usize, factor: f64) {
        if i >= self.servers.len() {
            return;
        }
        let factor = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        match action {
            FaultAction::Kill => self.kill(i),
            FaultAction::Revive => self.servers[i].alive = true,
            FaultAction::Degrade => self.servers[i].link = factor,
            FaultAction::Restore => self.servers[i].link = 1.0,
            FaultAction::Overload => self.servers[i].slow = factor,
            FaultAction::Relieve => self.servers[i].slow = 1.0,
        }
    }
}
