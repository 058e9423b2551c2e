//! The heartbeat prober's lease: one worker probes, the others wait until
//! it stops renewing.

use super::store::{update, Store};

/// The heartbeat prober's lease: only its holder probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Holder's worker id.
    pub holder: u64,
    /// Unix ms after which anyone may take it.
    pub expiry_ms: u64,
}

impl Lease {
    /// `<holder hex>,<expiry ms>`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{:x},{}", self.holder, self.expiry_ms).into_bytes()
    }

    /// Parse the text form.
    pub fn decode(bytes: &[u8]) -> Option<Lease> {
        let (h, e) = core::str::from_utf8(bytes).ok()?.split_once(',')?;
        Some(Lease {
            holder: u64::from_str_radix(h, 16).ok()?,
            expiry_ms: e.parse().ok()?,
        })
    }
}

/// Take or renew the lease for `me` until `now_ms + ttl_ms` when it is free,
/// expired, unreadable or already ours. Returns whether `me` holds it now.
pub fn acquire_lease<S: Store + ?Sized>(
    store: &S,
    key: &str,
    me: u64,
    now_ms: u64,
    ttl_ms: u64,
) -> bool {
    let mut mine = false;
    let r = update(store, key, |v| {
        mine = match v.and_then(Lease::decode) {
            Some(l) => l.holder == me || l.expiry_ms <= now_ms,
            None => true,
        };
        mine.then(|| {
            Lease {
                holder: me,
                expiry_ms: now_ms.saturating_add(ttl_ms),
            }
            .encode()
        })
    });
    mine && matches!(r, Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::mem_store::MemStore;

    #[test]
    fn lease_is_exclusive_until_expiry() {
        let s = MemStore::default();
        assert!(acquire_lease(&s, "l", 0xa, 1000, 300));
        assert!(!acquire_lease(&s, "l", 0xb, 1100, 300), "held by a");
        assert!(
            acquire_lease(&s, "l", 0xa, 1200, 300),
            "renewed by its holder"
        );
        assert_eq!(
            Lease::decode(&s.get("l").0.unwrap()),
            Some(Lease {
                holder: 0xa,
                expiry_ms: 1500
            })
        );
        assert!(
            acquire_lease(&s, "l", 0xb, 1500, 300),
            "expired: b takes over"
        );
        assert!(!acquire_lease(&s, "l", 0xa, 1600, 300));
        s.set("l", b"junk", None).unwrap();
        assert!(
            acquire_lease(&s, "l", 0xa, 1700, 300),
            "unreadable lease is free"
        );
    }
}
