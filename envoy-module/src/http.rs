//! The companion HTTP filter's event hooks (`envoy_dynamic_module_on_http_filter_*`):
//! [`crate::session`] over Envoy's callbacks.
//!
//! Envoy resolves every hook of the HTTP-filter ABI when it loads the
//! filter, so the ones this filter does not use (bodies, trailers, callouts,
//! scheduling, watermarks) are defined as no-ops. Each hook that does work
//! catches panics: a panic is logged and the stream continues untouched.

use crate::abi::{EnvoyBuffer, LogLevel, ModuleBuffer};
use crate::abi_http::*;
use crate::ffi::{log, now_ms};
use crate::hosts::METADATA_NS;
use crate::session::{Held, Role, Session};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// One stream: its configuration and the request's cookie.
struct Stream {
    session: Arc<Session>,
    /// What the request's cookie said (role [`Role::SetCookie`]).
    held: Held,
    /// When the request's headers came, Unix ms (role [`Role::SetCookie`]).
    at_ms: u64,
}

/// Envoy-owned bytes (valid until the current hook returns).
fn bytes<'a>(ok: bool, b: EnvoyBuffer) -> Option<&'a [u8]> {
    // SAFETY: Envoy filled `b` and keeps the bytes alive for the hook.
    ok.then(|| unsafe { b.bytes() })
}

/// Every value of header `key` (`kind`: request or response headers).
fn header_values<'a>(f: HttpFilterEnvoyPtr, kind: HeaderType, key: &str) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut count = 0usize;
    let mut i = 0;
    loop {
        let mut b = EnvoyBuffer::empty();
        // SAFETY: `f` is the stream Envoy passed to this hook; valid out-pointers.
        let ok = unsafe {
            envoy_dynamic_module_callback_http_get_header(
                f,
                kind,
                ModuleBuffer::of(key),
                &mut b,
                i,
                &mut count,
            )
        };
        match bytes(ok, b) {
            Some(v) => out.push(v),
            None => break,
        }
        i += 1;
        if i >= count {
            break;
        }
    }
    out
}

fn text(b: &[u8]) -> Option<&str> {
    core::str::from_utf8(b).ok()
}

/// `upstream.address` of the stream (the host that served).
fn upstream_address<'a>(f: HttpFilterEnvoyPtr) -> Option<&'a str> {
    let mut b = EnvoyBuffer::empty();
    // SAFETY: as above.
    let ok = unsafe {
        envoy_dynamic_module_callback_http_filter_get_attribute_string(
            f,
            ATTRIBUTE_UPSTREAM_ADDRESS,
            &mut b,
        )
    };
    bytes(ok, b).and_then(text)
}

/// The serving host's endpoint metadata `edgepick.name`.
fn host_name<'a>(f: HttpFilterEnvoyPtr) -> Option<&'a str> {
    let mut b = EnvoyBuffer::empty();
    // SAFETY: as above; the module buffers outlive the call.
    let ok = unsafe {
        envoy_dynamic_module_callback_http_get_metadata_string(
            f,
            METADATA_HOST,
            ModuleBuffer::of(METADATA_NS),
            ModuleBuffer::of("name"),
            &mut b,
        )
    };
    bytes(ok, b).and_then(text)
}

fn on_request(f: HttpFilterEnvoyPtr, s: &mut Stream) {
    let lines = header_values(f, REQUEST_HEADER, "cookie");
    if lines.is_empty() {
        return;
    }
    match s.session.role {
        Role::SetCookie => {
            s.at_ms = now_ms();
            s.held = s.session.read_request(&lines, s.at_ms);
        }
        Role::Strip => {
            if let Some(kept) = s.session.strip(&lines) {
                replace_cookie_lines(f, &kept);
            }
        }
    }
}

/// Replace the request's `Cookie` lines by `kept` (none: no header).
fn replace_cookie_lines(f: HttpFilterEnvoyPtr, kept: &[Vec<u8>]) {
    let key = ModuleBuffer::of("cookie");
    let value = |v: &[u8]| ModuleBuffer {
        ptr: v.as_ptr().cast(),
        length: v.len(),
    };
    let first = kept.first().map_or(
        ModuleBuffer {
            ptr: core::ptr::null(),
            length: 0,
        },
        |v| value(v),
    );
    // SAFETY: `f` is this hook's stream; the buffers outlive the calls (Envoy copies).
    unsafe {
        envoy_dynamic_module_callback_http_set_header(f, REQUEST_HEADER, key, first);
        for v in kept.iter().skip(1) {
            envoy_dynamic_module_callback_http_add_header(f, REQUEST_HEADER, key, value(v));
        }
    }
}

fn on_response(f: HttpFilterEnvoyPtr, s: &Stream) {
    if s.session.role != Role::SetCookie {
        return;
    }
    let server = upstream_address(f).and_then(|address| s.session.server(address, || host_name(f)));
    let status = || {
        header_values(f, RESPONSE_HEADER, ":status")
            .first()
            .and_then(|v| text(v)?.parse().ok())
    };
    let now = if s.at_ms == 0 { now_ms() } else { s.at_ms };
    if let Some(h) = s.session.set_cookie(&s.held, server, status, now) {
        // SAFETY: as above.
        unsafe {
            envoy_dynamic_module_callback_http_add_header(
                f,
                RESPONSE_HEADER,
                ModuleBuffer::of("set-cookie"),
                ModuleBuffer::of(&h),
            );
        }
    }
}

/// Run `work` on the stream behind `module`, catching a panic.
fn with_stream(module: HttpFilterModulePtr, what: &str, work: impl FnOnce(&mut Stream)) {
    if module.is_null() {
        return;
    }
    // SAFETY: made by on_http_filter_new; Envoy calls a stream's hooks on its worker only.
    let s = unsafe { &mut *(module as *mut Stream) };
    if catch_unwind(AssertUnwindSafe(|| work(s))).is_err() {
        log(
            LogLevel::Error,
            &format!("edgepick: the cookie filter panicked on the {what}; the stream continues unchanged"),
        );
    }
}

/// `envoy_dynamic_module_on_http_filter_config_new`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    _config_envoy: HttpConfigEnvoyPtr,
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> HttpConfigModulePtr {
    let made = catch_unwind(|| {
        // SAFETY: Envoy's buffers are valid for this call.
        let (name, config) = unsafe { (name.bytes(), config.bytes()) };
        Session::configure(name, config)
    });
    match made {
        Ok(Ok(s)) => Box::into_raw(Box::new(Arc::new(s))) as HttpConfigModulePtr,
        Ok(Err(line)) => {
            log(LogLevel::Error, &format!("edgepick: {line}"));
            core::ptr::null()
        }
        Err(_) => {
            log(
                LogLevel::Error,
                "edgepick: reading the filter configuration panicked",
            );
            core::ptr::null()
        }
    }
}

/// `envoy_dynamic_module_on_http_filter_config_destroy`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: HttpConfigModulePtr) {
    if !config.is_null() {
        // SAFETY: made by Box::into_raw in config_new, destroyed once.
        drop(unsafe { Box::from_raw(config as *mut Arc<Session>) });
    }
}

/// `envoy_dynamic_module_on_http_filter_new`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: HttpConfigModulePtr,
    _filter: HttpFilterEnvoyPtr,
) -> HttpFilterModulePtr {
    if config.is_null() {
        return core::ptr::null();
    }
    // SAFETY: a live configuration made by config_new.
    let session = unsafe { &*(config as *const Arc<Session>) }.clone();
    let stream = Stream {
        session,
        held: Held::Absent,
        at_ms: 0,
    };
    Box::into_raw(Box::new(stream)) as HttpFilterModulePtr
}

/// `envoy_dynamic_module_on_http_filter_request_headers`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter: HttpFilterEnvoyPtr,
    module: HttpFilterModulePtr,
    _end_of_stream: bool,
) -> Status {
    with_stream(module, "request", |s| on_request(filter, s));
    CONTINUE
}

/// `envoy_dynamic_module_on_http_filter_response_headers`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    filter: HttpFilterEnvoyPtr,
    module: HttpFilterModulePtr,
    _end_of_stream: bool,
) -> Status {
    with_stream(module, "response", |s| on_response(filter, s));
    CONTINUE
}

/// `envoy_dynamic_module_on_http_filter_destroy`
#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(module: HttpFilterModulePtr) {
    if !module.is_null() {
        // SAFETY: made by Box::into_raw in filter_new, destroyed once.
        drop(unsafe { Box::from_raw(module as *mut Stream) });
    }
}

/// Hooks this filter has no use for, answering `Continue` where Envoy
/// expects a status: `(filter, module, end_of_stream) -> status`.
macro_rules! pass_through {
    ($($hook:ident),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($hook), "` (unused: continue)")]
        #[no_mangle]
        pub extern "C" fn $hook(_: HttpFilterEnvoyPtr, _: HttpFilterModulePtr, _: bool) -> Status {
            CONTINUE
        }
    )*};
}

pass_through!(
    envoy_dynamic_module_on_http_filter_request_body,
    envoy_dynamic_module_on_http_filter_request_trailers,
    envoy_dynamic_module_on_http_filter_response_body,
    envoy_dynamic_module_on_http_filter_response_trailers,
);

/// Hooks for features this filter never starts (callouts, streams,
/// scheduling, watermarks) and stream completion: Envoy resolves them at
/// load but calls them only for what a module started (completion aside,
/// where there is nothing to do).
macro_rules! unused {
    ($($hook:ident),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($hook), "` (unused)")]
        #[no_mangle]
        pub extern "C" fn $hook(_: HttpFilterEnvoyPtr, _: HttpFilterModulePtr) {}
    )*};
}

unused!(
    envoy_dynamic_module_on_http_filter_stream_complete,
    envoy_dynamic_module_on_http_filter_http_callout_done,
    envoy_dynamic_module_on_http_filter_http_stream_headers,
    envoy_dynamic_module_on_http_filter_http_stream_data,
    envoy_dynamic_module_on_http_filter_http_stream_trailers,
    envoy_dynamic_module_on_http_filter_http_stream_complete,
    envoy_dynamic_module_on_http_filter_http_stream_reset,
    envoy_dynamic_module_on_http_filter_scheduled,
    envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark,
    envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark,
);
