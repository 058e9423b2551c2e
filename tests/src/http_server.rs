//! A minimal HTTP/1.1 server for the test backends: one thread per
//! connection, keep-alive, each response written in one `write`.
//!
//! It replaced tiny_http, which under the kill storm left a fresh connection
//! to a newly started backend unanswered now and then (upstream logs showed
//! the request on a new connection to a live backend for 670 ms and 1,427 ms
//! with no answer, until the backend was killed; answered requests took at
//! most 16 ms): a lost request the test blamed on the proxy.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// One request (the body is read and dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The request target, e.g. `/path?query`.
    pub url: String,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One response: the harness client's type, built with [`Response::plain`]
/// and [`Response::with`].
pub use crate::harness::http::Response;

impl Response {
    /// A `status` response with a text body.
    pub fn plain(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }

    /// Add a header.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// What the handler wants after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Keep serving.
    Continue,
    /// Exit the process once the response is written.
    Exit,
}

/// A request handler, shared by every connection thread.
pub type Handler = Arc<dyn Fn(&Request) -> (Response, After) + Send + Sync>;

/// Accept connections forever, each on its own thread.
pub fn serve(listener: TcpListener, handler: Handler) -> io::Result<()> {
    loop {
        let (conn, _) = listener.accept()?;
        let h = Arc::clone(&handler);
        std::thread::spawn(move || {
            let _ = connection(conn, &h);
        });
    }
}

fn connection(conn: TcpStream, handler: &Handler) -> io::Result<()> {
    let _ = conn.set_nodelay(true);
    let mut out = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    while let Some((req, keep)) = read_request(&mut r)? {
        let (resp, after) = handler(&req);
        out.write_all(&encode(&resp, req.method == "HEAD", keep))?;
        if after == After::Exit {
            std::process::exit(0);
        }
        if !keep {
            return Ok(());
        }
    }
    Ok(())
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// One request and whether the connection stays open; `None` at a clean EOF.
fn read_request(r: &mut impl BufRead) -> io::Result<Option<(Request, bool)>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(url), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    let (method, url, version) = (method.to_string(), url.to_string(), version.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = Vec::new();
        if r.read_until(b'\n', &mut h)? == 0 {
            return Err(bad("EOF in headers"));
        }
        let h = String::from_utf8_lossy(&h);
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').ok_or_else(|| bad("bad header line"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let req = Request {
        method,
        url,
        headers,
    };
    if req.header("transfer-encoding").is_some() {
        return Err(bad("chunked request bodies are not supported"));
    }
    let len: u64 = req
        .header("content-length")
        .map_or(Ok(0), str::parse)
        .map_err(|_| bad("bad content-length"))?;
    io::copy(&mut r.by_ref().take(len), &mut io::sink())?;
    let close = req
        .header("connection")
        .is_some_and(|c| c.eq_ignore_ascii_case("close"));
    let keep = version == "HTTP/1.1" && !close;
    Ok(Some((req, keep)))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn encode(resp: &Response, head: bool, keep: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n", resp.body.len()));
    if !keep {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head {
        bytes.extend_from_slice(&resp.body);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_in_turn_and_encodes_answers() {
        let raw = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut r = BufReader::new(&raw[..]);
        let (a, keep_a) = read_request(&mut r).unwrap().unwrap();
        assert_eq!(
            (a.method.as_str(), a.url.as_str(), keep_a),
            ("GET", "/a?x=1", true)
        );
        assert_eq!(a.header("host"), Some("h"));
        let (b, keep_b) = read_request(&mut r).unwrap().unwrap();
        assert_eq!((b.url.as_str(), keep_b), ("/b", false));
        assert!(read_request(&mut r).unwrap().is_none());
        let bytes = encode(&Response::plain(503, "no").with("x-a", "1"), false, false);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 503 Service Unavailable\r\nx-a: 1\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno"
        );
    }
}
