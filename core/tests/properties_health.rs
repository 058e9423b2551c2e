//! Properties of the shared health record ([`HealthSnapshot`]): every
//! snapshot survives encode → decode; any bytes decode to a snapshot or an
//! error, never a panic; and a snapshot driven by the same outcomes as a
//! [`HealthState`] holds the same entry (one transition function).

use edgepick_core::config::Health;
use edgepick_core::health::{HealthEntry, HealthSnapshot, HealthState, PassiveHealth};
use proptest::prelude::*;

fn entry() -> impl Strategy<Value = HealthEntry> {
    (
        any::<bool>(),
        any::<u32>(),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(faulty, fails, checked_ms, recovered_at_ms, link_delay_us)| HealthEntry {
                faulty,
                passive: PassiveHealth { fails, checked_ms },
                recovered_at_ms,
                link_delay_us,
            },
        )
}

proptest! {
    #[test]
    fn snapshots_round_trip(version in any::<u64>(), entries in proptest::collection::vec(entry(), 0..12)) {
        let s = HealthSnapshot { version, entries };
        prop_assert_eq!(HealthSnapshot::decode(&s.encode(), s.entries.len()), Ok(s.clone()));
        prop_assert!(HealthSnapshot::decode(&s.encode(), s.entries.len() + 1).is_err());
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..64), n in 0usize..4) {
        if let Ok(s) = HealthSnapshot::decode(&bytes, n) {
            prop_assert_eq!(s.entries.len(), n);
        }
    }

    #[test]
    fn damaged_records_decode_or_fail_cleanly(
        entries in proptest::collection::vec(entry(), 1..6),
        at in any::<usize>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut bytes = HealthSnapshot { version: 7, entries: entries.clone() }.encode();
        let at = at % bytes.len();
        if cut { bytes.truncate(at) } else { bytes[at] = byte }
        if let Ok(s) = HealthSnapshot::decode(&bytes, entries.len()) {
            prop_assert_eq!(HealthSnapshot::decode(&s.encode(), entries.len()), Ok(s));
        }
    }

    #[test]
    fn snapshot_and_state_follow_one_transition(
        ops in proptest::collection::vec((any::<bool>(), any::<bool>()), 0..40),
        max_fails in 0u32..4,
    ) {
        let cfg = Health { max_fails, ..Health::default() };
        let mut snap = HealthSnapshot::new(1);
        let mut state = HealthState::default();
        for (now, (verdict, failure)) in ops.into_iter().enumerate() {
            let now = now as u64;
            if verdict {
                prop_assert_eq!(snap.set_faulty(0, failure, now), state.set_faulty(failure, now));
            } else {
                prop_assert_eq!(snap.observe(0, failure, now, max_fails), state.observe(failure, now, &cfg));
            }
            prop_assert_eq!(snap.entries[0], state.entry());
        }
    }
}
