//! Probe filter: what the minimal filter does (a round-robin
//! `x-gateway-destination-endpoint`) plus `K` extra hostcalls of one kind on
//! every request, so the difference in Envoy's instructions per request
//! against `K = 0`, divided by `K`, prices one call.
//!
//! Plugin configuration: `<endpoint list>;<endpoint list>…|<op>|<K>`, e.g.
//! `127.0.0.1:18101;127.0.0.1:18102|hdr|10`. Ops: `time`, `hdr` (a present
//! request header), `hdr_missing`, `hdr_map` (all request headers), `prop`
//! (`source.address`), `shared_get`, `shared_set`, `metric_get`, `metric_inc`,
//! `gauge_incdec`, `set_hdr`, `alloc`, `none`.
//!
//! Measured by hand: build with `cargo build --release --target wasm32-wasip1
//! --manifest-path xtask/probe-filter/Cargo.toml`, then run Envoy under
//! `valgrind --tool=callgrind` exactly as `cargo xtask bench --instructions`
//! does (`xtask/src/bench_instr.rs`), with this module and configuration in
//! place of the minimal filter's.

use proxy_wasm::hostcalls as h;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType};
use std::cell::Cell;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { cfg: Rc::new(Cfg::default()), next: Rc::new(Cell::new(0)) })
    });
}}

#[derive(Default)]
struct Cfg {
    endpoints: Vec<String>,
    op: String,
    k: usize,
    metric: u32,
    gauge: u32,
}

struct Root {
    cfg: Rc<Cfg>,
    next: Rc<Cell<usize>>,
}
impl Context for Root {}
impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let cfg = self.get_plugin_configuration().unwrap_or_default();
        let text = String::from_utf8_lossy(&cfg).to_string();
        let mut parts = text.split('|');
        let eps = parts.next().unwrap_or("");
        let op = parts.next().unwrap_or("none").to_string();
        let k = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let metric = h::define_metric(MetricType::Counter, "probe_counter").unwrap();
        let gauge = h::define_metric(MetricType::Gauge, "probe_gauge").unwrap();
        h::set_shared_data("probe.key", Some(b"E1 5 0:0:0:-,0:0:0:-,0:0:0:-"), None).unwrap();
        self.cfg = Rc::new(Cfg {
            endpoints: eps.split(';').map(|s| s.trim().to_string()).collect(),
            op,
            k,
            metric,
            gauge,
        });
        true
    }
    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            cfg: self.cfg.clone(),
            next: self.next.clone(),
        }))
    }
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    cfg: Rc<Cfg>,
    next: Rc<Cell<usize>>,
}
impl Context for Stream {}
impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let c = &*self.cfg;
        let mut sink = 0usize;
        for _ in 0..c.k {
            match c.op.as_str() {
                "time" => sink += h::get_current_time().is_ok() as usize,
                "hdr" => {
                    sink += h::get_map_value(MapType::HttpRequestHeaders, "user-agent")
                        .unwrap()
                        .map_or(0, |v| v.len())
                }
                "hdr_missing" => {
                    sink += h::get_map_value(MapType::HttpRequestHeaders, "x-nope")
                        .unwrap()
                        .map_or(0, |v| v.len())
                }
                "hdr_map" => sink += h::get_map(MapType::HttpRequestHeaders).unwrap().len(),
                "prop" => {
                    sink += h::get_property(vec!["source", "address"])
                        .unwrap()
                        .map_or(0, |v| v.len())
                }
                "shared_get" => {
                    sink += h::get_shared_data("probe.key")
                        .unwrap()
                        .0
                        .map_or(0, |v| v.len())
                }
                "shared_set" => {
                    h::set_shared_data("probe.key2", Some(b"12"), None).unwrap();
                }
                "metric_get" => sink += h::get_metric(c.gauge).unwrap() as usize,
                "metric_inc" => {
                    h::increment_metric(c.metric, 1).unwrap();
                }
                "gauge_incdec" => {
                    h::increment_metric(c.gauge, 1).unwrap();
                    h::increment_metric(c.gauge, -1).unwrap();
                }
                "set_hdr" => {
                    h::set_map_value(MapType::HttpRequestHeaders, "x-probe", Some("v")).unwrap();
                }
                "alloc" => {
                    let v: Vec<u8> = Vec::with_capacity(64 + sink % 3);
                    sink += v.capacity();
                }
                _ => {}
            }
        }
        if sink == usize::MAX {
            h::log(LogLevel::Critical, "x").unwrap();
        }
        let i = self.next.get();
        self.next.set(i.wrapping_add(1));
        let ep = &c.endpoints[i % c.endpoints.len()];
        self.set_http_request_header("x-gateway-destination-endpoint", Some(ep));
        Action::Continue
    }
}
