//! The proxy-wasm ABI 0.2.1 enumerations and the serialized map format.
//!
//! Values mirror `proxy-wasm-rust-sdk/src/types.rs` and Envoy's
//! `proxy_wasm::WasmResult` so a guest sees exactly the numbers Envoy gives it.

/// A hostcall result (`WasmResult` in Envoy, `Status` in the Rust SDK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The key, map, queue or metric does not exist.
    NotFound = 1,
    /// An argument is out of range or the object is not available now.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// A pointer or length given by the guest lies outside its memory.
    InvalidMemoryAccess = 6,
    /// A queue has no item.
    Empty = 7,
    /// Shared data changed since the CAS value was read.
    CasMismatch = 8,
    /// Generic host failure.
    InternalFailure = 10,
    /// The hostcall is not implemented.
    Unimplemented = 12,
}

/// Log levels as numbered by the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// 0
    Trace,
    /// 1
    Debug,
    /// 2
    Info,
    /// 3
    Warn,
    /// 4
    Error,
    /// 5
    Critical,
}

impl LogLevel {
    /// Converts an ABI number; out-of-range numbers are `None`.
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::Trace,
            1 => Self::Debug,
            2 => Self::Info,
            3 => Self::Warn,
            4 => Self::Error,
            5 => Self::Critical,
            _ => return None,
        })
    }
}

/// `MapType`: which header map a hostcall addresses.
pub mod map_type {
    /// Request headers.
    pub const REQUEST_HEADERS: u32 = 0;
    /// Request trailers.
    pub const REQUEST_TRAILERS: u32 = 1;
    /// Response headers.
    pub const RESPONSE_HEADERS: u32 = 2;
    /// Response trailers.
    pub const RESPONSE_TRAILERS: u32 = 3;
    /// Headers of the response to `proxy_http_call`.
    pub const HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
    /// Trailers of the response to `proxy_http_call`.
    pub const HTTP_CALL_RESPONSE_TRAILERS: u32 = 7;
}

/// `BufferType`: which byte buffer a hostcall addresses.
pub mod buffer_type {
    /// Request body.
    pub const HTTP_REQUEST_BODY: u32 = 0;
    /// Response body.
    pub const HTTP_RESPONSE_BODY: u32 = 1;
    /// Body of the response to `proxy_http_call`.
    pub const HTTP_CALL_RESPONSE_BODY: u32 = 4;
    /// The message of a gRPC answer (during `proxy_on_grpc_receive`).
    pub const GRPC_RECEIVE_BUFFER: u32 = 5;
    /// VM configuration (during `proxy_on_vm_start`).
    pub const VM_CONFIGURATION: u32 = 6;
    /// Plugin configuration (during `proxy_on_configure`).
    pub const PLUGIN_CONFIGURATION: u32 = 7;
}

/// `StreamType` for `proxy_continue_stream` / `proxy_close_stream`.
pub mod stream_type {
    /// The HTTP request direction.
    pub const HTTP_REQUEST: u32 = 0;
    /// The HTTP response direction.
    pub const HTTP_RESPONSE: u32 = 1;
    /// Downstream TCP data.
    pub const DOWNSTREAM: u32 = 2;
    /// Upstream TCP data.
    pub const UPSTREAM: u32 = 3;
}

/// A header map: ordered `(name, value)` pairs, names lower-case like Envoy's.
pub type HeaderMap = Vec<(String, String)>;

/// Serializes pairs in the proxy-wasm map format: a little-endian `u32` count,
/// then `(name_len, value_len)` `u32` pairs, then each name and value followed
/// by a NUL byte.
pub fn serialize_map(map: &[(String, String)]) -> Vec<u8> {
    let mut size = 4;
    for (k, v) in map {
        size += 10 + k.len() + v.len();
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(map.len() as u32).to_le_bytes());
    for (k, v) in map {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in map {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Parses the proxy-wasm map format; `None` when the bytes are malformed.
pub fn deserialize_map(bytes: &[u8]) -> Option<HeaderMap> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    let mut sizes = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let at = 4usize.checked_add(i.checked_mul(8)?)?;
        sizes.push((word(at)?, word(at + 4)?));
    }
    let mut pos = 4usize.checked_add(count.checked_mul(8)?)?;
    let mut out = Vec::with_capacity(sizes.len());
    for (klen, vlen) in sizes {
        let k = bytes.get(pos..pos.checked_add(klen)?)?;
        pos = pos.checked_add(klen + 1)?;
        let v = bytes.get(pos..pos.checked_add(vlen)?)?;
        pos = pos.checked_add(vlen + 1)?;
        out.push((lossy(k), lossy(v)));
    }
    Some(out)
}

/// Bytes to a `String`, replacing invalid UTF-8.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_round_trips() {
        let m = vec![
            ("a".to_string(), "1".to_string()),
            (":path".into(), "/".into()),
        ];
        assert_eq!(deserialize_map(&serialize_map(&m)), Some(m));
    }

    #[test]
    fn malformed_map_is_rejected() {
        assert_eq!(deserialize_map(&[5, 0, 0, 0, 1]), None);
        assert_eq!(deserialize_map(&[255, 255, 255, 255]), None);
    }
}
