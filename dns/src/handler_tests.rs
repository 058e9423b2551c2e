//! The bytes sent for a query: size bounded, TC set, EDNS and ECS echoed.

use super::*;
use crate::settings::Settings;
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::opt::ClientSubnet;
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinDecodable;
use hickory_server::authority::MessageRequest;

fn zone() -> Zone {
    let backends: Vec<String> = (1..=17)
        .map(|i| format!(r#"{{"name": "n{i}", "address": "[2001:db8::{i}]:80"}}"#))
        .collect();
    let doc = format!(
        r#"{{"algorithm": {{"name": "ip_hash"}}, "fallbacks": 16, "backends": [{}],
            "dns": {{"zone": "example.test", "names": ["www"]}}}}"#,
        backends.join(",")
    );
    Zone::new(Settings::from_json(&doc).unwrap(), 1)
}

fn request(edns: Option<(u16, Option<&str>)>) -> Request {
    request_v(edns, 0)
}

fn request_v(edns: Option<(u16, Option<&str>)>, version: u8) -> Request {
    let mut m = Message::new();
    m.set_id(7);
    m.add_query(Query::query(
        Name::from_ascii("www.example.test.").unwrap(),
        RecordType::AAAA,
    ));
    if let Some((payload, ecs)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_version(version);
        if let Some(s) = ecs {
            e.options_mut()
                .insert(EdnsOption::Subnet(s.parse::<ClientSubnet>().unwrap()));
        }
        m.set_edns(e);
    }
    let bytes = m.to_vec().unwrap();
    let msg = MessageRequest::from_bytes(&bytes).unwrap();
    Request::new(msg, "127.0.0.1:5300".parse().unwrap(), Protocol::Udp)
}

#[test]
fn plain_udp_fits_512_bytes_with_tc() {
    let bytes = encode_udp(&zone(), &Metrics::default(), &request(None), 0).unwrap();
    assert!(bytes.len() <= 512, "{} bytes", bytes.len());
    let m = Message::from_vec(&bytes).unwrap();
    assert!(m.truncated() && m.authoritative() && !m.answers().is_empty());
    assert_eq!(m.id(), 7);
}

#[test]
fn edns_answers_are_bounded_to_1232_bytes_and_echo_the_subnet_scope() {
    let bytes = encode_udp(
        &zone(),
        &Metrics::default(),
        &request(Some((65_000, Some("127.8.9.0/24")))),
        0,
    )
    .unwrap();
    assert!(bytes.len() <= MAX_UDP_PAYLOAD, "{} bytes", bytes.len());
    let m = Message::from_vec(&bytes).unwrap();
    assert_eq!((m.truncated(), m.answers().len()), (false, 17));
    let e = m.extensions().as_ref().unwrap();
    assert_eq!(e.max_payload(), 1232);
    match e.option(EdnsCode::Subnet) {
        Some(EdnsOption::Subnet(s)) => assert_eq!((s.source_prefix(), s.scope_prefix()), (24, 24)),
        other => panic!("no ECS echoed: {other:?}"),
    }
}

#[test]
fn other_opcodes_are_not_implemented() {
    let mut m = Message::new();
    m.set_op_code(OpCode::Update);
    m.add_query(Query::query(
        Name::from_ascii("example.test.").unwrap(),
        RecordType::SOA,
    ));
    let msg = MessageRequest::from_bytes(&m.to_vec().unwrap()).unwrap();
    let req = Request::new(msg, "127.0.0.1:5300".parse().unwrap(), Protocol::Udp);
    let out =
        Message::from_vec(&encode_udp(&zone(), &Metrics::default(), &req, 0).unwrap()).unwrap();
    assert_eq!(out.response_code(), ResponseCode::NotImp);
}

#[test]
fn an_edns_version_above_0_gets_badvers() {
    let bytes = encode_udp(
        &zone(),
        &Metrics::default(),
        &request_v(Some((1232, None)), 1),
        0,
    )
    .unwrap();
    let m = Message::from_vec(&bytes).unwrap();
    // 16 is BADVERS (and, in TSIG, BADSIG: hickory decodes it so).
    assert_eq!(u16::from(m.response_code()), 16);
    assert!(m.answers().is_empty());
}
