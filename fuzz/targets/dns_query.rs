//! edgepick-dns's query path: a UDP packet from any source decoded as
//! hickory-server decodes it, answered by the zone, encoded as it is sent.
//! Nothing panics; what is sent decodes, stays within the UDP limit, and
//! every address in it is a configured backend's.
#![no_main]

use edgepick_dns::handler::encode_udp;
use edgepick_dns::settings::Settings;
use edgepick_dns::zone::{Zone, MAX_UDP_PAYLOAD};
use hickory_proto::op::Message;
use hickory_proto::rr::RData;
use hickory_proto::serialize::binary::BinDecodable;
use hickory_proto::xfer::Protocol;
use hickory_server::authority::MessageRequest;
use hickory_server::server::Request;
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

static ZONE: LazyLock<Zone> = LazyLock::new(|| {
    let mut backends: Vec<String> = (1..=9)
        .map(|i| format!(r#"{{"name": "v4-{i}", "address": "127.0.1.{i}:80"}}"#))
        .collect();
    backends.extend(
        (1..=9).map(|i| format!(r#"{{"name": "v6-{i}", "address": "[2001:db8::{i}]:80"}}"#)),
    );
    let doc = format!(
        r#"{{"algorithm": {{"name": "rfws"}}, "fallbacks": 16, "backends": [{}],
            "dns": {{"zone": "example.test", "names": ["@", "www", "a.b.c"],
              "regions": [{{"name": "e", "subnets": ["127.5.0.0/16", "2001:db8:5::/48"],
                           "links": {{"v4-3": {{"hops": 1, "bandwidth_mbps": 5000}}}}}}]}}}}"#,
        backends.join(",")
    );
    Zone::new(
        Settings::from_json(&doc).expect("the fuzz zone is valid"),
        1,
    )
});

fuzz_target!(|data: &[u8]| {
    let Some((&src, packet)) = data.split_first() else {
        return;
    };
    let ip: IpAddr = if src % 2 == 0 {
        [127, 5, src, 1].into()
    } else {
        "2001:db8:5::1".parse().unwrap()
    };
    let Ok(msg) = MessageRequest::from_bytes(packet) else {
        return; // hickory-server answers FORMERR before the handler
    };
    let request = Request::new(msg, SocketAddr::new(ip, 5300), Protocol::Udp);
    let now = u64::from(src) * 1000;
    let Ok(bytes) = encode_udp(&ZONE, &request, now) else {
        return; // hickory-server sends its SERVFAIL fallback
    };
    // Bounded: within the UDP limit, or (a refusal echoing a long question
    // section) no larger than the query itself plus a header's worth.
    let limit = if request.edns().is_some() {
        MAX_UDP_PAYLOAD
    } else {
        512
    };
    assert!(
        bytes.len() <= limit.max(packet.len() + 64),
        "{} bytes sent for a {}-byte query",
        bytes.len(),
        packet.len()
    );
    let sent = Message::from_vec(&bytes).expect("what is sent decodes");
    let configured: Vec<IpAddr> = ZONE
        .settings
        .base
        .backends
        .iter()
        .map(|b| b.address.ip())
        .collect();
    for r in sent.answers() {
        let ip = match r.data() {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(a) => IpAddr::V6(a.0),
            _ => continue,
        };
        assert!(configured.contains(&ip), "{ip} is not a configured backend");
    }
});
