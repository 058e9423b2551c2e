//! Cookie header lines in real Envoy: HTTP/1.1 lets a client send several
//! `Cookie` lines, and Envoy keeps each as its own header. The filter must
//! read them all (the session is honoured whichever line carries it) and
//! strip only the balancer's cookie: every other cookie and line reaches the
//! backend byte for byte, non-UTF-8 bytes included. With `"strip": false`
//! every line reaches the backend unchanged. On both targets: the native
//! policy reads every line when it picks, its upstream filter strips.

mod common;

use common::target::{Edge, Target};
use edgepick_tests::harness::capture::header_values;
use edgepick_tests::harness::{Capture, Client, Response};
use std::collections::BTreeMap;

const COOKIE: &str = "ep_sid";

/// Header lines as bytes.
type Lines<'a> = Vec<&'a [u8]>;

fn config(backends: &[Capture], strip: bool) -> String {
    let list: Vec<String> = backends.iter().map(Capture::json).collect();
    format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":[{}],
            "cookie":{{"name":"{COOKIE}","keys":["e2e-cookie-lines-key-0001"],"strip":{strip}}}}}"#,
        list.join(",")
    )
}

/// `GET /` with these extra header lines, sent as raw bytes.
fn send(client: &mut Client, lines: &[&[u8]]) -> Response {
    let mut raw = b"GET / HTTP/1.1\r\nhost: edge\r\n".to_vec();
    for l in lines {
        raw.extend_from_slice(l);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    let r = client.request_raw(&raw, false).expect("request");
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

/// The `Cookie` lines of the last request `backend` received.
fn received(backend: &Capture) -> Vec<Vec<u8>> {
    let requests = backend.take();
    let last = requests.last().expect("the backend got the request");
    header_values(last, "cookie")
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}

on_both_targets!(every_cookie_line_is_read_and_only_the_balancer_cookie_is_stripped);

fn every_cookie_line_is_read_and_only_the_balancer_cookie_is_stripped(target: Target) {
    let bs: Vec<Capture> = ["a", "b"]
        .iter()
        .map(|n| Capture::spawn(n).expect("capture backend"))
        .collect();
    let addresses: Vec<_> = bs.iter().map(Capture::addr).collect();
    let envoy = Edge::new(&config(&bs, true), &addresses)
        .and(&config(&bs, false))
        .start(target);
    let by_name: BTreeMap<&str, &Capture> = bs.iter().map(|b| (b.name(), b)).collect();

    // A session on each node: round robin alternates new clients.
    let mut client = Client::new(envoy.listener(0));
    let mut sessions = BTreeMap::new();
    for _ in 0..4 {
        let r = send(&mut client, &[]);
        let node = r.served_by().expect("x-served-by").to_string();
        let value = r
            .set_cookie_value(COOKIE)
            .expect("a new session gets a cookie");
        sessions.insert(node, value);
    }
    assert_eq!(sessions.len(), 2, "round robin reached both nodes");
    for b in &bs {
        b.take();
    }

    for (node, value) in &sessions {
        let ours = format!("Cookie: {COOKIE}={value}");
        let mut mixed = format!("Cookie: a=1; {COOKIE}={value}; b=").into_bytes();
        mixed.push(0xff);
        let cases: [(Lines, Lines); 3] = [
            // The balancer's line first: the application's line must survive.
            (
                vec![ours.as_bytes(), b"Cookie: session=keep; t=\xff\xfe"],
                vec![b"session=keep; t=\xff\xfe"],
            ),
            // The balancer's cookie on the second line, among others.
            (
                vec![b"Cookie: session=keep", &mixed],
                vec![b"session=keep", b"a=1; b=\xff"],
            ),
            // No balancer cookie: nothing is touched (and no session is pinned).
            (
                vec![b"Cookie: x=\xff\xfe", b"Cookie: y=1"],
                vec![b"x=\xff\xfe", b"y=1"],
            ),
        ];
        for (i, (sent, want)) in cases.iter().enumerate() {
            let r = send(&mut client, sent);
            let served = r.served_by().expect("x-served-by").to_string();
            if i < 2 {
                assert_eq!(
                    &served, node,
                    "case {i}: the session cookie pins the client"
                );
                assert_eq!(
                    r.set_cookie_value(COOKIE),
                    None,
                    "case {i}: a valid cookie for the node that served is not re-issued"
                );
            }
            let got = received(by_name[served.as_str()]);
            let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
            assert_eq!(got, want, "case {i}: cookie lines the backend received");
        }
    }

    // strip: false forwards every line as sent, and still pins.
    let mut client = Client::new(envoy.listener(1));
    let first = send(&mut client, &[]);
    let node = first.served_by().expect("x-served-by").to_string();
    let value = first.set_cookie_value(COOKIE).expect("cookie");
    by_name[node.as_str()].take();
    let ours = format!("Cookie: {COOKIE}={value}");
    for _ in 0..3 {
        let r = send(&mut client, &[b"Cookie: s=\xfe", ours.as_bytes()]);
        assert_eq!(r.served_by(), Some(node.as_str()), "pinned without strip");
        let want = vec![b"s=\xfe".to_vec(), format!("{COOKIE}={value}").into_bytes()];
        assert_eq!(received(by_name[node.as_str()]), want);
    }
}
