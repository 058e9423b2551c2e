//! "Why this node?": the router's own decision for a request arriving now,
//! with the RFWS inputs of every node as the core reads them
//! ([`BackendState::v_fs`], [`BackendState::delay_ms`],
//! [`BackendState::residual_mbps`]) and the `A` the selector scored
//! ([`Decision::scores`]). The page shows these values; it computes none.
//!
//! The decision is taken by a copy of the router (same configuration, same
//! backend state) for a request without a cookie, so asking does not change
//! the run: nothing is counted in flight, and the run's random stream is not
//! drawn from.
//!
//! [`BackendState::v_fs`]: edgepick_core::backend::BackendState::v_fs
//! [`BackendState::delay_ms`]: edgepick_core::backend::BackendState::delay_ms
//! [`BackendState::residual_mbps`]: edgepick_core::backend::BackendState::residual_mbps
//! [`Decision::scores`]: edgepick_core::decision::Decision::scores

use crate::engine::Simulation;
use edgepick_core::config::Algorithm;
use edgepick_core::decision::{Decision, Reason, TieBreak};
use edgepick_core::rng::SplitMix64;
use edgepick_core::router::Request;
use edgepick_core::Router;
use serde::Serialize;

/// One node's inputs to the pick.
#[derive(Debug, Clone, Serialize)]
pub struct WhyNode {
    /// Name.
    pub name: String,
    /// Eligible: healthy in the edge's view.
    pub eligible: bool,
    /// `V_net = B / h`, Mbps per hop.
    pub v_net: f64,
    /// `V_FS`, load in `[0, 1]`.
    pub v_fs: f64,
    /// Above the load threshold (RFWS step 3 leaves it out while others remain).
    pub over_threshold: bool,
    /// `A` as RFWS scored it, when it was scored for this pick (RFWS only).
    pub a: Option<f64>,
    /// The score another algorithm decided by ([`Decision::scores`]: e.g.
    /// load per weight), when it has one for this node.
    pub score: Option<f64>,
    /// Within the tie band of the best `A` (RFWS).
    pub in_band: bool,
    /// `D`, ms.
    pub d_ms: f64,
    /// `B_R`, Mbps.
    pub b_r_mbps: f64,
}

/// The pick for a request arriving now, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    /// Simulated time, ms.
    pub t_ms: f64,
    /// Algorithm name.
    pub algorithm: String,
    /// Index of the chosen node.
    pub choice: Option<usize>,
    /// Its name.
    pub choice_name: Option<String>,
    /// What decided: `availability` (RFWS step 3), `delay` (4),
    /// `residual_bandwidth` (5), `random` (6), or the reason of another
    /// algorithm (`round_robin`, `least_loaded`, `hash`, …).
    pub decided_by: String,
    /// The paper's step that decided (RFWS only).
    pub step: Option<u8>,
    /// The core's one-line explanation ([`Decision::explain`]).
    pub explain: String,
    /// RFWS `tie_tolerance`.
    pub tie_tolerance: Option<f64>,
    /// RFWS `load_threshold`.
    pub load_threshold: Option<f64>,
    /// Lowest `A` still tied with the best: `A_best · (1 − tie_tolerance)`.
    pub band_from: Option<f64>,
    /// Best `A` among the nodes at or below the threshold.
    pub best_a: Option<f64>,
    /// Choice then fallbacks, by name.
    pub ranked: Vec<String>,
    /// Per node, in server order.
    pub nodes: Vec<WhyNode>,
}

/// What decided and the RFWS step number.
fn decided(reason: Reason) -> (String, Option<u8>) {
    let (s, step) = match reason {
        Reason::Score { tie } => match tie {
            TieBreak::None => ("availability", Some(3)),
            TieBreak::Delay => ("delay", Some(4)),
            TieBreak::ResidualBandwidth => ("residual_bandwidth", Some(5)),
            TieBreak::Random => ("random", Some(6)),
        },
        Reason::Cookie => ("cookie", Some(2)),
        Reason::LeastLoaded => ("least_loaded", None),
        Reason::Hash { .. } => ("hash", None),
        Reason::HashFallback => ("hash_fallback", None),
        Reason::RoundRobin => ("round_robin", None),
        Reason::Random => ("random_draw", None),
        Reason::NoBackend => ("no_backend", None),
    };
    (s.to_string(), step)
}

impl Simulation {
    /// The router's decision for a request (no cookie) arriving now, taken
    /// on a copy of the router so the run is unchanged.
    pub fn decide_now(&self) -> Decision {
        let mut router = Router::new(self.router.config().clone());
        router.states_mut().clone_from_slice(self.router.states());
        let req = Request {
            peer: None,
            forwarded_for: None,
            cookie: None,
            path: "/",
            headers: &[],
        };
        let mut rng = SplitMix64::new(self.topo.seed ^ self.now);
        router
            .pick(&req, self.now / 1000, &mut rng)
            .decision()
            .clone()
    }

    /// "Why this node?" for a request arriving now.
    pub fn why(&self) -> Why {
        let d = self.decide_now();
        let cfg = self.router.config();
        let now_ms = self.now / 1000;
        let (tol, threshold) = match cfg.algorithm {
            Algorithm::Rfws {
                tie_tolerance,
                load_threshold,
            } => (Some(tie_tolerance), Some(load_threshold)),
            _ => (None, None),
        };
        let healthy = self.healthy();
        let mut nodes: Vec<WhyNode> = cfg
            .backends
            .iter()
            .zip(self.router.states())
            .enumerate()
            .map(|(i, (b, s))| {
                let v_fs = s.v_fs(b, now_ms);
                let score = d.scores.iter().find(|x| x.0 == i).map(|x| x.1);
                WhyNode {
                    name: b.name.clone(),
                    eligible: healthy[i],
                    v_net: b.link.bandwidth_mbps / f64::from(b.link.hops.max(1)),
                    v_fs,
                    over_threshold: threshold.is_some_and(|t| v_fs > t),
                    a: score.filter(|_| tol.is_some()),
                    score: score.filter(|_| tol.is_none()),
                    in_band: false,
                    d_ms: s.delay_ms(b),
                    b_r_mbps: s.residual_mbps(b),
                }
            })
            .collect();
        let best_a = nodes
            .iter()
            .filter(|n| !n.over_threshold)
            .filter_map(|n| n.a)
            .reduce(f64::max);
        let band_from = best_a.zip(tol).map(|(a, t)| a * (1.0 - t));
        if let Some(from) = band_from {
            for n in &mut nodes {
                n.in_band = !n.over_threshold && n.a.is_some_and(|a| a >= from);
            }
        }
        let (decided_by, step) = decided(d.reason);
        let name = |i: usize| nodes[i].name.clone();
        Why {
            t_ms: self.now_ms(),
            algorithm: d.algorithm.to_string(),
            choice: d.primary(),
            choice_name: d.primary().map(name),
            decided_by,
            step,
            explain: d.explain(cfg),
            tie_tolerance: tol,
            load_threshold: threshold,
            band_from,
            best_a,
            ranked: d.ranked.iter().map(|&i| name(i)).collect(),
            nodes,
        }
    }
}
