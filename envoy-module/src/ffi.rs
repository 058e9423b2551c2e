//! [`Cluster`] over Envoy's callbacks: `lb` is the worker's Envoy load
//! balancer, `ctx` the request's context (null when Envoy has none).

use crate::abi::*;
use crate::cluster::Cluster;
use std::borrow::Cow;

/// Envoy's load balancer and the request being routed.
pub struct Envoy {
    /// `envoy_dynamic_module_type_lb_envoy_ptr`.
    pub lb: LbEnvoyPtr,
    /// `envoy_dynamic_module_type_lb_context_envoy_ptr` (may be null).
    pub ctx: LbContextEnvoyPtr,
}

/// Envoy-owned bytes as text (valid until the current hook returns).
fn text<'a>(ok: bool, b: EnvoyBuffer) -> Option<&'a str> {
    // SAFETY: Envoy filled `b` and keeps the bytes alive for the hook.
    ok.then(|| core::str::from_utf8(unsafe { b.bytes() }).ok())
        .flatten()
}

impl Cluster for Envoy {
    fn priorities(&self) -> u32 {
        // SAFETY: `lb` is the pointer Envoy passed to this hook.
        let n = unsafe { envoy_dynamic_module_callback_lb_get_priority_set_size(self.lb) };
        u32::try_from(n).unwrap_or(u32::MAX)
    }
    fn hosts(&self, priority: u32) -> usize {
        // SAFETY: as above; out-of-range priorities answer 0.
        unsafe { envoy_dynamic_module_callback_lb_get_hosts_count(self.lb, priority) }
    }
    fn healthy_hosts(&self, priority: u32) -> usize {
        // SAFETY: as above.
        unsafe { envoy_dynamic_module_callback_lb_get_healthy_hosts_count(self.lb, priority) }
    }
    fn address(&self, priority: u32, index: usize) -> Option<&str> {
        let mut b = EnvoyBuffer::empty();
        // SAFETY: `b` is a valid out-pointer; Envoy checks the indexes.
        let ok = unsafe {
            envoy_dynamic_module_callback_lb_get_host_address(self.lb, priority, index, &mut b)
        };
        text(ok, b)
    }
    fn healthy_address(&self, priority: u32, index: usize) -> Option<&str> {
        let mut b = EnvoyBuffer::empty();
        // SAFETY: as above.
        let ok = unsafe {
            envoy_dynamic_module_callback_lb_get_healthy_host_address(
                self.lb, priority, index, &mut b,
            )
        };
        text(ok, b)
    }
    fn weight(&self, priority: u32, index: usize) -> u32 {
        // SAFETY: as above.
        unsafe { envoy_dynamic_module_callback_lb_get_host_weight(self.lb, priority, index) }
    }
    fn is_healthy(&self, priority: u32, index: usize) -> bool {
        // SAFETY: as above.
        let health =
            unsafe { envoy_dynamic_module_callback_lb_get_host_health(self.lb, priority, index) };
        health == HOST_HEALTHY
    }
    fn active_requests(&self, priority: u32, index: usize) -> u64 {
        // SAFETY: as above.
        unsafe {
            envoy_dynamic_module_callback_lb_get_host_stat(self.lb, priority, index, STAT_RQ_ACTIVE)
        }
    }
    fn outcomes(&self, priority: u32, index: usize) -> (u64, u64, u64) {
        // SAFETY: as above.
        let stat = |s| unsafe {
            envoy_dynamic_module_callback_lb_get_host_stat(self.lb, priority, index, s)
        };
        (
            stat(STAT_CX_CONNECT_FAIL),
            stat(STAT_RQ_ERROR),
            stat(STAT_RQ_SUCCESS),
        )
    }
    fn connect_failures(&self, priority: u32, index: usize) -> u64 {
        // SAFETY: as above.
        unsafe {
            envoy_dynamic_module_callback_lb_get_host_stat(
                self.lb,
                priority,
                index,
                STAT_CX_CONNECT_FAIL,
            )
        }
    }
    fn metadata_str(&self, priority: u32, index: usize, ns: &str, key: &str) -> Option<&str> {
        let mut b = EnvoyBuffer::empty();
        // SAFETY: the module buffers outlive the call; `b` is a valid out-pointer.
        let ok = unsafe {
            envoy_dynamic_module_callback_lb_get_host_metadata_string(
                self.lb,
                priority,
                index,
                ModuleBuffer::of(ns),
                ModuleBuffer::of(key),
                &mut b,
            )
        };
        text(ok, b)
    }
    fn metadata_num(&self, priority: u32, index: usize, ns: &str, key: &str) -> Option<f64> {
        let mut v = 0.0;
        // SAFETY: as above.
        let ok = unsafe {
            envoy_dynamic_module_callback_lb_get_host_metadata_number(
                self.lb,
                priority,
                index,
                ModuleBuffer::of(ns),
                ModuleBuffer::of(key),
                &mut v,
            )
        };
        ok.then_some(v)
    }
    fn metadata_bool(&self, priority: u32, index: usize, ns: &str, key: &str) -> Option<bool> {
        let mut v = false;
        // SAFETY: as above.
        let ok = unsafe {
            envoy_dynamic_module_callback_lb_get_host_metadata_bool(
                self.lb,
                priority,
                index,
                ModuleBuffer::of(ns),
                ModuleBuffer::of(key),
                &mut v,
            )
        };
        ok.then_some(v)
    }
    fn header(&self, name: &str) -> Option<&str> {
        if self.ctx.is_null() {
            return None;
        }
        let mut b = EnvoyBuffer::empty();
        // SAFETY: `ctx` is the context Envoy passed to choose_host; the value
        // lives as long as the request's headers, beyond this hook.
        let ok = unsafe {
            envoy_dynamic_module_callback_lb_context_get_downstream_header(
                self.ctx,
                ModuleBuffer::of(name),
                &mut b,
                0,
                core::ptr::null_mut(),
            )
        };
        text(ok, b)
    }
    fn joined_header(&self, name: &str) -> Option<Cow<'_, str>> {
        if self.ctx.is_null() {
            return None;
        }
        let read = |index: usize, count: &mut usize| {
            let mut b = EnvoyBuffer::empty();
            // SAFETY: as in `header`; `count` is a valid out-pointer. The
            // value lives as long as the request's headers.
            let ok = unsafe {
                envoy_dynamic_module_callback_lb_context_get_downstream_header(
                    self.ctx,
                    ModuleBuffer::of(name),
                    &mut b,
                    index,
                    count,
                )
            };
            // SAFETY: Envoy filled `b` when `ok`.
            ok.then(|| crate::cluster::lossy(unsafe { b.bytes() }))
        };
        let mut count = 0usize;
        let first = read(0, &mut count)?;
        if count <= 1 {
            return Some(first);
        }
        // Several lines (rare: HTTP/1.1 clients send one): joined.
        let mut all = first.into_owned();
        let lines = count;
        for index in 1..lines {
            if let Some(v) = read(index, &mut count) {
                all.push_str("; ");
                all.push_str(&v);
            }
        }
        Some(Cow::Owned(all))
    }
    fn hash_key(&self) -> Option<u64> {
        if self.ctx.is_null() {
            return None;
        }
        let mut h = 0u64;
        // SAFETY: `ctx` comes from the current choose_host call; `h` is a valid out-pointer.
        let ok =
            unsafe { envoy_dynamic_module_callback_lb_context_compute_hash_key(self.ctx, &mut h) };
        ok.then_some(h)
    }
    fn reject(&self, priority: u32, index: usize) -> bool {
        if self.ctx.is_null() {
            return false;
        }
        // SAFETY: both pointers come from the current choose_host call.
        unsafe {
            envoy_dynamic_module_callback_lb_context_should_select_another_host(
                self.lb, self.ctx, priority, index,
            )
        }
    }
}

/// Log through Envoy's `dynamic_modules` logger.
pub fn log(level: LogLevel, message: &str) {
    // SAFETY: plain calls with a buffer that outlives them.
    unsafe {
        if envoy_dynamic_module_callback_log_enabled(level) {
            envoy_dynamic_module_callback_log(level, ModuleBuffer::of(message));
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch (core's `now_ms`): the same
/// clock the wasm filter reads from Envoy, so session cookies' expiry means
/// the same in both.
pub fn now_ms() -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    u64::try_from(ms).unwrap_or(u64::MAX)
}
