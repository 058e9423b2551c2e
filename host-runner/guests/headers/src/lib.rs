//! Test guest: rewrites headers and reports what the host answered for
//! properties, time, log level, foreign functions and missing keys, all as
//! request headers (`x-*`) so a test (or Envoy) can compare.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use std::hash::{BuildHasher, Hasher};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { endpoint: String::new() }) });
}}

struct Root {
    endpoint: String,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_vm_start(&mut self, size: usize) -> bool {
        let vm = self.get_vm_configuration().map(|b| String::from_utf8_lossy(&b).into_owned());
        let _ = hostcalls::log(LogLevel::Info, &format!("vm start: size={size} config={vm:?}"));
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        match self.get_plugin_configuration() {
            Some(c) => {
                // A bare string, optionally as a JSON string literal.
                self.endpoint = String::from_utf8_lossy(&c).trim().trim_matches('"').to_string();
                true
            }
            None => false,
        }
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http { endpoint: self.endpoint.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    endpoint: String,
}

impl Context for Http {}

fn text(v: Option<Vec<u8>>) -> String {
    v.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|| "none".into())
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, n: usize, eos: bool) -> Action {
        self.set_http_request_header("x-gateway-destination-endpoint", Some(&self.endpoint));
        self.add_http_request_header("x-added", "1");
        self.add_http_request_header("x-added", "2");
        self.set_http_request_header("x-remove-me", None);
        let path = self.get_http_request_header(":path").unwrap_or_default();
        self.set_http_request_header("x-seen-path", Some(&path));
        let missing = self.get_http_request_header("x-not-there").unwrap_or_else(|| "none".into());
        self.set_http_request_header("x-missing", Some(&missing));
        self.set_http_request_header("x-count", Some(&n.to_string()));
        self.set_http_request_header("x-eos", Some(&eos.to_string()));
        let client = text(self.get_property(vec!["source", "address"]));
        self.set_http_request_header("x-client", Some(&client));
        let plugin = text(self.get_property(vec!["plugin_name"]));
        self.set_http_request_header("x-plugin-name", Some(&plugin));
        let method = text(self.get_property(vec!["request", "method"]));
        self.set_http_request_header("x-method", Some(&method));
        let nothing = text(self.get_property(vec!["no", "such", "thing"]));
        self.set_http_request_header("x-prop-missing", Some(&nothing));
        self.set_property(vec!["edgepick_pick"], Some(b"picked"));
        let back = text(self.get_property(vec!["edgepick_pick"]));
        self.set_http_request_header("x-prop-roundtrip", Some(&back));
        let now = self.get_current_time().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        self.set_http_request_header("x-now-ms", Some(&now.as_millis().to_string()));
        let level = hostcalls::get_log_level().map(|l| l as u32).unwrap_or(99);
        self.set_http_request_header("x-log-level", Some(&level.to_string()));
        let a = hostcalls::call_foreign_function("clear_route_cache", None).is_ok();
        let b = hostcalls::call_foreign_function("no_such_function", Some(b"x"));
        let foreign = format!("{a},{:?}", b.err());
        self.set_http_request_header("x-foreign", Some(&foreign));
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        self.set_http_request_header("x-random", Some(&random.to_string()));
        let pairs = self.get_http_request_headers().len();
        self.set_http_request_header("x-pairs", Some(&pairs.to_string()));
        let _ = hostcalls::log(LogLevel::Info, &format!("request {path}"));
        println!("stdout line from guest");
        Action::Continue
    }

    fn on_http_request_body(&mut self, size: usize, eos: bool) -> Action {
        if !eos {
            return Action::Pause;
        }
        let body = text(self.get_http_request_body(0, size));
        self.set_http_request_body(0, size, format!("seen:{body}").as_bytes());
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let upstream = text(self.get_property(vec!["upstream", "address"]));
        self.add_http_response_header("set-cookie", &format!("ep={upstream}; Path=/"));
        let code = self
            .get_property(vec!["response", "code"])
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
            .unwrap_or(-1);
        self.set_http_response_header("x-response-code", Some(&code.to_string()));
        let served = self.get_http_response_header("x-served-by").unwrap_or_else(|| "none".into());
        self.set_http_response_header("x-filter-saw-served-by", Some(&served));
        Action::Continue
    }

    fn on_log(&mut self) {
        let _ = hostcalls::log(LogLevel::Debug, "on_log");
    }
}
