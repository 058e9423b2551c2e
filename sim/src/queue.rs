//! The event queue, ordered by (time, insertion sequence), so events at the
//! same instant run in the order they were scheduled and a seed always gives
//! the same run.
//!
//! A timing wheel rather than one binary heap: time is cut into slots of
//! 32 µs. The events of the slot being run sit sorted in `front`;
//! those of the next [`SLOTS`] − 1 slots wait unsorted in the wheel, one
//! vector per slot; later ones (heartbeats, bucket closes, timeouts) in a
//! small heap. A push is O(1) for almost every event and a slot is sorted
//! once, when its turn comes; the order out is exactly the heap's (see the
//! test against one).

use std::cmp::{Ordering, Reverse};
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

/// log2 of a slot's width in µs.
const SLOT_SHIFT: u32 = 5;
/// Slots in the wheel (a power of two): 131 ms ahead at 32 µs (measured
/// against 16 µs × 8,192 and 64 µs × 2,048 with `sim_speed`: fewer, fuller
/// slots stay in cache).
const SLOTS: usize = 1 << 12;
const MASK: u64 = SLOTS as u64 - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    at: Micros,
    seq: u64,
    ev: Ev,
}

impl Entry {
    fn key(&self) -> (Micros, u64) {
        (self.at, self.seq)
    }

    fn slot(&self) -> u64 {
        self.at >> SLOT_SHIFT
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Min-queue of events by time, FIFO among equal times.
///
/// Invariants: `front` holds every event of slot `cur` or earlier, sorted
/// latest first (the next event is its last); the wheel holds the events of
/// slots `cur + 1 .. cur + SLOTS` at index `slot & MASK`, and `occupied` has a
/// bit set for each non-empty one; `far` holds the rest. `front` is empty only
/// when the whole queue is.
#[derive(Debug)]
pub struct EventQueue {
    front: Vec<Entry>,
    wheel: Vec<Vec<Entry>>,
    occupied: Vec<u64>,
    in_wheel: usize,
    far: BinaryHeap<Reverse<Entry>>,
    cur: u64,
    seq: u64,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue {
            front: Vec::new(),
            wheel: vec![Vec::new(); SLOTS],
            occupied: vec![0; SLOTS / 64],
            in_wheel: 0,
            far: BinaryHeap::new(),
            cur: 0,
            seq: 0,
        }
    }
}

impl EventQueue {
    /// Schedule `ev` at `at`.
    pub fn push(&mut self, at: Micros, ev: Ev) {
        self.seq += 1;
        let e = Entry {
            at,
            seq: self.seq,
            ev,
        };
        let slot = e.slot();
        if self.front.is_empty() {
            // Empty queue: the wheel starts at this event's slot.
            self.cur = slot;
            self.front.push(e);
        } else if slot <= self.cur {
            let k = e.key();
            let pos = self.front.partition_point(|x| x.key() > k);
            self.front.insert(pos, e);
        } else if slot - self.cur < SLOTS as u64 {
            self.put(slot, e);
        } else {
            self.far.push(Reverse(e));
        }
    }

    fn put(&mut self, slot: u64, e: Entry) {
        let i = (slot & MASK) as usize;
        self.wheel[i].push(e);
        self.occupied[i / 64] |= 1 << (i % 64);
        self.in_wheel += 1;
    }

    /// Time of the next event.
    pub fn peek_time(&self) -> Option<Micros> {
        self.front.last().map(|e| e.at)
    }

    /// Remove and return the next event.
    pub fn pop(&mut self) -> Option<(Micros, Ev)> {
        let e = self.front.pop()?;
        if self.front.is_empty() {
            self.advance();
        }
        Some((e.at, e.ev))
    }

    /// `front` ran out: make the next non-empty slot current.
    fn advance(&mut self) {
        self.cur = if self.in_wheel > 0 {
            self.next_occupied()
        } else if let Some(Reverse(e)) = self.far.peek() {
            e.slot()
        } else {
            return;
        };
        // Slots that entered the window take their events from `far`.
        while let Some(Reverse(e)) = self.far.peek() {
            let slot = e.slot();
            if slot - self.cur >= SLOTS as u64 {
                break;
            }
            if let Some(Reverse(e)) = self.far.pop() {
                self.put(slot, e);
            }
        }
        let i = (self.cur & MASK) as usize;
        std::mem::swap(&mut self.front, &mut self.wheel[i]);
        self.occupied[i / 64] &= !(1 << (i % 64));
        self.in_wheel -= self.front.len();
        self.front.sort_unstable_by(|a, b| b.cmp(a));
    }

    /// The first non-empty wheel slot after `cur` (there is one).
    fn next_occupied(&self) -> u64 {
        let mut idx = ((self.cur + 1) & MASK) as usize;
        let mut dist = 0u64;
        loop {
            let bits = self.occupied[idx / 64] >> (idx % 64);
            if bits != 0 {
                return self.cur + 1 + dist + u64::from(bits.trailing_zeros());
            }
            let skip = 64 - idx % 64;
            dist += skip as u64;
            idx = (idx + skip) % SLOTS;
        }
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.front.len() + self.in_wheel + self.far.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.front.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgepick_core::rng::{Rng, SplitMix64};

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

    /// The wheel gives exactly the order of one binary heap over (time,
    /// sequence), for delays from 0 to far past the wheel, pushes behind the
    /// clock, and a queue that empties and restarts.
    #[test]
    fn same_order_as_a_heap() {
        let mut rng = SplitMix64::new(7);
        let mut q = EventQueue::default();
        let mut heap = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        const SLOT_US: u64 = 1 << SLOT_SHIFT;
        let horizon = SLOT_US * SLOTS as u64;
        for round in 0..200_000u32 {
            let pushes = if rng.below(3) == 0 {
                0
            } else {
                1 + rng.below(3)
            };
            for _ in 0..pushes {
                let at = match rng.below(8) {
                    0 => now,
                    1 => now + rng.below(SLOT_US),
                    2 => now + rng.below(3 * horizon),
                    3 => now + horizon - SLOT_US + rng.below(3 * SLOT_US),
                    // Behind the clock: the simulator never does this.
                    4 => now.saturating_sub(rng.below(100)),
                    _ => now + rng.below(20_000),
                };
                seq += 1;
                let ev = Ev::Arrive(round);
                q.push(at, ev);
                heap.push(Reverse((at, seq, round)));
            }
            assert_eq!(q.len(), heap.len());
            assert_eq!(q.peek_time(), heap.peek().map(|Reverse(e)| e.0));
            if rng.below(2) == 0 {
                let got = q.pop();
                let want = heap.pop().map(|Reverse((at, _, r))| (at, Ev::Arrive(r)));
                assert_eq!(got, want, "round {round}");
                if let Some((at, _)) = got {
                    now = now.max(at);
                }
            }
        }
        while let Some(Reverse((at, _, r))) = heap.pop() {
            assert_eq!(q.pop(), Some((at, Ev::Arrive(r))));
        }
        assert!(q.is_empty() && q.pop().is_none());
    }
}
