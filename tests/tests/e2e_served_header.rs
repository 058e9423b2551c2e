//! Who served a request comes from Envoy (the shipped route's
//! `x-edgepick-served: %UPSTREAM_HOST%`, overwriting), never from the backend:
//! a backend that claims another node served cannot move a session, and the
//! header never reaches the client.

mod common;

use common::{backends, setup};
use edgepick_tests::harness::{backends_json, Client, EnvoyBuilder};

const COOKIE: &str = "ep_sid";

#[test]
fn a_backend_cannot_forge_who_served() {
    let wasm = setup();
    let bs = backends(&["a", "b"]);
    let cfg = format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{},
            "cookie":{{"name":"{COOKIE}","keys":["e2e-test-signing-key-0001"]}}}}"#,
        backends_json(&bs)
    );
    let envoy = EnvoyBuilder::new(&wasm, &cfg)
        .start()
        .expect("envoy starts");
    let mut client = Client::new(envoy.listener(0));
    // Each request claims (alternately) that a or b served; whenever the
    // claim is false, the cookie must still pin the node that really served.
    let mut forged = 0;
    for n in 0..20 {
        let claimed = &bs[n % 2];
        let r = client
            .get(&format!("/f?forge_served={}", claimed.addr()))
            .expect("request");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("x-edgepick-served"), None, "leaked to the client");
        let served = r.served_by().expect("x-served-by").to_string();
        forged += usize::from(served != claimed.name());
        let Some(cookie) = r.set_cookie_value(COOKIE) else {
            panic!("no cookie set: {:?}", r.headers)
        };
        for _ in 0..3 {
            let again = client
                .get_with("/again", &[("cookie", &format!("{COOKIE}={cookie}"))])
                .expect("request");
            assert_eq!(
                again.served_by(),
                Some(served.as_str()),
                "a backend's forged x-edgepick-served moved the session"
            );
        }
    }
    assert!(forged >= 5, "only {forged} of 20 claims were false");
}
