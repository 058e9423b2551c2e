//! Envoy I/O, wrapped so no host status ever panics the VM: the SDK's trait
//! methods `unwrap()` host results, so everything here calls
//! `proxy_wasm::hostcalls` directly and turns errors into `None`.

use crate::shared::{Store, StoreError};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, MetricType, Status};
use std::time::{Duration, UNIX_EPOCH};

/// Wall-clock time, Unix ms (0 if the host cannot say).
pub fn now_ms() -> u64 {
    now_nanos() / 1_000_000
}

/// Wall-clock time, Unix ns.
pub fn now_nanos() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A property's raw bytes (`["upstream", "address"]`).
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    hostcalls::get_property(path.to_vec()).ok().flatten()
}

/// A string property.
pub fn property_str(path: &[&str]) -> Option<String> {
    property(path).map(|b| crate::headers::text(&b))
}

/// An integer property (Envoy encodes them as 8 bytes little endian).
pub fn property_int(path: &[&str]) -> Option<i64> {
    property(path).and_then(|b| crate::outcome::decode_int(&b))
}

/// The plugin configuration buffer.
pub fn plugin_configuration() -> Option<Vec<u8>> {
    hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
        .ok()
        .flatten()
}

/// A header as text (invalid UTF-8 replaced).
pub fn header(map: MapType, name: &str) -> Option<String> {
    hostcalls::get_map_value_bytes(map, name)
        .ok()
        .flatten()
        .map(|b| crate::headers::text(&b))
}

mod abi {
    use proxy_wasm::types::{MapType, Status};
    extern "C" {
        /// The proxy-wasm ABI's header-map read (the SDK's own wrapper
        /// copies every header into a `String` and panics on a non-Ok status).
        pub fn proxy_get_header_map_pairs(
            map_type: MapType,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> Status;
    }
}

/// Every value of header `name` (lower-case), in order: one read of the
/// whole map, since `proxy_get_header_map_value` gives only the first,
/// scanned in place. Measured per request without a cookie against one
/// value read: this, +10,500 Envoy instructions (the host copies the map
/// into the VM); the SDK's `get_map_bytes`, which also allocates per header,
/// +16,800.
pub fn header_lines(map: MapType, name: &str) -> crate::cookies::CookieLines {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a buffer it allocated through this module's
    // `proxy_on_memory_allocate` (the SDK's, a `Vec<u8>` of that size), which
    // is taken back as that `Vec` and freed when dropped.
    let status = unsafe { abi::proxy_get_header_map_pairs(map, &mut data, &mut size) };
    if status != Status::Ok || data.is_null() {
        return crate::cookies::CookieLines::default();
    }
    let buf = unsafe { Vec::from_raw_parts(data, size, size) };
    crate::cookies::CookieLines::from_serialized(&buf, name)
}

/// Replace every value of header `name` with `lines` (none: remove it).
pub fn set_header_lines(map: MapType, name: &str, lines: &[Vec<u8>]) {
    match lines {
        [] => set_header(map, name, None),
        [one] => {
            let _ = hostcalls::set_map_value_bytes(map, name, Some(one));
        }
        many => {
            set_header(map, name, None);
            for l in many {
                let _ = hostcalls::add_map_value_bytes(map, name, l);
            }
        }
    }
}

/// Set (replace) or remove a header.
pub fn set_header(map: MapType, name: &str, value: Option<&str>) {
    let _ = hostcalls::set_map_value(map, name, value);
}

/// Append a header (keeps existing values, e.g. the upstream's own `set-cookie`).
pub fn add_header(map: MapType, name: &str, value: &str) {
    let _ = hostcalls::add_map_value(map, name, value);
}

/// Send a local reply.
pub fn send_response(status: u32, headers: Vec<(&str, &str)>, body: Option<&[u8]>) -> bool {
    hostcalls::send_http_response(status, headers, body).is_ok()
}

/// Start an HTTP call; the token on success.
pub fn http_call(
    cluster: &str,
    headers: Vec<(&str, &str)>,
    timeout_ms: u64,
) -> Result<u32, Status> {
    hostcalls::dispatch_http_call(
        cluster,
        headers,
        None,
        vec![],
        Duration::from_millis(timeout_ms),
    )
}

/// Set the tick period.
pub fn set_tick_ms(ms: u64) {
    let _ = hostcalls::set_tick_period(Duration::from_millis(ms));
}

/// Metric handles; `None` when the host refused to define one.
pub fn define(kind: MetricType, name: &str) -> Option<u32> {
    hostcalls::define_metric(kind, name).ok()
}

/// Add to a counter.
pub fn increment(id: Option<u32>, by: i64) {
    if let Some(id) = id {
        let _ = hostcalls::increment_metric(id, by);
    }
}

/// Set a gauge.
pub fn record(id: Option<u32>, value: u64) {
    if let Some(id) = id {
        let _ = hostcalls::record_metric(id, value);
    }
}

/// Envoy's shared data (per VM id, shared by every worker's VM) and stats.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedData;

impl Store for SharedData {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        match hostcalls::set_shared_data(key, Some(value), cas) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(StoreError::CasMismatch),
            Err(_) => Err(StoreError::Failed),
        }
    }

    fn metric(&self, id: u32) -> Option<u64> {
        hostcalls::get_metric(id).ok()
    }

    fn add_metric(&self, id: u32, delta: i64) {
        let _ = hostcalls::increment_metric(id, delta);
    }
}
