//! The signed session cookie: it names the backend that served the client and
//! carries an expiry, under HMAC-SHA256 with key rotation (sign with the newest
//! key, verify with any configured key).
//!
//! Value format (all ASCII, cookie-safe): `v1.<name>.<expiry>.<mac>` where
//! `<name>` is the backend name in unpadded base64url, `<expiry>` is Unix seconds
//! in decimal and `<mac>` is base64url(HMAC-SHA256(key, "v1.<name>.<expiry>")).
//! A tampered, expired, malformed or unknown-backend cookie is reported as
//! [`CookieVerdict::Invalid`] and ignored by the router: never an error, never a
//! route outside the configured set.

use crate::config::{Backend, Cookie, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
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

fn mac(key: &[u8], payload: &str) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(payload.as_bytes());
    m
}

/// Sign a cookie value naming `backend`, valid for `max_age_s` from `now_ms` (Unix ms).
pub fn sign(cfg: &Cookie, backend: &str, now_ms: u64) -> String {
    let expiry = now_ms / 1000 + cfg.max_age_s;
    let payload = format!("v1.{}.{}", B64.encode(backend.as_bytes()), expiry);
    let key = cfg.keys.first().map(Vec::as_slice).unwrap_or_default();
    let tag = mac(key, &payload).finalize().into_bytes();
    format!("{payload}.{}", B64.encode(tag))
}

/// Verify a cookie value at `now_ms`; returns the backend name it carries.
pub fn verify(cfg: &Cookie, value: &str, now_ms: u64) -> Result<String, Rejection> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Rejection::Malformed);
    }
    let (payload, tag_b64) = value.rsplit_once('.').ok_or(Rejection::Malformed)?;
    let mut parts = payload.split('.');
    let (Some("v1"), Some(name_b64), Some(expiry), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed);
    };
    let tag = B64.decode(tag_b64).map_err(|_| Rejection::Malformed)?;
    if tag.len() != 32 {
        return Err(Rejection::Malformed);
    }
    if !expiry.bytes().all(|c| c.is_ascii_digit()) || expiry.is_empty() || expiry.len() > 12 {
        return Err(Rejection::Malformed);
    }
    // Constant-time comparison through `verify_slice`.
    if !cfg.keys.iter().any(|k| mac(k, payload).verify_slice(&tag).is_ok()) {
        return Err(Rejection::BadSignature);
    }
    let expiry: u64 = expiry.parse().map_err(|_| Rejection::Malformed)?;
    if now_ms / 1000 >= expiry {
        return Err(Rejection::Expired);
    }
    let name = B64.decode(name_b64).map_err(|_| Rejection::Malformed)?;
    String::from_utf8(name).map_err(|_| Rejection::Malformed)
}

/// Find the session cookie in a `Cookie` header and verify it against the backends.
pub fn verify_header(cfg: &Cookie, header: &str, now_ms: u64, backends: &[Backend]) -> CookieVerdict {
    let Some(value) = find(header, &cfg.name) else { return CookieVerdict::Absent };
    match verify(cfg, value, now_ms) {
        Ok(name) => match backends.iter().position(|b| b.name == name) {
            Some(i) => CookieVerdict::Valid(i),
            None => CookieVerdict::Invalid(Rejection::UnknownBackend),
        },
        Err(r) => CookieVerdict::Invalid(r),
    }
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
    let mut s = format!("{}={}; Path={}; Max-Age={}", cfg.name, value, cfg.path, cfg.max_age_s);
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
