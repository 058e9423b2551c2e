//! The signed session cookie: it names the backend that served the client and
//! carries an expiry, under HMAC-SHA256 with key rotation (sign with the newest
//! key, verify with any configured key).
//!
//! Value format (all ASCII, cookie-safe): `v1.<name>.<expiry>.<mac>` where
//! `<name>` is the backend name in unpadded base64url, `<expiry>` is Unix seconds
//! in decimal and `<mac>` is base64url(HMAC-SHA256(key, "v1.<name>.<expiry>")).
//! A tampered, expired, malformed or unknown-backend cookie is reported as
//! [`CookieVerdict::Invalid`] and ignored by the router: never an error, never a
//! route outside the configured set. A [`Router`](crate::Router) remembers
//! values it has verified and signed ([`crate::cookie_memo`]), so a returning
//! client costs one HMAC per cookie value, not one per request.

use crate::config::{Backend, Cookie, SameSite};
use base64ct::{Base64UrlUnpadded as B64, Encoding};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest cookie value looked at; anything longer is malformed.
pub const MAX_VALUE_LEN: usize = 256;

/// What the request's session cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "cookie", content = "detail")]
pub enum CookieVerdict {
    /// No session cookie in the request.
    Absent,
    /// A valid cookie naming this backend index.
    Valid(usize),
    /// A cookie was present but is not usable.
    Invalid(Rejection),
}

/// Why a cookie was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Not of the `v1.name.expiry.mac` shape, or bad encoding.
    Malformed,
    /// The MAC matches no configured key.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// Names a backend not in the configuration.
    UnknownBackend,
}

/// The configured keys as HMAC states keyed once (keying costs two SHA-256
/// compressions; a [`Signer`] clones a keyed state instead), newest first.
#[derive(Clone)]
pub struct Signer {
    keys: Vec<HmacSha256>,
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signer({} keys)", self.keys.len())
    }
}

impl Signer {
    /// Key one HMAC state per configured key.
    pub fn new(cfg: &Cookie) -> Signer {
        let keys = cfg
            .keys
            .iter()
            .map(|k| {
                // HMAC accepts keys of any length; this cannot fail.
                <HmacSha256 as Mac>::new_from_slice(k)
                    .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
            })
            .collect();
        Signer { keys }
    }

    fn mac(key: &HmacSha256, payload: &str) -> HmacSha256 {
        let mut m = key.clone();
        m.update(payload.as_bytes());
        m
    }

    /// Sign a cookie value naming `backend`, valid for `cfg.max_age_s` from `now_ms` (Unix ms).
    pub fn sign(&self, cfg: &Cookie, backend: &str, now_ms: u64) -> String {
        let expiry = now_ms / 1000 + cfg.max_age_s;
        let payload = format!("v1.{}.{}", B64::encode_string(backend.as_bytes()), expiry);
        let tag = match self.keys.first() {
            Some(k) => Self::mac(k, &payload).finalize().into_bytes().to_vec(),
            None => Vec::new(),
        };
        format!("{payload}.{}", B64::encode_string(&tag))
    }

    /// Verify a cookie value at `now_ms`; returns the backend name it carries.
    pub fn verify(&self, value: &str, now_ms: u64) -> Result<String, Rejection> {
        self.check(value, now_ms).map(|(name, ..)| name)
    }

    /// [`Signer::verify`], also returning the expiry (Unix seconds) and the
    /// index of the key that signed it (0: the newest).
    fn check(&self, value: &str, now_ms: u64) -> Result<(String, u64, usize), Rejection> {
        if value.len() > MAX_VALUE_LEN {
            return Err(Rejection::Malformed);
        }
        let (payload, tag_b64) = value.rsplit_once('.').ok_or(Rejection::Malformed)?;
        let mut parts = payload.split('.');
        let (Some("v1"), Some(name_b64), Some(expiry), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let tag = B64::decode_vec(tag_b64).map_err(|_| Rejection::Malformed)?;
        if tag.len() != 32 {
            return Err(Rejection::Malformed);
        }
        if !expiry.bytes().all(|c| c.is_ascii_digit()) || expiry.is_empty() || expiry.len() > 12 {
            return Err(Rejection::Malformed);
        }
        // Constant-time comparison through `verify_slice`.
        let key = self
            .keys
            .iter()
            .position(|k| Self::mac(k, payload).verify_slice(&tag).is_ok())
            .ok_or(Rejection::BadSignature)?;
        let expiry: u64 = expiry.parse().map_err(|_| Rejection::Malformed)?;
        if now_ms / 1000 >= expiry {
            return Err(Rejection::Expired);
        }
        let name = B64::decode_vec(name_b64).map_err(|_| Rejection::Malformed)?;
        let name = String::from_utf8(name).map_err(|_| Rejection::Malformed)?;
        Ok((name, expiry, key))
    }

    /// Find the session cookie in a `Cookie` header and verify it against the backends.
    pub fn verify_header(
        &self,
        cfg: &Cookie,
        header: &str,
        now_ms: u64,
        backends: &[Backend],
    ) -> CookieVerdict {
        match find(header, &cfg.name) {
            Some(value) => self.verify_value(value, now_ms, backends).0,
            None => CookieVerdict::Absent,
        }
    }

    /// Verify one cookie value against the backends; with a valid one, its
    /// expiry (Unix seconds) too.
    pub fn verify_value(
        &self,
        value: &str,
        now_ms: u64,
        backends: &[Backend],
    ) -> (CookieVerdict, Option<u64>) {
        let (verdict, valid) = self.verify_value_key(value, now_ms, backends);
        (verdict, valid.map(|(expiry, _)| expiry))
    }

    /// [`Signer::verify_value`]; with a valid value, its expiry (Unix
    /// seconds) and the index of the key that signed it (0: the newest, the
    /// one [`Signer::sign`] uses; higher: an older key still accepted).
    pub fn verify_value_key(
        &self,
        value: &str,
        now_ms: u64,
        backends: &[Backend],
    ) -> (CookieVerdict, Option<(u64, usize)>) {
        match self.check(value, now_ms) {
            Ok((name, expiry, key)) => match backends.iter().position(|b| b.name == name) {
                Some(i) => (CookieVerdict::Valid(i), Some((expiry, key))),
                None => (CookieVerdict::Invalid(Rejection::UnknownBackend), None),
            },
            Err(r) => (CookieVerdict::Invalid(r), None),
        }
    }
}

/// Sign a cookie value naming `backend`, valid for `max_age_s` from `now_ms`
/// (Unix ms). Keys on every call: hot paths keep a [`Signer`].
pub fn sign(cfg: &Cookie, backend: &str, now_ms: u64) -> String {
    Signer::new(cfg).sign(cfg, backend, now_ms)
}

/// Verify a cookie value at `now_ms`; returns the backend name it carries.
pub fn verify(cfg: &Cookie, value: &str, now_ms: u64) -> Result<String, Rejection> {
    Signer::new(cfg).verify(value, now_ms)
}

/// Find the session cookie in a `Cookie` header and verify it against the backends.
pub fn verify_header(
    cfg: &Cookie,
    header: &str,
    now_ms: u64,
    backends: &[Backend],
) -> CookieVerdict {
    Signer::new(cfg).verify_header(cfg, header, now_ms, backends)
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), first match.
pub fn find<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// A `Set-Cookie` header value carrying `value` with the configured attributes.
pub fn set_cookie_header(cfg: &Cookie, value: &str) -> String {
    let mut s = format!(
        "{}={}; Path={}; Max-Age={}",
        cfg.name, value, cfg.path, cfg.max_age_s
    );
    s.push_str(match cfg.same_site {
        SameSite::Strict => "; SameSite=Strict",
        SameSite::Lax => "; SameSite=Lax",
        SameSite::None => "; SameSite=None",
    });
    if cfg.secure {
        s.push_str("; Secure");
    }
    if cfg.http_only {
        s.push_str("; HttpOnly");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn cfg(keys: &[&str]) -> Cookie {
        Cookie {
            name: "edgepick".into(),
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            max_age_s: 3600,
            path: "/".into(),
            same_site: SameSite::Lax,
            secure: false,
            http_only: true,
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
            })
            .collect()
    }

    const K1: &str = "0123456789abcdef-new";
    const K2: &str = "fedcba9876543210-old";

    #[test]
    fn round_trip_and_format() {
        let c = cfg(&[K1]);
        let v = sign(&c, "b-1", NOW);
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
        assert_eq!(verify(&c, &v, NOW), Ok("b-1".to_string()));
    }

    #[test]
    fn expiry() {
        let c = cfg(&[K1]);
        let v = sign(&c, "a", NOW);
        assert!(verify(&c, &v, NOW + 3_599_999).is_ok());
        assert_eq!(verify(&c, &v, NOW + 3_600_000), Err(Rejection::Expired));
        assert_eq!(verify(&c, &v, u64::MAX), Err(Rejection::Expired));
    }

    #[test]
    fn tampering_is_rejected() {
        let c = cfg(&[K1]);
        let v = sign(&c, "a", NOW);
        // Another backend name under the old MAC.
        let forged = v.replacen(&B64::encode_string(b"a"), &B64::encode_string(b"b"), 1);
        assert_eq!(verify(&c, &forged, NOW), Err(Rejection::BadSignature));
        // A later expiry under the old MAC.
        let expiry = (NOW / 1000 + 3600).to_string();
        let later = v.replacen(&expiry, &(NOW / 1000 + 999_999).to_string(), 1);
        assert_eq!(verify(&c, &later, NOW), Err(Rejection::BadSignature));
        // Signed with a key we do not hold.
        assert_eq!(
            verify(&c, &sign(&cfg(&[K2]), "a", NOW), NOW),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn key_rotation() {
        let old = sign(&cfg(&[K2]), "a", NOW);
        assert_eq!(verify(&cfg(&[K1, K2]), &old, NOW), Ok("a".into()));
        assert_eq!(verify(&cfg(&[K1]), &old, NOW), Err(Rejection::BadSignature));
        // New cookies are signed with the first key.
        let new = sign(&cfg(&[K1, K2]), "a", NOW);
        assert_eq!(verify(&cfg(&[K1]), &new, NOW), Ok("a".into()));
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
        let good = sign(&c, "a", NOW);
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
            assert_eq!(verify(&c, v, NOW), Err(Rejection::Malformed), "{v:?}");
        }
        // A name that is not base64 or not UTF-8 but correctly signed.
        for name_b64 in ["*", "_w"] {
            let payload = format!("v1.{name_b64}.{}", NOW / 1000 + 60);
            let keyed = <HmacSha256 as Mac>::new_from_slice(K1.as_bytes()).unwrap();
            let tag = B64::encode_string(&Signer::mac(&keyed, &payload).finalize().into_bytes());
            assert_eq!(
                verify(&c, &format!("{payload}.{tag}"), NOW),
                Err(Rejection::Malformed),
                "{name_b64}"
            );
        }
    }

    #[test]
    fn header_verdicts() {
        let c = cfg(&[K1]);
        let b = backends(&["a", "b"]);
        let vb = sign(&c, "b", NOW);
        assert_eq!(
            verify_header(&c, &format!("x=1; edgepick={vb}"), NOW, &b),
            CookieVerdict::Valid(1)
        );
        assert_eq!(
            verify_header(&c, "x=1; y=2", NOW, &b),
            CookieVerdict::Absent
        );
        let gone = sign(&c, "zz", NOW);
        assert_eq!(
            verify_header(&c, &format!("edgepick={gone}"), NOW, &b),
            CookieVerdict::Invalid(Rejection::UnknownBackend)
        );
        assert_eq!(
            verify_header(&c, "edgepick=nope", NOW, &b),
            CookieVerdict::Invalid(Rejection::Malformed)
        );
        assert_eq!(
            verify_header(&c, &format!("edgepick={vb}"), NOW + 3_600_000, &b),
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
            set_cookie_header(&c, "V"),
            "edgepick=V; Path=/; Max-Age=3600; SameSite=Lax; HttpOnly"
        );
        c.same_site = SameSite::None;
        c.secure = true;
        c.http_only = false;
        c.path = "/app".into();
        assert_eq!(
            set_cookie_header(&c, "V"),
            "edgepick=V; Path=/app; Max-Age=3600; SameSite=None; Secure"
        );
        c.same_site = SameSite::Strict;
        assert!(set_cookie_header(&c, "V").contains("; SameSite=Strict"));
    }
}
