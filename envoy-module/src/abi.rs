//! The parts of Envoy's dynamic-modules ABI this module uses, declared by hand
//! from Envoy's C header `source/extensions/dynamic_modules/abi/abi.h`
//! (ABI `v0.2.0`, Envoy 1.40; see the crate docs for the exact source read).
//! One declaration per callback, each naming its ABI function. The event
//! hooks Envoy calls are defined in `lb.rs` and `lib.rs`.
//!
//! Indexes: `priority`/`index` name a host in that priority's list of *all*
//! hosts, except where a callback says "healthy"; `choose_host` answers an
//! index into the *healthy* list.

use core::ffi::c_char;

/// The ABI version this module is written against; returned from
/// `envoy_dynamic_module_on_program_init`.
pub const ABI_VERSION: &str = "v0.2.0";

/// `envoy_dynamic_module_type_envoy_buffer`: bytes owned by Envoy.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct EnvoyBuffer {
    /// Start of the bytes (may be null when `length` is 0).
    pub ptr: *const c_char,
    /// Number of bytes.
    pub length: usize,
}

impl EnvoyBuffer {
    /// An empty buffer for Envoy to fill.
    pub const fn empty() -> Self {
        EnvoyBuffer {
            ptr: core::ptr::null(),
            length: 0,
        }
    }

    /// The bytes, or an empty slice for a null pointer.
    ///
    /// # Safety
    /// `ptr` must point to `length` readable bytes that outlive the slice.
    pub unsafe fn bytes<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.length == 0 {
            &[]
        } else {
            // SAFETY: the caller vouches for ptr/length.
            unsafe { core::slice::from_raw_parts(self.ptr.cast::<u8>(), self.length) }
        }
    }
}

/// `envoy_dynamic_module_type_module_buffer`: bytes owned by this module.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModuleBuffer {
    /// Start of the bytes.
    pub ptr: *const c_char,
    /// Number of bytes.
    pub length: usize,
}

impl ModuleBuffer {
    /// A view of `s` (valid while `s` lives).
    pub fn of(s: &str) -> Self {
        ModuleBuffer {
            ptr: s.as_ptr().cast(),
            length: s.len(),
        }
    }
}

/// `envoy_dynamic_module_type_log_level` (spdlog's order).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `_Trace`.
    Trace = 0,
    /// `_Debug`.
    Debug = 1,
    /// `_Info`.
    Info = 2,
    /// `_Warn`.
    Warn = 3,
    /// `_Error`.
    Error = 4,
}

/// `envoy_dynamic_module_type_host_health`: `Unhealthy`, `Degraded`, `Healthy`.
pub type HostHealth = u32;
/// `envoy_dynamic_module_type_host_health_Healthy`.
pub const HOST_HEALTHY: HostHealth = 2;

/// `envoy_dynamic_module_type_host_stat`.
pub type HostStat = u32;
/// `envoy_dynamic_module_type_host_stat_CxConnectFail`: connect failures (counter).
pub const STAT_CX_CONNECT_FAIL: HostStat = 0;
/// `envoy_dynamic_module_type_host_stat_RqError`: requests answered 5xx or reset (counter).
pub const STAT_RQ_ERROR: HostStat = 2;
/// `envoy_dynamic_module_type_host_stat_RqSuccess`: requests answered below 5xx (counter).
pub const STAT_RQ_SUCCESS: HostStat = 3;
/// `envoy_dynamic_module_type_host_stat_RqActive`: requests in flight, all workers (gauge).
pub const STAT_RQ_ACTIVE: HostStat = 7;

/// `envoy_dynamic_module_type_lb_config_envoy_ptr`.
pub type LbConfigEnvoyPtr = *mut core::ffi::c_void;
/// `envoy_dynamic_module_type_lb_config_module_ptr`.
pub type LbConfigModulePtr = *const core::ffi::c_void;
/// `envoy_dynamic_module_type_lb_envoy_ptr`.
pub type LbEnvoyPtr = *mut core::ffi::c_void;
/// `envoy_dynamic_module_type_lb_module_ptr`.
pub type LbModulePtr = *const core::ffi::c_void;
/// `envoy_dynamic_module_type_lb_context_envoy_ptr` (may be null).
pub type LbContextEnvoyPtr = *mut core::ffi::c_void;

#[cfg(not(test))]
extern "C" {
    /// `envoy_dynamic_module_callback_log`
    pub fn envoy_dynamic_module_callback_log(level: LogLevel, message: ModuleBuffer);
    /// `envoy_dynamic_module_callback_log_enabled`
    pub fn envoy_dynamic_module_callback_log_enabled(level: LogLevel) -> bool;
    /// `envoy_dynamic_module_callback_lb_get_priority_set_size`
    pub fn envoy_dynamic_module_callback_lb_get_priority_set_size(lb: LbEnvoyPtr) -> usize;
    /// `envoy_dynamic_module_callback_lb_get_hosts_count`
    pub fn envoy_dynamic_module_callback_lb_get_hosts_count(lb: LbEnvoyPtr, priority: u32)
        -> usize;
    /// `envoy_dynamic_module_callback_lb_get_healthy_hosts_count`
    pub fn envoy_dynamic_module_callback_lb_get_healthy_hosts_count(
        lb: LbEnvoyPtr,
        priority: u32,
    ) -> usize;
    /// `envoy_dynamic_module_callback_lb_get_host_address`
    pub fn envoy_dynamic_module_callback_lb_get_host_address(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
        result: *mut EnvoyBuffer,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_get_healthy_host_address`
    pub fn envoy_dynamic_module_callback_lb_get_healthy_host_address(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
        result: *mut EnvoyBuffer,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_get_host_weight`
    pub fn envoy_dynamic_module_callback_lb_get_host_weight(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
    ) -> u32;
    /// `envoy_dynamic_module_callback_lb_get_host_health`
    pub fn envoy_dynamic_module_callback_lb_get_host_health(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
    ) -> HostHealth;
    /// `envoy_dynamic_module_callback_lb_get_host_stat`
    pub fn envoy_dynamic_module_callback_lb_get_host_stat(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
        stat: HostStat,
    ) -> u64;
    /// `envoy_dynamic_module_callback_lb_get_host_metadata_string`
    pub fn envoy_dynamic_module_callback_lb_get_host_metadata_string(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
        filter_name: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_get_host_metadata_number`
    pub fn envoy_dynamic_module_callback_lb_get_host_metadata_number(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
        filter_name: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut f64,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_get_host_metadata_bool`
    pub fn envoy_dynamic_module_callback_lb_get_host_metadata_bool(
        lb: LbEnvoyPtr,
        priority: u32,
        index: usize,
        filter_name: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut bool,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_context_get_downstream_header`
    pub fn envoy_dynamic_module_callback_lb_context_get_downstream_header(
        context: LbContextEnvoyPtr,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_context_compute_hash_key`: Envoy's
    /// hash of what the route's or `tcp_proxy`'s `hash_policy` names (e.g.
    /// `source_ip`); false when there is none. Call once per attempt.
    pub fn envoy_dynamic_module_callback_lb_context_compute_hash_key(
        context: LbContextEnvoyPtr,
        hash_out: *mut u64,
    ) -> bool;
    /// `envoy_dynamic_module_callback_lb_context_should_select_another_host`
    pub fn envoy_dynamic_module_callback_lb_context_should_select_another_host(
        lb: LbEnvoyPtr,
        context: LbContextEnvoyPtr,
        priority: u32,
        index: usize,
    ) -> bool;
}

/// Every callback declared above, by symbol name: the load-time check looks
/// each up in the Envoy process and refuses to load when one is missing.
pub const CALLBACKS: &[&str] = &[
    "envoy_dynamic_module_callback_log",
    "envoy_dynamic_module_callback_log_enabled",
    "envoy_dynamic_module_callback_lb_get_priority_set_size",
    "envoy_dynamic_module_callback_lb_get_hosts_count",
    "envoy_dynamic_module_callback_lb_get_healthy_hosts_count",
    "envoy_dynamic_module_callback_lb_get_host_address",
    "envoy_dynamic_module_callback_lb_get_healthy_host_address",
    "envoy_dynamic_module_callback_lb_get_host_weight",
    "envoy_dynamic_module_callback_lb_get_host_health",
    "envoy_dynamic_module_callback_lb_get_host_stat",
    "envoy_dynamic_module_callback_lb_get_host_metadata_string",
    "envoy_dynamic_module_callback_lb_get_host_metadata_number",
    "envoy_dynamic_module_callback_lb_get_host_metadata_bool",
    "envoy_dynamic_module_callback_lb_context_get_downstream_header",
    "envoy_dynamic_module_callback_lb_context_should_select_another_host",
    "envoy_dynamic_module_callback_lb_context_compute_hash_key",
];
