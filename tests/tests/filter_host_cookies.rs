//! The compiled edgepick filter in the host runner (moved from the host
//! runner's tests: they test the filter): sticky cookies round-trip, are set
//! for the node that served, are honoured without being re-set, move (and are
//! re-set) when that node goes down, tampered ones are ignored, none on a 5xx
//! answer; malformed configurations are refused with the log line Envoy shows
//! (`e2e_bad_config.rs`).

mod filter_host_support;

use edgepick_host::HostError;
use filter_host_support::*;
use std::collections::{HashMap, HashSet};

#[test]
fn sticky_cookie_round_trips_and_moves_when_its_node_goes_down() {
    let host = host(&cookie_config(), HashMap::new());
    let mut vm = start(&host);

    // A new client: the answer sets a cookie naming the node that served.
    let first = send(&mut vm, None, 200);
    let home = primary(&first);
    let cookie = session_cookie(&first)
        .unwrap_or_else(|| panic!("no cookie set: {:?}", first.response_headers));
    assert_eq!(cookie_names(&host, &cookie), name_of(&home));
    let attrs = first.set_cookies().join(" | ");
    assert!(
        attrs.contains("Path=/") && attrs.contains("Max-Age=3600") && attrs.contains("HttpOnly"),
        "{attrs}"
    );

    // Sent back, it keeps the client there (round robin would have moved it)
    // and is not set again. The cookie never reaches the backend.
    for i in 0..6 {
        let ex = send(&mut vm, Some(&cookie), 200);
        assert_eq!(primary(&ex), home, "request {i} left the cookie's node");
        assert!(
            ex.response_header("x-edgepick-decision")
                .is_some_and(|d| d.contains("reason=cookie")),
            "request {i}: {:?}",
            ex.response_header("x-edgepick-decision")
        );
        assert_eq!(session_cookie(&ex), None, "request {i} re-set the cookie");
        assert_eq!(
            ex.request_header("cookie"),
            Some("theme=dark"),
            "request {i}: the session cookie must be stripped upstream"
        );
    }
    // Cookie-less clients still rotate.
    let rotated: HashSet<String> = (0..3).map(|_| primary(&send(&mut vm, None, 200))).collect();
    assert_eq!(rotated.len(), 3, "round robin without cookie: {rotated:?}");

    // The home node answers 503 (max_fails 1): it is taken out, and the
    // answer carries no cookie.
    let failed = send(&mut vm, Some(&cookie), 503);
    assert_eq!(primary(&failed), home);
    assert_eq!(failed.status, Some(503));
    assert_eq!(session_cookie(&failed), None, "a 5xx answer set a cookie");
    assert!(
        log_text(&failed).contains(&format!("backend {} out", name_of(&home))),
        "{}",
        log_text(&failed)
    );

    // The same client moves, and gets a new cookie for its new node.
    let moved = send(&mut vm, Some(&cookie), 200);
    let new_home = primary(&moved);
    assert_ne!(
        new_home, home,
        "the cookie still leads to the node that is out"
    );
    assert!(
        !endpoints(&moved).contains(&home),
        "the node that is out is still listed: {:?}",
        endpoints(&moved)
    );
    let new_cookie = session_cookie(&moved).expect("a new cookie after the move");
    assert_ne!(new_cookie, cookie);
    assert_eq!(cookie_names(&host, &new_cookie), name_of(&new_home));

    // The new cookie sticks, without being re-set.
    for _ in 0..3 {
        let ex = send(&mut vm, Some(&new_cookie), 200);
        assert_eq!(primary(&ex), new_home);
        assert_eq!(session_cookie(&ex), None);
    }

    // After fail_timeout the old node is back, and the old cookie leads there
    // again (it is still valid), with no new cookie.
    host.advance_ms(10_001);
    let back = send(&mut vm, Some(&cookie), 200);
    assert_eq!(primary(&back), home, "{:?}", endpoints(&back));
    assert_eq!(session_cookie(&back), None);
}

#[test]
fn cookie_names_the_node_that_served_not_the_one_picked() {
    // Envoy's retry moved the request to the first fallback: the cookie pins
    // the client to where it really landed.
    let host = host(&cookie_config(), HashMap::new());
    let mut vm = start(&host);
    let ex = send_via(&mut vm, None, |list| (list[1].clone(), 200));
    let served = endpoints(&ex)[1].clone();
    assert_ne!(served, primary(&ex));
    let cookie = session_cookie(&ex).expect("a cookie");
    assert_eq!(cookie_names(&host, &cookie), name_of(&served));
    let again = send(&mut vm, Some(&cookie), 200);
    assert_eq!(primary(&again), served);
    assert_eq!(session_cookie(&again), None);
}

#[test]
fn tampered_cookie_is_ignored_and_replaced() {
    let host = host(&cookie_config(), HashMap::new());
    let mut vm = start(&host);
    let cookie = session_cookie(&send(&mut vm, None, 200)).expect("a cookie");
    let home = addr_of(&cookie_names(&host, &cookie)).to_string();

    // Flip the first character of the MAC (the last dot-separated part).
    let mac_at = cookie.rfind('.').unwrap() + 1;
    let mut bytes = cookie.clone().into_bytes();
    bytes[mac_at] = if bytes[mac_at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_ne!(tampered, cookie);

    // Round robin runs as if there were no cookie: over three requests with
    // the forged cookie the client is not held on the cookie's node.
    let mut primaries = Vec::new();
    for i in 0..3 {
        let ex = send(&mut vm, Some(&tampered), 200);
        let decision = ex
            .response_header("x-edgepick-decision")
            .unwrap_or("")
            .to_string();
        assert!(
            !decision.contains("reason=cookie"),
            "request {i}: {decision}"
        );
        if i == 0 {
            assert!(
                log_text(&ex).contains("session cookie ignored: BadSignature"),
                "{}",
                log_text(&ex)
            );
        }
        // A fresh, valid cookie for the node that served replaces it.
        let fresh = session_cookie(&ex)
            .unwrap_or_else(|| panic!("request {i}: no fresh cookie after a tampered one"));
        assert_ne!(fresh, tampered);
        assert_eq!(cookie_names(&host, &fresh), name_of(&primary(&ex)));
        // The forged cookie is still stripped from the upstream request.
        assert_eq!(ex.request_header("cookie"), Some("theme=dark"));
        primaries.push(primary(&ex));
    }
    assert!(
        primaries.iter().any(|p| *p != home),
        "the tampered cookie held the client on {home}: {primaries:?}"
    );
}

#[test]
fn no_cookie_on_a_5xx_answer() {
    // Passive health off, so the answers do not take nodes out.
    let cfg = cookie_config().replace(r#""max_fails": 1"#, r#""max_fails": 0"#);
    let host = host(&cfg, HashMap::new());
    let mut vm = start(&host);
    for status in [500, 502, 503, 504, 599] {
        let ex = send(&mut vm, None, status);
        assert_eq!(ex.status, Some(status));
        assert_eq!(
            session_cookie(&ex),
            None,
            "a {status} answer set {:?}",
            ex.set_cookies()
        );
    }
    // Below 500 the cookie is set, 4xx included.
    for status in [200, 204, 302, 404, 499] {
        let ex = send(&mut vm, None, status);
        let cookie =
            session_cookie(&ex).unwrap_or_else(|| panic!("a {status} answer set no cookie"));
        assert_eq!(cookie_names(&host, &cookie), name_of(&primary(&ex)));
    }
}

// ---------------------------------------------------------------- bad configurations

/// (configuration, the field its error must name) from
/// `tests/golden/bad_configs.json`; `{B}` stands for a valid backend list.
fn bad_configs() -> Vec<(String, String)> {
    edgepick_core::vectors::parse_bad_configs(include_str!("../../tests/golden/bad_configs.json"))
        .expect("bad_configs.json parses")
        .into_iter()
        .map(|c| (c.config, c.field))
        .collect()
}

#[test]
fn bad_configurations_are_rejected_with_envoys_log_line() {
    let mut problems = Vec::new();
    let cases = bad_configs();
    assert_eq!(cases.len(), 18, "bad_configs.json lost cases");
    for (cfg, field) in &cases {
        let cfg = cfg.replace("{B}", BACKENDS);
        let needle = format!("edgepick: invalid configuration: {field}:");
        match host(&cfg, HashMap::new()).start_vm() {
            Ok(_) => problems.push(format!("accepted: {cfg}")),
            Err(HostError::ConfigurationRejected { logs }) => {
                let line = logs.iter().find(|l| l.message.contains(&needle));
                match line {
                    Some(l) if l.level == edgepick_host::LogLevel::Error => {}
                    Some(l) => problems.push(format!("{needle} logged at {:?}", l.level)),
                    None => problems.push(format!("{needle} not logged for {cfg}: {logs:?}")),
                }
            }
            Err(e) => problems.push(format!("{cfg}: not a configuration rejection: {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The control: the valid list itself is accepted.
    let good = format!(r#"{{"algorithm": {{"name": "round_robin"}}, "backends": {BACKENDS}}}"#);
    host(&good, HashMap::new())
        .start_vm()
        .unwrap_or_else(|e| panic!("a valid configuration was refused: {e}"));
}

#[test]
fn with_strip_off_the_backend_sees_the_cookie_header_unchanged() {
    let cfg = cookie_config().replace(r#""keys": ["#, r#""strip": false, "keys": ["#);
    let host = host(&cfg, HashMap::new());
    let mut vm = start(&host);
    let first = send(&mut vm, None, 200);
    let cookie = session_cookie(&first).expect("a session cookie");
    let home = primary(&first);
    for i in 0..3 {
        let ex = send(&mut vm, Some(&cookie), 200);
        assert_eq!(primary(&ex), home, "request {i} left the cookie's node");
        assert_eq!(
            ex.request_header("cookie"),
            Some(format!("theme=dark; {cookie}").as_str()),
            "request {i}: nothing stripped"
        );
    }
}
