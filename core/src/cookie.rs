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
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest cookie value looked at; anything longer is malformed.
pub const MAX_VALUE_LEN: usize = 256;

/// What the request's session cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "snake_case", tag = "cookie", content = "detail")
)]
pub enum CookieVerdict {
    /// No session cookie in the request.
    Absent,
    /// A valid cookie naming this backend index.
    Valid(usize),
    /// A cookie was present but is not usable.
    Invalid(Rejection),
}

/// Why a cookie was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
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

/// The one cookie API: a configured cookie with its keys as HMAC states keyed
/// once (keying costs two SHA-256 compressions; a [`Signer`] clones a keyed
/// state instead), newest first. Signs, verifies and formats `Set-Cookie`.
///
/// ```
/// use edgepick_core::cookie::Signer;
/// use edgepick_core::Config;
/// let cfg = Config::from_json(r#"{"cookie": {"keys": ["a-signing-key-of-16+bytes"]},
///   "backends": [{"name": "a", "address": "127.0.0.1:9001"}]}"#).unwrap();
/// let signer = Signer::new(cfg.cookie.as_ref().unwrap());
/// let value = signer.sign("a", 1_700_000_000_000);
/// assert_eq!(signer.verify(&value, 1_700_000_000_000).as_deref(), Ok("a"));
/// assert!(signer.set_cookie(&value).starts_with("edgepick="));
/// ```
#[derive(Clone)]
pub struct Signer {
    cfg: Cookie,
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
        Signer {
            cfg: cfg.clone(),
            keys,
        }
    }

    fn mac(key: &HmacSha256, payload: &str) -> HmacSha256 {
        let mut m = key.clone();
        m.update(payload.as_bytes());
        m
    }

    /// Sign a cookie value naming `backend`, valid for `max_age_s` from `now_ms` (Unix ms).
    pub fn sign(&self, backend: &str, now_ms: u64) -> String {
        let expiry = self.expiry_s(now_ms);
        let payload = format!("v1.{}.{}", B64::encode_string(backend.as_bytes()), expiry);
        let tag = match self.keys.first() {
            Some(k) => Self::mac(k, &payload).finalize().into_bytes().to_vec(),
            None => Vec::new(),
        };
        format!("{payload}.{}", B64::encode_string(&tag))
    }

    /// The expiry (Unix seconds) of a value signed at `now_ms`: `max_age_s` later.
    pub fn expiry_s(&self, now_ms: u64) -> u64 {
        (now_ms / 1000).saturating_add(self.cfg.max_age_s)
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

    /// [`Signer::verify`], also returning the expiry (Unix seconds) and the
    /// index of the key that signed the value (0: the newest, the one
    /// [`Signer::sign`] uses), for front ends that know backends by name
    /// only (the native module's filter).
    pub fn verify_with_key(
        &self,
        value: &str,
        now_ms: u64,
    ) -> Result<(String, u64, usize), Rejection> {
        self.check(value, now_ms)
    }

    /// Find the session cookie in a `Cookie` header and verify it against the backends.
    pub fn verify_header(&self, header: &str, now_ms: u64, backends: &[Backend]) -> CookieVerdict {
        match find(header, &self.cfg.name) {
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

    /// A `Set-Cookie` header value carrying `value` with the configured attributes.
    pub fn set_cookie(&self, value: &str) -> String {
        let cfg = &self.cfg;
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
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`), first match.
pub fn find<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

pub mod lines;

#[cfg(test)]
mod tests;
