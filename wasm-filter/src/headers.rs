//! Pure header and address helpers: what goes into and comes out of Envoy's
//! header maps and properties, tested natively.

use std::net::{IpAddr, SocketAddr};

/// Request header read by Envoy's `override_host` load-balancing policy
/// (Gateway API Inference Extension's endpoint-picker protocol).
pub const DESTINATION_HEADER: &str = "x-gateway-destination-endpoint";
/// Opt-in response header carrying `Decision::explain`.
pub const DECISION_HEADER: &str = "x-edgepick-decision";
/// Response header in which Envoy counts the tries of a request (with the
/// route's `include_attempt_count_in_response`): the fallback signal for
/// set-ups without [`UPSTREAM_HEADER`].
pub const ATTEMPT_COUNT_HEADER: &str = "x-envoy-attempt-count";
/// Response header `deploy/envoy.yaml` has Envoy write (overwriting any value
/// a backend sent): [`UPSTREAM_FORMAT`], the request's tries and the status
/// the upstream answered the last one with, so one read tells the filter who
/// served and how.
pub const UPSTREAM_HEADER: &str = "x-edgepick-upstream";
/// The value of [`UPSTREAM_HEADER`] in Envoy's formatter language.
pub const UPSTREAM_FORMAT: &str = "%UPSTREAM_REQUEST_ATTEMPT_COUNT% %RESPONSE_CODE%";

/// What Envoy wrote in [`UPSTREAM_HEADER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    /// Tries Envoy made (1: the filter's first choice served).
    pub tries: u32,
    /// The upstream's status on the last try; `None` when no upstream
    /// answered (Envoy writes 0, e.g. before its own 503 after the retries
    /// ran out).
    pub status: Option<u16>,
}

/// Parse [`UPSTREAM_HEADER`]'s value (`"<tries> <status>"`); `None` when it is
/// not what [`UPSTREAM_FORMAT`] produces.
pub fn parse_upstream(value: &str) -> Option<Upstream> {
    let (tries, status) = value.split_once(' ')?;
    let tries = tries.parse().ok()?;
    let status: u16 = status.parse().ok()?;
    Some(Upstream {
        tries,
        status: (100..=599).contains(&status).then_some(status),
    })
}
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
    fn parses_the_upstream_signal() {
        let p = |v| parse_upstream(v);
        assert_eq!(
            p("1 200"),
            Some(Upstream {
                tries: 1,
                status: Some(200)
            })
        );
        assert_eq!(
            p("3 0"),
            Some(Upstream {
                tries: 3,
                status: None
            }),
            "no upstream answered the last try"
        );
        assert_eq!(p("2 503").map(|u| u.status), Some(Some(503)));
        for bad in [
            "", "1", "1 ", " 200", "x 200", "1 2oo", "1 200 3", "-1 200", "1 70000",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
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
