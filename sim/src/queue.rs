//! The event queue: a binary heap ordered by (time, insertion sequence), so
//! events at the same instant run in the order they were scheduled and a seed
//! always gives the same run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Simulated time in microseconds.
pub type Micros = u64;

/// What happens at an instant. Request events carry the request's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    /// The next request of client group `g` leaves its client.
    Arrive(u32),
    /// A request (or DNS query / first redirect hop) reaches the edge.
    AtEdge(u32),
    /// A request reaches its server.
    AtServer(u32),
    /// Server `node` finished a request; `inc` is its incarnation at the start.
    ServiceDone { req: u32, node: u32, inc: u32 },
    /// A response (`ok`) or a failure reaches the edge (proxy, NAT).
    EdgeResponse { req: u32, status: u16 },
    /// An LVS-DR connection ends (the director sees the client's FIN).
    DrDone { req: u32, status: u16 },
    /// Heartbeats from live nodes, then the fault-detection verdict.
    Heartbeat,
    /// Close a metrics bucket (sample in-flight and health).
    Bucket,
    /// The `k`-th scheduled fault of timeline epoch `epoch` (a live
    /// change of the timeline starts a new epoch; older events are void).
    Fault { k: u32, epoch: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    at: Micros,
    seq: u64,
    ev: Ev,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap; the earliest entry must come out first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Min-queue of events by time, FIFO among equal times.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

impl EventQueue {
    /// Schedule `ev` at `at`.
    pub fn push(&mut self, at: Micros, ev: Ev) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            ev,
        });
    }

    /// Time of the next event.
    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(|e| e.at)
    }

    /// Remove and return the next event.
    pub fn pop(&mut self) -> Option<(Micros, Ev)> {
        self.heap.pop().map(|e| (e.at, e.ev))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_fifo() {
        let mut q = EventQueue::default();
        q.push(20, Ev::Heartbeat);
        q.push(10, Ev::Arrive(1));
        q.push(10, Ev::Arrive(2));
        assert_eq!(q.pop(), Some((10, Ev::Arrive(1))));
        assert_eq!(q.pop(), Some((10, Ev::Arrive(2))));
        assert_eq!(q.pop(), Some((20, Ev::Heartbeat)));
        assert!(q.is_empty());
    }
}
