//! hickory-server glue: read the question from a [`Request`], answer it with
//! the current [`Zone`], encode the response (EDNS and ECS echoed, size
//! bounded), count it.

use crate::metrics::Metrics;
use crate::zone::{Answer, Question, Zone, MAX_UDP_PAYLOAD, PLAIN_UDP_PAYLOAD};
use hickory_proto::op::{Edns, Header, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinEncoder;
use hickory_proto::xfer::Protocol;
use hickory_proto::ProtoError;
use hickory_server::authority::{MessageResponse, MessageResponseBuilder};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// What every query reads: the current zone (swapped whole on reload), the
/// counters and the clock origin.
pub struct Shared {
    /// The zone in force; a reload replaces the `Arc`, queries in flight keep theirs.
    pub zone: RwLock<Arc<Zone>>,
    /// Counters.
    pub metrics: Metrics,
    /// Time zero of `now_ms`.
    pub started: Instant,
}

impl Shared {
    /// Milliseconds since start (monotonic).
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The zone in force.
    pub fn zone(&self) -> Arc<Zone> {
        match self.zone.read() {
            Ok(z) => Arc::clone(&z),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }
}

/// The metrics label of a response code (its mnemonic, lower case).
pub fn rcode_label(r: ResponseCode) -> &'static str {
    match r {
        ResponseCode::NoError => "noerror",
        ResponseCode::FormErr => "formerr",
        ResponseCode::ServFail => "servfail",
        ResponseCode::NXDomain => "nxdomain",
        ResponseCode::NotImp => "notimp",
        ResponseCode::Refused => "refused",
        ResponseCode::BADVERS => "badvers",
        _ => "other",
    }
}

/// The request handler hickory-server calls.
#[derive(Clone)]
pub struct Handler(pub Arc<Shared>);

/// The question of `request`, or the RCODE to refuse it with.
pub fn question(request: &Request) -> Result<Question, ResponseCode> {
    if request.message_type() != MessageType::Query || request.op_code() != OpCode::Query {
        return Err(ResponseCode::NotImp);
    }
    if request.edns().is_some_and(|e| e.version() > 0) {
        return Err(ResponseCode::BADVERS); // RFC 6891 §6.1.3: we speak EDNS 0
    }
    let info = request.request_info().map_err(|_| ResponseCode::FormErr)?;
    let ecs = match request.edns().map(|e| e.option(EdnsCode::Subnet)) {
        Some(Some(EdnsOption::Subnet(s))) => Some(*s),
        _ => None,
    };
    let max_size = match (request.protocol(), request.edns()) {
        (Protocol::Udp, None) => PLAIN_UDP_PAYLOAD,
        (Protocol::Udp, Some(e)) => {
            usize::from(e.max_payload()).clamp(PLAIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD)
        }
        _ => usize::from(u16::MAX),
    };
    Ok(Question {
        name: info.query.name().to_string().to_ascii_lowercase(),
        qtype: info.query.query_type(),
        src: request.src().ip(),
        ecs,
        max_size,
    })
}

/// The response EDNS record: present when the query had one, advertising
/// the payload answered, with the ECS option echoed.
fn response_edns(request: &Request, answer: Option<&Answer>, max_size: usize) -> Option<Edns> {
    request.edns()?;
    let mut edns = Edns::new();
    edns.set_max_payload(u16::try_from(max_size.min(MAX_UDP_PAYLOAD)).unwrap_or(512));
    if let Some(ecs) = answer.and_then(|a| a.ecs) {
        edns.options_mut().insert(EdnsOption::Subnet(ecs));
    }
    Some(edns)
}

/// A response ready to send: header, answer (none when the question was
/// refused before the zone saw it) and EDNS record.
pub struct Prepared {
    /// The response header.
    pub header: Header,
    /// The zone's answer.
    pub answer: Option<Answer>,
    /// The response OPT record.
    pub edns: Option<Edns>,
}

/// Answer `request` with `zone` at `now_ms`, counting it in `metrics`.
pub fn prepare(zone: &Zone, metrics: &Metrics, request: &Request, now_ms: u64) -> Prepared {
    let mut header = Header::response_from_request(request.header());
    header.set_recursion_available(false);
    let q = match question(request) {
        Ok(q) => q,
        Err(rcode) => {
            header.set_response_code(rcode);
            metrics.response(rcode_label(rcode), false);
            let mut edns = response_edns(request, None, PLAIN_UDP_PAYLOAD);
            if let Some(e) = edns.as_mut() {
                e.set_rcode_high(rcode.high());
            }
            return Prepared {
                header,
                answer: None,
                edns,
            };
        }
    };
    let answer = zone.answer(&q, now_ms);
    if let Some(p) = &answer.pick {
        let b = answer
            .backends
            .first()
            .and_then(|&i| zone.settings.base.backends.get(i));
        metrics.answer(b.map_or("(none)", |b| b.name.as_str()), p.reason);
    }
    metrics.response(rcode_label(answer.rcode), answer.truncated);
    header.set_response_code(answer.rcode);
    header.set_authoritative(answer.authoritative);
    header.set_truncated(answer.truncated);
    let edns = response_edns(request, Some(&answer), q.max_size);
    Prepared {
        header,
        answer: Some(answer),
        edns,
    }
}

/// The response hickory-server sends for `p`.
fn build<'q, 'a>(
    request: &'q Request,
    p: &'a Prepared,
) -> MessageResponse<
    'q,
    'a,
    impl Iterator<Item = &'a Record> + Send + 'a,
    impl Iterator<Item = &'a Record> + Send + 'a,
    impl Iterator<Item = &'a Record> + Send + 'a,
    impl Iterator<Item = &'a Record> + Send + 'a,
> {
    let mut b = MessageResponseBuilder::from_message_request(request);
    if let Some(e) = &p.edns {
        b.edns(e.clone());
    }
    let (answers, authority) = match &p.answer {
        Some(a) => (a.answers.as_slice(), a.authority.as_slice()),
        None => (&[][..], &[][..]),
    };
    b.build(
        p.header,
        answers.iter(),
        [].iter(),
        authority.iter(),
        [].iter(),
    )
}

/// Whether the question section of the query `wire` (as the client wrote
/// it) holds a compression pointer. hickory echoes those bytes into the
/// response unchanged, where a pointer no longer points at what it did in the
/// query (it may point past the question, or into the answers), so the
/// response would not decode. No first question has an earlier name to point
/// to, and only single-question queries are answered: such a query is malformed.
pub fn question_is_compressed(wire: &[u8]) -> bool {
    let mut i = 12;
    while let Some(&len) = wire.get(i) {
        match len {
            0 => return false,
            l if l & 0xC0 != 0 => return true,
            l => i += 1 + usize::from(l),
        }
    }
    false
}

/// The bytes sent for `request` over UDP, encoded as hickory's response
/// handle encodes them, with its size limit (the response's EDNS payload,
/// else 4096 bytes; the zone keeps plain UDP answers within 512).
pub fn encode_udp(
    zone: &Zone,
    metrics: &Metrics,
    request: &Request,
    now_ms: u64,
) -> Result<Vec<u8>, ProtoError> {
    let p = prepare(zone, metrics, request, now_ms);
    let max = p.edns.as_ref().map_or(4096, Edns::max_payload);
    let mut buf = Vec::with_capacity(512);
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_max_size(max);
    build(request, &p).destructive_emit(&mut enc)?;
    Ok(buf)
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let shared = &self.0;
        // The query as written (hickory keeps the question's bytes; TCP only:
        // UDP checks the packet it received).
        let compressed = request.protocol() != Protocol::Udp
            && hickory_proto::serialize::binary::BinEncodable::to_bytes(&**request)
                .is_ok_and(|wire| question_is_compressed(&wire));
        if compressed {
            // No decodable answer can echo it (see the function): say
            // nothing, as for a packet that does not parse.
            shared.metrics.response("formerr", false);
            let mut header = Header::response_from_request(request.header());
            header.set_response_code(ResponseCode::FormErr);
            return header.into();
        }
        let p = prepare(&shared.zone(), &shared.metrics, request, shared.now_ms());
        let header = p.header;
        response
            .send_response(build(request, &p))
            .await
            .unwrap_or_else(|_| header.into())
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
