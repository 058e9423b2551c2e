//! State shared by every worker's VM.
//!
//! Envoy runs one VM per worker thread. They share two things: the host's
//! key/value store (shared data), where every write may carry the
//! compare-and-swap token (`cas`) returned by the last read, and stats
//! (`define_metric`), one process-wide atomic per name. This module holds the
//! key names, the value encodings and the CAS read-modify-write loop, all
//! behind the [`Store`] trait so they are tested natively with an in-memory
//! store.
//!
//! | where | what |
//! |-------|------|
//! | shared data `edgepick.<ns>.health` | [`HealthRecord`]: `E1 <version> <entry>…` |
//! | shared data `edgepick.<ns>.probe_lease` | [`Lease`]: `<worker id hex>,<expiry unix ms>` |
//! | gauge `edgepick.inflight.<backend>` | in-flight requests to the backend: `+1` on pick, `-1` at the end |
//! | counter `edgepick.health_writes.<plugin>` | bumped after every health record write |
//!
//! `<ns>` is the plugin name plus a fingerprint of the backend list, so a
//! configuration that renumbers backends never reads the old one's record.
//!
//! Why two mechanisms: a shared-data read costs a hostcall that copies the
//! value back through the VM's allocator (measured in Envoy 1.40: about as
//! much as the whole pick), a stat read or add is one call returning a
//! number. So in-flight counts, which change on every request, are stat
//! gauges — atomic adds, no read-modify-write, no lost updates — and a
//! worker re-reads the health record only when the `health_writes` counter
//! moved (or on its tick).

use core::fmt::Write as _;

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

/// Key names under one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys for plugin `plugin` whose backends are `(name, address)` pairs.
    pub fn new<'a>(plugin: &str, backends: impl IntoIterator<Item = (&'a str, String)>) -> Keys {
        let mut h = edgepick_core::crc32::Hasher::new();
        for (name, addr) in backends {
            h.update(name.as_bytes());
            h.update(b"=");
            h.update(addr.as_bytes());
            h.update(b";");
        }
        let plugin = if plugin.is_empty() { "default" } else { plugin };
        Keys {
            prefix: format!("edgepick.{plugin}.{:08x}", h.finalize()),
        }
    }

    /// `edgepick.<ns>`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The health record.
    pub fn health(&self) -> String {
        format!("{}.health", self.prefix)
    }

    /// The heartbeat prober's lease.
    pub fn probe_lease(&self) -> String {
        format!("{}.probe_lease", self.prefix)
    }
}

/// One backend's shared health: the heartbeat fault flag `W_F`, nginx-style
/// passive failures and the time it last came back (for slow start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthEntry {
    /// `W_F`, set by the heartbeat prober.
    pub faulty: bool,
    /// Passive failures since the last success.
    pub fails: u32,
    /// Time of the last passive failure, ms.
    pub checked_ms: u64,
    /// When the node last recovered, ms.
    pub recovered_ms: Option<u64>,
}

/// What a passive outcome did to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to write.
    Unchanged,
    /// Counted; the node's state did not flip.
    Counted,
    /// This failure reached `max_fails`: the node is out.
    WentOut,
    /// A success after being out: the node is back (slow start begins).
    CameBack,
}

impl HealthEntry {
    /// Apply one request outcome as the core's `Router::request_finished` does
    /// (nginx `max_fails`: a failure counts, a success clears).
    pub fn observe(&mut self, failure: bool, now_ms: u64, max_fails: u32) -> Transition {
        let was_out = max_fails > 0 && self.fails >= max_fails;
        if failure {
            self.fails = self.fails.saturating_add(1);
            self.checked_ms = now_ms;
            if max_fails > 0 && self.fails == max_fails {
                Transition::WentOut
            } else {
                Transition::Counted
            }
        } else if self.fails == 0 {
            Transition::Unchanged
        } else {
            self.fails = 0;
            if was_out {
                self.recovered_ms = Some(now_ms);
                Transition::CameBack
            } else {
                Transition::Counted
            }
        }
    }

    /// Set the heartbeat verdict; recovery clears passive failures and starts
    /// slow start (as `HealthState::set_faulty`). Returns true when it changed.
    pub fn set_faulty(&mut self, faulty: bool, now_ms: u64) -> bool {
        if self.faulty == faulty {
            return false;
        }
        self.faulty = faulty;
        if !faulty {
            self.recovered_ms = Some(now_ms);
            self.fails = 0;
        }
        true
    }
}

/// Health of every backend, versioned. Text form:
/// `E1 <version> <faulty>:<fails>:<checked_ms>:<recovered_ms or ->…`, one
/// space-separated entry per backend in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthRecord {
    /// Incremented on every write.
    pub version: u64,
    /// One entry per backend.
    pub entries: Vec<HealthEntry>,
}

impl HealthRecord {
    /// All healthy, version 0.
    pub fn new(n: usize) -> Self {
        HealthRecord {
            version: 0,
            entries: vec![HealthEntry::default(); n],
        }
    }

    /// The text form.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("E1 {}", self.version);
        for e in &self.entries {
            let _ = write!(s, " {}:{}:{}:", u8::from(e.faulty), e.fails, e.checked_ms);
            match e.recovered_ms {
                Some(t) => {
                    let _ = write!(s, "{t}");
                }
                None => s.push('-'),
            }
        }
        s.into_bytes()
    }

    /// Parse the text form for `n` backends; anything else is `None`.
    pub fn decode(bytes: &[u8], n: usize) -> Option<Self> {
        let text = core::str::from_utf8(bytes).ok()?;
        let mut parts = text.split_ascii_whitespace();
        if parts.next()? != "E1" {
            return None;
        }
        let version = parts.next()?.parse().ok()?;
        let entries = parts.map(decode_entry).collect::<Option<Vec<_>>>()?;
        (entries.len() == n).then_some(HealthRecord { version, entries })
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
    let recovered_ms = match f.next()? {
        "-" => None,
        t => Some(t.parse().ok()?),
    };
    f.next().is_none().then_some(HealthEntry {
        faulty,
        fails,
        checked_ms,
        recovered_ms,
    })
}

/// Read-modify-write the health record: `f` changes entries and returns true
/// when something changed (the version is then bumped and the record written).
/// A missing or unreadable record starts from all-healthy.
pub fn update_health<S: Store + ?Sized>(
    store: &S,
    key: &str,
    n: usize,
    mut f: impl FnMut(&mut HealthRecord) -> bool,
) -> Result<Option<HealthRecord>, StoreError> {
    let mut out = None;
    update(store, key, |v| {
        let mut rec = v
            .and_then(|b| HealthRecord::decode(b, n))
            .unwrap_or_else(|| HealthRecord::new(n));
        if !f(&mut rec) {
            return None;
        }
        rec.version = rec.version.wrapping_add(1);
        let bytes = rec.encode();
        out = Some(rec);
        Some(bytes)
    })?;
    Ok(out)
}

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
pub(crate) mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;

    /// Envoy's shared-data semantics: every write bumps a global CAS counter; a
    /// write with a stale non-zero CAS fails; creating a key ignores CAS.
    #[derive(Default)]
    pub(crate) struct MemStore {
        map: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        next: Cell<u32>,
        /// Writes that fail with CasMismatch before succeeding (simulates another worker).
        pub(crate) conflicts: Cell<u32>,
        /// Stats by id; ids are handed out by name, so two "workers" defining
        /// the same name share one value, as Envoy's stats do.
        stats: RefCell<Vec<(String, u64)>>,
    }

    impl MemStore {
        /// `define_metric`: the id of `name`, created at 0.
        pub(crate) fn define(&self, name: &str) -> u32 {
            let mut stats = self.stats.borrow_mut();
            let i = match stats.iter().position(|(n, _)| n == name) {
                Some(i) => i,
                None => {
                    stats.push((name.to_string(), 0));
                    stats.len() - 1
                }
            };
            i as u32
        }

        /// A stat's value by name (0 when never defined).
        pub(crate) fn stat(&self, name: &str) -> u64 {
            let stats = self.stats.borrow();
            stats.iter().find(|(n, _)| n == name).map_or(0, |s| s.1)
        }
    }

    impl Store for MemStore {
        fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
            match self.map.borrow().get(key) {
                Some((v, c)) => (Some(v.clone()), Some(*c)),
                None => (None, None),
            }
        }
        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
            if self.conflicts.get() > 0 {
                self.conflicts.set(self.conflicts.get() - 1);
                return Err(StoreError::CasMismatch);
            }
            let mut map = self.map.borrow_mut();
            if let (Some((_, cur)), Some(c)) = (map.get(key), cas) {
                if *cur != c {
                    return Err(StoreError::CasMismatch);
                }
            }
            self.next.set(self.next.get() + 1);
            map.insert(key.to_string(), (value.to_vec(), self.next.get()));
            Ok(())
        }
        fn metric(&self, id: u32) -> Option<u64> {
            self.stats.borrow().get(id as usize).map(|s| s.1)
        }
        fn add_metric(&self, id: u32, delta: i64) {
            if let Some(s) = self.stats.borrow_mut().get_mut(id as usize) {
                s.1 = s.1.wrapping_add(delta as u64);
            }
        }
    }

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

    #[test]
    fn health_record_round_trips() {
        let rec = HealthRecord {
            version: 42,
            entries: vec![
                HealthEntry {
                    faulty: true,
                    fails: 3,
                    checked_ms: 1_700_000_000_123,
                    recovered_ms: None,
                },
                HealthEntry {
                    faulty: false,
                    fails: 0,
                    checked_ms: 0,
                    recovered_ms: Some(99),
                },
            ],
        };
        let bytes = rec.encode();
        assert_eq!(bytes, b"E1 42 1:3:1700000000123:- 0:0:0:99");
        assert_eq!(HealthRecord::decode(&bytes, 2), Some(rec));
        assert_eq!(HealthRecord::decode(&bytes, 3), None, "wrong backend count");
        for bad in [
            &b""[..],
            b"E2 1",
            b"E1 x",
            b"E1 1 2:0:0:-",
            b"E1 1 0:0:0",
            b"E1 1 0:0:0:-:1",
            b"\xff",
        ] {
            assert_eq!(HealthRecord::decode(bad, 1), None, "{bad:?}");
        }
    }

    #[test]
    fn passive_outcomes_follow_nginx() {
        let mut e = HealthEntry::default();
        assert_eq!(e.observe(false, 1, 2), Transition::Unchanged);
        assert_eq!(e.observe(true, 5, 2), Transition::Counted);
        assert_eq!(e.observe(true, 6, 2), Transition::WentOut);
        assert_eq!((e.fails, e.checked_ms), (2, 6));
        assert_eq!(e.observe(true, 7, 2), Transition::Counted);
        assert_eq!(e.observe(false, 9, 2), Transition::CameBack);
        assert_eq!((e.fails, e.recovered_ms), (0, Some(9)));
        let mut off = HealthEntry::default();
        assert_eq!(
            off.observe(true, 1, 0),
            Transition::Counted,
            "max_fails 0 never takes a node out"
        );
        assert_eq!(off.observe(false, 2, 0), Transition::Counted);
        assert_eq!(off.recovered_ms, None);
    }

    #[test]
    fn heartbeat_verdicts_reset_passive_state_on_recovery() {
        let mut e = HealthEntry {
            fails: 4,
            ..Default::default()
        };
        assert!(e.set_faulty(true, 10));
        assert!(!e.set_faulty(true, 11));
        assert!(e.set_faulty(false, 20));
        assert_eq!(
            e,
            HealthEntry {
                faulty: false,
                fails: 0,
                checked_ms: 0,
                recovered_ms: Some(20)
            }
        );
    }

    #[test]
    fn update_health_bumps_version_only_on_change() {
        let s = MemStore::default();
        let r = update_health(&s, "h", 2, |r| r.entries[1].set_faulty(true, 5))
            .unwrap()
            .unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(
            update_health(&s, "h", 2, |r| r.entries[1].set_faulty(true, 6)),
            Ok(None)
        );
        let stored = HealthRecord::decode(&s.get("h").0.unwrap(), 2).unwrap();
        assert_eq!(stored, r);
        // A record for another backend count is replaced, not misread.
        let r3 = update_health(&s, "h", 3, |r| r.entries[0].set_faulty(true, 7))
            .unwrap()
            .unwrap();
        assert_eq!(r3.entries.len(), 3);
        assert!(!r3.entries[1].faulty);
    }

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

    #[test]
    fn keys_are_namespaced_by_backend_list() {
        let a = Keys::new("edgepick", [("a", "127.0.0.1:1".to_string())]);
        let b = Keys::new("edgepick", [("a", "127.0.0.1:2".to_string())]);
        assert_ne!(a.prefix(), b.prefix());
        assert!(a.health().starts_with("edgepick.edgepick."));
        assert!(a.health().ends_with(".health"));
        assert!(a.probe_lease().ends_with(".probe_lease"));
        assert!(Keys::new("", []).prefix().starts_with("edgepick.default."));
    }
}
