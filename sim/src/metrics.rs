//! Metrics per time bucket: answered / dropped / failed counts, a log-scale
//! latency histogram (percentiles within ±7.5 %), requests sent to each node,
//! and in-flight and health sampled when the bucket closes.

use super::queue::Micros;
use serde::Serialize;

/// Histogram bins: bin k holds latencies in `[0.1 ms · R^k, 0.1 ms · R^(k+1))`.
const BINS: usize = 100;
const RATIO: f64 = 1.15;
const BASE_MS: f64 = 0.1;

/// How a request ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Answered (2xx).
    Ok,
    /// Refused by a full server queue (503).
    Dropped,
    /// No answer: dead node, connect timeout, reset, or no backend at all.
    Failed,
}

/// The bin of latency `ms`.
fn bin(ms: f64) -> usize {
    let k = if ms <= BASE_MS {
        0
    } else {
        ((ms / BASE_MS).ln() / RATIO.ln()) as usize
    };
    k.min(BINS - 1)
}

/// A latency histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bins: [u32; BINS],
    count: u64,
    sum_ms: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            bins: [0; BINS],
            count: 0,
            sum_ms: 0.0,
        }
    }
}

impl Histogram {
    /// Add one latency.
    pub fn add(&mut self, ms: f64) {
        self.add_in(bin(ms), ms);
    }

    /// Add latency `ms`, whose bin is `k`.
    fn add_in(&mut self, k: usize, ms: f64) {
        self.bins[k] += 1;
        self.count += 1;
        self.sum_ms += ms;
    }

    /// Add another histogram.
    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.bins.iter_mut().zip(o.bins.iter()) {
            *a += b;
        }
        self.count += o.count;
        self.sum_ms += o.sum_ms;
    }

    /// Mean, ms (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ms / self.count as f64
        }
    }

    /// The `q`-quantile (0..1), ms, as the geometric middle of its bin (0 when empty).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let target = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (k, &n) in self.bins.iter().enumerate() {
            seen += u64::from(n);
            if seen >= target {
                return BASE_MS * RATIO.powf(k as f64 + 0.5);
            }
        }
        BASE_MS * RATIO.powf(BINS as f64)
    }
}

/// One bucket's raw counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Answered.
    pub ok: u64,
    /// Dropped (queue full).
    pub dropped: u64,
    /// Failed (no answer).
    pub failed: u64,
    /// Latency of answered requests.
    pub latency: Histogram,
    /// Requests sent to each node (picks and direct requests).
    pub sent: Vec<u32>,
    /// Requests in the system when the bucket closed.
    pub in_flight: u32,
    /// Each node as the edge saw it when the bucket closed.
    pub healthy: Vec<bool>,
}

/// A bucket as shown to the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketView {
    /// Bucket start, ms.
    pub t_ms: u64,
    /// Answered per second.
    pub throughput: f64,
    /// Median latency, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Mean latency, ms.
    pub mean: f64,
    /// Answered.
    pub ok: u64,
    /// Dropped + failed.
    pub errors: u64,
    /// Dropped.
    pub dropped: u64,
    /// Failed.
    pub failed: u64,
    /// Requests sent to each node.
    pub sent: Vec<u32>,
    /// In flight at the close.
    pub in_flight: u32,
    /// Health per node at the close.
    pub healthy: Vec<bool>,
}

/// All buckets plus running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    bucket_us: Micros,
    nodes: usize,
    /// Buckets, the i-th covering `[i·w, (i+1)·w)`.
    pub buckets: Vec<Bucket>,
    /// Every answered latency.
    pub total_latency: Histogram,
    /// Requests generated.
    pub generated: u64,
    /// Answered.
    pub ok: u64,
    /// Dropped.
    pub dropped: u64,
    /// Failed.
    pub failed: u64,
    /// Requests sent to each node.
    pub sent: Vec<u64>,
}

impl Metrics {
    /// Empty metrics with buckets of `bucket_ms` for `nodes` nodes.
    pub fn new(bucket_ms: u64, nodes: usize) -> Self {
        Metrics {
            bucket_us: bucket_ms.max(1).saturating_mul(1000),
            nodes,
            buckets: Vec::new(),
            total_latency: Histogram::default(),
            generated: 0,
            ok: 0,
            dropped: 0,
            failed: 0,
            sent: vec![0; nodes],
        }
    }

    /// Bucket width, ms.
    pub fn bucket_ms(&self) -> u64 {
        self.bucket_us / 1000
    }

    fn bucket(&mut self, at: Micros) -> &mut Bucket {
        let i = (at / self.bucket_us) as usize;
        while self.buckets.len() <= i {
            self.buckets.push(Bucket {
                sent: vec![0; self.nodes],
                ..Bucket::default()
            });
        }
        &mut self.buckets[i]
    }

    /// A request ended at `at` (may be ahead of the clock: deterministic tail).
    pub fn end(&mut self, at: Micros, end: End, latency_us: Micros) {
        let ms = latency_us as f64 / 1000.0;
        match end {
            End::Ok => {
                self.ok += 1;
                // One logarithm for both histograms.
                let k = bin(ms);
                self.total_latency.add_in(k, ms);
                let b = self.bucket(at);
                b.ok += 1;
                b.latency.add_in(k, ms);
            }
            End::Dropped => {
                self.dropped += 1;
                self.bucket(at).dropped += 1;
            }
            End::Failed => {
                self.failed += 1;
                self.bucket(at).failed += 1;
            }
        }
    }

    /// A request was sent to node `i` at `at`.
    pub fn sent(&mut self, at: Micros, i: usize) {
        self.sent[i] += 1;
        self.bucket(at).sent[i] += 1;
    }

    /// Close the bucket that ends at `at`.
    pub fn close(&mut self, at: Micros, in_flight: u32, healthy: Vec<bool>) {
        let b = self.bucket(at.saturating_sub(1));
        b.in_flight = in_flight;
        b.healthy = healthy;
    }

    /// Bucket `i` for display.
    pub fn view(&self, i: usize) -> Option<BucketView> {
        let b = self.buckets.get(i)?;
        let secs = self.bucket_us as f64 / 1e6;
        Some(BucketView {
            t_ms: (i as u64).saturating_mul(self.bucket_ms()),
            throughput: b.ok as f64 / secs,
            p50: b.latency.quantile(0.50),
            p95: b.latency.quantile(0.95),
            p99: b.latency.quantile(0.99),
            mean: b.latency.mean(),
            ok: b.ok,
            errors: b.dropped + b.failed,
            dropped: b.dropped,
            failed: b.failed,
            sent: b.sent.clone(),
            in_flight: b.in_flight,
            healthy: b.healthy.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let mut h = Histogram::default();
        for i in 1..=1000 {
            h.add(i as f64);
        }
        for (q, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q);
            assert!((got / want - 1.0).abs() < 0.08, "q{q}: {got} vs {want}");
        }
        assert!((h.mean() - 500.5).abs() < 1e-9);
    }
}
