//! [`HealthSnapshot`]: every backend's [`HealthEntry`], versioned, as bytes a
//! store can keep (the Envoy filter keeps it in shared data, one record for
//! all workers). The store only loads and saves it; every change goes through
//! [`HealthSnapshot::observe`] and [`HealthSnapshot::set_faulty`], which are
//! [`HealthEntry`]'s transitions.
//!
//! Text form: `E1 <version> <faulty>:<fails>:<checked_ms>:<recovered_ms or ->:<link_delay_us or ->…`,
//! one space-separated entry per backend in configuration order (the last
//! field may be absent: records written before the delay was shared).

use super::{HealthEntry, HealthState, PassiveHealth, Transition};
use core::fmt::Write as _;

/// Why bytes are not a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotError {
    /// Not UTF-8.
    NotText,
    /// Does not start with `E1 <version>`.
    Header,
    /// Entry `n` (from 0) is not `<0|1>:<fails>:<checked_ms>:<recovered_ms|->[:<link_delay_us|->]`.
    Entry(usize),
    /// Holds a different number of backends than expected.
    Count {
        /// Backends expected.
        expected: usize,
        /// Entries found.
        found: usize,
    },
}

impl core::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SnapshotError::NotText => f.write_str("health snapshot: not UTF-8"),
            SnapshotError::Header => f.write_str("health snapshot: no `E1 <version>` header"),
            SnapshotError::Entry(n) => write!(f, "health snapshot: entry {n} malformed"),
            SnapshotError::Count { expected, found } => write!(
                f,
                "health snapshot: {found} entries for {expected} backends"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Health of every backend, versioned (the version goes up on every change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// Incremented on every change.
    pub version: u64,
    /// One entry per backend, in configuration order.
    pub entries: Vec<HealthEntry>,
}

impl HealthSnapshot {
    /// `n` healthy backends, version 0.
    pub fn new(n: usize) -> Self {
        HealthSnapshot {
            version: 0,
            entries: vec![HealthEntry::default(); n],
        }
    }

    /// Count one passive outcome of backend `i` ([`HealthEntry::observe`]);
    /// unknown backends are left alone.
    pub fn observe(&mut self, i: usize, failure: bool, now_ms: u64, max_fails: u32) -> Transition {
        let t = self.entries.get_mut(i).map_or(Transition::Unchanged, |e| {
            e.observe(failure, now_ms, max_fails)
        });
        self.bump(t != Transition::Unchanged);
        t
    }

    /// Set backend `i`'s `W_F` ([`HealthEntry::set_faulty`]); true when it changed.
    pub fn set_faulty(&mut self, i: usize, faulty: bool, now_ms: u64) -> bool {
        let changed = self
            .entries
            .get_mut(i)
            .is_some_and(|e| e.set_faulty(faulty, now_ms));
        self.bump(changed)
    }

    /// Set backend `i`'s measured route delay `D(r)` (µs), as the prober
    /// measured it; true when it changed.
    pub fn set_link_delay(&mut self, i: usize, us: Option<u32>) -> bool {
        let changed = match self.entries.get_mut(i) {
            Some(e) if e.link_delay_us != us => {
                e.link_delay_us = us;
                true
            }
            _ => false,
        };
        self.bump(changed)
    }

    fn bump(&mut self, changed: bool) -> bool {
        if changed {
            self.version = self.version.wrapping_add(1);
        }
        changed
    }

    /// Copy every entry into `states` (heartbeat windows stay as they are).
    pub fn apply_to<'a>(&self, states: impl IntoIterator<Item = &'a mut HealthState>) {
        for (s, e) in states.into_iter().zip(&self.entries) {
            s.apply(e);
        }
    }

    /// The text form.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("E1 {}", self.version);
        for e in &self.entries {
            let p = e.passive;
            let _ = write!(s, " {}:{}:{}:", u8::from(e.faulty), p.fails, p.checked_ms);
            for v in [e.recovered_at_ms, e.link_delay_us.map(u64::from)] {
                match v {
                    Some(t) => {
                        let _ = write!(s, "{t}");
                    }
                    None => s.push('-'),
                }
                s.push(':');
            }
            s.pop();
        }
        s.into_bytes()
    }

    /// Parse the text form for `n` backends. Any other input is an error, never a panic.
    pub fn decode(bytes: &[u8], n: usize) -> Result<Self, SnapshotError> {
        let text = core::str::from_utf8(bytes).map_err(|_| SnapshotError::NotText)?;
        let mut parts = text.split_ascii_whitespace();
        if parts.next() != Some("E1") {
            return Err(SnapshotError::Header);
        }
        let version = parts
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or(SnapshotError::Header)?;
        let mut entries = Vec::with_capacity(n.min(1024));
        for (k, part) in parts.enumerate() {
            if k >= n {
                return Err(SnapshotError::Count {
                    expected: n,
                    found: k + 1,
                });
            }
            entries.push(decode_entry(part).ok_or(SnapshotError::Entry(k))?);
        }
        if entries.len() != n {
            return Err(SnapshotError::Count {
                expected: n,
                found: entries.len(),
            });
        }
        Ok(HealthSnapshot { version, entries })
    }
}

fn decode_entry(s: &str) -> Option<HealthEntry> {
    let mut f = s.split(':');
    let faulty = match f.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    let fails = f.next()?.parse().ok()?;
    let checked_ms = f.next()?.parse().ok()?;
    let recovered_at_ms = match f.next()? {
        "-" => None,
        t => Some(t.parse().ok()?),
    };
    // Absent in records written before the delay was shared.
    let link_delay_us = match f.next() {
        None | Some("-") => None,
        Some(us) => Some(us.parse().ok()?),
    };
    f.next().is_none().then_some(HealthEntry {
        faulty,
        passive: PassiveHealth { fails, checked_ms },
        recovered_at_ms,
        link_delay_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HealthSnapshot {
        HealthSnapshot {
            version: 42,
            entries: vec![
                HealthEntry {
                    faulty: true,
                    passive: PassiveHealth {
                        fails: 3,
                        checked_ms: 1_700_000_000_123,
                    },
                    recovered_at_ms: None,
                    link_delay_us: None,
                },
                HealthEntry {
                    recovered_at_ms: Some(99),
                    link_delay_us: Some(2500),
                    ..HealthEntry::default()
                },
            ],
        }
    }

    #[test]
    fn round_trips_in_the_filters_format() {
        let rec = sample();
        let bytes = rec.encode();
        assert_eq!(bytes, b"E1 42 1:3:1700000000123:-:- 0:0:0:99:2500");
        assert_eq!(HealthSnapshot::decode(&bytes, 2), Ok(rec));
        let older = HealthSnapshot::decode(b"E1 42 1:3:1700000000123:- 0:0:0:99", 2).unwrap();
        assert_eq!(
            older.entries[1].link_delay_us, None,
            "records without the delay read"
        );
        let mut r = older;
        assert!(r.set_link_delay(1, Some(2500)));
        assert!(!r.set_link_delay(1, Some(2500)), "unchanged");
        assert!(!r.set_link_delay(9, Some(1)), "unknown backend");
        assert_eq!(r.version, 43);
        assert_eq!(
            HealthSnapshot::decode(&bytes, 3),
            Err(SnapshotError::Count {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            HealthSnapshot::decode(&bytes, 1),
            Err(SnapshotError::Count {
                expected: 1,
                found: 2
            })
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for (bad, err) in [
            (&b""[..], SnapshotError::Header),
            (b"E2 1", SnapshotError::Header),
            (b"E1 x", SnapshotError::Header),
            (b"E1 -1 0:0:0:-", SnapshotError::Header),
            (b"E1 1 2:0:0:-", SnapshotError::Entry(0)),
            (b"E1 1 0:0:0", SnapshotError::Entry(0)),
            (b"E1 1 0:0:0:-:1:2", SnapshotError::Entry(0)),
            (b"E1 1 0:0:0:-:x", SnapshotError::Entry(0)),
            (b"E1 1 0:99999999999:0:-", SnapshotError::Entry(0)),
            (b"\xff", SnapshotError::NotText),
        ] {
            assert_eq!(HealthSnapshot::decode(bad, 1), Err(err), "{bad:?}");
        }
    }

    #[test]
    fn changes_bump_the_version_and_go_through_the_entry() {
        let mut s = HealthSnapshot::new(2);
        assert_eq!(s.observe(0, false, 1, 2), Transition::Unchanged);
        assert_eq!(s.version, 0, "nothing changed");
        assert_eq!(s.observe(0, true, 2, 2), Transition::Counted);
        assert_eq!(s.observe(0, true, 3, 2), Transition::WentOut);
        assert_eq!(s.version, 2);
        assert!(s.set_faulty(1, true, 4));
        assert!(!s.set_faulty(1, true, 5));
        assert!(!s.set_faulty(7, true, 5), "unknown backend");
        assert_eq!(s.observe(7, true, 5, 2), Transition::Unchanged);
        assert_eq!(s.version, 3);
        let mut states = vec![HealthState::default(); 2];
        s.apply_to(&mut states);
        assert_eq!(states[0].passive.fails, 2);
        assert!(states[1].faulty);
    }
}
