//! The shared health record (`HealthSnapshot`, the bytes the filter's
//! workers keep in Envoy shared data): any bytes decode to an error or a
//! snapshot that encodes and decodes back to itself; transitions at any
//! clock reading keep it so.
#![no_main]

use edgepick_core::config::Health;
use edgepick_core::health::{HealthSnapshot, HealthState};
use edgepick_fuzz::Input;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let n = usize::from(input.byte() % 8);
    let now = input.clock();
    let op = input.byte();
    let bytes = input.rest();
    let Ok(mut snap) = HealthSnapshot::decode(bytes, n) else {
        return;
    };
    assert_eq!(snap.entries.len(), n);
    round_trip(&snap);

    // One transition at `now`, then the record must still round-trip.
    let i = usize::from(op >> 2) % n.max(1);
    let before = snap.version;
    let changed = match op & 3 {
        0 => snap.observe(i, true, now, 2) != edgepick_core::health::Transition::Unchanged,
        1 => snap.observe(i, false, now, 2) != edgepick_core::health::Transition::Unchanged,
        2 => snap.set_faulty(i, true, now),
        _ => snap.set_faulty(i, false, now),
    };
    assert_eq!(snap.version, before.wrapping_add(u64::from(changed)));
    round_trip(&snap);

    // The decisions a worker takes from the record, at `now`.
    let cfg = Health {
        max_fails: 2,
        fail_timeout_ms: u64::from(op) * 1_000_000_007,
        slow_start_ms: 30_000,
        ..Health::default()
    };
    let mut states = vec![HealthState::default(); n];
    snap.apply_to(&mut states);
    for s in &states {
        let _ = s.is_healthy(now, &cfg);
        let f = s.slow_start_factor(now, &cfg);
        assert!((0.1..=1.0).contains(&f), "slow start factor {f}");
    }
});

fn round_trip(snap: &HealthSnapshot) {
    let bytes = snap.encode();
    let back = HealthSnapshot::decode(&bytes, snap.entries.len()).unwrap_or_else(|e| {
        panic!(
            "{e} for its own encoding {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(&back, snap);
    assert_eq!(back.encode(), bytes);
}
