//! The shared health record: the core's [`HealthSnapshot`] stored under one
//! key. This file only loads and stores it; its format and every change to
//! it ([`HealthSnapshot::observe`], [`HealthSnapshot::set_faulty`]) are the
//! core's, so the filter's workers and the core's own state follow the same
//! transitions.

use super::store::{update, Store, StoreError};
use edgepick_core::health::HealthSnapshot;

/// Read the record for `n` backends from `bytes`; a missing, unreadable or
/// other-sized one counts as all healthy.
pub fn load(bytes: Option<&[u8]>, n: usize) -> HealthSnapshot {
    bytes
        .and_then(|b| HealthSnapshot::decode(b, n).ok())
        .unwrap_or_else(|| HealthSnapshot::new(n))
}

/// Read-modify-write the record under `key`: `f` applies core transitions
/// and returns true when something changed (the record is then written).
/// Returns the record written, `None` when `f` changed nothing.
pub fn update_health<S: Store + ?Sized>(
    store: &S,
    key: &str,
    n: usize,
    mut f: impl FnMut(&mut HealthSnapshot) -> bool,
) -> Result<Option<HealthSnapshot>, StoreError> {
    let mut out = None;
    update(store, key, |v| {
        let mut rec = load(v, n);
        if !f(&mut rec) {
            return None;
        }
        let bytes = rec.encode();
        out = Some(rec);
        Some(bytes)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::mem_store::MemStore;
    use edgepick_core::health::Transition;

    #[test]
    fn update_health_writes_only_on_change() {
        let s = MemStore::default();
        let r = update_health(&s, "h", 2, |r| r.set_faulty(1, true, 5))
            .unwrap()
            .unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(
            update_health(&s, "h", 2, |r| r.set_faulty(1, true, 6)),
            Ok(None)
        );
        let stored = HealthSnapshot::decode(&s.get("h").0.unwrap(), 2).unwrap();
        assert_eq!(stored, r);
        // A record for another backend count is replaced, not misread.
        let r3 = update_health(&s, "h", 3, |r| r.set_faulty(0, true, 7))
            .unwrap()
            .unwrap();
        assert_eq!(r3.entries.len(), 3);
        assert!(!r3.entries[1].faulty);
    }

    #[test]
    fn garbage_in_the_store_reads_as_healthy() {
        let s = MemStore::default();
        s.set("h", b"\xffnot a record", None).unwrap();
        assert_eq!(load(s.get("h").0.as_deref(), 2), HealthSnapshot::new(2));
        let mut t = Transition::Unchanged;
        update_health(&s, "h", 2, |r| {
            t = r.observe(0, true, 9, 1);
            true
        })
        .unwrap();
        assert_eq!(t, Transition::WentOut);
        let stored = load(s.get("h").0.as_deref(), 2);
        assert_eq!(stored.entries[0].passive.fails, 1);
    }
}
