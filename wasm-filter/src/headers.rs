//! Pure header and address helpers: what goes into and comes out of Envoy's
//! header maps and properties, tested natively.

use std::net::{IpAddr, SocketAddr};

/// Request header read by Envoy's `override_host` load-balancing policy
/// (Gateway API Inference Extension's endpoint-picker protocol).
pub const DESTINATION_HEADER: &str = "x-gateway-destination-endpoint";
/// Opt-in response header carrying `Decision::explain`.
pub const DECISION_HEADER: &str = "x-edgepick-decision";
/// Response header in which Envoy counts the tries of a request (with the
/// route's `include_attempt_count_in_response`, as `deploy/envoy.yaml` sets).
pub const ATTEMPT_COUNT_HEADER: &str = "x-envoy-attempt-count";
/// ORCA load report response header.
pub const ORCA_HEADER: &str = "endpoint-load-metrics";
/// Plain load report response header.
pub const LOAD_HEADER: &str = "x-edgepick-load";

/// Redirect target: the node's public base URL (or `http://<address>`) plus
/// the original path and query. A path that is not origin-form becomes `/`.
pub fn redirect_location(base: Option<&str>, address: &SocketAddr, path: &str) -> String {
    let path = if path.starts_with('/') { path } else { "/" };
    match base {
        Some(b) => format!("{}{}", b.trim_end_matches('/'), path),
        None => format!("http://{address}{path}"),
    }
}

/// An IP from Envoy's `source.address` (`ip:port`, `[v6]:port`, or a bare IP).
pub fn parse_ip(addr: &str) -> Option<IpAddr> {
    let a = addr.trim();
    a.parse::<SocketAddr>()
        .map(|s| s.ip())
        .ok()
        .or_else(|| a.parse().ok())
}

/// A socket address from Envoy's `upstream.address` (`ip:port`).
pub fn parse_socket(addr: &str) -> Option<SocketAddr> {
    addr.trim().parse().ok()
}

/// Bytes from a header or property as text; invalid UTF-8 is replaced, never a panic.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_path_and_query() {
        let addr: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(
            redirect_location(Some("https://b.example"), &addr, "/x?y=1"),
            "https://b.example/x?y=1"
        );
        assert_eq!(
            redirect_location(Some("https://b.example/"), &addr, "/"),
            "https://b.example/"
        );
        assert_eq!(redirect_location(None, &addr, "/p"), "http://10.0.0.1:80/p");
        assert_eq!(redirect_location(None, &addr, "*"), "http://10.0.0.1:80/");
    }

    #[test]
    fn parses_envoy_addresses() {
        assert_eq!(
            parse_ip("192.0.2.7:5555"),
            Some("192.0.2.7".parse().unwrap())
        );
        assert_eq!(
            parse_ip("[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_ip("2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_ip("pipe:/tmp/x"), None);
        assert_eq!(
            parse_socket("127.0.0.1:18101"),
            Some("127.0.0.1:18101".parse().unwrap())
        );
        assert_eq!(parse_socket("nonsense"), None);
        assert_eq!(text(b"a\xffb"), "a\u{fffd}b");
    }
}
