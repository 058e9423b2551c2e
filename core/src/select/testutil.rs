//! Test fixtures: backends, live state and eligibility built in a line or two,
//! lent out as [`Candidates`].

use super::Candidates;
use crate::backend::BackendState;
use crate::config::{Backend, Link};

/// Backends `a`, `b`, `c`, … at `127.0.0.1:9001`, `:9002`, … with these
/// weights (the hash algorithms' reference vectors use these names and addresses).
pub(crate) fn lettered(weights: &[u32]) -> Vec<Backend> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| Backend {
            name: ((b'a' + i as u8) as char).to_string(),
            address: format!("127.0.0.1:{}", 9001 + i).parse().unwrap(),
            url: None,
            weight,
            capacity: 100,
            link: Link::default(),
            down: false,
        })
        .collect()
}

/// Everything a [`Candidates`] borrows, owned.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    pub backends: Vec<Backend>,
    pub states: Vec<BackendState>,
    pub eligible: Vec<bool>,
    pub weights: Vec<f64>,
    pub now_ms: u64,
}

impl Fixture {
    /// `n` backends `b0..`, weight 1, capacity 100, default links, all eligible.
    pub fn new(n: usize) -> Self {
        Self::weighted(&vec![1; n])
    }

    /// One backend per weight; weight 0 makes it ineligible (as the router does).
    pub fn weighted(weights: &[u32]) -> Self {
        let backends: Vec<Backend> = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Backend {
                name: format!("b{i}"),
                address: format!("127.0.0.1:{}", 9000 + i).parse().unwrap(),
                url: None,
                weight,
                capacity: 100,
                link: Link::default(),
                down: false,
            })
            .collect();
        Fixture {
            states: vec![BackendState::default(); backends.len()],
            eligible: weights.iter().map(|&w| w > 0).collect(),
            weights: weights.iter().map(|&w| f64::from(w)).collect(),
            backends,
            now_ms: 0,
        }
    }

    /// Set backend `i`'s route: bandwidth `B`, hops `h`, delay `D`, residual `B_R`.
    pub fn link(
        mut self,
        i: usize,
        bandwidth_mbps: f64,
        hops: u32,
        delay_ms: f64,
        residual_mbps: f64,
    ) -> Self {
        self.backends[i].link = Link {
            bandwidth_mbps,
            hops,
            delay_ms,
            residual_mbps,
        };
        self
    }

    /// Set backend `i`'s in-flight requests.
    pub fn inflight(mut self, i: usize, n: u32) -> Self {
        self.states[i].inflight = n;
        self
    }

    /// The candidates view.
    pub fn candidates(&self) -> Candidates<'_> {
        Candidates {
            backends: &self.backends,
            states: &self.states,
            eligible: &self.eligible,
            weights: &self.weights,
            now_ms: self.now_ms,
        }
    }
}
