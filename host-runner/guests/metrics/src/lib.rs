//! Test guest: defines a counter, a gauge and a histogram; each request moves
//! them and reports Envoy's statuses for the edge cases in `x-*` headers.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { ids: (0, 0, 0) }) });
}}

struct Root {
    ids: (u32, u32, u32),
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _: usize) -> bool {
        let c = hostcalls::define_metric(MetricType::Counter, "requests").unwrap_or(0);
        let g = hostcalls::define_metric(MetricType::Gauge, "inflight").unwrap_or(0);
        let h = hostcalls::define_metric(MetricType::Histogram, "latency_ms").unwrap_or(0);
        self.ids = (c, g, h);
        true
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http { ids: self.ids }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    ids: (u32, u32, u32),
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let (c, g, h) = self.ids;
        let _ = hostcalls::increment_metric(c, 1);
        let _ = hostcalls::increment_metric(g, 5);
        let _ = hostcalls::increment_metric(g, -2);
        let _ = hostcalls::record_metric(h, 42);
        let report = [
            ("x-ids", format!("{c},{g},{h}")),
            ("x-requests", format!("{:?}", hostcalls::get_metric(c))),
            ("x-inflight", format!("{:?}", hostcalls::get_metric(g))),
            ("x-counter-negative", format!("{:?}", hostcalls::increment_metric(c, -1))),
            ("x-histogram-get", format!("{:?}", hostcalls::get_metric(h))),
            ("x-unknown-get", format!("{:?}", hostcalls::get_metric(1000))),
            ("x-unknown-record", format!("{:?}", hostcalls::record_metric(1000, 1))),
        ];
        for (k, v) in report {
            self.set_http_request_header(k, Some(&v));
        }
        Action::Continue
    }
}
