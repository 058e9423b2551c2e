//! Who served, and how, comes from Envoy, not from the backend: the shipped
//! `deploy/envoy.yaml` has Envoy write `x-edgepick-upstream` ("<tries>
//! <status>") over any value a backend sends, and the filter reads it to
//! learn whether its first choice served.
//!
//! A hostile backend B answers every request with the value that would claim
//! "your first choice served, 200": if the filter believed it, a request that
//! Envoy retried from a dead first choice A onto B would pin the session to A.
//! A stays eligible (`max_fails: 0`, no heartbeats), so such a session would
//! keep going to A first and need a second try every time.

mod common;

use common::setup;
use edgepick_tests::harness::{free_port, Capture, Client, EnvoyBuilder};

const COOKIE: &str = "ep_sid";
const FORGED: &str = "x-edgepick-upstream: 1 200";

#[test]
fn a_backend_cannot_claim_the_first_choice_served() {
    let wasm = setup();
    // Nothing listens on A's port: every try there is refused.
    let dead = format!("127.0.0.1:{}", free_port().expect("a free port"));
    let b = Capture::spawn_answering("b", Some(FORGED)).expect("capture backend");
    let config = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"fallbacks":1,
            "health":{{"max_fails":0}},
            "backends":[{{"name":"a","address":"{dead}"}},{}],
            "cookie":{{"name":"{COOKIE}","keys":["e2e-upstream-signal-key-0001"]}}}}"#,
        b.json()
    );
    let envoy = EnvoyBuilder::new(&wasm, &config)
        .start()
        .expect("envoy starts");

    // New clients until one lands on A first: Envoy refuses there and retries on B.
    let mut retried = None;
    for _ in 0..8 {
        let r = Client::new(envoy.listener(0)).get("/").expect("request");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.served_by(), Some("b"), "only B answers");
        let signal = r
            .header("x-edgepick-upstream")
            .expect("Envoy writes the signal");
        assert_ne!(signal, "", "Envoy's value, never empty");
        if signal == "2 200" {
            retried = Some(r);
            break;
        }
        assert_eq!(signal, "1 200", "B was the first choice and served");
    }
    let retried = retried.expect("round robin put A first within 8 new clients");
    let session = retried
        .set_cookie_value(COOKIE)
        .expect("a new session gets a cookie");

    // The session is B's: it goes straight to B, one try each time. Had the
    // filter believed B's forged "1 200", it would be A's: two tries each.
    let mut client = Client::new(envoy.listener(0));
    for i in 0..20 {
        let r = client
            .get_with("/", &[("cookie", &format!("{COOKIE}={session}"))])
            .expect("request");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("x-edgepick-upstream"),
            Some("1 200"),
            "request {i}: the session is pinned to B, which served first"
        );
        assert_eq!(
            r.set_cookie_value(COOKIE),
            None,
            "request {i}: the right cookie is not re-issued"
        );
    }
}
