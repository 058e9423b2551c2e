//! A gRPC server on loopback for Envoy's side of the gRPC fidelity tests:
//! HTTP/2 over plain TCP with prior knowledge (what Envoy's gRPC client
//! speaks to a cluster with `http2_protocol_options`), answering every unary
//! call with one scripted answer (the same [`ScriptedGrpc`] the host is
//! given) and recording the request messages it received.
//!
//! Only what a unary exchange needs: the request's header block is not
//! decoded (no HPACK decoder; the answer's header block uses literal fields
//! only), and messages are small enough for the default flow-control window.

use edgepick_host::ScriptedGrpc;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;

/// The server; it runs until the test process ends.
pub struct GrpcServer {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl GrpcServer {
    /// Listens on a free loopback port and answers every call with `answer`.
    pub fn start(answer: ScriptedGrpc) -> GrpcServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind gRPC server");
        let addr = listener.local_addr().expect("gRPC server address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (answer, log) = (answer.clone(), log.clone());
                std::thread::spawn(move || serve(conn, &answer, &log));
            }
        });
        GrpcServer { addr, received }
    }

    /// The request messages received so far (gRPC framing removed), in order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn frame(out: &mut impl Write, ty: u8, flags: u8, stream: u32, payload: &[u8]) -> io::Result<()> {
    let len = (payload.len() as u32).to_be_bytes();
    out.write_all(&[len[1], len[2], len[3], ty, flags])?;
    out.write_all(&(stream & 0x7fff_ffff).to_be_bytes())?;
    out.write_all(payload)
}

/// An HPACK "literal header field without indexing, new name" (no Huffman).
fn literal(block: &mut Vec<u8>, name: &str, value: &str) {
    assert!(
        name.len() < 127 && value.len() < 127,
        "header too long for this server"
    );
    block.push(0);
    block.push(name.len() as u8);
    block.extend_from_slice(name.as_bytes());
    block.push(value.len() as u8);
    block.extend_from_slice(value.as_bytes());
}

fn serve(mut conn: TcpStream, answer: &ScriptedGrpc, log: &Mutex<Vec<Vec<u8>>>) {
    let _ = try_serve(&mut conn, answer, log);
}

fn try_serve(
    conn: &mut TcpStream,
    answer: &ScriptedGrpc,
    log: &Mutex<Vec<Vec<u8>>>,
) -> io::Result<()> {
    let mut preface = [0u8; 24];
    conn.read_exact(&mut preface)?;
    if preface != PREFACE {
        return Err(io::Error::other("not an HTTP/2 client preface"));
    }
    frame(conn, SETTINGS, 0, 0, &[])?;
    let mut bodies: HashMap<u32, Vec<u8>> = HashMap::new();
    loop {
        let mut head = [0u8; 9];
        conn.read_exact(&mut head)?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (ty, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        conn.read_exact(&mut payload)?;
        match ty {
            DATA => {
                let data = unpad(flags, &payload);
                bodies.entry(stream).or_default().extend_from_slice(data);
            }
            HEADERS => {
                bodies.entry(stream).or_default();
            }
            SETTINGS if flags & ACK == 0 => frame(conn, SETTINGS, ACK, 0, &[])?,
            PING if flags & ACK == 0 => frame(conn, PING, ACK, 0, &payload)?,
            GOAWAY => return Ok(()),
            _ => {}
        }
        if matches!(ty, DATA | HEADERS) && flags & END_STREAM != 0 {
            let body = bodies.remove(&stream).unwrap_or_default();
            // The request message without its 5-byte gRPC prefix.
            let message = body.get(5..).unwrap_or_default().to_vec();
            log.lock().unwrap_or_else(|e| e.into_inner()).push(message);
            respond(conn, stream, answer)?;
        }
    }
}

fn unpad(flags: u8, payload: &[u8]) -> &[u8] {
    if flags & PADDED == 0 || payload.is_empty() {
        return payload;
    }
    let pad = payload[0] as usize;
    payload
        .get(1..payload.len().saturating_sub(pad))
        .unwrap_or_default()
}

/// Headers (`:status` 200, `application/grpc`), the message if any, then
/// trailers with `grpc-status` and `grpc-message`.
fn respond(conn: &mut TcpStream, stream: u32, answer: &ScriptedGrpc) -> io::Result<()> {
    // 0x88: `:status: 200` from HPACK's static table.
    let mut head = vec![0x88];
    literal(&mut head, "content-type", "application/grpc");
    frame(conn, HEADERS, END_HEADERS, stream, &head)?;
    if let Some(m) = &answer.message {
        let mut data = vec![0];
        data.extend_from_slice(&(m.len() as u32).to_be_bytes());
        data.extend_from_slice(m);
        frame(conn, DATA, 0, stream, &data)?;
    }
    let mut trailers = Vec::new();
    literal(&mut trailers, "grpc-status", &answer.status.to_string());
    if !answer.status_message.is_empty() {
        literal(&mut trailers, "grpc-message", &answer.status_message);
    }
    frame(conn, HEADERS, END_HEADERS | END_STREAM, stream, &trailers)
}
