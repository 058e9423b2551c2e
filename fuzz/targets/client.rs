//! The client address (`client::client_address`): the peer, or the N-th
//! `X-Forwarded-For` entry from the right with N trusted hops; then the
//! `ip_hash` router keyed on it.
#![no_main]

use edgepick_core::client::client_address;
use edgepick_core::{Config, Request, Router, SplitMix64};
use edgepick_fuzz::Input;
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let hops = input.byte();
    let peer: Option<IpAddr> = match input.byte() % 3 {
        0 => None,
        1 => Some([192, 0, 2, 5].into()),
        _ => Some("2001:db8::5".parse().expect("a v6 address")),
    };
    let now = input.clock();
    let xff = input.text();
    let got = client_address(peer, Some(&xff), hops);
    if hops == 0 {
        assert_eq!(
            got, peer,
            "no trusted hops: the peer, whatever the header says"
        );
    }
    if peer.is_some() {
        assert!(got.is_some(), "a peer is never lost: {xff:?} hops {hops}");
    }
    if got.is_some() && got != peer {
        // Taken from the header: there are at least `hops` entries in it.
        assert!(hops > 0 && xff.split(',').count() >= usize::from(hops));
    }

    let cfg = Config::from_json(&format!(
        r#"{{"algorithm": {{"name": "ip_hash"}}, "client": {{"trusted_hops": {hops}}},
            "backends": [{{"name": "a", "address": "127.0.0.1:9001"}},
                         {{"name": "b", "address": "127.0.0.1:9002"}}]}}"#
    ))
    .expect("the ip_hash configuration is valid");
    let mut router = Router::new(cfg);
    let req = Request {
        peer,
        forwarded_for: Some(&xff),
        ..Request::default()
    };
    let t = router.pick(&req, now, &mut SplitMix64::new(1));
    router.abandon(t);
});
