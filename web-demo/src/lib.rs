//! The edgepick browser demo: `edgepick-core`'s simulator and configuration
//! behind a thin wasm-bindgen API. Each function parses its JSON input, calls the
//! core and hands back plain JS objects (serde-wasm-bindgen); errors are thrown
//! as `Error` objects whose message starts with the offending field, the
//! problem in plain language ([`plain`]).
//!
//! ```text
//! import init, { Sim, compare, export_config } from './pkg/edgepick_web.js';
//! await init();
//! const sim = new Sim(JSON.stringify(topology));
//! sim.run_until(5000);
//! console.log(sim.snapshot().nodes);
//! ```

pub mod golden;
pub mod io;
pub mod plain;

use edgepick_core::ConfigError;
use edgepick_sim::{self as sim, FaultAction, Simulation, Topology};
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// `field: problem`, the problem in plain language.
fn js_err(e: ConfigError) -> JsError {
    JsError::new(&format!("{}: {}", e.field, plain::plain(&e.problem)))
}

/// A running simulation.
#[wasm_bindgen]
pub struct Sim {
    inner: Simulation,
}

#[wasm_bindgen]
impl Sim {
    /// A simulation of the topology document at time 0.
    #[wasm_bindgen(constructor)]
    pub fn new(topology_json: &str) -> Result<Sim, JsError> {
        let topo = Topology::from_json(topology_json).map_err(js_err)?;
        Ok(Sim {
            inner: Simulation::new(topo).map_err(js_err)?,
        })
    }

    /// Run to simulated time `t_ms`.
    pub fn run_until(&mut self, t_ms: f64) {
        self.inner.run_until(t_ms);
    }

    /// Run `dt_ms` further.
    pub fn step(&mut self, dt_ms: f64) {
        self.inner.run_until(self.inner.now_ms() + dt_ms.max(0.0));
    }

    /// Simulated time, ms.
    pub fn now_ms(&self) -> f64 {
        self.inner.now_ms()
    }

    /// Requests generated so far.
    pub fn generated(&self) -> f64 {
        self.inner.metrics.generated as f64
    }

    /// `kill`, `revive`, `degrade`, `restore`, `overload` or `relieve` node `name` now.
    pub fn fault(&mut self, action: &str, name: &str, factor: f64) -> Result<(), JsError> {
        let action: FaultAction = serde_json::from_value(serde_json::Value::String(action.into()))
            .map_err(|_| JsError::new(&format!("action: unknown fault {action:?}")))?;
        let i = self
            .inner
            .server_index(name)
            .ok_or_else(|| JsError::new(&format!("node: no server {name:?}")))?;
        self.inner.apply(action, i, factor);
        Ok(())
    }

    /// Change parameters live (same servers and client groups).
    pub fn reconfigure(&mut self, topology_json: &str) -> Result<(), JsError> {
        let topo = Topology::from_json(topology_json).map_err(js_err)?;
        self.inner.reconfigure(topo).map_err(js_err)
    }

    /// Take the fault timeline (`faults`) of this topology document: its
    /// faults after the clock apply in this run, earlier ones from the next
    /// start (one injected by hand and recorded at its time is not applied
    /// twice). The rest of the document is checked and left unused.
    pub fn set_timeline(&mut self, topology_json: &str) -> Result<(), JsError> {
        let topo = Topology::from_json(topology_json).map_err(js_err)?;
        self.inner.set_faults(topo.faults).map_err(js_err)
    }

    /// Nodes, totals and time now.
    pub fn snapshot(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.snapshot())
    }

    /// "Why this node?": the router's decision for a request arriving now
    /// (no cookie; the run is unchanged), what decided it and every node's
    /// `V_net`, `V_FS`, `A`, `D` and `B_R` as the core reads them.
    pub fn why(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.why())
    }

    /// Width of a metric bucket, ms (bucket `i` covers `[i·w, (i+1)·w)`).
    pub fn bucket_ms(&self) -> f64 {
        self.inner.metrics.bucket_ms() as f64
    }

    /// Metric buckets from index `from` on. A request's end is written into
    /// the bucket of the time it happens, which may be ahead of the clock, so
    /// the last buckets can lie in the future; a bucket is final once the
    /// clock has passed its end.
    pub fn series(&self, from: usize) -> Result<JsValue, JsError> {
        to_js(&self.inner.series(from))
    }
}

/// The algorithm catalogue: `[{id, label, config}]`.
#[wasm_bindgen]
pub fn algorithms() -> Result<JsValue, JsError> {
    let list: Vec<_> = sim::catalogue()
        .into_iter()
        .map(|(id, label, config)| serde_json::json!({"id": id, "label": label, "config": config}))
        .collect();
    to_js(&list)
}

/// Every algorithm on the same topology and seed for `duration_ms`.
#[wasm_bindgen]
pub fn compare(topology_json: &str, duration_ms: f64) -> Result<JsValue, JsError> {
    let topo = Topology::from_json(topology_json).map_err(js_err)?;
    to_js(&sim::compare(&topo, duration_ms).map_err(js_err)?)
}

/// The filter's configuration for this topology: `{config, notes}`, the
/// document as pretty JSON text and plain-language notes (placeholders
/// written, simulated methods the filter has no equivalent of). A sticky
/// scenario without keys of its own gets a cookie key drawn for this export.
#[wasm_bindgen]
pub fn export_config(topology_json: &str) -> Result<JsValue, JsError> {
    let key = io::fresh_key(|b| getrandom::fill(b).is_ok()).map_err(js_err)?;
    let (config, notes) = io::export(topology_json, &key).map_err(js_err)?;
    to_js(&serde_json::json!({"config": config, "notes": notes}))
}

/// Validate a configuration document with the core: `{ok, field, problem}`.
#[wasm_bindgen]
pub fn check_config(config_json: &str) -> Result<JsValue, JsError> {
    to_js(&io::check(config_json))
}

/// Validate a configuration and apply it to a topology:
/// `{ok, field, problem, topology, unmatched, not_represented}` (`topology`
/// is JSON text; `not_represented` names the fields the simulator cannot keep).
#[wasm_bindgen]
pub fn import_config(config_json: &str, topology_json: &str) -> Result<JsValue, JsError> {
    to_js(&io::import(config_json, topology_json))
}

/// Replay golden vectors; returns the report as JSON text.
#[wasm_bindgen]
pub fn golden(vectors_json: &str) -> Result<String, JsError> {
    let report = golden::replay(vectors_json).map_err(|e| JsError::new(&e))?;
    serde_json::to_string(&report).map_err(|e| JsError::new(&e.to_string()))
}

/// A fresh seed from the browser's random source (below 2^53, exact in JS).
#[wasm_bindgen]
pub fn random_seed() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 1.0;
    }
    (u64::from_le_bytes(b) >> 11) as f64
}

/// Run `topology_json` for `sim_ms` and time it: `{requests, events, wall_ms, requests_per_s}`.
#[wasm_bindgen]
pub fn bench(topology_json: &str, sim_ms: f64) -> Result<JsValue, JsError> {
    let topo = Topology::from_json(topology_json).map_err(js_err)?;
    let clock = web_sys::window().and_then(|w| w.performance());
    let now = || clock.as_ref().map_or_else(js_sys::Date::now, |p| p.now());
    let mut s = Simulation::new(topo).map_err(js_err)?;
    let t0 = now();
    s.run_until(sim_ms);
    let wall_ms = (now() - t0).max(1e-3);
    let requests = s.metrics.generated as f64;
    to_js(&serde_json::json!({
        "requests": requests,
        "events": s.events(),
        "wall_ms": wall_ms,
        "requests_per_s": requests / wall_ms * 1000.0,
    }))
}
