//! [`LinkRtt`]: the route delay `D(r)` of RFWS step 4, measured the way the
//! paper's fault-detection centre can measure it: from the round trips of the
//! heartbeats it already exchanges with each node.
//!
//! `D` is the one-way delay of the route, in milliseconds, the unit of the
//! configured `link.delay_ms`. A heartbeat's round trip is two link crossings
//! plus the node's time to answer a trivial request, so the *smallest* round
//! trip over the heartbeat window, halved, is the estimate: queueing and
//! service time only ever add to a sample, and the minimum filters them out
//! (service time belongs to the node's load `V_FS`, not to `D`). The estimate
//! holds its value between samples: it never decays while a node is idle.
//! Where no heartbeat has been measured, `D` is the configured delay.

/// How many round trips are kept (the newest ones): enough for the minimum
/// of a window to survive a few slow answers, at a fixed size.
const SAMPLES: usize = 8;

/// The newest heartbeat round trips of one node and the window they count in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkRtt {
    /// `(arrival ms, round trip ms)`, a ring; `len` of them are set.
    samples: [(u64, f64); SAMPLES],
    len: usize,
    next: usize,
}

impl LinkRtt {
    /// Record a heartbeat round trip of `rtt_ms` that ended at `now_ms`.
    /// Negative and non-finite samples are ignored (a clock that went back).
    pub fn record(&mut self, rtt_ms: f64, now_ms: u64) {
        if !rtt_ms.is_finite() || rtt_ms < 0.0 {
            return;
        }
        self.samples[self.next] = (now_ms, rtt_ms);
        self.next = (self.next + 1) % SAMPLES;
        self.len = (self.len + 1).min(SAMPLES);
    }

    /// The one-way delay in whole microseconds: half the smallest round trip
    /// that ended less than `window_ms` before `now_ms`, or `None` when none did.
    pub fn one_way_us(&self, now_ms: u64, window_ms: u64) -> Option<u32> {
        self.samples[..self.len]
            .iter()
            .filter(|&&(at, _)| at <= now_ms && now_ms - at < window_ms)
            .map(|&(_, rtt)| rtt)
            .min_by(f64::total_cmp)
            .map(|rtt| (rtt * 500.0).round().min(f64::from(u32::MAX)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_the_smallest_round_trip_in_the_window() {
        let mut l = LinkRtt::default();
        assert_eq!(l.one_way_us(0, 1000), None);
        l.record(10.0, 100);
        l.record(30.0, 200);
        l.record(50.0, 300);
        assert_eq!(l.one_way_us(300, 1000), Some(5_000));
        // The 10 ms sample leaves the window: the smallest left is 30 ms.
        assert_eq!(l.one_way_us(1150, 1000), Some(15_000));
        assert_eq!(l.one_way_us(5000, 1000), None, "nothing recent");
    }

    #[test]
    fn keeps_the_newest_samples_and_refuses_nonsense() {
        let mut l = LinkRtt::default();
        l.record(1.0, 1);
        for t in 2..=SAMPLES as u64 + 1 {
            l.record(9.0, t);
        }
        assert_eq!(
            l.one_way_us(100, 1000),
            Some(4_500),
            "the 1 ms sample was pushed out"
        );
        l.record(f64::NAN, 101);
        l.record(-3.0, 102);
        l.record(f64::INFINITY, 103);
        assert_eq!(l.one_way_us(103, 1000), Some(4_500));
    }
}
