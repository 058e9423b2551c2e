//! One request's life through the [`Router`]: [`Router::pick`] opens a
//! [`Ticket`] and counts the request in flight on its primary;
//! [`Router::finish`] or [`Router::abandon`] consumes the ticket and releases
//! that count, so every front end accounts a request the same way and none
//! can leave a count high.

use super::{Outcome, Request, Router};
use crate::backend::{LoadSample, MEASURE_TAU_MS};
use crate::config::Algorithm;
use crate::rng::Rng;
use crate::ticket::{Attribution, Ticket};

impl Router {
    /// Pick for `req` at `now_ms`: cookie first (RFWS step 2, for every
    /// algorithm when cookies are configured), then the selector over eligible
    /// backends. The request is counted in flight on the primary until the
    /// ticket is closed with [`Router::finish`] or [`Router::abandon`].
    pub fn pick(&mut self, req: &Request<'_>, now_ms: u64, rng: &mut dyn Rng) -> Ticket {
        let (decision, verdict, stale_key) = self.decide(req, now_ms, rng);
        let held = decision.primary();
        if let Some(i) = held {
            self.inflight_add(i);
        }
        Ticket {
            decision,
            verdict,
            stale_key,
            started_ms: now_ms,
            held,
        }
    }

    /// The front end sends the request to `node` (one of the ranked
    /// fallbacks) instead of the primary, e.g. a client-side retry that skips
    /// the node that just failed: the in-flight count moves with it, and
    /// nodes ranked before `node` are not blamed.
    pub fn reroute(&mut self, ticket: &mut Ticket, node: usize) {
        if ticket.held == Some(node) || node >= self.states.len() {
            return;
        }
        if let Some(i) = ticket.held.take() {
            self.inflight_sub(i);
        }
        self.inflight_add(node);
        ticket.held = Some(node);
    }

    /// Close `ticket`: `served` is the backend that answered the final attempt
    /// (`None`: unknown or not ours), `outcome` what it answered (`None`:
    /// nothing observed, e.g. the client went away). Releases the in-flight
    /// count, counts a passive failure on every ranked node the retry walked
    /// past before `served` and records `served`'s measurements and passive
    /// outcome (nothing when the ticket has no primary). Returns the passive
    /// observations made.
    pub fn finish(
        &mut self,
        ticket: Ticket,
        served: Option<usize>,
        outcome: Option<&Outcome>,
        now_ms: u64,
    ) -> Attribution {
        let served = served.filter(|&j| j < self.states.len());
        // Without a primary nothing was routed through the ranked list: no
        // one to blame or credit.
        let attribution = match outcome.filter(|_| ticket.held.is_some()) {
            Some(o) => Attribution {
                walked_past: ticket.walked_past(served).to_vec(),
                served: served.map(|j| (j, o.is_failure())),
            },
            None => Attribution::default(),
        };
        let failed = Outcome {
            status: None,
            ..Outcome::default()
        };
        for &i in &attribution.walked_past {
            self.record_outcome(i, &failed, now_ms);
        }
        if let (Some((j, _)), Some(o)) = (attribution.served, outcome) {
            self.record_outcome(j, o, now_ms);
        }
        self.abandon(ticket);
        attribution
    }

    /// Close `ticket` without an outcome (a redirect answered by the edge, a
    /// request dropped before it was sent): releases its in-flight count only.
    pub fn abandon(&mut self, ticket: Ticket) {
        if let Some(i) = ticket.held {
            self.inflight_sub(i);
        }
    }

    /// The `Set-Cookie` header value to send with the response to `ticket`'s
    /// request, given who served and the status ([`Ticket::cookie_for`]);
    /// `None`: send none (or cookies are off).
    pub fn set_cookie(
        &mut self,
        ticket: &Ticket,
        served: Option<usize>,
        status: Option<u16>,
        now_ms: u64,
    ) -> Option<String> {
        self.config.cookie.as_ref()?;
        let i = ticket.cookie_for(served, status)?;
        self.session_cookie(i, now_ms)
    }

    fn inflight_add(&mut self, i: usize) {
        if let Some(s) = self.states.get_mut(i) {
            s.inflight = s.inflight.saturating_add(1);
            self.selector.changed(i);
        }
    }

    fn inflight_sub(&mut self, i: usize) {
        if let Some(s) = self.states.get_mut(i) {
            s.inflight = s.inflight.saturating_sub(1);
            self.selector.changed(i);
        }
    }

    /// Backend `i`'s passive health and measurements after `outcome`.
    fn record_outcome(&mut self, i: usize, outcome: &Outcome, now_ms: u64) {
        let tau = match self.config.algorithm {
            Algorithm::LeastResponseTime { decay_ms, .. } => decay_ms,
            _ => MEASURE_TAU_MS,
        };
        let Some(s) = self.states.get_mut(i) else {
            return;
        };
        self.selector.changed(i);
        self.cache.dirty |= outcome.is_failure() || s.health.passive.fails > 0;
        s.health
            .observe(outcome.is_failure(), now_ms, &self.config.health);
        if let Some(ms) = outcome.latency_ms {
            s.latency.observe(ms, now_ms, tau);
        }
        if outcome.bytes > 0 {
            s.observe_bytes(outcome.bytes, now_ms);
        }
        if let Some(u) = outcome.load.filter(|u| u.is_finite()) {
            s.load = Some(LoadSample {
                utilization: u.clamp(0.0, 1.0),
                at_ms: now_ms,
            });
        }
    }
}
