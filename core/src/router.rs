//! [`Router`]: configuration + live backend state + one selector. Front ends
//! (the Envoy filter, the simulator, the host runner's tests) feed it requests
//! and outcomes; it never reads a clock or a random source of its own.
//!
//! A request's life is one [`Ticket`](crate::Ticket): [`Router::pick`] opens
//! it, [`Router::finish`] or [`Router::abandon`] closes it (`lifecycle.rs`).

mod lifecycle;

use crate::backend::BackendState;
use crate::client::client_address;
use crate::config::{Config, HashKey};
use crate::cookie::{self, CookieVerdict};
use crate::cookie_memo::CookieMemo;
use crate::decision::{Decision, Reason};
use crate::rng::Rng;
use crate::select::{self, Candidates, Key, Selector};
use std::net::IpAddr;

/// The parts of a request the core looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// Address of the connection's peer.
    pub peer: Option<IpAddr>,
    /// Value of `X-Forwarded-For`, if any.
    pub forwarded_for: Option<&'a str>,
    /// Value of the `Cookie` header, if any.
    pub cookie: Option<&'a str>,
    /// Path and query.
    pub path: &'a str,
    /// Request headers (names lower-case), for `header:NAME` hash keys.
    pub headers: &'a [(&'a str, &'a str)],
}

/// How a request to a backend ended.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Outcome {
    /// HTTP status, or `None` for a connect failure, reset or timeout.
    pub status: Option<u16>,
    /// Time to response headers, ms (`None` when not measured).
    pub latency_ms: Option<f64>,
    /// Response bytes transferred.
    pub bytes: u64,
    /// Load the backend reported with the response, in `[0, 1]`.
    pub load: Option<f64>,
}

impl Outcome {
    /// Connect failures, resets, timeouts and 5xx count as failures (nginx
    /// `proxy_next_upstream error timeout http_5xx`).
    pub fn is_failure(&self) -> bool {
        self.status.is_none_or(|s| s >= 500)
    }
}

/// Configuration, live state and the configured selector.
pub struct Router {
    config: Config,
    states: Vec<BackendState>,
    selector: Box<dyn Selector>,
    /// Cookie keys, keyed once.
    signer: Option<cookie::Signer>,
    /// Cookies already verified or signed.
    memo: CookieMemo,
    eligible: Vec<bool>,
    weights: Vec<f64>,
    cache: EligibilityCache,
    /// Decisions carry their scores ([`Router::record_scores`]).
    scores: bool,
}

/// When the eligibility and weights computed last are still right: nothing
/// changed through the router's methods and no time-driven transition (a
/// passive `fail_timeout` ending, a slow-start ramp) is due. Keeps hash picks
/// O(1) in the number of backends between state changes.
#[derive(Debug, Clone, Copy, Default)]
struct EligibilityCache {
    dirty: bool,
    computed_at: u64,
    valid_until: u64,
    panic: bool,
}

impl core::fmt::Debug for Router {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Router")
            .field("algorithm", &self.config.algorithm.name())
            .field("states", &self.states)
            .finish()
    }
}

impl Router {
    /// A router over a validated configuration, every backend idle and healthy.
    pub fn new(config: Config) -> Router {
        let n = config.backends.len();
        let selector = select::build(&config.algorithm, &config.backends);
        let signer = config.cookie.as_ref().map(cookie::Signer::new);
        Router {
            states: vec![BackendState::default(); n],
            selector,
            signer,
            memo: CookieMemo::default(),
            eligible: vec![false; n],
            weights: vec![0.0; n],
            cache: EligibilityCache {
                dirty: true,
                ..Default::default()
            },
            scores: true,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Live state, in backend order.
    pub fn states(&self) -> &[BackendState] {
        &self.states
    }

    /// Mutable live state (for owners that sync it from elsewhere, e.g. shared data).
    pub fn states_mut(&mut self) -> &mut [BackendState] {
        self.cache.dirty = true;
        self.selector.resync();
        &mut self.states
    }

    /// Decide for `req` at `now_ms`: cookie first (RFWS step 2, for every
    /// algorithm when cookies are configured), then the selector over eligible
    /// backends. Also says whether a valid cookie was signed with an older key.
    fn decide(
        &mut self,
        req: &Request<'_>,
        now_ms: u64,
        rng: &mut dyn Rng,
    ) -> (Decision, CookieVerdict, bool) {
        let panic = self.refresh_candidates(now_ms);
        let (verdict, stale_key) = self.cookie_verdict(req.cookie, now_ms);
        let limit = 1 + self.config.fallbacks;
        let client = client_address(req.peer, req.forwarded_for, self.config.trusted_hops);
        let hash_owned = self.hash_key(req, client);
        let key = Key {
            client,
            hash: hash_owned.as_deref(),
        };
        let c = Candidates {
            backends: &self.config.backends,
            states: &self.states,
            eligible: &self.eligible,
            weights: &self.weights,
            now_ms,
        };
        let sticky = match verdict {
            // A drained (weight 0) node keeps its sessions; a failed or down
            // one does not.
            CookieVerdict::Valid(i)
                if !self.config.backends[i].down
                    && (self.states[i].is_healthy(now_ms, &self.config.health) || panic) =>
            {
                Some(i)
            }
            _ => None,
        };
        let mut sel = self.selector.select(&c, &key, rng, limit);
        if !self.scores {
            sel.scores = Vec::new();
        }
        let decision = match sticky {
            Some(i) => {
                let mut ranked = Vec::with_capacity(limit);
                ranked.push(i);
                ranked.extend(
                    sel.ranked
                        .iter()
                        .copied()
                        .filter(|&j| j != i)
                        .take(limit - 1),
                );
                Decision {
                    ranked,
                    algorithm: self.config.algorithm.name(),
                    reason: Reason::Cookie,
                    scores: sel.scores,
                    panic,
                }
            }
            None => Decision {
                ranked: sel.ranked,
                algorithm: self.config.algorithm.name(),
                reason: sel.reason,
                scores: sel.scores,
                panic,
            },
        };
        (decision, verdict, stale_key)
    }

    /// Computes eligibility and effective weights (or reuses them while still
    /// valid); returns true in panic mode.
    fn refresh_candidates(&mut self, now_ms: u64) -> bool {
        let c = self.cache;
        if !c.dirty && now_ms >= c.computed_at && now_ms < c.valid_until {
            return c.panic;
        }
        let h = &self.config.health;
        let mut healthy = 0usize;
        let mut valid_until = u64::MAX;
        for (i, (b, s)) in self.config.backends.iter().zip(&self.states).enumerate() {
            let ok = s.is_healthy(now_ms, h) && !b.down;
            healthy += usize::from(ok);
            self.eligible[i] = ok && b.weight > 0;
            self.weights[i] = s.effective_weight(b, now_ms, h);
            if s.health.passive.is_out(now_ms, h) {
                valid_until = valid_until.min(
                    s.health
                        .passive
                        .checked_ms
                        .saturating_add(h.fail_timeout_ms)
                        .saturating_add(1),
                );
            }
            if s.health.slow_start_factor(now_ms, h) < 1.0 {
                valid_until = valid_until.min(now_ms.saturating_add(1));
            }
        }
        // Nodes taken down by the operator count for neither side of the
        // panic threshold, and stay out in panic mode too.
        let n = self.config.backends.iter().filter(|b| !b.down).count();
        let panic =
            (healthy as f64) < h.panic_threshold * n as f64 || !self.eligible.iter().any(|&e| e);
        if panic {
            for (e, b) in self.eligible.iter_mut().zip(&self.config.backends) {
                *e = b.weight > 0 && !b.down;
            }
        }
        // Eligibility or weights may have changed: indexing selectors compare.
        self.selector.reweighed();
        self.cache = EligibilityCache {
            dirty: false,
            computed_at: now_ms,
            valid_until,
            panic,
        };
        panic
    }

    fn hash_key(&self, req: &Request<'_>, client: Option<IpAddr>) -> Option<Vec<u8>> {
        let crate::config::Algorithm::ConsistentHash { key, .. } = &self.config.algorithm else {
            return None;
        };
        match key {
            HashKey::Header(name) => req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_bytes().to_vec()),
            HashKey::Cookie(name) => req
                .cookie
                .and_then(|c| cookie::find(c, name))
                .map(|v| v.as_bytes().to_vec()),
            HashKey::Path => Some(req.path.as_bytes().to_vec()),
            HashKey::ClientAddress => client.map(|ip| ip.to_string().into_bytes()),
        }
    }

    /// Set backend `i`'s in-flight count (for owners that keep the count
    /// elsewhere, e.g. Envoy shared data). Unlike [`Router::states_mut`] this
    /// keeps the cached eligibility: in-flight counts never change it.
    pub fn set_inflight(&mut self, i: usize, count: u32) {
        if let Some(s) = self.states.get_mut(i).filter(|s| s.inflight != count) {
            s.inflight = count;
            self.selector.changed(i);
        }
    }

    /// A heartbeat from backend `i` arrived at `now_ms`.
    pub fn heartbeat(&mut self, i: usize, now_ms: u64) {
        if let (Some(s), Some(hb)) = (self.states.get_mut(i), &self.config.health.heartbeat) {
            s.health.heartbeats.record(now_ms, hb);
        }
    }

    /// A heartbeat to backend `i` took `rtt_ms` round trip, ending at
    /// `now_ms`: RFWS's `D(r)` becomes half the smallest round trip inside the
    /// heartbeat window ([`crate::health::LinkRtt`]; 10 s without heartbeat
    /// settings). Returns true when the measured delay changed.
    pub fn link_rtt(&mut self, i: usize, rtt_ms: f64, now_ms: u64) -> bool {
        let window = self
            .config
            .health
            .heartbeat
            .as_ref()
            .map_or(10_000, |hb| hb.window_ms);
        let Some(s) = self.states.get_mut(i) else {
            return false;
        };
        let changed = s.health.record_rtt(rtt_ms, now_ms, window);
        if changed {
            self.selector.changed(i);
        }
        changed
    }

    /// Re-evaluate heartbeat fault flags; returns the backends whose flag changed.
    pub fn evaluate_health(&mut self, now_ms: u64) -> Vec<usize> {
        let h = &self.config.health;
        let changed: Vec<usize> = self
            .states
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.health.evaluate(now_ms, h).then_some(i))
            .collect();
        self.cache.dirty |= !changed.is_empty();
        changed
    }

    /// What the request's `Cookie` header says, and whether a valid value was
    /// signed with an older key. A value verified before (newest key only) is
    /// answered from the memo (same verdict, no HMAC).
    fn cookie_verdict(&mut self, header: Option<&str>, now_ms: u64) -> (CookieVerdict, bool) {
        let (Some(cfg), Some(header), Some(signer)) = (&self.config.cookie, header, &self.signer)
        else {
            return (CookieVerdict::Absent, false);
        };
        let Some(value) = cookie::find(header, &cfg.name) else {
            return (CookieVerdict::Absent, false);
        };
        if let Some(i) = self.memo.valid(value, now_ms / 1000) {
            return (CookieVerdict::Valid(i), false);
        }
        let (verdict, valid) = signer.verify_value_key(value, now_ms, &self.config.backends);
        let stale_key = match (verdict, valid) {
            (CookieVerdict::Valid(i), Some((e, 0))) => {
                self.memo.remember_valid(value, i, e);
                false
            }
            (_, Some(_)) => true,
            _ => false,
        };
        (verdict, stale_key)
    }

    /// Swap the selector for its reference full scan (RFWS, least connections,
    /// least response time; the others are unchanged): for tests that compare
    /// the indexed picks.
    #[doc(hidden)]
    pub fn use_reference_selector(&mut self) {
        self.selector = select::build_reference(&self.config.algorithm, &self.config.backends);
        self.selector.record_scores(self.scores);
    }

    /// Whether decisions carry [`Decision::scores`] (on at first). A front
    /// end that never reads them (the simulator's own router: its "why" view
    /// asks a fresh router) turns them off: every pick is then spared
    /// building the list, and picks the same. Off, `scores` is always empty.
    pub fn record_scores(&mut self, on: bool) {
        self.scores = on;
        self.selector.record_scores(on);
    }

    /// The `Set-Cookie` value pinning a client to backend `i`, if cookies are
    /// on (signed at most once per backend and second).
    pub fn session_cookie(&mut self, i: usize, now_ms: u64) -> Option<String> {
        let signer = self.signer.as_ref()?;
        let b = self.config.backends.get(i)?;
        let expiry = signer.expiry_s(now_ms);
        if let Some(h) = self.memo.signed(i, expiry) {
            return Some(h.to_string());
        }
        let h = signer.set_cookie(&signer.sign(&b.name, now_ms));
        self.memo.remember_signed(i, expiry, &h);
        Some(h)
    }
}
