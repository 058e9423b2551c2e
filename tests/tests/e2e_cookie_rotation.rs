//! Cookie keys from the VM's environment, rotated by configuration updates in
//! a running Envoy (listeners replaced through the LDS file, as a control
//! plane would): a session signed under the old key stays on its node after
//! the new key is added and is re-signed with it on the response; once the old
//! key is removed, only re-signed cookies pin. A missing variable is refused
//! with the variable named.

mod common;

use common::{backends, setup};
use edgepick_tests::harness::{backends_json, Client, EnvoyBuilder, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const COOKIE: &str = "ep_rot";
const OLD: &str = "old-signing-key-0123456789abcdef";
const NEW: &str = "new-signing-key-fedcba9876543210";

fn config(list: &str, vars: &[&str]) -> String {
    let names: Vec<String> = vars.iter().map(|v| format!("\"{v}\"")).collect();
    format!(
        r#"{{"algorithm":{{"name":"round_robin"}},"backends":{list},
            "cookie":{{"name":"{COOKIE}","keys_env":[{}]}}}}"#,
        names.join(",")
    )
}

/// `GET /` (with the cookie, if any) once the listener has opened.
fn get(addr: SocketAddr, cookie: Option<&str>) -> Response {
    let deadline = Instant::now() + Duration::from_secs(15);
    let header = cookie.map(|c| format!("{COOKIE}={c}"));
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("cookie", h.as_str())).collect();
    loop {
        match Client::new(addr).get_with("/", &headers) {
            Ok(r) if r.status == 200 => return r,
            other if Instant::now() > deadline => panic!("listener {addr}: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn keys_from_the_environment_rotate_without_losing_sessions() {
    let wasm = setup();
    let bs = backends(&["a", "b", "c"]);
    let list = backends_json(&bs);
    // The static listener (unused) keeps an inline key: a VM without the
    // variable would fail Envoy's start.
    let inline =
        config(&list, &[]).replace(r#""keys_env":[]"#, r#""keys":["static-listener-key-01"]"#);
    let mut envoy = EnvoyBuilder::new(&wasm, &inline)
        .dynamic_listeners()
        .start()
        .expect("envoy starts");

    // 1. One key, from the environment.
    let v1 = config(&list, &["EP_KEY_0"]);
    let addr = envoy
        .set_dynamic_listeners_env(&[(Some(&v1), &[("EP_KEY_0", OLD)])])
        .expect("LDS")[0];
    let mut old = BTreeMap::new();
    for _ in 0..6 {
        let r = get(addr, None);
        let value = r
            .set_cookie_value(COOKIE)
            .expect("a new session gets a cookie");
        old.insert(r.served_by().expect("served").to_string(), value);
    }
    assert!(old.len() >= 2, "sessions on several nodes: {old:?}");

    // 2. The new key first, the old one still accepted.
    let v2 = config(&list, &["EP_KEY_NEW", "EP_KEY_0"]);
    let addr = envoy
        .set_dynamic_listeners_env(&[(Some(&v2), &[("EP_KEY_NEW", NEW), ("EP_KEY_0", OLD)])])
        .expect("LDS")[0];
    let mut resigned = BTreeMap::new();
    for (node, value) in &old {
        let r = get(addr, Some(value));
        assert_eq!(r.served_by(), Some(node.as_str()), "old-key session kept");
        let fresh = r
            .set_cookie_value(COOKIE)
            .expect("an old-key cookie is re-signed with the newest key");
        assert_ne!(&fresh, value);
        resigned.insert(node.clone(), fresh);
    }

    // 3. The old key gone: re-signed sessions pin, old cookies no longer do.
    let v3 = config(&list, &["EP_KEY_NEW"]);
    let addr = envoy
        .set_dynamic_listeners_env(&[(Some(&v3), &[("EP_KEY_NEW", NEW)])])
        .expect("LDS")[0];
    for (node, value) in &resigned {
        let r = get(addr, Some(value));
        assert_eq!(r.served_by(), Some(node.as_str()), "re-signed session kept");
        assert_eq!(r.set_cookie_value(COOKIE), None, "nothing to re-issue");
    }
    for value in old.values() {
        let r = get(addr, Some(value));
        assert!(
            r.set_cookie_value(COOKIE).is_some(),
            "a cookie signed only under a removed key starts a new session"
        );
    }

    // 4. A variable the VM does not have is refused, named, without the key.
    let missing = config(&list, &["EP_KEY_NEW", "EP_NOT_GIVEN"]);
    envoy
        .set_dynamic_listeners_env(&[(Some(&missing), &[("EP_KEY_NEW", NEW)])])
        .expect("LDS");
    let line = envoy
        .wait_for_log(
            "cookie.keys_env[1]: environment variable EP_NOT_GIVEN is not set",
            Duration::from_secs(15),
        )
        .unwrap_or_else(|| panic!("refusal not logged; log tail:\n{}", envoy.log_tail(30)));
    assert!(!line.contains(NEW), "{line}");
}
