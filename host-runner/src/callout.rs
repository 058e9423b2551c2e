//! Answers to `proxy_http_call`: a scripted response or a real HTTP/1.1
//! exchange with a loopback server, delivered through
//! `proxy_on_http_call_response` like Envoy's async client delivers it
//! (timeouts become a 504, connection failures a 503).

use crate::host::Upstream;
use crate::state::{CalloutAnswer, PendingCallout};
use crate::types::HeaderMap;
use crate::vm::Vm;
use crate::HostError;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Runs the callout and calls `proxy_on_http_call_response` on its context.
pub(crate) fn deliver(vm: &mut Vm, c: PendingCallout) -> Result<(), HostError> {
    let host = vm.store.data().host.clone();
    let alive = c.context_id == vm.store.data().root_context_id
        || vm.store.data().streams.contains_key(&c.context_id);
    if !alive {
        return Ok(());
    }
    let answer = match host.config.clusters.get(&c.upstream) {
        Some(Upstream::Scripted(s)) => {
            host.shared
                .advance_nanos(s.latency_ms.saturating_mul(1_000_000));
            let mut headers = vec![(":status".to_string(), s.status.to_string())];
            headers.extend(s.headers.iter().cloned());
            CalloutAnswer {
                headers: Some(headers),
                body: s.body.clone(),
                trailers: None,
            }
        }
        Some(Upstream::Address(addr)) => http_exchange(*addr, &c),
        Some(Upstream::Grpc(g)) => g.as_http(),
        None => local_reply(503, "no healthy upstream"),
    };
    let n_headers = answer.headers.as_ref().map_or(0, Vec::len) as u32;
    let body_len = answer.body.len() as u32;
    let n_trailers = answer.trailers.as_ref().map_or(0, Vec::len) as u32;
    vm.store.data_mut().answer = Some(answer);
    let r = vm.call::<(u32, u32, u32, u32, u32), ()>(
        "proxy_on_http_call_response",
        c.context_id,
        (c.context_id, c.token, n_headers, body_len, n_trailers),
    );
    vm.store.data_mut().answer = None;
    r.map(|_| ())
}

fn local_reply(status: u16, body: &str) -> CalloutAnswer {
    CalloutAnswer {
        headers: Some(vec![
            (":status".into(), status.to_string()),
            ("content-length".into(), body.len().to_string()),
            ("content-type".into(), "text/plain".into()),
        ]),
        body: body.as_bytes().to_vec(),
        trailers: None,
    }
}

fn http_exchange(addr: SocketAddr, c: &PendingCallout) -> CalloutAnswer {
    if !addr.ip().is_loopback() {
        return local_reply(
            503,
            "upstream connect error: only loopback upstreams are allowed",
        );
    }
    let timeout = Duration::from_millis(u64::from(c.timeout_ms.max(1)));
    match try_exchange(addr, c, timeout) {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
            local_reply(504, "upstream request timeout")
        }
        Err(_) => local_reply(
            503,
            "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
        ),
    }
}

fn try_exchange(
    addr: SocketAddr,
    c: &PendingCallout,
    timeout: Duration,
) -> std::io::Result<CalloutAnswer> {
    let mut sock = TcpStream::connect_timeout(&addr, timeout)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.set_write_timeout(Some(timeout))?;
    let get = |k: &str| {
        c.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let mut req = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\n",
        get(":method"),
        get(":path"),
        get(":authority")
    );
    for (k, v) in c
        .headers
        .iter()
        .filter(|(k, _)| !k.starts_with(':') && k != "content-length")
    {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        c.body.len()
    ));
    sock.write_all(req.as_bytes())?;
    sock.write_all(&c.body)?;
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| std::io::Error::other("malformed HTTP response"))
}

/// Parses an HTTP/1.1 response (content-length, chunked, or until close).
fn parse_response(raw: &[u8]) -> Option<CalloutAnswer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse::<u16>()
        .ok()?;
    let mut headers: HeaderMap = vec![(":status".into(), status.to_string())];
    for line in lines {
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(CalloutAnswer {
        headers: Some(headers),
        body,
        trailers: None,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&rest[..eol]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_plain_responses() {
        let a = parse_response(b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nhello").unwrap();
        assert_eq!(a.body, b"hello");
        assert_eq!(a.headers.unwrap()[1], ("x-a".into(), "b".into()));
        let c = parse_response(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(c.body, b"abc");
    }
}
