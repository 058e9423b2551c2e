//! edgepick-dns's UDP path (`udp::respond`): a packet from any source
//! decoded as hickory-server decodes it, answered, encoded as it is sent.
//! Nothing panics; what is sent decodes, stays within the UDP limit, and
//! every address in it is a configured backend's.
#![no_main]

use edgepick_dns::metrics::Metrics;
use edgepick_dns::settings::Settings;
use edgepick_dns::udp::respond;
use edgepick_dns::zone::{Zone, MAX_UDP_PAYLOAD};
use hickory_proto::op::Message;
use hickory_proto::rr::RData;
use hickory_proto::serialize::binary::BinDecodable;
use hickory_server::authority::MessageRequest;
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
    let now = u64::from(src) * 1000;
    let Some(bytes) = respond(
        &ZONE,
        &Metrics::default(),
        packet,
        SocketAddr::new(ip, 5300),
        now,
    ) else {
        return; // a response or a runt: nothing sent
    };
    // Bounded: within the UDP limit, or (a refusal echoing a long question
    // section) no larger than the query itself plus a header's worth.
    let edns = MessageRequest::from_bytes(packet).is_ok_and(|m| m.edns().is_some());
    let limit = if edns { MAX_UDP_PAYLOAD } else { 512 };
    assert!(
        bytes.len() <= limit.max(packet.len() + 64),
        "{} bytes sent for a {}-byte query",
        bytes.len(),
        packet.len()
    );
    let sent = Message::from_vec(&bytes).expect("what is sent decodes");
    assert_eq!(sent.id(), u16::from_be_bytes([packet[0], packet[1]]));
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
