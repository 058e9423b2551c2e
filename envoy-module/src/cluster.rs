//! What the policy asks Envoy, as a trait: [`crate::ffi`] implements it over
//! the ABI callbacks, the unit tests over a plain struct. Indexes are as in
//! the ABI: `(priority, index)` into that priority's list of all hosts, or
//! into its healthy list where the name says so.

use std::borrow::Cow;

/// Envoy's view of the cluster and of the request being routed.
pub trait Cluster {
    /// Number of priority levels.
    fn priorities(&self) -> u32;
    /// Hosts at `priority`.
    fn hosts(&self, priority: u32) -> usize;
    /// Healthy hosts at `priority`.
    fn healthy_hosts(&self, priority: u32) -> usize;
    /// `ip:port` of host `index`.
    fn address(&self, priority: u32, index: usize) -> Option<&str>;
    /// `ip:port` of healthy host `index`.
    fn healthy_address(&self, priority: u32, index: usize) -> Option<&str>;
    /// Envoy's load-balancing weight of host `index`.
    fn weight(&self, priority: u32, index: usize) -> u32;
    /// Whether Envoy counts host `index` healthy (health checks, outlier detection).
    fn is_healthy(&self, priority: u32, index: usize) -> bool;
    /// Requests in flight to host `index`, across workers.
    fn active_requests(&self, priority: u32, index: usize) -> u64;
    /// Host counters `(connect failures, request errors, request successes)`.
    fn outcomes(&self, priority: u32, index: usize) -> (u64, u64, u64);
    /// Connect failures of host `index` (the first of [`Cluster::outcomes`]).
    fn connect_failures(&self, priority: u32, index: usize) -> u64 {
        self.outcomes(priority, index).0
    }
    /// Endpoint metadata string `namespace.key` of host `index`.
    fn metadata_str(&self, priority: u32, index: usize, ns: &str, key: &str) -> Option<&str>;
    /// Endpoint metadata number.
    fn metadata_num(&self, priority: u32, index: usize, ns: &str, key: &str) -> Option<f64>;
    /// Endpoint metadata bool.
    fn metadata_bool(&self, priority: u32, index: usize, ns: &str, key: &str) -> Option<bool>;
    /// First value of request header `name` (lower case).
    fn header(&self, name: &str) -> Option<&str>;
    /// Every value of request header `name` (lower case), in order, joined
    /// with `"; "` (HTTP/1.1 clients may send several `Cookie` lines, HTTP/2
    /// clients one per cookie); bytes that are not UTF-8 replaced, as the
    /// wasm filter reads them. Borrowed when there is one valid line.
    fn joined_header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.header(name).map(Cow::Borrowed)
    }
    /// Envoy's hash of what the `hash_policy` names (`tcp_proxy` with
    /// `source_ip`: the connection's source address), when there is one.
    fn hash_key(&self) -> Option<u64> {
        None
    }
    /// Envoy's retry predicates reject host `index` for this attempt.
    fn reject(&self, priority: u32, index: usize) -> bool;
}

/// `bytes` as text, bytes that are not UTF-8 replaced: borrowed, and checked
/// by the standard library's word-at-a-time validation, when they are valid
/// (`String::from_utf8_lossy` walks them a byte at a time to find out).
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match core::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
