//! The client address: the connection's peer, or an `X-Forwarded-For` entry
//! reached through a configured number of trusted hops (Envoy's
//! `xff_num_trusted_hops`: with N trusted proxies in front, the client is the
//! N-th address from the right).

use std::net::IpAddr;

/// Longest `X-Forwarded-For` value examined; longer headers fall back to the peer.
pub const MAX_XFF_LEN: usize = 4096;

/// Resolve the client address. With `trusted_hops == 0` the peer is used and
/// `X-Forwarded-For` is ignored (a client can write anything there). A missing,
/// short or unparsable header also falls back to the peer.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted_hops: u8,
) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return peer;
    }
    let Some(xff) = forwarded_for.filter(|x| x.len() <= MAX_XFF_LEN) else {
        return peer;
    };
    let entry = xff.rsplit(',').nth(usize::from(trusted_hops) - 1);
    entry.and_then(parse_entry).or(peer)
}

/// One XFF entry: an IP, optionally `[v6]:port` or `v4:port`.
fn parse_entry(raw: &str) -> Option<IpAddr> {
    let t = raw.trim();
    if let Ok(ip) = t.parse() {
        return Some(ip);
    }
    if let Some(rest) = t.strip_prefix('[') {
        // `[v6]` or `[v6]:port`, nothing else after the bracket.
        let (ip, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return if port_ok {
            ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            None
        };
    }
    // `v4:port` (a bare v6 address was handled by the first parse).
    let (ip, port) = t.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const PEER: &str = "192.0.2.5";
    const XFF: &str = "203.0.113.128, 203.0.113.10, 203.0.113.1";

    fn resolve(xff: Option<&str>, hops: u8) -> Option<IpAddr> {
        client_address(Some(ip(PEER)), xff, hops)
    }

    #[test]
    fn zero_hops_ignores_the_header() {
        assert_eq!(resolve(Some(XFF), 0), Some(ip(PEER)));
        assert_eq!(client_address(None, Some(XFF), 0), None);
    }

    #[test]
    fn trusted_hops_count_from_the_right() {
        // Envoy's documented example: two trusted hops → second to last.
        assert_eq!(resolve(Some(XFF), 1), Some(ip("203.0.113.1")));
        assert_eq!(resolve(Some(XFF), 2), Some(ip("203.0.113.10")));
        assert_eq!(resolve(Some(XFF), 3), Some(ip("203.0.113.128")));
    }

    #[test]
    fn too_few_entries_or_no_header_fall_back_to_peer() {
        assert_eq!(resolve(Some(XFF), 4), Some(ip(PEER)));
        assert_eq!(resolve(None, 1), Some(ip(PEER)));
        assert_eq!(client_address(None, None, 2), None);
    }

    #[test]
    fn ipv6_and_ports() {
        assert_eq!(resolve(Some("2001:db8::1"), 1), Some(ip("2001:db8::1")));
        assert_eq!(
            resolve(Some("1.1.1.1, [2001:db8::7]:443"), 1),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(resolve(Some("[2001:db8::7]"), 1), Some(ip("2001:db8::7")));
        assert_eq!(
            resolve(Some("198.51.100.7:8080, 10.0.0.1"), 2),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            resolve(Some("  198.51.100.7  "), 1),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            resolve(Some("::ffff:1.2.3.4"), 1),
            Some(ip("::ffff:1.2.3.4"))
        );
    }

    #[test]
    fn garbage_falls_back_to_peer() {
        for bad in [
            "unknown",
            "",
            " , ",
            "300.1.1.1",
            "1.2.3.4:99999",
            "1.2.3.4:",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "[2001:db8::1]:port",
            "[1.2.3.4]:80",
            "2001:db8::1:80:x",
            "_hidden",
        ] {
            assert_eq!(resolve(Some(bad), 1), Some(ip(PEER)), "{bad:?}");
        }
        let long = format!("{}1.2.3.4", " ".repeat(MAX_XFF_LEN));
        assert_eq!(resolve(Some(&long), 1), Some(ip(PEER)));
    }
}
