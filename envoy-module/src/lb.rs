//! The load-balancing policy's event hooks (`envoy_dynamic_module_on_lb_*`).
//!
//! Envoy creates the configuration once on the main thread
//! (`on_lb_config_new`: the JSON document, refused with core's message) and
//! one load balancer per worker (`on_lb_new`). Each hook catches panics: a
//! panic in a pick is logged and answered with one of Envoy's healthy hosts.

use crate::abi::*;
use crate::ffi::{log, now_ms, Envoy};
use crate::guard::{configure, guarded_choose};
use crate::picker::Picker;
use crate::settings::Settings;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn log_line(level: LogLevel, message: &str) {
    log(level, message);
}

/// `envoy_dynamic_module_on_lb_config_new`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_lb_config_new(
    _config_envoy: LbConfigEnvoyPtr,
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> LbConfigModulePtr {
    let made = catch_unwind(|| {
        // SAFETY: Envoy's buffers are valid for this call.
        let (name, config) = unsafe { (name.bytes(), config.bytes()) };
        configure(name, config)
    });
    match made {
        Ok(Ok(settings)) => Box::into_raw(Box::new(Arc::new(settings))) as LbConfigModulePtr,
        Ok(Err(line)) => {
            log_line(LogLevel::Error, &format!("edgepick: {line}"));
            core::ptr::null()
        }
        Err(_) => {
            log_line(
                LogLevel::Error,
                "edgepick: reading the configuration panicked",
            );
            core::ptr::null()
        }
    }
}

/// `envoy_dynamic_module_on_lb_config_destroy`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_lb_config_destroy(config: LbConfigModulePtr) {
    if !config.is_null() {
        // SAFETY: made by Box::into_raw in on_lb_config_new, destroyed once.
        drop(unsafe { Box::from_raw(config as *mut Arc<Settings>) });
    }
}

/// `envoy_dynamic_module_on_lb_new`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_lb_new(
    config: LbConfigModulePtr,
    _lb: LbEnvoyPtr,
) -> LbModulePtr {
    static WORKERS: AtomicU64 = AtomicU64::new(0);
    if config.is_null() {
        return core::ptr::null();
    }
    // SAFETY: a live configuration made by on_lb_config_new.
    let settings = unsafe { &*(config as *const Arc<Settings>) }.clone();
    let seed = 0x6564_6765_7069_636b ^ WORKERS.fetch_add(1, Ordering::Relaxed);
    Box::into_raw(Box::new(Picker::new(settings, seed))) as LbModulePtr
}

/// `envoy_dynamic_module_on_lb_choose_host`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_lb_choose_host(
    lb: LbEnvoyPtr,
    module: LbModulePtr,
    ctx: LbContextEnvoyPtr,
    result_priority: *mut u32,
    result_index: *mut u32,
) -> bool {
    if module.is_null() || result_priority.is_null() || result_index.is_null() {
        return false;
    }
    // SAFETY: made by on_lb_new; Envoy calls each worker's LB from that worker only.
    let picker = unsafe { &mut *(module as *mut Picker) };
    let envoy = Envoy { lb, ctx };
    match guarded_choose(picker, &envoy, now_ms(), &log_line) {
        Some((p, i)) => {
            // SAFETY: non-null out-pointers Envoy passed for this call.
            unsafe {
                *result_priority = p;
                *result_index = i;
            }
            true
        }
        None => false,
    }
}

/// `envoy_dynamic_module_on_lb_on_host_membership_update`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_lb_on_host_membership_update(
    _lb: LbEnvoyPtr,
    module: LbModulePtr,
    _added: usize,
    _removed: usize,
) {
    if !module.is_null() {
        // SAFETY: as in choose_host.
        unsafe { &mut *(module as *mut Picker) }.membership_changed();
    }
}

/// `envoy_dynamic_module_on_lb_destroy`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_lb_destroy(module: LbModulePtr) {
    if !module.is_null() {
        // SAFETY: made by Box::into_raw in on_lb_new, destroyed once.
        drop(unsafe { Box::from_raw(module as *mut Picker) });
    }
}
