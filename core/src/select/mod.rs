//! Selection algorithms: each a small type behind [`Selector`].
//!
//! After pingora's `selection/`: a selector is built once from the configuration
//! (tables such as the ketama ring or the maglev table are made then), and each
//! pick yields the choice *and its fallbacks*, de-duplicated and bounded
//! ([`Ranked`]). Health, weight-0 draining and panic mode are resolved by the
//! [`crate::Router`] into [`Candidates::eligible`] before a selector runs.

mod changes;
/// The [`Selector`] notifications of a selector whose optional `index`
/// field keeps its order: each is recorded in the index's
/// [`changes::Changes`] and applied at the next pick (`None`: the selector
/// scans, nothing to keep).
macro_rules! forward_to_index {
    () => {
        fn changed(&mut self, i: usize) {
            if let Some(ix) = &mut self.index {
                ix.changes.changed(i);
            }
        }

        fn reweighed(&mut self) {
            if let Some(ix) = &mut self.index {
                ix.changes.reweighed();
            }
        }

        fn resync(&mut self) {
            if let Some(ix) = &mut self.index {
                ix.changes.resync();
            }
        }
    };
}
pub(crate) use forward_to_index;

/// The [`Selector`] notifications of a hashing selector whose `rr` field is
/// its round-robin fallback: that keeps a list of eligible peers, so
/// eligibility and weight changes go to it (per-backend state changes do not
/// matter to a hash).
macro_rules! forward_to_round_robin {
    () => {
        fn reweighed(&mut self) {
            self.rr.reweighed();
        }

        fn resync(&mut self) {
            self.rr.resync();
        }
    };
}
pub(crate) use forward_to_round_robin;

mod ip_hash;
mod ketama;
mod least_conn;
mod least_response_time;
mod maglev;
mod ordered_set;
mod random;
mod rank;
mod rfws;
mod round_robin;
#[cfg(test)]
pub(crate) mod testutil;
mod tourney;

pub use ip_hash::IpHash;
pub use ketama::Ketama;
pub use least_conn::LeastConnections;
pub use least_response_time::LeastResponseTime;
pub use maglev::Maglev;
pub use random::{Random, WeightedRandom};
pub use rank::Ranked;
pub use rfws::Rfws;
pub use round_robin::RoundRobin;

use crate::backend::BackendState;
use crate::config::{Algorithm, Backend, HashFlavour};
use crate::decision::Reason;
use crate::rng::Rng;
use std::net::IpAddr;

/// What a selector sees for one pick.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    /// Configured backends, in configuration order.
    pub backends: &'a [Backend],
    /// Live state, same order.
    pub states: &'a [BackendState],
    /// Which backends may receive this request (healthy, weight > 0, not excluded).
    pub eligible: &'a [bool],
    /// Effective weights (configured weight × slow start), same order.
    pub weights: &'a [f64],
    /// Current time, ms.
    pub now_ms: u64,
}

impl Candidates<'_> {
    /// Number of backends (eligible or not).
    pub fn len(&self) -> usize {
        self.backends.len()
    }

    /// True when there are no backends.
    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }

    /// Indices of eligible backends, in order.
    pub fn eligible_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.eligible
            .iter()
            .enumerate()
            .filter(|(_, &e)| e)
            .map(|(i, _)| i)
    }
}

/// The request-derived key hash algorithms use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Key<'a> {
    /// The client address (after trusted X-Forwarded-For hops).
    pub client: Option<IpAddr>,
    /// The consistent-hash key bytes, when the configured source had one.
    pub hash: Option<&'a [u8]>,
}

/// A selector's answer before the router adds cookie and panic information.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Choice then fallbacks; unique; at most the requested limit.
    pub ranked: Vec<usize>,
    /// Why `ranked[0]`.
    pub reason: Reason,
    /// Scores by backend index, if the algorithm scores.
    pub scores: Vec<(usize, f64)>,
}

impl Selection {
    /// An empty answer: nothing eligible.
    pub fn none() -> Self {
        Selection {
            ranked: Vec::new(),
            reason: Reason::NoBackend,
            scores: Vec::new(),
        }
    }
}

/// One selection algorithm.
pub trait Selector: Send {
    /// Backend `i`'s live state changed since the last pick (in-flight count,
    /// latency, load report, throughput, passive health). Selectors that keep
    /// an index over the backends (RFWS, least connections, least response
    /// time) re-rank `i` at the
    /// next pick, O(log n); the default ignores it.
    fn changed(&mut self, _i: usize) {}

    /// Eligibility or effective weights may have changed (the router
    /// recomputed them), per-backend state did not. Indexing selectors compare
    /// them with their copy at the next pick (O(n) over two flat arrays) and
    /// re-rank the backends that differ. The default ignores it.
    fn reweighed(&mut self) {}

    /// Anything may have changed (state handed out wholesale): indexing
    /// selectors rebuild at the next pick, O(n log n). The default ignores it.
    fn resync(&mut self) {}

    /// Whether [`Selection::scores`] is filled (`true` at first). A front end
    /// that never reads the scores turns them off to spare each pick building
    /// them; the ranking is the same either way. The default ignores it (such
    /// selectors fill them regardless).
    fn record_scores(&mut self, _on: bool) {}

    /// Rank up to `limit` distinct eligible backends, best first. Must return an
    /// empty list only when no backend is eligible, and must never return an
    /// ineligible backend.
    ///
    /// A caller that reuses a selector across picks must report every change to
    /// what [`Candidates`] lends other than `now_ms` through
    /// [`Selector::changed`], [`Selector::reweighed`] or [`Selector::resync`]
    /// before the next pick.
    fn select(
        &mut self,
        c: &Candidates<'_>,
        key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection;
}

/// Build the selector the configuration names. Tables are built here, once.
pub fn build(algorithm: &Algorithm, backends: &[Backend]) -> Box<dyn Selector> {
    match algorithm {
        Algorithm::Rfws {
            tie_tolerance,
            load_threshold,
        } => Box::new(Rfws::new(*tie_tolerance, *load_threshold, backends)),
        Algorithm::RoundRobin => Box::new(RoundRobin::new(backends)),
        Algorithm::Random => Box::new(Random),
        Algorithm::WeightedRandom => Box::new(WeightedRandom),
        Algorithm::LeastConnections { choices } => Box::new(LeastConnections::new(*choices)),
        Algorithm::LeastResponseTime {
            decay_ms,
            default_rtt_ms,
        } => Box::new(LeastResponseTime::new(*decay_ms, *default_rtt_ms)),
        Algorithm::IpHash => Box::new(IpHash::new(backends)),
        Algorithm::ConsistentHash {
            flavour: HashFlavour::Ketama,
            ..
        } => Box::new(Ketama::new(backends)),
        Algorithm::ConsistentHash {
            flavour: HashFlavour::Maglev { table_size },
            ..
        } => Box::new(Maglev::new(backends, *table_size)),
    }
}

/// [`build`], but the indexed selectors (RFWS, least connections, least
/// response time) replaced by
/// their reference full scans: for tests that compare the two.
#[doc(hidden)]
pub fn build_reference(algorithm: &Algorithm, backends: &[Backend]) -> Box<dyn Selector> {
    match algorithm {
        Algorithm::Rfws {
            tie_tolerance,
            load_threshold,
        } => Box::new(Rfws::reference(*tie_tolerance, *load_threshold, backends)),
        Algorithm::LeastConnections { choices } => Box::new(LeastConnections::reference(*choices)),
        Algorithm::LeastResponseTime {
            decay_ms,
            default_rtt_ms,
        } => Box::new(LeastResponseTime::reference(*decay_ms, *default_rtt_ms)),
        _ => build(algorithm, backends),
    }
}
