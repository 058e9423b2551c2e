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
pub fn client_address(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted_hops: u8) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return peer;
    }
    let Some(xff) = forwarded_for.filter(|x| x.len() <= MAX_XFF_LEN) else { return peer };
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
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    t.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and(ip.parse().ok()))
}
