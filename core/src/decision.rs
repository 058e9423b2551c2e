//! What a pick returns: the ranked list and why.

use crate::config::Config;
use serde::Serialize;

/// Which RFWS tie-break step decided (paper steps 3–6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// One node had the best score outright (step 3).
    None,
    /// Smallest delay `D` (step 4).
    Delay,
    /// Largest residual bandwidth `B_R` (step 5).
    ResidualBandwidth,
    /// At random among the still-tied (step 6).
    Random,
}

/// Why the first backend was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reason {
    /// A valid session cookie named a healthy backend (RFWS step 2).
    Cookie,
    /// Highest score, with the tie-break step that decided.
    Score {
        /// The step that broke a tie, if any.
        tie: TieBreak,
    },
    /// Lowest load (least connections / least response time).
    LeastLoaded,
    /// A hash of the request key; `rehashes` re-hashes were needed.
    Hash {
        /// Re-hash rounds (nginx ip_hash) or ring steps skipped.
        rehashes: u32,
    },
    /// The hash found nothing usable within its tries: round robin instead (nginx).
    HashFallback,
    /// Next in the (weighted) round-robin sequence.
    RoundRobin,
    /// A random draw.
    Random,
    /// No backend can take the request.
    NoBackend,
}

/// The result of one pick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Backend indices: the choice first, then fallbacks; unique, bounded.
    pub ranked: Vec<usize>,
    /// Algorithm name.
    pub algorithm: &'static str,
    /// Why `ranked[0]` was chosen.
    pub reason: Reason,
    /// Scores that decided, by backend index (algorithm-specific; may be empty).
    pub scores: Vec<(usize, f64)>,
    /// Too few healthy backends: health was ignored (panic mode).
    pub panic: bool,
}

impl Decision {
    /// The chosen backend, if any.
    pub fn primary(&self) -> Option<usize> {
        self.ranked.first().copied()
    }

    /// `ip:port,ip:port,…` for Envoy's `override_host` header.
    pub fn endpoints(&self, cfg: &Config) -> String {
        let mut out = String::new();
        for (n, &i) in self.ranked.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            if let Some(b) = cfg.backends.get(i) {
                out.push_str(&b.address.to_string());
            }
        }
        out
    }

    /// One line for logs and the `x-edgepick-decision` header, e.g.
    /// `rfws choice=b reason=score tie=delay fallbacks=a,c scores=a:12.5,b:12.9`.
    pub fn explain(&self, cfg: &Config) -> String {
        let name = |i: usize| cfg.backends.get(i).map_or("?", |b| b.name.as_str());
        let mut s = format!(
            "{} choice={}",
            self.algorithm,
            self.primary().map_or("none", name)
        );
        match self.reason {
            Reason::Cookie => s.push_str(" reason=cookie"),
            Reason::Score { tie } => {
                s.push_str(" reason=score");
                if tie != TieBreak::None {
                    let t = match tie {
                        TieBreak::Delay => "delay",
                        TieBreak::ResidualBandwidth => "residual_bandwidth",
                        _ => "random",
                    };
                    s.push_str(" tie=");
                    s.push_str(t);
                }
            }
            Reason::LeastLoaded => s.push_str(" reason=least_loaded"),
            Reason::Hash { rehashes } => s.push_str(&format!(" reason=hash rehashes={rehashes}")),
            Reason::HashFallback => s.push_str(" reason=hash_fallback"),
            Reason::RoundRobin => s.push_str(" reason=round_robin"),
            Reason::Random => s.push_str(" reason=random"),
            Reason::NoBackend => s.push_str(" reason=no_backend"),
        }
        if self.panic {
            s.push_str(" panic=1");
        }
        if self.ranked.len() > 1 {
            let f: Vec<&str> = self.ranked[1..].iter().map(|&i| name(i)).collect();
            s.push_str(" fallbacks=");
            s.push_str(&f.join(","));
        }
        if !self.scores.is_empty() {
            let sc: Vec<String> = self
                .scores
                .iter()
                .map(|&(i, v)| format!("{}:{:.4}", name(i), v))
                .collect();
            s.push_str(" scores=");
            s.push_str(&sc.join(","));
        }
        s
    }
}
