//! A backend that records each request's header block exactly as it arrived
//! (bytes, repeated lines and all), for tests of what the filter forwards.
//! It answers every request `200` with `x-served-by: NAME` (and, if asked,
//! one more header line of the test's choosing), keeping the connection
//! open; it has no control endpoints.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running capture backend (its threads end with the process).
#[derive(Debug, Clone)]
pub struct Capture {
    name: String,
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Vec<Vec<u8>>>>>,
    /// An extra response header line (`name: value\r\n`), or empty.
    extra: Arc<str>,
}

impl Capture {
    /// Listen on a free loopback port.
    pub fn spawn(name: &str) -> anyhow::Result<Capture> {
        Capture::spawn_answering(name, None)
    }

    /// Listen on a free loopback port; every answer also carries the header
    /// line `extra` (`name: value`), e.g. a value a hostile backend forges.
    pub fn spawn_answering(name: &str, extra: Option<&str>) -> anyhow::Result<Capture> {
        let port = super::free_port()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let c = Capture {
            name: name.to_string(),
            addr: listener.local_addr()?,
            seen: Arc::default(),
            extra: extra
                .map_or_else(String::new, |l| format!("{l}\r\n"))
                .into(),
        };
        let server = c.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = server.clone();
                std::thread::spawn(move || s.serve(conn));
            }
        });
        Ok(c)
    }

    /// The name it answers with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `{"name":…,"address":…}` for a filter configuration.
    pub fn json(&self) -> String {
        format!(r#"{{"name":"{}","address":"{}"}}"#, self.name, self.addr)
    }

    /// Every request so far, each as its header lines (request line first,
    /// `\r\n` removed), and forget them.
    pub fn take(&self) -> Vec<Vec<Vec<u8>>> {
        std::mem::take(&mut *self.seen.lock().expect("capture lock"))
    }

    fn serve(&self, conn: TcpStream) {
        let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
        let Ok(mut out) = conn.try_clone() else {
            return;
        };
        let mut r = BufReader::new(conn);
        loop {
            let mut lines = Vec::new();
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                if line.is_empty() {
                    break;
                }
                lines.push(line);
            }
            self.seen.lock().expect("capture lock").push(lines);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nx-served-by: {}\r\n{}content-length: 2\r\n\r\nok",
                self.name, self.extra
            );
            if out.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// The values of header `name` (case-insensitive) in one captured request.
pub fn header_values<'a>(request: &'a [Vec<u8>], name: &str) -> Vec<&'a [u8]> {
    request
        .iter()
        .skip(1)
        .filter_map(|l| {
            let colon = l.iter().position(|&b| b == b':')?;
            let key = std::str::from_utf8(&l[..colon]).ok()?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| l[colon + 1..].trim_ascii())
        })
        .collect()
}
