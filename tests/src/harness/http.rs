//! A raw HTTP/1.1 client for tests: exact bytes on the wire, an optional source
//! address (any `127.x.y.z` on Linux loopback, so one machine can play many
//! clients), keep-alive with reconnect, and responses as plain data.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (chunked encoding removed).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The backend that served the request (`x-served-by`), if any.
    pub fn served_by(&self) -> Option<&str> {
        self.header("x-served-by")
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the `Set-Cookie` for cookie `name`, without attributes.
    pub fn set_cookie_value(&self, name: &str) -> Option<String> {
        self.headers_all("set-cookie").into_iter().find_map(|sc| {
            let first = sc.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    }
}

/// Open a TCP connection to `target`, optionally bound to `source` first.
pub fn connect(
    target: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let domain = if target.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(ip) = source {
        socket.bind(&SockAddr::from(SocketAddr::new(ip, 0)))?;
    }
    socket.connect_timeout(&SockAddr::from(target), timeout)?;
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// An HTTP/1.1 client for one target, reusing its connection (keep-alive).
#[derive(Debug)]
pub struct Client {
    target: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
    /// Connections opened so far.
    pub connections_opened: usize,
}

impl Client {
    /// A client for `target` with a 10 s timeout and no source binding.
    pub fn new(target: SocketAddr) -> Self {
        Client {
            target,
            source: None,
            timeout: Duration::from_secs(10),
            conn: None,
            connections_opened: 0,
        }
    }

    /// Bind connections to this source address (e.g. `127.3.4.1`).
    pub fn source(mut self, ip: IpAddr) -> Self {
        self.source = Some(ip);
        self
    }

    /// Connect, read and write timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Close the current connection; the next request opens a new one.
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    /// `GET path` with no extra headers.
    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, &[])
    }

    /// `GET path` with extra headers.
    pub fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> io::Result<Response> {
        self.request("GET", path, headers)
    }

    /// Send a request (no body) and read the response. A request that fails on
    /// a reused connection before any response byte is retried once on a new one.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<Response> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.target);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.request_raw(req.as_bytes(), method == "HEAD")
    }

    /// Send `raw` (a whole request, as bytes: repeated or non-UTF-8 headers
    /// included) and read the response, with [`Client::request`]'s retry.
    pub fn request_raw(&mut self, raw: &[u8], head: bool) -> io::Result<Response> {
        let reused = self.conn.is_some();
        match self.exchange(raw, head) {
            Err(e)
                if reused
                    && e.kind() != io::ErrorKind::TimedOut
                    && e.kind() != io::ErrorKind::WouldBlock =>
            {
                self.conn = None;
                self.exchange(raw, head)
            }
            r => r,
        }
    }

    fn exchange(&mut self, req: &[u8], head: bool) -> io::Result<Response> {
        if self.conn.is_none() {
            self.conn = Some(BufReader::new(connect(
                self.target,
                self.source,
                self.timeout,
            )?));
            self.connections_opened += 1;
        }
        let conn = self.conn.as_mut().expect("connected above");
        let result = conn
            .get_mut()
            .write_all(req)
            .and_then(|_| read_response(conn, head));
        match &result {
            Ok((_, keep)) if *keep => {}
            _ => self.conn = None,
        }
        result.map(|(r, _)| r)
    }
}

/// One request on a fresh connection (`Connection: close`), from `source` if given.
pub fn request_once(
    target: SocketAddr,
    source: Option<IpAddr>,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    let mut c = Client::new(target);
    if let Some(ip) = source {
        c = c.source(ip);
    }
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push(("connection", "close"));
    c.get_with(path, &all)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Read one response; returns it and whether the connection may be reused.
fn read_response(r: &mut impl BufRead, head: bool) -> io::Result<(Response, bool)> {
    let status_line = read_line(r)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let conn_hdr = resp.header("connection").map(str::to_ascii_lowercase);
    let mut keep = version == "HTTP/1.1" && conn_hdr.as_deref() != Some("close");
    let mut body = Vec::new();
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let size_line = read_line(r)?;
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad(format!("bad chunk size {size_line:?}")))?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            read_line(r)?;
        }
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        keep = false;
    }
    Ok((Response { body, ..resp }, keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_length_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n\
HTTP/1.1 302 Found\r\nContent-Length: 2\r\nSet-Cookie: s=v1.x; Path=/\r\nConnection: close\r\n\r\nok";
        let mut r = BufReader::new(&raw[..]);
        let (a, keep_a) = read_response(&mut r, false).unwrap();
        assert_eq!(
            (a.status, a.text().as_str(), a.header("x-a"), keep_a),
            (200, "abcde", Some("1"), true)
        );
        let (b, keep_b) = read_response(&mut r, false).unwrap();
        assert_eq!((b.status, b.text().as_str(), keep_b), (302, "ok", false));
        assert_eq!(b.set_cookie_value("s").as_deref(), Some("v1.x"));
    }
}
