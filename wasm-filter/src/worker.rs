//! [`WorkerState`]: what one worker's VM keeps between requests, shared by
//! its root context and every request it hands out.

use crate::host::{self, SharedData};
use crate::log::{self, Limiter};
use crate::metrics::BackendMetrics;
use crate::needs::Needs;
use crate::plugin::Plugin;
use crate::reports::ReportSampling;
use crate::sync::{Flip, Period};
use edgepick_core::health::Transition;

/// One worker's state: its configured [`Plugin`], metric ids, warning
/// limiters and what requests read. The root context owns it; each request
/// borrows it.
#[derive(Debug)]
pub struct WorkerState {
    /// The configured plugin.
    pub plugin: Plugin,
    /// Metric ids, by backend.
    pub metrics: Vec<BackendMetrics>,
    /// Warnings about load reports.
    pub warn_load: Limiter,
    /// Warnings about cookies.
    pub warn_cookie: Limiter,
    /// Warnings about shared data.
    pub warn_shared: Limiter,
    /// What requests read, from the configuration.
    pub needs: Needs,
    /// Picks per backend not yet added to the `picks` counters.
    pub picks: Vec<u64>,
    /// The `warnings_suppressed` counter and how much of it is published.
    pub suppressed: Suppressed,
    /// When the pick and warning counters are next published.
    pub publish: Period,
    /// Which responses are read for load reports.
    pub reports: ReportSampling,
}

/// The `warnings_suppressed` counter: its id and what this worker added.
#[derive(Debug, Clone, Copy)]
pub struct Suppressed {
    /// Metric id (`None`: the host refused to define it).
    pub metric: Option<u32>,
    /// Suppressed warnings already added to it.
    pub published: u64,
}

impl WorkerState {
    /// Sync with the other workers (on the tick); set the healthy gauges of
    /// backends that flipped and, every [`METRICS_MS`](crate::sync::METRICS_MS),
    /// publish the picks and suppressed warnings counted since.
    /// Returns whether this sync published the metrics.
    pub fn sync(&mut self, now_ms: u64) -> bool {
        let flips = self.plugin.sync(&SharedData, now_ms);
        self.apply_flips(&flips);
        if !self.publish.due(now_ms) {
            return false;
        }
        for (m, n) in self.metrics.iter().zip(self.picks.iter_mut()) {
            if *n > 0 {
                host::increment(m.picks, std::mem::take(n) as i64);
            }
        }
        let total = [&self.warn_load, &self.warn_cookie, &self.warn_shared]
            .iter()
            .map(|l| l.total_suppressed)
            .sum::<u64>();
        if total > self.suppressed.published {
            host::increment(
                self.suppressed.metric,
                (total - self.suppressed.published) as i64,
            );
            self.suppressed.published = total;
        }
        true
    }

    /// A request's first choice was backend `i` (published on the next sync).
    pub fn count_pick(&mut self, i: usize) {
        if let Some(n) = self.picks.get_mut(i) {
            *n += 1;
        }
    }

    fn apply_flips(&self, flips: &[Flip]) {
        for f in flips {
            if let Some(m) = self.metrics.get(f.backend) {
                host::record(m.healthy, u64::from(f.healthy));
            }
        }
    }

    /// Count a passive outcome on backend `i`, with metrics and logs.
    pub fn passive(&mut self, i: usize, failure: bool, now_ms: u64) {
        if failure {
            if let Some(m) = self.metrics.get(i) {
                host::increment(m.failures, 1);
            }
        }
        let result = self.plugin.passive(&SharedData, i, failure, now_ms);
        // The name is looked up only for a log line (most outcomes log none).
        let cfg = self.plugin.config();
        let name = || cfg.backends.get(i).map_or("?", |b| b.name.as_str());
        match result {
            Ok(Transition::WentOut) => log::info(|| {
                format!(
                    "edgepick: backend {} out for {} ms after {} failures",
                    name(),
                    cfg.health.fail_timeout_ms,
                    cfg.health.max_fails
                )
            }),
            Ok(Transition::CameBack) => {
                log::info(|| format!("edgepick: backend {} answered again: back in", name()))
            }
            Ok(_) => {}
            Err(e) => log::warn_limited(&mut self.warn_shared, || {
                format!("edgepick: shared health update for {} lost: {e:?}", name())
            }),
        }
    }
}
