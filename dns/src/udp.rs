//! The UDP path: blocking threads receiving on one socket in batches
//! ([`crate::udp_batch`]), each packet decoded as hickory-server decodes it
//! ([`MessageRequest`]), answered and encoded through the same
//! [`prepare`](crate::handler::prepare) step as the TCP path
//! (hickory-server's `ServerFuture`), and sent back from the thread that
//! received it.
//!
//! Why not hickory-server's UDP loop: it spawns a task per packet and hands
//! each response to another task through a channel; on the 2-core machine
//! `perf` showed 61 % of the server's time in the kernel (task switches,
//! wake-ups) and 4 % in answering, at half gdnsd's queries/s.

use crate::handler::{encode_udp, question_is_compressed, Shared};
use crate::metrics::Metrics;
use crate::udp_batch::{Batch, BATCH};
use crate::zone::Zone;
use hickory_proto::op::MessageType;
use hickory_proto::serialize::binary::BinDecodable;
use hickory_proto::xfer::Protocol;
use hickory_server::authority::MessageRequest;
use hickory_server::server::Request;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

/// Largest query read; longer datagrams are cut here and fail to decode.
const MAX_QUERY: usize = 4096;

/// Serve `socket` from `threads` threads (each blocks in `recv_from`).
pub fn spawn(socket: UdpSocket, shared: &Arc<Shared>, threads: usize) -> std::io::Result<()> {
    for i in 0..threads.max(1) {
        let (sock, shared) = (socket.try_clone()?, Arc::clone(shared));
        std::thread::Builder::new()
            .name(format!("edgepick-dns-udp-{i}"))
            .spawn(move || serve(&sock, &shared))?;
    }
    Ok(())
}

fn serve(sock: &UdpSocket, shared: &Shared) {
    let mut batch = Batch::new(MAX_QUERY);
    let mut out = Vec::with_capacity(BATCH);
    loop {
        let n = batch.receive(sock);
        let zone = shared.zone();
        let now = shared.now_ms();
        out.clear();
        for i in 0..n {
            if let Some((packet, src)) = batch.get(i) {
                if let Some(bytes) = respond(&zone, &shared.metrics, packet, src, now) {
                    out.push((i, bytes));
                }
            }
        }
        if !out.is_empty() {
            batch.reply(sock, &mut out);
        }
    }
}

/// The datagram to send back for `packet` from `src`, if any: nothing for
/// responses and for packets too short to hold a header, FORMERR for one
/// that does not decode, SERVFAIL when the answer cannot be encoded.
pub fn respond(
    zone: &Zone,
    metrics: &Metrics,
    packet: &[u8],
    src: SocketAddr,
    now_ms: u64,
) -> Option<Vec<u8>> {
    let is_query = packet.len() >= 12 && packet[2] & 0x80 == 0;
    if !is_query {
        return None;
    }
    let Ok(msg) = MessageRequest::from_bytes(packet) else {
        metrics.response("formerr", false);
        return Some(bare(packet, 1));
    };
    if msg.message_type() == MessageType::Response {
        return None;
    }
    let request = Request::new(msg, src, Protocol::Udp);
    if question_is_compressed(packet) {
        metrics.response("formerr", false);
        return Some(bare(packet, 1));
    }
    match encode_udp(zone, metrics, &request, now_ms) {
        Ok(bytes) => Some(bytes),
        Err(_) => Some(bare(packet, 2)),
    }
}

/// A header-only response to `packet` (its id and opcode) with `rcode`.
fn bare(packet: &[u8], rcode: u8) -> Vec<u8> {
    let opcode = packet[2] & 0x78;
    vec![
        packet[0],
        packet[1],
        0x80 | opcode,
        rcode,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gets_formerr_and_responses_nothing() {
        let zone = Zone::new(
            crate::settings::Settings::from_json(
                r#"{"backends": [{"name": "a", "address": "127.0.1.1:80"}],
                    "dns": {"zone": "example.test", "names": ["www"]}}"#,
            )
            .unwrap(),
            1,
        );
        let m = Metrics::default();
        let src: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let mut junk = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        junk.extend_from_slice(&[0xff; 20]);
        assert_eq!(
            respond(&zone, &m, &junk, src, 0),
            Some(vec![0xab, 0xcd, 0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        );
        junk[2] |= 0x80;
        assert_eq!(respond(&zone, &m, &junk, src, 0), None);
        assert_eq!(respond(&zone, &m, &[1, 2, 3], src, 0), None);
    }

    /// Found by the fuzz target: a question written with a compression
    /// pointer. Echoed as written (hickory does), the response did not decode.
    #[test]
    fn a_question_with_a_compression_pointer_gets_formerr() {
        let zone = Zone::new(
            crate::settings::Settings::from_json(
                r#"{"backends": [{"name": "a", "address": "127.0.1.1:80"}],
                    "dns": {"zone": "example.test", "names": ["www"]}}"#,
            )
            .unwrap(),
            1,
        );
        let packet = [
            0x05, 0x00, 0x06, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x26,
            0x02, 0x00, 0x75, 0x94, 0x8c, 0x74, 0xc0, 0xc0, 0xc0, 0x02, 0x02, 0x02, 0x02, 0x02,
            0x02, 0x02, 0x02, 0x02, 0x02, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x26, 0x02, 0x00, 0x75, 0x94, 0x8c, 0x74, 0xc0, 0xc0, 0xc0, 0x02, 0x02, 0x02,
            0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
            0x02, 0x0b, 0x00, 0x00, 0x00, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
            0x0b, 0x00, 0x00, 0x00, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
            0x02, 0x02, 0x02, 0x02, 0x02, 0x36,
        ];
        let src: SocketAddr = "127.0.0.1:5300".parse().unwrap();
        let sent = respond(&zone, &Metrics::default(), &packet, src, 0).expect("an answer");
        let m = hickory_proto::op::Message::from_vec(&sent).expect("what is sent decodes");
        assert_eq!(m.response_code(), hickory_proto::op::ResponseCode::FormErr);
        assert_eq!(m.id(), 0x0500);
    }
}
