//! Test guest: `/deny` gets a local 403; every response (local or not) gets
//! `x-filter-status` from `on_http_response_headers`.

use proxy_wasm::traits::*;
use proxy_wasm::types::*;

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Deny) });
}}

struct Deny;

impl Context for Deny {}

impl HttpContext for Deny {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        if self.get_http_request_header(":path").as_deref() == Some("/deny") {
            self.send_http_response(403, vec![("x-deny", "yes")], Some(b"denied by filter"));
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        let status = self.get_http_response_header(":status").unwrap_or_default();
        self.set_http_response_header("x-filter-status", Some(&status));
        Action::Continue
    }
}
