//! The [`Store`] workers share (Envoy's shared data and stats) and the CAS
//! read-modify-write loop every shared record goes through.

/// Attempts of one read-modify-write before giving up (the update is then lost
/// and logged; it never blocks or fails a request).
pub const MAX_CAS_TRIES: u32 = 8;

/// Why a write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Another worker wrote the key since it was read.
    CasMismatch,
    /// The host refused the write for another reason.
    Failed,
}

/// What the workers share (Envoy: `get/set_shared_data` and stats).
pub trait Store {
    /// The value and its CAS token, `(None, None)` when the key is missing.
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// Write `value`; with `cas` set, only if the key is unchanged since that read.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError>;
    /// A counter's or gauge's value (`None` if the host cannot say).
    fn metric(&self, id: u32) -> Option<u64>;
    /// Add `delta` to a counter or gauge (gauges take negative deltas).
    fn add_metric(&self, id: u32, delta: i64);
}

/// Read-modify-write `key` with CAS, retrying up to [`MAX_CAS_TRIES`] times.
/// `f` gets the current value (None when missing) and returns the new value,
/// or `None` when nothing needs writing. Returns the value written (or `None`
/// when `f` declined), or the last error.
pub fn update<S: Store + ?Sized>(
    store: &S,
    key: &str,
    mut f: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut last = StoreError::CasMismatch;
    for _ in 0..MAX_CAS_TRIES {
        let (value, cas) = store.get(key);
        let Some(new) = f(value.as_deref()) else {
            return Ok(None);
        };
        match store.set(key, &new, cas) {
            Ok(()) => return Ok(Some(new)),
            Err(StoreError::CasMismatch) => last = StoreError::CasMismatch,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::mem_store::MemStore;

    #[test]
    fn cas_retries_then_gives_up() {
        let s = MemStore::default();
        let bump = |s: &MemStore| {
            update(s, "k", |v| {
                let n = v.map_or(0, |v| v.len());
                Some(vec![b'x'; n + 1])
            })
        };
        s.conflicts.set(MAX_CAS_TRIES - 1);
        assert_eq!(
            bump(&s),
            Ok(Some(b"x".to_vec())),
            "succeeds on the last try"
        );
        s.conflicts.set(MAX_CAS_TRIES);
        assert_eq!(bump(&s), Err(StoreError::CasMismatch));
        assert_eq!(
            s.get("k").0.as_deref(),
            Some(&b"x"[..]),
            "a lost update leaves the value alone"
        );
        assert_eq!(bump(&s), Ok(Some(b"xx".to_vec())));
    }

    #[test]
    fn stats_are_shared_by_name() {
        let s = MemStore::default();
        let (a, b) = (
            s.define("edgepick.inflight.a"),
            s.define("edgepick.inflight.b"),
        );
        assert_eq!(
            s.define("edgepick.inflight.a"),
            a,
            "a second worker gets the same stat"
        );
        s.add_metric(a, 2);
        s.add_metric(a, -1);
        s.add_metric(b, 1);
        assert_eq!((s.metric(a), s.metric(b)), (Some(1), Some(1)));
        assert_eq!(s.metric(99), None);
    }

    #[test]
    fn stale_cas_is_rejected() {
        let s = MemStore::default();
        s.set("k", b"1", None).unwrap();
        let (_, cas) = s.get("k");
        s.set("k", b"2", cas).unwrap();
        assert_eq!(s.set("k", b"3", cas), Err(StoreError::CasMismatch));
    }
}
