//! Minimal proxy-wasm filter: the plugin configuration is a comma-separated
//! list of `ip:port`; each request gets the next one in
//! `x-gateway-destination-endpoint`. No parsing, no state beyond a counter.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::cell::Cell;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { endpoints: Rc::new(Vec::new()), next: Rc::new(Cell::new(0)) })
    });
}}

struct Root {
    endpoints: Rc<Vec<String>>,
    next: Rc<Cell<usize>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let cfg = self.get_plugin_configuration().unwrap_or_default();
        let text = String::from_utf8_lossy(&cfg);
        self.endpoints = Rc::new(text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
        !self.endpoints.is_empty()
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream { endpoints: self.endpoints.clone(), next: self.next.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    endpoints: Rc<Vec<String>>,
    next: Rc<Cell<usize>>,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let i = self.next.get();
        self.next.set(i.wrapping_add(1));
        let ep = &self.endpoints[i % self.endpoints.len()];
        self.set_http_request_header("x-gateway-destination-endpoint", Some(ep));
        Action::Continue
    }
}
