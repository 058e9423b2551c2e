//! Sticky sessions: the signed cookie keeps a client on one node; when that node
//! dies the client moves and gets a new cookie; tampered or forged cookies are
//! ignored (served normally, a fresh valid cookie set). On both targets: the
//! native policy reads the cookie, its companion filter sets it.

mod common;

use common::backends;
use common::target::{Edge, Target};
use edgepick_tests::harness::{backend_json, Client, Response};
use std::collections::BTreeSet;

const COOKIE: &str = "ep_sid";

fn with_cookie(client: &mut Client, value: &str) -> Response {
    let cookie = format!("other=1; {COOKIE}={value}");
    let r = client
        .get_with("/s", &[("cookie", &cookie)])
        .expect("request");
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

on_both_targets!(cookie_pins_moves_on_failure_and_rejects_tampering);

fn cookie_pins_moves_on_failure_and_rejects_tampering(target: Target) {
    let mut bs = backends(&["a", "b", "c"]);
    let list: Vec<String> = bs.iter().map(|b| backend_json(b, "")).collect();
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":[{}],
            "cookie":{{"name":"{COOKIE}","keys":["e2e-test-signing-key-0001"]}},
            "health":{{"max_fails":1,"fail_timeout_ms":10000}}}}"#,
        list.join(",")
    );
    let addresses: Vec<_> = bs.iter().map(|b| b.addr()).collect();
    let envoy = Edge::new(&cfg, &addresses).start(target);
    let mut client = Client::new(envoy.listener(0));

    // Without a cookie round robin moves the client around, and every answer sets one.
    let first: Vec<Response> = (0..6).map(|_| client.get("/s").unwrap()).collect();
    let seen: BTreeSet<_> = first.iter().filter_map(|r| r.served_by()).collect();
    assert!(
        seen.len() >= 2,
        "round robin should rotate without a cookie: {seen:?}"
    );
    let r0 = &first[0];
    let home = r0.served_by().expect("x-served-by").to_string();
    let v0 = r0
        .set_cookie_value(COOKIE)
        .unwrap_or_else(|| panic!("no {COOKIE} set: {:?}", r0.headers));
    let attrs = r0.headers_all("set-cookie").join(" | ");
    assert!(
        attrs.contains("Path=/") && attrs.contains("HttpOnly") && attrs.contains("Max-Age="),
        "{attrs}"
    );

    // 100 requests with the cookie: all on the same node.
    let pinned: Vec<String> = (0..100)
        .map(|_| {
            with_cookie(&mut client, &v0)
                .served_by()
                .unwrap_or("-")
                .to_string()
        })
        .collect();
    assert!(
        pinned.iter().all(|n| *n == home),
        "cookie for {home} not honoured: {pinned:?}"
    );

    // Kill the home node: the request is still served, elsewhere, with a new cookie.
    bs.iter_mut().find(|b| b.name() == home).unwrap().kill();
    let moved = with_cookie(&mut client, &v0);
    let new_home = moved.served_by().expect("x-served-by").to_string();
    assert_ne!(new_home, home);
    let v1 = moved
        .set_cookie_value(COOKIE)
        .expect("a new cookie after the move");
    assert_ne!(v1, v0);
    for _ in 0..20 {
        assert_eq!(
            with_cookie(&mut client, &v1).served_by(),
            Some(new_home.as_str()),
            "new cookie must pin"
        );
    }

    // Tampered MAC: served, and a new valid cookie is set.
    let mut tampered = v1.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let r = with_cookie(&mut client, &tampered);
    let v2 = r
        .set_cookie_value(COOKIE)
        .expect("a fresh cookie replacing the tampered one");
    assert_ne!(v2, tampered);
    let fresh_home = r.served_by().unwrap().to_string();
    for _ in 0..5 {
        assert_eq!(
            with_cookie(&mut client, &v2).served_by(),
            Some(fresh_home.as_str()),
            "fresh cookie must pin"
        );
    }

    // A forged cookie naming a live node with a made-up signature pins nothing.
    let live: Vec<&str> = ["a", "b", "c"].into_iter().filter(|n| *n != home).collect();
    let forged_name = b64url(live[0].as_bytes());
    let forged = format!("v1.{forged_name}.99999999999.{}", "A".repeat(43));
    let mut where_ = BTreeSet::new();
    for _ in 0..30 {
        let r = with_cookie(&mut client, &forged);
        assert!(
            r.set_cookie_value(COOKIE).is_some(),
            "an ignored cookie is replaced"
        );
        where_.insert(r.served_by().unwrap_or("-").to_string());
    }
    assert_eq!(
        where_.len(),
        2,
        "forged cookie must not pin to {}: {where_:?}",
        live[0]
    );
}

/// Unpadded base64url (enough for a forged cookie).
fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
