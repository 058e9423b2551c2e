//! Remembering HMAC work a router has already done, so a client that sends
//! the same session cookie on every request, and a node that answers many new
//! clients in the same second, cost one HMAC-SHA256 each, not one per request.
//!
//! In the Envoy filter an HMAC-SHA256 (two to three SHA-256 compressions in
//! software wasm) costs about as much as all of the filter's hostcalls for a
//! request together (`cargo xtask bench --instructions`). The answers do not
//! change: a cookie value's signature and backend do not depend on the time,
//! and its expiry is checked on every use, so a remembered verdict is the one
//! [`Signer::verify_header`](crate::cookie::Signer::verify_header) would give.
//!
//! * Verified values: a direct-mapped table of [`VERIFIED_SLOTS`] entries
//!   indexed by a 64-bit FNV-1a hash of the value, each holding the whole
//!   value (compared byte for byte), the backend it names and its expiry.
//!   Only valid cookies signed with the newest key are remembered; anything
//!   else (an older key's cookie is re-signed, so the client soon sends a
//!   new one) is verified every time.
//! * Signed values: per backend, the last `Set-Cookie` value and the expiry
//!   second it was signed for (expiries are whole seconds, so a node signs at
//!   most once a second).

/// Entries in the verified-cookie table.
pub const VERIFIED_SLOTS: usize = 256;

#[derive(Debug, Clone)]
struct Verified {
    value: Box<str>,
    backend: usize,
    expiry_s: u64,
}

/// A router's remembered cookie work (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct CookieMemo {
    verified: Vec<Option<Verified>>,
    signed: Vec<Option<(u64, String)>>,
}

/// Bytes at a value's end that choose its slot: a genuine value ends with
/// 43 characters of its MAC, which differ between any two values, so the
/// last 16 spread them as well as the whole value would, at a sixth of the
/// hashing for a typical cookie. (A value crafted to share a slot only
/// evicts an entry; the comparison of the whole value decides a hit.)
const SLOT_BYTES: usize = 16;

fn slot(value: &str) -> usize {
    // FNV-1a, 64 bit, over the length and the tail: needs no seed.
    let tail = &value.as_bytes()[value.len().saturating_sub(SLOT_BYTES)..];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ value.len() as u64;
    for &b in tail {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % VERIFIED_SLOTS as u64) as usize
}

impl CookieMemo {
    /// The backend a remembered valid `value` names, if it has not expired at `now_s`.
    pub fn valid(&self, value: &str, now_s: u64) -> Option<usize> {
        let v = self.verified.get(slot(value))?.as_ref()?;
        (&*v.value == value && now_s < v.expiry_s).then_some(v.backend)
    }

    /// Remember that `value` is a valid cookie for `backend` until `expiry_s`.
    pub fn remember_valid(&mut self, value: &str, backend: usize, expiry_s: u64) {
        if self.verified.is_empty() {
            self.verified = vec![None; VERIFIED_SLOTS];
        }
        self.verified[slot(value)] = Some(Verified {
            value: value.into(),
            backend,
            expiry_s,
        });
    }

    /// The `Set-Cookie` value last signed for `backend` with this expiry.
    pub fn signed(&self, backend: usize, expiry_s: u64) -> Option<&str> {
        match self.signed.get(backend)? {
            Some((e, s)) if *e == expiry_s => Some(s),
            _ => None,
        }
    }

    /// Remember the `Set-Cookie` value signed for `backend` with `expiry_s`.
    pub fn remember_signed(&mut self, backend: usize, expiry_s: u64, header: &str) {
        if self.signed.len() <= backend {
            self.signed.resize(backend + 1, None);
        }
        self.signed[backend] = Some((expiry_s, header.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_exact_unexpired_values() {
        let mut m = CookieMemo::default();
        assert_eq!(m.valid("v1.YQ.100.tag", 50), None);
        m.remember_valid("v1.YQ.100.tag", 2, 100);
        assert_eq!(m.valid("v1.YQ.100.tag", 99), Some(2));
        assert_eq!(m.valid("v1.YQ.100.tag", 100), None, "expired");
        assert_eq!(m.valid("v1.YQ.100.taG", 50), None, "one byte differs");
    }

    #[test]
    fn a_colliding_value_replaces_the_slot() {
        let mut m = CookieMemo::default();
        let a = "v1.YQ.100.a".to_string();
        let b = (0..)
            .map(|i| format!("v1.Yg.100.{i}"))
            .find(|v| slot(v) == slot(&a))
            .unwrap();
        m.remember_valid(&a, 0, 100);
        m.remember_valid(&b, 1, 100);
        assert_eq!(m.valid(&a, 1), None);
        assert_eq!(m.valid(&b, 1), Some(1));
    }

    #[test]
    fn signed_values_are_per_backend_and_second() {
        let mut m = CookieMemo::default();
        m.remember_signed(3, 10, "edgepick=x");
        assert_eq!(m.signed(3, 10), Some("edgepick=x"));
        assert_eq!(m.signed(3, 11), None);
        assert_eq!(m.signed(2, 10), None);
        assert_eq!(m.signed(9, 10), None);
    }
}
