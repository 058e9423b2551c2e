//! An in-memory [`Store`] with Envoy's semantics, for native tests.

use super::store::{Store, StoreError};
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
