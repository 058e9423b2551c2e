//! The root context: reads and validates the configuration, owns the
//! [`WorkerState`], runs the tick (prober lease, heartbeat probes and
//! verdicts, gauges) and hands each request an [`EdgepickHttp`].

use crate::headers::DESTINATION_HEADER;
use crate::host::{self, SharedData};
use crate::http::EdgepickHttp;
use crate::log::{self, Limiter};
use crate::metrics::{health_writes_name, BackendMetrics, SUPPRESSED_METRIC};
use crate::needs::Needs;
use crate::plugin::{tick_ms, Plugin};
use crate::sync::StatIds;
use crate::worker::{Suppressed, WorkerState};
use edgepick_core::Config;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, MapType, MetricType};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The root context of one worker's VM.
pub struct EdgepickRoot {
    context_id: u32,
    worker: Option<Rc<RefCell<WorkerState>>>,
    /// Heartbeats in flight: token → (backend, sent at, Unix ns).
    probes: BTreeMap<u32, (usize, u64)>,
    warn_probe: Limiter,
    /// When the prober sends its next round of heartbeats (ticks come every
    /// sync period, heartbeats every `interval_ms`).
    next_probe_ms: u64,
    /// Envoy refused every heartbeat of the last round (an unknown cluster,
    /// say): no verdicts then, so a configuration mistake does not mark every
    /// node faulty. Said once in the log.
    undeliverable: bool,
}

impl EdgepickRoot {
    /// A root context before configuration.
    pub fn new(context_id: u32) -> Self {
        EdgepickRoot {
            context_id,
            worker: None,
            probes: BTreeMap::new(),
            warn_probe: Limiter::new(log::WARN_LINES_PER_MINUTE),
            next_probe_ms: 0,
            undeliverable: false,
        }
    }

    fn configure(&mut self, bytes: &[u8]) -> Result<(), edgepick_core::ConfigError> {
        // `cookie.keys_env` names variables of the VM's environment (Envoy's
        // `vm_config.environment_variables`, seen through WASI `environ_get`).
        let config = Config::from_json_env(bytes, &|name| std::env::var(name).ok())?;
        let name = host::property_str(&["plugin_name"]).unwrap_or_default();
        let seed = crate::seed::seed(host::now_nanos(), self.context_id);
        let metrics: Vec<BackendMetrics> = config
            .backends
            .iter()
            .map(|b| BackendMetrics::define(&b.name))
            .collect();
        let ids = StatIds {
            inflight: metrics.iter().map(|m| m.inflight).collect(),
            health_writes: host::define(MetricType::Counter, &health_writes_name(&name)),
        };
        let n = config.backends.len();
        let plugin = Plugin::new(config, &name, seed, ids);
        plugin.init_shared(&SharedData);
        host::set_tick_ms(tick_ms(plugin.config()));
        log::info(|| {
            let c = plugin.config();
            format!(
                "edgepick: configured {} backends, algorithm {}, shared data {}, worker {:x}",
                c.backends.len(),
                c.algorithm.name(),
                plugin.keys.prefix(),
                plugin.worker
            )
        });
        let needs = Needs::of(plugin.config());
        let mut worker = WorkerState {
            plugin,
            metrics,
            warn_load: Limiter::new(log::WARN_LINES_PER_MINUTE),
            warn_cookie: Limiter::new(log::WARN_LINES_PER_MINUTE),
            warn_shared: Limiter::new(log::WARN_LINES_PER_MINUTE),
            suppressed: Suppressed {
                metric: host::define(MetricType::Counter, SUPPRESSED_METRIC),
                published: 0,
            },
            needs,
            publish: crate::sync::Period::new(crate::sync::METRICS_MS),
            picks: vec![0; n],
            reports: crate::reports::ReportSampling::new(n),
        };
        worker.sync(host::now_ms());
        self.worker = Some(Rc::new(RefCell::new(worker)));
        Ok(())
    }

    /// Prober duty: publish verdicts from the last round, send the next one.
    fn probe(&mut self, s: &mut WorkerState, now_ms: u64) {
        let verdicts = if self.undeliverable {
            Ok(Vec::new())
        } else {
            s.plugin.evaluate(&SharedData, now_ms)
        };
        // on_tick synced just before: only new verdicts need another sync.
        let resync = !matches!(&verdicts, Ok(v) if v.is_empty());
        match verdicts {
            Ok(verdicts) => {
                for v in verdicts {
                    let name = &s.plugin.config().backends[v.backend].name;
                    log::info(|| {
                        let state = if v.faulty {
                            "faulty (too few heartbeats)"
                        } else {
                            "running again"
                        };
                        format!("edgepick: backend {name} {state}")
                    });
                }
            }
            Err(e) => log::warn_limited(&mut s.warn_shared, || {
                format!("edgepick: health verdicts not published: {e:?}")
            }),
        }
        if resync {
            s.sync(now_ms);
        }
        let Some(hb) = s.plugin.config().health.heartbeat.clone() else {
            return;
        };
        // Envoy answers every call (response, failure or timeout); the bound
        // only guards against a host that does not.
        if self.probes.len() > 16 * s.plugin.len() {
            self.probes.clear();
        }
        let mut refused = 0;
        let sent_ns = host::now_nanos();
        for (i, b) in s.plugin.config().backends.iter().enumerate() {
            let addr = b.address.to_string();
            let headers = vec![
                (":method", "GET"),
                (":path", hb.path.as_str()),
                (":authority", addr.as_str()),
                (":scheme", "http"),
                ("user-agent", "edgepick-heartbeat"),
                (DESTINATION_HEADER, addr.as_str()),
            ];
            match host::http_call(&hb.cluster, headers, hb.timeout_ms) {
                Ok(token) => {
                    self.probes.insert(token, (i, sent_ns));
                }
                Err(e) => {
                    refused += 1;
                    log::warn_limited(&mut self.warn_probe, || {
                        format!(
                            "edgepick: heartbeat to {} through cluster {:?} not sent: {e:?}",
                            b.name, hb.cluster
                        )
                    })
                }
            }
        }
        let all_refused = refused == s.plugin.len();
        if all_refused && !self.undeliverable {
            log::error(|| {
                format!(
                    "edgepick: Envoy refuses heartbeats through cluster {:?} (unknown cluster?): \
                     heartbeat verdicts are suspended until it accepts them; passive \
                     failure detection goes on",
                    hb.cluster
                )
            });
        }
        self.undeliverable = all_refused;
    }
}

impl Context for EdgepickRoot {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _headers: usize,
        _body: usize,
        _trailers: usize,
    ) {
        let Some((i, sent_ns)) = self.probes.remove(&token_id) else {
            return;
        };
        let Some(worker) = &self.worker else { return };
        let status = host::header(MapType::HttpCallResponseHeaders, ":status")
            .and_then(|s| s.parse::<u16>().ok());
        let mut s = worker.borrow_mut();
        let now_ns = host::now_nanos();
        let now = now_ns / 1_000_000;
        let name = s
            .plugin
            .config()
            .backends
            .get(i)
            .map_or("?", |b| b.name.as_str())
            .to_string();
        match status {
            Some(200..=299) => {
                s.plugin.heartbeat(i, now);
                // The round trip measures RFWS's route delay `D`.
                let rtt_ms = now_ns.saturating_sub(sent_ns) as f64 / 1e6;
                s.plugin.link_rtt(i, rtt_ms, now);
            }
            other => {
                log::debug(|| format!("edgepick: heartbeat from {name} missed: status {other:?}"))
            }
        }
    }
}

impl RootContext for EdgepickRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        log::refresh();
        let bytes = host::plugin_configuration().unwrap_or_default();
        match self.configure(&bytes) {
            Ok(()) => true,
            Err(e) => {
                log::error(|| format!("edgepick: invalid configuration: {e}"));
                false
            }
        }
    }

    fn on_tick(&mut self) {
        log::refresh();
        let Some(worker) = self.worker.clone() else {
            return;
        };
        let mut s = worker.borrow_mut();
        let now = host::now_ms();
        let published = s.sync(now);
        if !s.plugin.lease(&SharedData, now) {
            return;
        }
        // The lease holder also refreshes the healthy gauges (one stat for
        // all workers, each of which sets them on its own flips) with the
        // other metrics, once a second: a stat write per backend on every
        // tick cost ~1,000 instructions per request at 64 backends.
        if published {
            for (i, st) in s.plugin.router.states().iter().enumerate() {
                let ok = st.is_healthy(now, &s.plugin.config().health);
                if let Some(m) = s.metrics.get(i) {
                    host::record(m.healthy, u64::from(ok));
                }
            }
        }
        if now >= self.next_probe_ms {
            let interval = s
                .plugin
                .config()
                .health
                .heartbeat
                .as_ref()
                .map_or(0, |h| h.interval_ms);
            self.next_probe_ms = now.saturating_add(interval);
            self.probe(&mut s, now);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(EdgepickHttp::new(self.worker.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
