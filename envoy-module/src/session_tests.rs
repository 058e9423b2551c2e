//! The companion filter's decisions, without Envoy.
use super::*;

const DOC: &str = r#"{"algorithm":{"name":"round_robin"},
    "backends":[{"name":"a","address":"127.0.0.1:81"}],
    "cookie":{"name":"ep","keys":["new-key-0123456789abcdef","old-key-0123456789abcdef"],"strip":true}}"#;
const NOW: u64 = 1_800_000_000_000;

fn session(name: &str, doc: &str) -> Result<Session, String> {
    Session::configure(name.as_bytes(), doc.as_bytes())
}

/// Who served a response, as Envoy tells the filter.
#[derive(Debug, Clone, Copy)]
struct Served<'a> {
    address: &'a str,
    metadata_name: Option<&'a str>,
}

/// The backend `served` names, as the filter resolves it.
fn on(s: &Session, served: Option<Served<'_>>) -> Option<Named> {
    served.and_then(|v| s.server(v.address, || v.metadata_name))
}

fn at(address: &str) -> Option<Served<'_>> {
    Some(Served {
        address,
        metadata_name: None,
    })
}

/// The filter's answer for a request holding `cookie`, served by
/// `served` with `status`.
fn answer(
    s: &Session,
    cookie: Option<&str>,
    served: Option<Served<'_>>,
    status: Option<u16>,
    now: u64,
) -> Option<String> {
    let lines: Vec<&[u8]> = cookie.iter().map(|c| c.as_bytes()).collect();
    let held = s.read_request(&lines, now);
    s.set_cookie(&held, on(s, served), || status, now)
}

/// The cookie header a client holds after a `Set-Cookie`.
fn held(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

#[test]
fn a_cookie_is_set_only_when_it_must_change() {
    let s = session(COOKIE_FILTER, DOC).unwrap();
    let first = answer(&s, None, at("127.0.0.1:81"), Some(200), NOW).unwrap();
    assert!(first.starts_with("ep=v1."), "{first}");
    let cookie = held(&first);
    // Held and naming the server: nothing to send.
    assert_eq!(
        answer(&s, Some(&cookie), at("127.0.0.1:81"), Some(200), NOW),
        None
    );
    // Another server (failover): re-pinned, by the name the policy uses
    // (an unlisted host is named by its address).
    let moved = answer(&s, Some(&cookie), at("127.0.0.1:82"), Some(200), NOW);
    let v = cookie::find(&held(&moved.unwrap()), "ep")
        .unwrap()
        .to_string();
    assert_eq!(s.signer.verify(&v, NOW).unwrap(), "127.0.0.1:82");
    // Never pinned to a 5xx, nothing without a server.
    assert_eq!(answer(&s, None, at("127.0.0.1:81"), Some(503), NOW), None);
    assert_eq!(answer(&s, None, None, Some(200), NOW), None);
    // Tampered or expired: replaced.
    let tampered = cookie.replace("v1.", "v1.x");
    assert!(answer(&s, Some(&tampered), at("127.0.0.1:81"), Some(200), NOW).is_some());
    let later = NOW + 86_400_000 * 400;
    assert!(answer(&s, Some(&cookie), at("127.0.0.1:81"), Some(200), later).is_some());
}

#[test]
fn the_same_value_as_the_wasm_filter_and_re_signed_under_the_newest_key() {
    let s = session(COOKIE_FILTER, DOC).unwrap();
    let cfg = s.cookie.clone();
    let set = answer(&s, None, at("127.0.0.1:81"), Some(200), NOW).unwrap();
    let core = Signer::new(&cfg);
    assert_eq!(set, core.set_cookie(&core.sign("a", NOW)));
    let mut old = cfg.clone();
    old.keys.remove(0);
    let by_old = format!("ep={}", Signer::new(&old).sign("a", NOW));
    assert!(answer(&s, Some(&by_old), at("127.0.0.1:81"), Some(200), NOW).is_some());
}

#[test]
fn metadata_names_the_unlisted_hosts() {
    let s = session(COOKIE_FILTER, DOC).unwrap();
    let served = Some(Served {
        address: "127.0.0.1:83",
        metadata_name: Some("c"),
    });
    let set = answer(&s, None, served, Some(200), NOW).unwrap();
    let v = cookie::find(&held(&set), "ep").unwrap().to_string();
    assert_eq!(s.signer.verify(&v, NOW).unwrap(), "c");
}

#[test]
fn a_held_cookie_is_read_once_and_the_status_only_when_a_cookie_would_go() {
    let s = session(COOKIE_FILTER, DOC).unwrap();
    let cookie = held(&answer(&s, None, at("127.0.0.1:81"), Some(200), NOW).unwrap());
    let no_status = || -> Option<u16> { panic!("the status was read") };
    // Verified, then remembered: both give the listed backend.
    for _ in 0..2 {
        let h = s.read_request(&[b"x=1", cookie.as_bytes()], NOW);
        let pinned = Held::Valid {
            backend: Named::Listed(0),
            stale_key: false,
        };
        assert_eq!(h, pinned);
        assert_eq!(
            s.set_cookie(&h, on(&s, at("127.0.0.1:81")), no_status, NOW),
            None
        );
    }
    // A host the document does not list, named by metadata: remembered too.
    let c = Some(Served {
        address: "[::1]:83",
        metadata_name: Some("c"),
    });
    let cookie = held(&answer(&s, None, c, Some(200), NOW).unwrap());
    for _ in 0..2 {
        let h = s.read_request(&[cookie.as_bytes()], NOW);
        assert_eq!(s.set_cookie(&h, on(&s, c), no_status, NOW), None);
        assert!(s
            .set_cookie(&h, on(&s, at("127.0.0.1:81")), || Some(200), NOW)
            .is_some());
    }
}

#[test]
fn bad_configurations_name_what_is_wrong() {
    let e = session("nope", DOC).unwrap_err();
    assert!(e.contains("filter_name \"nope\""), "{e}");
    let e = session(COOKIE_FILTER, r#"{"algorithm":{"name":"round_robin"}}"#).unwrap_err();
    assert!(e.contains("cookie:"), "{e}");
    let no_strip = DOC.replace(r#""strip":true"#, r#""strip":false"#);
    assert!(session(COOKIE_FILTER, &no_strip).is_ok());
    let e = session(STRIP_FILTER, &no_strip).unwrap_err();
    assert!(e.contains("cookie.strip"), "{e}");
    let e = session(COOKIE_FILTER, r#"{"cookie":{"name":"ep","max_age_s":-1}}"#).unwrap_err();
    assert!(e.contains("cookie."), "{e}");
}

#[test]
fn stripping_removes_only_the_balancers_cookie() {
    let s = session(STRIP_FILTER, DOC).unwrap();
    let lines = vec![b"a=1; ep=v1.x".to_vec(), b"b=2".to_vec()];
    assert_eq!(
        s.strip(&lines).unwrap(),
        vec![b"a=1".to_vec(), b"b=2".to_vec()]
    );
    assert_eq!(s.strip(&[b"b=2".to_vec()]), None);
    let borrowed: [&[u8]; 2] = [b"ep=v1.x", b"b=2"];
    assert_eq!(s.strip(&borrowed).unwrap(), vec![b"b=2".to_vec()]);
}
