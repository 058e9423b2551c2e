//! Which responses are read for a load report. A header the response does
//! not carry still costs Envoy ~4,600 instructions to ask for (`cargo xtask
//! bench --instructions`, "floor + a missing header's read"), and RFWS asks
//! for two (ORCA `endpoint-load-metrics`, then `x-edgepick-load`): ~9,300
//! per request for backends that never report, the common case.
//!
//! So, per backend and per worker: every response is read until
//! [`QUIET_AFTER`] in a row carried no report; from then on one response in
//! [`QUIET_EVERY`] is read, and the first report found makes every response
//! read again. A backend that starts reporting is heard within
//! [`QUIET_EVERY`] of its responses on each worker; one that reports keeps
//! every report read.

/// Responses without a report after which a backend counts as quiet.
pub const QUIET_AFTER: u32 = 32;
/// A quiet backend's responses are read one in this many.
pub const QUIET_EVERY: u32 = 32;

/// Per backend: responses in a row read (or skipped) without a report.
#[derive(Debug, Clone, Default)]
pub struct ReportSampling {
    quiet: Vec<u32>,
}

impl ReportSampling {
    /// For `n` backends, every one read at first.
    pub fn new(n: usize) -> Self {
        ReportSampling { quiet: vec![0; n] }
    }

    /// Whether to read this response of backend `served` (`None`: not known
    /// yet, read) for a report.
    pub fn read(&self, served: Option<usize>) -> bool {
        match served.and_then(|i| self.quiet.get(i)) {
            Some(&q) => q < QUIET_AFTER || q.is_multiple_of(QUIET_EVERY),
            None => true,
        }
    }

    /// A response of `served` was read (`reported`: it carried a report) or
    /// skipped (`reported` false).
    pub fn record(&mut self, served: Option<usize>, reported: bool) {
        if let Some(q) = served.and_then(|i| self.quiet.get_mut(i)) {
            *q = if reported { 0 } else { q.saturating_add(1) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_backend_is_read_one_response_in_thirty_two() {
        let mut r = ReportSampling::new(2);
        let mut reads = 0;
        for _ in 0..QUIET_AFTER + 32 * QUIET_EVERY {
            if r.read(Some(0)) {
                reads += 1;
            }
            r.record(Some(0), false);
        }
        assert_eq!(
            reads,
            QUIET_AFTER + 32,
            "every response at first, then 1 in 32"
        );
        assert!(r.read(Some(1)), "another backend is not affected");
        assert!(r.read(None), "an unknown server is read");
    }

    #[test]
    fn a_report_makes_every_response_read_again() {
        let mut r = ReportSampling::new(1);
        for _ in 0..QUIET_AFTER + 5 {
            r.record(Some(0), false);
        }
        assert!(!r.read(Some(0)));
        // Within QUIET_EVERY responses one is read; it carries a report.
        let heard = (0..QUIET_EVERY).find(|_| {
            let read = r.read(Some(0));
            r.record(Some(0), read);
            read
        });
        assert!(heard.is_some(), "heard within {QUIET_EVERY} responses");
        for _ in 0..100 {
            assert!(r.read(Some(0)));
            r.record(Some(0), true);
        }
    }

    #[test]
    fn out_of_range_backends_are_ignored() {
        let mut r = ReportSampling::new(1);
        r.record(Some(7), false);
        assert!(r.read(Some(7)));
    }
}
