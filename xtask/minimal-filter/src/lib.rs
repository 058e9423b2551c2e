//! Minimal proxy-wasm filter: the plugin configuration is a comma-separated
//! list of `ip:port`; each request gets the next one in
//! `x-gateway-destination-endpoint`. No parsing, no state beyond a counter.
//!
//! For the bench's hostcall budget, the configuration may end in
//! `;probe=OP+OP…`: each OP adds exactly one hostcall to every request, so
//! "floor + OP" minus "floor" is what that hostcall costs Envoy (the call,
//! the host's work, the copy into the VM), with no other filter work around
//! it. OPs: `clock` (the time, on request headers), `clock2` (again, on
//! response headers), `status` (`:status` of the response), `attempts`
//! (`x-envoy-attempt-count` of the response), `upstream` (the
//! `upstream.address` property, at the end of the stream), `upstream-header`
//! (`x-edgepick-upstream` of the response), `miss` (a response header that
//! is not there, as a load report a backend does not send), `pairs` (every
//! request header at once, as the filter reads `Cookie` lines; before the
//! destination header is written; the SDK also splits the buffer into
//! pairs, which the filter does not). Without a probe
//! the floor pays one well-predicted branch per callback.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::cell::Cell;
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { endpoints: Rc::new(Vec::new()), next: Rc::new(Cell::new(0)), probe: 0 })
    });
}}

const CLOCK: u8 = 1;
const CLOCK2: u8 = 2;
const STATUS: u8 = 4;
const ATTEMPTS: u8 = 8;
const UPSTREAM: u8 = 16;
const UPSTREAM_HEADER: u8 = 32;
const MISS: u8 = 64;
const PAIRS: u8 = 128;
const OPS: [(&str, u8); 8] = [
    ("clock", CLOCK),
    ("clock2", CLOCK2),
    ("status", STATUS),
    ("attempts", ATTEMPTS),
    ("upstream", UPSTREAM),
    ("upstream-header", UPSTREAM_HEADER),
    ("miss", MISS),
    ("pairs", PAIRS),
];

struct Root {
    endpoints: Rc<Vec<String>>,
    next: Rc<Cell<usize>>,
    probe: u8,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let cfg = self.get_plugin_configuration().unwrap_or_default();
        let text = String::from_utf8_lossy(&cfg);
        let (list, probe) = text.split_once(";probe=").unwrap_or((&text, ""));
        self.endpoints = Rc::new(
            list.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        );
        self.probe = 0;
        for op in probe.split('+').filter(|o| !o.is_empty()) {
            match OPS.iter().find(|(name, _)| *name == op) {
                Some((_, bit)) => self.probe |= bit,
                None => {
                    proxy_wasm::hostcalls::log(
                        LogLevel::Error,
                        &format!("minimal filter: unknown probe {op:?}"),
                    )
                    .ok();
                    return false;
                }
            }
        }
        !self.endpoints.is_empty()
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            endpoints: self.endpoints.clone(),
            next: self.next.clone(),
            probe: self.probe,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    endpoints: Rc<Vec<String>>,
    next: Rc<Cell<usize>>,
    probe: u8,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        if self.probe & PAIRS != 0 {
            std::hint::black_box(self.get_http_request_headers_bytes());
        }
        let i = self.next.get();
        self.next.set(i.wrapping_add(1));
        let ep = &self.endpoints[i % self.endpoints.len()];
        self.set_http_request_header("x-gateway-destination-endpoint", Some(ep));
        if self.probe & CLOCK != 0 {
            std::hint::black_box(self.get_current_time());
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
        if self.probe != 0 {
            if self.probe & CLOCK2 != 0 {
                std::hint::black_box(self.get_current_time());
            }
            if self.probe & STATUS != 0 {
                std::hint::black_box(self.get_http_response_header(":status"));
            }
            if self.probe & ATTEMPTS != 0 {
                std::hint::black_box(self.get_http_response_header("x-envoy-attempt-count"));
            }
            if self.probe & MISS != 0 {
                std::hint::black_box(self.get_http_response_header("x-not-in-the-response"));
            }
            if self.probe & UPSTREAM_HEADER != 0 {
                std::hint::black_box(self.get_http_response_header("x-edgepick-upstream"));
            }
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        if self.probe & UPSTREAM != 0 {
            std::hint::black_box(self.get_property(vec!["upstream", "address"]));
        }
    }
}
