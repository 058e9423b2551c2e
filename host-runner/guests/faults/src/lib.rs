//! Test guest that misbehaves on purpose; the plugin configuration picks how:
//! `panic`, `loop`, `grow`, `oob` (out-of-bounds load), `reject` (refuse the
//! configuration), `badptr` (a hostcall with a wild pointer; reports the
//! status in `x-badptr-status`), `exit` (WASI proc_exit).

use proxy_wasm::hostcalls;
use proxy_wasm::traits::*;
use proxy_wasm::types::*;

extern "C" {
    fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
}

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: String::new() }) });
}}

struct Root {
    mode: String,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _: usize) -> bool {
        self.mode = self
            .get_plugin_configuration()
            .map(|c| String::from_utf8_lossy(&c).trim().to_string())
            .unwrap_or_default();
        if self.mode == "reject" {
            let _ = hostcalls::log(LogLevel::Error, "bad configuration: mode reject");
            return false;
        }
        true
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http { mode: self.mode.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    mode: String,
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        match self.mode.as_str() {
            "panic" => panic!("guest panicked on purpose"),
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "oob" => {
                let p = std::hint::black_box(0xFFFF_FFF0usize) as *const u64;
                let v = unsafe { p.read_volatile() };
                self.set_http_request_header("x-oob", Some(&v.to_string()));
            }
            "badptr" => {
                let status = unsafe { proxy_log(2, 0xFFFF_FF00usize as *const u8, 1000) };
                self.set_http_request_header("x-badptr-status", Some(&status.to_string()));
            }
            "exit" => std::process::exit(3),
            _ => {}
        }
        Action::Continue
    }
}
