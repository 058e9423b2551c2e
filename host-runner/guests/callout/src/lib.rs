//! Test guest: calls cluster `auth` (or `nope` for `/bad-cluster`), pauses,
//! and on the answer either resumes with `x-auth-*` headers or sends 401.

use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Callout) });
}}

struct Callout;

impl HttpContext for Callout {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let cluster = if path == "/bad-cluster" { "nope" } else { "auth" };
        let headers = vec![(":method", "GET"), (":path", "/check"), (":authority", "auth"), ("x-for", path.as_str())];
        match self.dispatch_http_call(cluster, headers, None, vec![], Duration::from_millis(500)) {
            Ok(_) => Action::Pause,
            Err(e) => {
                let body = format!("dispatch failed: {e:?}");
                self.send_http_response(502, vec![], Some(body.as_bytes()));
                Action::Pause
            }
        }
    }
}

impl Context for Callout {
    fn on_http_call_response(&mut self, token: u32, _nh: usize, body_size: usize, _nt: usize) {
        let status = self.get_http_call_response_header(":status").unwrap_or_else(|| "none".into());
        let body = self
            .get_http_call_response_body(0, body_size)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if status != "200" {
            self.send_http_response(401, vec![("x-auth-status", status.as_str())], Some(body.as_bytes()));
            return;
        }
        self.set_http_request_header("x-auth-status", Some(&status));
        self.set_http_request_header("x-auth-body", Some(&body));
        self.set_http_request_header("x-auth-token", Some(&token.to_string()));
        self.resume_http_request();
    }
}
