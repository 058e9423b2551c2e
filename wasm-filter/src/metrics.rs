//! Per-backend metrics. Envoy shows `define_metric` names under `wasmcustom.`
//! in `/stats`; on `/stats/prometheus` the prefix goes, dots become `_`, and
//! the `stats_tags` of deploy/envoy.yaml move the backend (or plugin) from
//! the last name segment into a label. Metrics with the same name are one
//! stat for every worker, so gauges read the same whichever worker set them
//! last. Workers publish once a second (`sync::METRICS_MS`), on their
//! tick, not per request: counters and the in-flight gauges trail by at most
//! that; a health flip reaches the healthy gauge on the next sync (100 ms).
//!
//! | name (`/stats`: `wasmcustom.` + name) | `/stats/prometheus` | kind | meaning |
//! |------|------|------|---------|
//! | `edgepick.picks.<backend>` | `edgepick_picks{backend="<backend>"}` | counter | requests whose first choice was the backend |
//! | `edgepick.failures.<backend>` | `edgepick_failures{backend="<backend>"}` | counter | passive failures counted against it |
//! | `edgepick.inflight.<backend>` | `edgepick_inflight{backend="<backend>"}` | gauge | in-flight requests: the sum of every worker's own count, as of its last sync |
//! | `edgepick.healthy.<backend>` | `edgepick_healthy{backend="<backend>"}` | gauge | 1 healthy, 0 out |
//! | `edgepick.warnings_suppressed` | `edgepick_warnings_suppressed` | counter | warning lines not logged: at most 5 a minute of each kind get through |
//! | `edgepick.health_writes.<plugin>` | `edgepick_health_writes{plugin="<plugin>"}` | counter | writes of the shared health record (workers re-read it when this moves) |
//!
//! [`metric_name`] keeps a backend's part of the name to `[A-Za-z0-9_-]`, and
//! the tag regexes match exactly that after the kind, so every backend name
//! (with `-` or `_`, or called `picks`) becomes one whole label value. Under
//! an Envoy without those tags the Prometheus names keep the backend
//! (`edgepick_picks_a`).
//!
//! Backends are identified by name: two plugins in one Envoy naming the same
//! backend count its in-flight requests together, which is right when the
//! name means the same node.

/// Counter of warning lines the limiters held back.
pub const SUPPRESSED_METRIC: &str = "edgepick.warnings_suppressed";

/// Metric name for `kind` (`picks`, `failures`, `inflight`, `healthy`) of a
/// backend. Characters outside `[A-Za-z0-9_-]` in the name become `_`, so a
/// backend name never adds stat-name segments.
pub fn metric_name(kind: &str, backend: &str) -> String {
    let clean: String = backend
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("edgepick.{kind}.{clean}")
}

/// Name of the counter announcing health record writes of plugin `plugin`.
pub fn health_writes_name(plugin: &str) -> String {
    let plugin = if plugin.is_empty() { "default" } else { plugin };
    metric_name("health_writes", plugin)
}

/// Metric ids of one backend (`None` when the host refused to define one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendMetrics {
    /// `edgepick.picks.<name>` counter.
    pub picks: Option<u32>,
    /// `edgepick.failures.<name>` counter.
    pub failures: Option<u32>,
    /// `edgepick.inflight.<name>` gauge.
    pub inflight: Option<u32>,
    /// `edgepick.healthy.<name>` gauge.
    pub healthy: Option<u32>,
}

impl BackendMetrics {
    /// Define the four metrics of backend `name`.
    pub fn define(name: &str) -> Self {
        use crate::host::define;
        use proxy_wasm::types::MetricType::{Counter, Gauge};
        BackendMetrics {
            picks: define(Counter, &metric_name("picks", name)),
            failures: define(Counter, &metric_name("failures", name)),
            inflight: define(Gauge, &metric_name("inflight", name)),
            healthy: define(Gauge, &metric_name("healthy", name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        assert_eq!(metric_name("picks", "a"), "edgepick.picks.a");
        assert_eq!(
            metric_name("healthy", "eu-west_1"),
            "edgepick.healthy.eu-west_1"
        );
        assert_eq!(metric_name("inflight", "a.b c"), "edgepick.inflight.a_b_c");
        assert_eq!(health_writes_name(""), "edgepick.health_writes.default");
    }
}
