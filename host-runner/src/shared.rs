//! State shared by every VM of one [`Host`](crate::Host): shared data with CAS,
//! shared queues, metrics and the virtual clock — what Envoy shares between the
//! VMs of its worker threads.

use crate::types::Status;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A metric's kind, numbered like `MetricType` in the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Monotonic counter.
    Counter,
    /// Gauge: set or moved both ways.
    Gauge,
    /// Histogram: recorded values.
    Histogram,
}

/// The value of one metric, shared by name across VMs like Envoy's stats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetricValue {
    /// Kind given at definition.
    pub kind: MetricKind,
    /// Counter or gauge value; for a histogram, the number of samples.
    pub value: u64,
    /// Samples recorded into a histogram.
    pub samples: Vec<u64>,
}

#[derive(Default)]
struct SharedData {
    map: HashMap<Vec<u8>, (Vec<u8>, u32)>,
    next_cas: u32,
}

/// One shared queue.
struct Queue {
    vm: usize,
    root_context: u32,
    items: VecDeque<Vec<u8>>,
}

#[derive(Default)]
struct Queues {
    by_name: HashMap<(String, String), u32>,
    queues: HashMap<u32, Queue>,
    next_token: u32,
    /// `(vm index) -> [(root context, token)]` waiting for `proxy_on_queue_ready`.
    ready: HashMap<usize, Vec<(u32, u32)>>,
}

/// Host-wide shared state. Cheap to share behind an `Arc`.
pub struct Shared {
    data: Mutex<SharedData>,
    queues: Mutex<Queues>,
    metrics: Mutex<BTreeMap<String, MetricValue>>,
    now_nanos: AtomicU64,
}

impl Shared {
    /// Creates empty state with the clock at `start_nanos` since the Unix epoch.
    pub fn new(start_nanos: u64) -> Self {
        Shared {
            data: Mutex::new(SharedData {
                next_cas: 1,
                ..Default::default()
            }),
            queues: Mutex::new(Queues {
                next_token: 1,
                ..Default::default()
            }),
            metrics: Mutex::new(BTreeMap::new()),
            now_nanos: AtomicU64::new(start_nanos),
        }
    }

    /// Virtual time, nanoseconds since the Unix epoch.
    pub fn now_nanos(&self) -> u64 {
        self.now_nanos.load(Ordering::SeqCst)
    }

    /// Moves the virtual clock forward (never backwards).
    pub fn advance_nanos(&self, by: u64) {
        // Saturating: a clock at its end stays there rather than wrap to 1970.
        let _ = self
            .now_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Sets the virtual clock to `t` if `t` is later than now.
    pub fn set_now_nanos(&self, t: u64) {
        self.now_nanos.fetch_max(t, Ordering::SeqCst);
    }

    /// `proxy_get_shared_data`: the value and its CAS, or `NotFound`.
    pub fn get_data(&self, key: &[u8]) -> Result<(Vec<u8>, u32), Status> {
        lock(&self.data)
            .map
            .get(key)
            .cloned()
            .ok_or(Status::NotFound)
    }

    /// `proxy_set_shared_data` with Envoy's rule: a non-zero `cas` must match
    /// the stored one; a new key ignores `cas`.
    pub fn set_data(&self, key: &[u8], value: &[u8], cas: u32) -> Status {
        let mut d = lock(&self.data);
        let next = d.next_cas;
        d.next_cas = match next.wrapping_add(1) {
            0 => 1,
            n => n,
        };
        match d.map.get_mut(key) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Status::CasMismatch;
                }
                *entry = (value.to_vec(), next);
            }
            None => {
                d.map.insert(key.to_vec(), (value.to_vec(), next));
            }
        }
        Status::Ok
    }

    /// `proxy_register_shared_queue`: same `(vm_id, name)` gives the same token;
    /// readiness is delivered to `root_context` in VM `vm`.
    pub fn register_queue(&self, vm_id: &str, name: &str, vm: usize, root_context: u32) -> u32 {
        let mut q = lock(&self.queues);
        let key = (vm_id.to_string(), name.to_string());
        if let Some(&token) = q.by_name.get(&key) {
            if let Some(queue) = q.queues.get_mut(&token) {
                queue.vm = vm;
                queue.root_context = root_context;
            }
            return token;
        }
        let token = q.next_token;
        q.next_token += 1;
        q.by_name.insert(key, token);
        q.queues.insert(
            token,
            Queue {
                vm,
                root_context,
                items: VecDeque::new(),
            },
        );
        token
    }

    /// `proxy_resolve_shared_queue`.
    pub fn resolve_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        let key = (vm_id.to_string(), name.to_string());
        lock(&self.queues).by_name.get(&key).copied()
    }

    /// `proxy_enqueue_shared_queue`: pushes and schedules `on_queue_ready`.
    pub fn enqueue(&self, token: u32, value: &[u8]) -> Status {
        let mut q = lock(&self.queues);
        let Some(queue) = q.queues.get_mut(&token) else {
            return Status::NotFound;
        };
        queue.items.push_back(value.to_vec());
        let (vm, root) = (queue.vm, queue.root_context);
        q.ready.entry(vm).or_default().push((root, token));
        Status::Ok
    }

    /// `proxy_dequeue_shared_queue`: `NotFound` for an unknown token, `Empty`.
    pub fn dequeue(&self, token: u32) -> Result<Vec<u8>, Status> {
        let mut q = lock(&self.queues);
        let queue = q.queues.get_mut(&token).ok_or(Status::NotFound)?;
        queue.items.pop_front().ok_or(Status::Empty)
    }

    /// Takes the queue-ready notifications waiting for VM `vm`.
    pub(crate) fn take_ready(&self, vm: usize) -> Vec<(u32, u32)> {
        lock(&self.queues).ready.remove(&vm).unwrap_or_default()
    }

    /// Registers a metric name (idempotent per name).
    pub(crate) fn define_metric(&self, name: &str, kind: MetricKind) {
        lock(&self.metrics)
            .entry(name.to_string())
            .or_insert(MetricValue {
                kind,
                value: 0,
                samples: Vec::new(),
            });
    }

    /// Applies `f` to the metric `name`.
    pub(crate) fn with_metric<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut MetricValue) -> R,
    ) -> Option<R> {
        lock(&self.metrics).get_mut(name).map(f)
    }

    /// A snapshot of every metric, by name.
    pub fn metrics(&self) -> BTreeMap<String, MetricValue> {
        lock(&self.metrics).clone()
    }

    /// A snapshot of the shared data (key → value), for assertions.
    pub fn shared_data(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        lock(&self.data)
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_rules_follow_envoy() {
        let s = Shared::new(0);
        assert_eq!(s.get_data(b"k"), Err(Status::NotFound));
        assert_eq!(s.set_data(b"k", b"1", 77), Status::Ok);
        let (_, cas) = s.get_data(b"k").unwrap();
        assert_eq!(s.set_data(b"k", b"2", cas + 1), Status::CasMismatch);
        assert_eq!(s.set_data(b"k", b"2", cas), Status::Ok);
        assert_eq!(s.set_data(b"k", b"3", 0), Status::Ok);
        assert_eq!(s.get_data(b"k").unwrap().0, b"3");
    }

    #[test]
    fn queues_notify_the_registering_vm() {
        let s = Shared::new(0);
        let t = s.register_queue("", "q", 1, 1);
        assert_eq!(s.resolve_queue("", "q"), Some(t));
        assert_eq!(s.dequeue(t), Err(Status::Empty));
        assert_eq!(s.enqueue(t, b"x"), Status::Ok);
        assert_eq!(s.take_ready(1), vec![(1, t)]);
        assert_eq!(s.dequeue(t), Ok(b"x".to_vec()));
        assert_eq!(s.enqueue(99, b"x"), Status::NotFound);
    }

    #[test]
    fn the_virtual_clock_stops_at_its_end() {
        let s = Shared::new(u64::MAX - 10);
        s.advance_nanos(5);
        assert_eq!(s.now_nanos(), u64::MAX - 5);
        s.advance_nanos(u64::MAX);
        assert_eq!(s.now_nanos(), u64::MAX, "never wraps back to 1970");
        s.set_now_nanos(1);
        assert_eq!(s.now_nanos(), u64::MAX, "never backwards");
    }
}
