//! Test guest: calls cluster `auth` (or the cluster named by the plugin
//! configuration; `nope` for `/bad-cluster`), pauses, and on the answer either
//! resumes with `x-auth-*` headers or sends 401.

use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { cluster: String::new() }) });
}}

struct Root {
    cluster: String,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _: usize) -> bool {
        let configured = self
            .get_plugin_configuration()
            .map(|c| String::from_utf8_lossy(&c).trim().trim_matches('"').to_string())
            .unwrap_or_default();
        self.cluster = if configured.is_empty() { "auth".into() } else { configured };
        true
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Callout { cluster: self.cluster.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Callout {
    cluster: String,
}

impl HttpContext for Callout {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let cluster = if path == "/bad-cluster" { "nope" } else { self.cluster.as_str() };
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
