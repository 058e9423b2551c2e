//! The in-flight record: each worker's own in-flight count per backend, in
//! one shared-data value, so a worker learns every other worker's counts with
//! one read and publishes its own with one write per sync, whatever the
//! number of backends (reading one stat gauge per backend cost 64 hostcalls
//! per sync at 64 backends).
//!
//! Format (little endian): `1u8` (version), backends `u32`, slots `u32`, then
//! per slot the worker id `u64`, its stamp (Unix ms) `u64` and one `u32` per
//! backend. A worker that has not written for [`STALE_MS`] is gone (its VM
//! was replaced or stopped, and its requests with it): its slot is dropped.
//! A record of another shape (an older format, another backend count) reads
//! as empty and is replaced.

use super::store::{update, Store, StoreError};

/// A slot not refreshed for this long is dropped (ten sync periods).
pub const STALE_MS: u64 = 10 * crate::sync::SYNC_MS;

const VERSION: u8 = 1;

/// One worker's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    worker: u64,
    stamp_ms: u64,
    counts: Vec<u32>,
}

fn take<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = b.split_first_chunk::<N>()?;
    *b = rest;
    Some(*head)
}

fn decode(bytes: Option<&[u8]>, n: usize) -> Vec<Slot> {
    let parse = |mut b: &[u8]| -> Option<Vec<Slot>> {
        let [version] = take::<1>(&mut b)?;
        let backends = u32::from_le_bytes(take(&mut b)?) as usize;
        let slots = u32::from_le_bytes(take(&mut b)?) as usize;
        if version != VERSION || backends != n || b.len() != slots.checked_mul(16 + 4 * n)? {
            return None;
        }
        let mut out = Vec::with_capacity(slots);
        for _ in 0..slots {
            let worker = u64::from_le_bytes(take(&mut b)?);
            let stamp_ms = u64::from_le_bytes(take(&mut b)?);
            let counts = (0..n)
                .map(|_| take(&mut b).map(u32::from_le_bytes))
                .collect::<Option<Vec<u32>>>()?;
            out.push(Slot {
                worker,
                stamp_ms,
                counts,
            });
        }
        Some(out)
    };
    bytes.and_then(parse).unwrap_or_default()
}

fn encode(slots: &[Slot], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + slots.len() * (16 + 4 * n));
    out.push(VERSION);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(slots.len() as u32).to_le_bytes());
    for s in slots {
        out.extend_from_slice(&s.worker.to_le_bytes());
        out.extend_from_slice(&s.stamp_ms.to_le_bytes());
        for c in &s.counts {
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
    out
}

/// Store worker `worker`'s counts `own` (stamped `now_ms`) in the record at
/// `key`, dropping stale slots, and return the sum of the other workers'
/// fresh counts. A worker holding nothing keeps no slot (and writes only to
/// remove one it had). One read and at most one write, retried on a CAS
/// mismatch.
pub fn exchange<S: Store + ?Sized>(
    store: &S,
    key: &str,
    worker: u64,
    own: &[u32],
    now_ms: u64,
) -> Result<Vec<u32>, StoreError> {
    let n = own.len();
    let mut others = vec![0u32; n];
    update(store, key, |value| {
        let slots = decode(value, n);
        let before = slots.len();
        let had_slot = slots.iter().any(|s| s.worker == worker);
        let mut kept: Vec<Slot> = slots
            .into_iter()
            .filter(|s| s.worker != worker && now_ms.saturating_sub(s.stamp_ms) <= STALE_MS)
            .collect();
        others.iter_mut().for_each(|o| *o = 0);
        for s in &kept {
            for (o, c) in others.iter_mut().zip(&s.counts) {
                *o = o.saturating_add(*c);
            }
        }
        let holding = own.iter().any(|&c| c > 0);
        if !holding && !had_slot && kept.len() == before {
            return None; // nothing of ours to write, nothing stale to drop
        }
        if holding {
            kept.push(Slot {
                worker,
                stamp_ms: now_ms,
                counts: own.to_vec(),
            });
        }
        Some(encode(&kept, n))
    })?;
    Ok(others)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::mem_store::MemStore;

    #[test]
    fn workers_see_each_others_counts_and_stale_slots_go() {
        let s = MemStore::default();
        assert_eq!(exchange(&s, "k", 1, &[2, 0], 0), Ok(vec![0, 0]));
        assert_eq!(exchange(&s, "k", 2, &[1, 3], 10), Ok(vec![2, 0]));
        assert_eq!(exchange(&s, "k", 1, &[0, 1], 20), Ok(vec![1, 3]));
        // Worker 1 idle: its slot goes, worker 2 then sees nothing else.
        assert_eq!(exchange(&s, "k", 1, &[0, 0], 30), Ok(vec![1, 3]));
        assert_eq!(exchange(&s, "k", 2, &[1, 3], 40), Ok(vec![0, 0]));
        // Worker 2 stops writing: after STALE_MS its counts no longer count.
        assert_eq!(exchange(&s, "k", 3, &[0, 0], 40 + STALE_MS), Ok(vec![1, 3]));
        assert_eq!(exchange(&s, "k", 3, &[0, 0], 41 + STALE_MS), Ok(vec![0, 0]));
    }

    #[test]
    fn an_idle_worker_does_not_write_and_a_foreign_record_reads_as_empty() {
        let s = MemStore::default();
        assert_eq!(exchange(&s, "k", 1, &[0, 0], 0), Ok(vec![0, 0]));
        assert_eq!(s.get("k").0, None, "nothing held, nothing written");
        s.set("k", b"garbage", None).unwrap();
        assert_eq!(exchange(&s, "k", 1, &[1, 0], 5), Ok(vec![0, 0]));
        assert_eq!(decode(s.get("k").0.as_deref(), 2).len(), 1);
        assert!(
            decode(s.get("k").0.as_deref(), 3).is_empty(),
            "other backend count"
        );
        let slot = Slot {
            worker: 9,
            stamp_ms: 7,
            counts: vec![4, 5],
        };
        let bytes = encode(std::slice::from_ref(&slot), 2);
        assert_eq!(decode(Some(&bytes), 2), [slot]);
        for cut in 0..bytes.len() {
            assert!(
                decode(Some(&bytes[..cut]), 2).is_empty(),
                "truncated at {cut}"
            );
        }
    }
}
