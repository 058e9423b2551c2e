//! Least connections: the fewest in-flight requests per unit of weight.
//!
//! * `choices = None` scans every eligible backend for the lowest load
//!   `(inflight + 1) / weight` (LVS `sed`; nginx `least_conn` compares
//!   `conns / weight`). Equal loads are broken **at random** with `rng`: nginx
//!   breaks them by weighted round robin, which needs per-peer state the
//!   selector would have to keep in step with the router; a uniform draw among
//!   the tied spreads load the same way on average and stays stateless.
//! * `choices = Some(k)` is Envoy's `least_request`: sample `k` eligible
//!   backends uniformly *with replacement* and keep a sample only when it is
//!   strictly better. Envoy compares active requests for equal weights and
//!   `weight / (active + 1)^bias` (bias 1) for unequal ones; with bias 1 both
//!   are "strictly lower `(active + 1) / weight`", the load used here.
//!
//! Loads are compared by cross-multiplication (`(a+1)·w' < (a'+1)·w`), so
//! no division is needed. Fallbacks, in both modes, are the remaining eligible
//! backends by ascending load (ties by index). `scores` holds the load of
//! every ranked backend (and, with `choices`, of every sample).
//!
//! **Cost.** A tournament tree over the backends ([`index`]) keeps the
//! lowest load, how many backends share it and the order by (load, index); the
//! router reports changes ([`Selector::changed`], O(log n) each at the next
//! pick; [`Selector::reweighed`], a comparison of eligibility and weights,
//! O(n), then O(log n) per backend that differs; [`Selector::resync`], a
//! rebuild, O(n)). A full-scan pick is then O(log n) for
//! the choice (the `r`-th tied backend is found through the tree's counts)
//! plus O(limit · log n) for the fallbacks; with `choices` the samples are
//! O(k) as before and the fallbacks O(limit · log n). The tree is used only
//! while every eligible weight is an integer up to 2^21, which makes the
//! cross-multiplied comparison exact and so a total preorder; a fractional
//! weight (slow start) or a huge one falls back to the full scan
//! ([`LeastConnections::reference`]), which is what a tree cannot reproduce
//! bit for bit when "equal load" is not transitive. Slow start already makes
//! the router recompute every weight on each pick, so that case was O(n)
//! anyway.

mod index;
#[cfg(test)]
mod tests;

use super::rank::{draw_eligible, offer};
use super::{Candidates, Key, Selection, Selector};
use crate::decision::Reason;
use crate::rng::Rng;
use index::Index;

/// One backend's load as a fraction kept apart: `(inflight + 1) / weight`.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    i: usize,
    pending: f64,
    weight: f64,
}

impl Load {
    fn of(c: &Candidates<'_>, i: usize) -> Self {
        Load::new(i, c.states[i].inflight, c.weights[i])
    }

    fn new(i: usize, inflight: u32, weight: f64) -> Self {
        Load {
            i,
            pending: f64::from(inflight) + 1.0,
            weight: weight.max(0.0),
        }
    }

    /// Strictly lower load.
    fn lower(&self, o: &Load) -> bool {
        self.pending * o.weight < o.pending * self.weight
    }

    /// Equal load.
    fn same(&self, o: &Load) -> bool {
        self.pending * o.weight == o.pending * self.weight
    }

    /// Lower load, then lower index: the fallback order.
    fn before(&self, o: &Load) -> bool {
        let (x, y) = (self.pending * o.weight, o.pending * self.weight);
        x < y || (x == y && self.i < o.i)
    }

    /// The load value reported in `scores` (infinite for weight 0).
    fn value(&self) -> f64 {
        self.pending / self.weight
    }
}

/// The index, brought up to date with `c`, when there is one and it can
/// answer exactly.
fn exact_index<'a>(index: &'a mut Option<Box<Index>>, c: &Candidates<'_>) -> Option<&'a mut Index> {
    let ix = index.as_deref_mut()?;
    ix.update(c);
    ix.exact().then_some(ix)
}

/// True when cross-multiplied loads compare exactly (every `pending · weight`
/// is below 2^53 and so rounds to itself), making "same load" transitive:
/// `pending` is at most 2^32, so an integral weight up to 2^21 suffices.
fn exact_weight(w: f64) -> bool {
    w <= 2_097_152.0 && f64::from(w as u32) == w
}

/// Least connections, full scan or Envoy-style sampling.
#[derive(Debug, Clone)]
pub struct LeastConnections {
    choices: Option<u32>,
    top: Vec<Load>,
    /// Indices tied at the lowest load, in order (full scan).
    ties: Vec<usize>,
    /// The tree; `None` for the reference scan.
    index: Option<Box<Index>>,
}

impl LeastConnections {
    /// `None`: the lowest load of all eligible backends; `Some(k)`: best of
    /// `k` samples. The selector keeps an index over the backends: whoever
    /// reuses it across picks must report state changes through
    /// [`Selector::changed`], [`Selector::reweighed`] and [`Selector::resync`]
    /// (the router does).
    pub fn new(choices: Option<u32>) -> Self {
        LeastConnections {
            index: Some(Box::default()),
            ..Self::reference(choices)
        }
    }

    /// The same rule by a full scan on every pick, O(n): the reference the
    /// indexed selector is tested against. Needs no change notifications.
    #[doc(hidden)]
    pub fn reference(choices: Option<u32>) -> Self {
        LeastConnections {
            choices,
            top: Vec::new(),
            ties: Vec::new(),
            index: None,
        }
    }

    /// One pass: the `k` lowest loads into `self.top`, the first lowest load,
    /// and the backends from it on that share it into `self.ties`. Also
    /// returns whether every weight was [`exact_weight`].
    fn scan(&mut self, c: &Candidates<'_>, k: usize, skip: Option<usize>) -> (Option<Load>, bool) {
        self.top.clear();
        self.ties.clear();
        let mut best: Option<Load> = None;
        let mut exact = true;
        let backends = c.states.iter().zip(c.eligible).zip(c.weights);
        for (i, ((s, &eligible), &w)) in backends.enumerate() {
            if !eligible || Some(i) == skip {
                continue;
            }
            let l = Load::new(i, s.inflight, w);
            exact &= exact_weight(l.weight);
            offer(&mut self.top, k, l, Load::before);
            match best {
                Some(b) if l.lower(&b) => {
                    best = Some(l);
                    self.ties.clear();
                    self.ties.push(i);
                }
                Some(b) if l.same(&b) => self.ties.push(i),
                None => {
                    best = Some(l);
                    self.ties.push(i);
                }
                _ => {}
            }
        }
        (best, exact)
    }

    /// Full scan: the lowest load, ties at random.
    fn least(&mut self, c: &Candidates<'_>, rng: &mut dyn Rng, limit: usize) -> Option<Load> {
        let (best, exact) = self.scan(c, limit, None);
        let best = best?;
        let ties = self.ties.len();
        if ties == 1 {
            return Some(best);
        }
        let r = rng.below(ties as u64) as usize;
        if r < self.top.len() {
            // `top` is sorted by (load, index): its first entries are the ties.
            return Some(self.top[r]);
        }
        if exact {
            // Exact comparisons are transitive: no backend before `best`
            // shares its load, so `ties` is every backend that does.
            return Some(Load::of(c, self.ties[r]));
        }
        c.eligible_indices()
            .map(|i| Load::of(c, i))
            .filter(|l| l.same(&best))
            .nth(r)
    }

    /// Envoy `least_request`: `k` samples with replacement, strictly better wins.
    fn sample(
        c: &Candidates<'_>,
        rng: &mut dyn Rng,
        k: u32,
        scores: &mut Vec<(usize, f64)>,
    ) -> Option<Load> {
        let mut chosen: Option<Load> = None;
        for _ in 0..k.max(1) {
            let s = Load::of(c, draw_eligible(c, rng, &[])?);
            if !scores.iter().any(|&(i, _)| i == s.i) {
                scores.push((s.i, s.value()));
            }
            if chosen.is_none_or(|b| s.lower(&b)) {
                chosen = Some(s);
            }
        }
        chosen
    }
}

impl Selector for LeastConnections {
    super::forward_to_index!();

    fn select(
        &mut self,
        c: &Candidates<'_>,
        _key: &Key<'_>,
        rng: &mut dyn Rng,
        limit: usize,
    ) -> Selection {
        if limit == 0 {
            return Selection::none();
        }
        let mut scores = Vec::new();
        self.top.clear();
        let chosen = match self.choices {
            None => match exact_index(&mut self.index, c) {
                Some(ix) => {
                    let chosen = ix.least(c, rng);
                    ix.lowest(limit, None, &mut self.top);
                    chosen
                }
                None => self.least(c, rng, limit),
            },
            Some(k) => {
                let s = Self::sample(c, rng, k, &mut scores);
                if let Some(s) = s.filter(|_| limit > 1) {
                    match exact_index(&mut self.index, c) {
                        Some(ix) => ix.lowest(limit - 1, Some(s.i), &mut self.top),
                        None => {
                            self.scan(c, limit - 1, Some(s.i));
                        }
                    }
                }
                s
            }
        };
        let Some(chosen) = chosen else {
            return Selection::none();
        };
        let mut ranked = Vec::with_capacity(limit.min(c.len()));
        ranked.push(chosen.i);
        if !scores.iter().any(|&(i, _)| i == chosen.i) {
            scores.push((chosen.i, chosen.value()));
        }
        for l in self.top.iter().filter(|l| l.i != chosen.i).take(limit - 1) {
            ranked.push(l.i);
            if !scores.iter().any(|&(i, _)| i == l.i) {
                scores.push((l.i, l.value()));
            }
        }
        Selection {
            ranked,
            reason: Reason::LeastLoaded,
            scores,
        }
    }
}
