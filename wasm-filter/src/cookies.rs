//! The request's `Cookie` header lines, as bytes.
//!
//! HTTP/1.1 clients may send several `Cookie` lines, and HTTP/2 clients send
//! one per cookie (RFC 9113 §8.2.3); Envoy keeps each as its own entry, and its
//! `proxy_get_header_map_value` returns only the first. So the filter reads
//! every line (one `proxy_get_header_map_pairs`, scanned in place), decides
//! on all of them joined as one header, and strips the balancer's cookie line
//! by line: every other cookie, and every line without the balancer's cookie,
//! reaches the backend byte for byte, whatever bytes it holds (non-UTF-8
//! included).

pub use edgepick_core::cookie::lines::{has_cookie, strip_cookie};

/// Every `Cookie` line of a request, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieLines(pub Vec<Vec<u8>>);

impl CookieLines {
    /// The lines of header `name` (lower-case) in a header map as the
    /// proxy-wasm ABI serialises it (`proxy_get_header_map_pairs`): the pair
    /// count (u32 LE), each pair's key and value lengths (u32 LE), then each
    /// key and value followed by a NUL. Read in place, no allocation per
    /// header; a malformed buffer yields the lines read before the fault.
    pub fn from_serialized(buf: &[u8], name: &str) -> Self {
        let u32_at = |at: usize| -> Option<usize> {
            let b = buf.get(at..at.checked_add(4)?)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let mut lines = Vec::new();
        let Some(n) = u32_at(0) else {
            return CookieLines(lines);
        };
        let mut data = n.saturating_mul(8).saturating_add(4);
        for i in 0..n {
            let (Some(k), Some(v)) = (u32_at(4 + i * 8), u32_at(8 + i * 8)) else {
                break;
            };
            let key = buf.get(data..data.saturating_add(k));
            let value_at = data.saturating_add(k).saturating_add(1);
            let value = buf.get(value_at..value_at.saturating_add(v));
            let (Some(key), Some(value)) = (key, value) else {
                break;
            };
            if key.eq_ignore_ascii_case(name.as_bytes()) {
                lines.push(value.to_vec());
            }
            data = value_at.saturating_add(v).saturating_add(1);
        }
        CookieLines(lines)
    }

    /// All lines as one header value (`; `-joined, as RFC 6265 §5.4 sends
    /// them), for parsing. Invalid UTF-8 is replaced here only: the lines
    /// themselves are never rewritten from this. `None` without lines.
    pub fn joined(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => None,
            [one] => Some(String::from_utf8_lossy(one).into_owned()),
            many => Some(
                many.iter()
                    .map(|l| String::from_utf8_lossy(l))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    }

    /// The lines with cookie `name` removed (HAProxy `cookie … indirect`: the
    /// backend never sees the balancer's cookie), or `None` when no line
    /// carries it (nothing to rewrite). Lines left empty are dropped; the
    /// others keep their bytes except the removed pairs and their separator.
    pub fn without(&self, name: &str) -> Option<Vec<Vec<u8>>> {
        edgepick_core::cookie::lines::without(&self.0, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ABI's serialisation of a header map.
    fn serialise(pairs: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (k, v) in pairs {
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        }
        for (k, v) in pairs {
            out.extend_from_slice(k.as_bytes());
            out.push(0);
            out.extend_from_slice(v);
            out.push(0);
        }
        out
    }

    #[test]
    fn lines_are_read_in_place_from_the_abi_serialisation() {
        let buf = serialise(&[
            (":path", b"/"),
            ("cookie", b"ep=1"),
            ("x", b""),
            ("Cookie", b"a=\xff\x00b"),
        ]);
        let lines = CookieLines::from_serialized(&buf, "cookie");
        assert_eq!(lines.0, [b"ep=1".to_vec(), b"a=\xff\x00b".to_vec()]);
        for cut in 0..buf.len() {
            let partial = CookieLines::from_serialized(&buf[..cut], "cookie");
            assert!(partial.0.len() <= 2, "no panic, no invention at {cut}");
        }
        assert_eq!(
            CookieLines::from_serialized(&[], "cookie"),
            CookieLines::default()
        );
        let huge = [0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            CookieLines::from_serialized(&huge, "cookie"),
            CookieLines::default()
        );
    }

    #[test]
    fn every_line_is_read_and_only_balancer_lines_change() {
        let buf = serialise(&[
            (":path", b"/"),
            ("cookie", b"ep=v1.sig"),
            ("x-other", b"ep=1"),
            ("cookie", b"session=keep; t=\xff"),
        ]);
        let lines = CookieLines::from_serialized(&buf, "cookie");
        assert_eq!(lines.0.len(), 2);
        assert_eq!(
            lines.joined().unwrap(),
            "ep=v1.sig; session=keep; t=\u{fffd}"
        );
        assert_eq!(
            lines.without("ep").unwrap(),
            vec![b"session=keep; t=\xff".to_vec()]
        );
        let other_order = CookieLines(vec![b"session=keep".to_vec(), b"a=1; ep=v".to_vec()]);
        assert_eq!(
            other_order.without("ep").unwrap(),
            vec![b"session=keep".to_vec(), b"a=1".to_vec()]
        );
        assert_eq!(CookieLines(vec![b"a=1".to_vec()]).without("ep"), None);
        assert_eq!(CookieLines::default().joined(), None);
    }
}
