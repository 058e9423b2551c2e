//! The harness itself against real Envoy, without the filter: the client writes
//! the destination header, as the filter will, and Envoy's `override_host`
//! policy must follow it (primary first, retries walk the list).

mod common;

use common::{backends, tally};
use edgepick_tests::harness::{envoy_binary, Client, EnvoyBuilder, DESTINATION_HEADER};

#[test]
fn override_host_follows_the_destination_header_and_retries_walk_it() {
    let _ = envoy_binary();
    let mut bs = backends(&["a", "b", "c"]);
    let addrs: Vec<_> = bs.iter().map(|b| b.addr()).collect();
    let envoy = EnvoyBuilder::without_filter(&addrs)
        .start()
        .expect("envoy starts");
    let mut client = Client::new(envoy.listener(0));

    // The header decides, request after request.
    for (i, b) in bs.iter().enumerate().cycle().take(30) {
        let r = client
            .get_with(
                &format!("/x?i={i}"),
                &[(DESTINATION_HEADER, &b.addr().to_string())],
            )
            .unwrap();
        assert_eq!(
            (r.status, r.served_by()),
            (200, Some(b.name())),
            "header named {}",
            b.name()
        );
    }

    // A dead primary: the retry takes the next address in the list.
    bs[1].kill();
    let list = format!("{},{}", addrs[1], addrs[2]);
    for _ in 0..10 {
        let r = client
            .get_with("/", &[(DESTINATION_HEADER, &list)])
            .unwrap();
        assert_eq!((r.status, r.served_by()), (200, Some("c")));
    }

    // A 5xx primary: retried on the next address.
    bs[0].set_fail(503).unwrap();
    let list = format!("{},{}", addrs[0], addrs[2]);
    let r = client
        .get_with("/", &[(DESTINATION_HEADER, &list)])
        .unwrap();
    assert_eq!((r.status, r.served_by()), (200, Some("c")));

    // No header: the round-robin fallback spreads over the live hosts.
    bs[0].set_fail(0).unwrap();
    let rs: Vec<_> = (0..40).map(|_| client.get("/").unwrap()).collect();
    let t = tally(&rs);
    assert!(rs.iter().all(|r| r.status == 200), "{t:?}");
    assert!(
        t.get("a").copied().unwrap_or(0) >= 10 && t.get("c").copied().unwrap_or(0) >= 10,
        "{t:?}"
    );
}
