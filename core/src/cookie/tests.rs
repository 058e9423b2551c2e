//! Signing, verification, rotation and header formatting.

use super::*;

const NOW: u64 = 1_700_000_000_000;

fn cfg(keys: &[&str]) -> Cookie {
    Cookie {
        name: "edgepick".into(),
        keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
        keys_env: Vec::new(),
        max_age_s: 3600,
        path: "/".into(),
        same_site: SameSite::Lax,
        secure: false,
        http_only: true,
        strip: true,
    }
}

fn backends(names: &[&str]) -> Vec<Backend> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| Backend {
            name: n.to_string(),
            address: format!("127.0.0.1:{}", 9001 + i).parse().unwrap(),
            url: None,
            weight: 1,
            capacity: 100,
            link: Default::default(),
            down: false,
        })
        .collect()
}

const K1: &str = "0123456789abcdef-new";
const K2: &str = "fedcba9876543210-old";

#[test]
fn round_trip_and_format() {
    let c = cfg(&[K1]);
    let v = Signer::new(&c).sign("b-1", NOW);
    assert!(v.starts_with(&format!(
        "v1.{}.{}.",
        B64::encode_string(b"b-1"),
        NOW / 1000 + 3600
    )));
    assert!(
        v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "cookie-safe: {v}"
    );
    assert_eq!(Signer::new(&c).verify(&v, NOW), Ok("b-1".to_string()));
}

#[test]
fn expiry() {
    let c = cfg(&[K1]);
    let v = Signer::new(&c).sign("a", NOW);
    assert!(Signer::new(&c).verify(&v, NOW + 3_599_999).is_ok());
    assert_eq!(
        Signer::new(&c).verify(&v, NOW + 3_600_000),
        Err(Rejection::Expired)
    );
    assert_eq!(
        Signer::new(&c).verify(&v, u64::MAX),
        Err(Rejection::Expired)
    );
}

#[test]
fn tampering_is_rejected() {
    let c = cfg(&[K1]);
    let v = Signer::new(&c).sign("a", NOW);
    // Another backend name under the old MAC.
    let forged = v.replacen(&B64::encode_string(b"a"), &B64::encode_string(b"b"), 1);
    assert_eq!(
        Signer::new(&c).verify(&forged, NOW),
        Err(Rejection::BadSignature)
    );
    // A later expiry under the old MAC.
    let expiry = (NOW / 1000 + 3600).to_string();
    let later = v.replacen(&expiry, &(NOW / 1000 + 999_999).to_string(), 1);
    assert_eq!(
        Signer::new(&c).verify(&later, NOW),
        Err(Rejection::BadSignature)
    );
    // Signed with a key we do not hold.
    assert_eq!(
        Signer::new(&c).verify(&Signer::new(&cfg(&[K2])).sign("a", NOW), NOW),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn key_rotation() {
    let old = Signer::new(&cfg(&[K2])).sign("a", NOW);
    assert_eq!(
        Signer::new(&cfg(&[K1, K2])).verify(&old, NOW),
        Ok("a".into())
    );
    assert_eq!(
        Signer::new(&cfg(&[K1])).verify(&old, NOW),
        Err(Rejection::BadSignature)
    );
    // New cookies are signed with the first key.
    let new = Signer::new(&cfg(&[K1, K2])).sign("a", NOW);
    assert_eq!(Signer::new(&cfg(&[K1])).verify(&new, NOW), Ok("a".into()));
}

/// `value` with its tag's unused low bits set: decodes to the same bytes
/// when a decoder ignores them.
fn non_canonical(value: &str) -> String {
    let (payload, tag) = value.rsplit_once('.').unwrap();
    let last = tag.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let i = alphabet.find(last).unwrap();
    let stray = alphabet.as_bytes()[i | 1] as char; // 32 bytes: the last 2 bits are unused
    format!("{payload}.{}{stray}", &tag[..tag.len() - 1])
}

#[test]
fn malformed_values() {
    let c = cfg(&[K1]);
    let good = Signer::new(&c).sign("a", NOW);
    let (payload, tag) = good.rsplit_once('.').unwrap();
    let cases = [
        String::new(),
        "garbage".into(),
        "v1.YQ".into(),
        format!("v2{}", &good[2..]),
        format!("{payload}.{}", &tag[1..]), // short tag
        format!("{payload}.{tag}AA"),       // long tag
        format!("{payload}.{}", tag.replace(|_| true, "*")), // not base64
        format!("{payload}.x.{tag}"),       // extra part
        format!("v1.YQ.12x4.{tag}"),        // expiry not digits
        format!("v1.YQ..{tag}"),            // empty expiry
        format!("v1.YQ.1234567890123.{tag}"), // expiry too long
        "x".repeat(MAX_VALUE_LEN + 1),
        format!("{payload}.{}=", tag), // padded
        non_canonical(&good),          // stray bits after the last byte
    ];
    for v in &cases {
        assert_eq!(
            Signer::new(&c).verify(v, NOW),
            Err(Rejection::Malformed),
            "{v:?}"
        );
    }
    // A name that is not base64 or not UTF-8 but correctly signed.
    for name_b64 in ["*", "_w"] {
        let payload = format!("v1.{name_b64}.{}", NOW / 1000 + 60);
        let keyed = <HmacSha256 as Mac>::new_from_slice(K1.as_bytes()).unwrap();
        let tag = B64::encode_string(&Signer::mac(&keyed, &payload).finalize().into_bytes());
        assert_eq!(
            Signer::new(&c).verify(&format!("{payload}.{tag}"), NOW),
            Err(Rejection::Malformed),
            "{name_b64}"
        );
    }
}

#[test]
fn header_verdicts() {
    let c = cfg(&[K1]);
    let b = backends(&["a", "b"]);
    let vb = Signer::new(&c).sign("b", NOW);
    assert_eq!(
        Signer::new(&c).verify_header(&format!("x=1; edgepick={vb}"), NOW, &b),
        CookieVerdict::Valid(1)
    );
    assert_eq!(
        Signer::new(&c).verify_header("x=1; y=2", NOW, &b),
        CookieVerdict::Absent
    );
    let gone = Signer::new(&c).sign("zz", NOW);
    assert_eq!(
        Signer::new(&c).verify_header(&format!("edgepick={gone}"), NOW, &b),
        CookieVerdict::Invalid(Rejection::UnknownBackend)
    );
    assert_eq!(
        Signer::new(&c).verify_header("edgepick=nope", NOW, &b),
        CookieVerdict::Invalid(Rejection::Malformed)
    );
    assert_eq!(
        Signer::new(&c).verify_header(&format!("edgepick={vb}"), NOW + 3_600_000, &b),
        CookieVerdict::Invalid(Rejection::Expired)
    );
}

#[test]
fn find_handles_spacing_and_quotes() {
    assert_eq!(find("a=1; b=2", "b"), Some("2"));
    assert_eq!(find("a=1;b=2", "b"), Some("2"));
    assert_eq!(find("  a = 1 ;  b =  \"x y\"  ", "b"), Some("x y"));
    assert_eq!(find("b=\"quoted\"", "b"), Some("quoted"));
    assert_eq!(find("b=first; b=second", "b"), Some("first"));
    assert_eq!(find("flag; b=2", "b"), Some("2"));
    assert_eq!(find("bb=1; b_=2", "b"), None);
    assert_eq!(find("B=1", "b"), None, "names are case-sensitive");
    assert_eq!(find("", "b"), None);
    assert_eq!(find("b=", "b"), Some(""));
    assert_eq!(find("b=x=y", "b"), Some("x=y"));
}

#[test]
fn set_cookie_attributes() {
    let mut c = cfg(&[K1]);
    assert_eq!(
        Signer::new(&c).set_cookie("V"),
        "edgepick=V; Path=/; Max-Age=3600; SameSite=Lax; HttpOnly"
    );
    c.same_site = SameSite::None;
    c.secure = true;
    c.http_only = false;
    c.path = "/app".into();
    assert_eq!(
        Signer::new(&c).set_cookie("V"),
        "edgepick=V; Path=/app; Max-Age=3600; SameSite=None; Secure"
    );
    c.same_site = SameSite::Strict;
    assert!(Signer::new(&c)
        .set_cookie("V")
        .contains("; SameSite=Strict"));
}

#[test]
fn verify_value_key_names_the_signing_key() {
    let (old, both) = (cfg(&[K2]), cfg(&[K1, K2]));
    let bs = backends(&["a"]);
    let signer = Signer::new(&both);
    let fresh = signer.sign("a", NOW);
    let stale = Signer::new(&old).sign("a", NOW);
    let key = |v: &str| signer.verify_value_key(v, NOW, &bs);
    assert_eq!(key(&fresh).0, CookieVerdict::Valid(0));
    assert_eq!(key(&fresh).1.map(|(_, k)| k), Some(0));
    assert_eq!(key(&stale).0, CookieVerdict::Valid(0));
    assert_eq!(
        key(&stale).1.map(|(_, k)| k),
        Some(1),
        "signed with the older key"
    );
    assert_eq!(key("v1.x").1, None);
}
