//! Test guest: a request counter in shared data (CAS loop) shared by every
//! VM, a queue the root context drains on `on_queue_ready`, and a tick that
//! counts in shared data. Reports through `x-*` request headers.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { queue: 0 }) });
}}

fn bump(key: &str) -> u64 {
    loop {
        let (value, cas) = hostcalls::get_shared_data(key).unwrap_or((None, None));
        let n = value
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        match hostcalls::set_shared_data(key, Some(n.to_string().as_bytes()), cas) {
            Ok(()) => return n,
            Err(Status::CasMismatch) => continue,
            Err(_) => return 0,
        }
    }
}

fn read(key: &str) -> String {
    let (v, _) = hostcalls::get_shared_data(key).unwrap_or((None, None));
    v.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|| "none".into())
}

struct Root {
    queue: u32,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_vm_start(&mut self, _: usize) -> bool {
        self.queue = hostcalls::register_shared_queue("events").unwrap_or(0);
        true
    }

    fn on_configure(&mut self, _: usize) -> bool {
        self.set_tick_period(Duration::from_millis(100));
        true
    }

    fn on_tick(&mut self) {
        bump("ticks");
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        while let Ok(Some(item)) = hostcalls::dequeue_shared_queue(queue_id) {
            if item == b"hit" {
                bump("queue_seen");
            }
        }
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http;

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let n = bump("count");
        self.set_http_request_header("x-count", Some(&n.to_string()));
        self.set_http_request_header("x-ticks", Some(&read("ticks")));
        self.set_http_request_header("x-queue-seen", Some(&read("queue_seen")));
        self.set_http_request_header("x-missing-shared", Some(&read("never-set")));
        if let Ok(Some(q)) = hostcalls::resolve_shared_queue("", "events") {
            let _ = hostcalls::enqueue_shared_queue(q, Some(b"hit"));
        }
        let unknown = hostcalls::resolve_shared_queue("", "no-such-queue").ok().flatten();
        self.set_http_request_header("x-unknown-queue", Some(&format!("{unknown:?}")));
        let stale = hostcalls::set_shared_data("count", Some(b"0"), Some(u32::MAX - 7));
        self.set_http_request_header("x-stale-cas", Some(&format!("{stale:?}")));
        Action::Continue
    }
}
