//! Client subnets: `addr/len` parsing, membership, and truncating an address
//! to a prefix (what an EDNS Client Subnet carries).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 network, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length (≤ 32 for IPv4, ≤ 128 for IPv6).
    pub len: u8,
}

impl Subnet {
    /// Parse `addr/len` (or a bare address: a host route). Host bits must be zero.
    pub fn parse(s: &str) -> Result<Subnet, String> {
        let (a, l) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address/prefix-length subnet"))?;
        let max = max_len(addr);
        let len = if l.is_empty() {
            max
        } else {
            l.parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0..={max}"))?
        };
        if truncate(addr, len) != addr {
            return Err(format!(
                "{s:?} has host bits set (network is {})",
                truncate(addr, len)
            ));
        }
        Ok(Subnet { addr, len })
    }

    /// Whether `ip` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        max_len(ip) == max_len(self.addr) && truncate(ip, self.len) == self.addr
    }
}

/// 32 for IPv4, 128 for IPv6.
pub fn max_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// An IPv4-mapped IPv6 address as IPv4; others unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `ip` with every bit after the first `len` cleared.
pub fn truncate(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let s = Subnet::parse("127.1.0.0/16").unwrap();
        assert!(s.contains("127.1.200.3".parse().unwrap()));
        assert!(!s.contains("127.2.0.1".parse().unwrap()));
        assert!(s.contains("::ffff:127.1.0.9".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
        assert_eq!(Subnet::parse("10.0.0.1").unwrap().len, 32);
        assert!(Subnet::parse("0.0.0.0/0")
            .unwrap()
            .contains("9.9.9.9".parse().unwrap()));
        let v6 = Subnet::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
    }

    #[test]
    fn refuses_bad_subnets_with_the_reason() {
        assert!(Subnet::parse("127.1.0.1/16")
            .unwrap_err()
            .contains("host bits"));
        assert!(Subnet::parse("127.1.0.0/33")
            .unwrap_err()
            .contains("0..=32"));
        assert!(Subnet::parse("nope/8")
            .unwrap_err()
            .contains("not an address"));
    }

    #[test]
    fn truncates() {
        let t = |s: &str, l| truncate(s.parse().unwrap(), l).to_string();
        assert_eq!(t("127.9.8.7", 24), "127.9.8.0");
        assert_eq!(t("127.9.8.7", 0), "0.0.0.0");
        assert_eq!(t("127.9.8.7", 32), "127.9.8.7");
        assert_eq!(t("2001:db8:aa:bb::1", 56), "2001:db8:aa::");
    }
}
