//! [`Ticket`]: one request's handle from [`Router::pick`](crate::Router::pick)
//! to [`Router::finish`](crate::Router::finish) or
//! [`Router::abandon`](crate::Router::abandon) (tower's `load` `Handle`).
//!
//! The pick counts the request in flight on its primary; the ticket is the
//! only thing that can release that count, and it is consumed doing so, so a
//! front end that closes every ticket cannot leave a count high. The ticket
//! also carries the two rules that used to live in each front end:
//!
//! * which `Set-Cookie` to send ([`Ticket::cookie_for`]): none when the
//!   request's valid cookie already names the node that served and was signed
//!   with the newest key, none on a 5xx answer, otherwise one naming the node
//!   that served;
//! * who is blamed ([`Ticket::walked_past`]): a retry walks the ranked list in
//!   order (Envoy's `override_host`), so every ranked node before the one that
//!   served failed; a node outside the list means the whole list failed.

use crate::cookie::CookieVerdict;
use crate::decision::Decision;

/// One request between its pick and its end. Not `Clone`: it is closed once,
/// by [`Router::finish`](crate::Router::finish) or
/// [`Router::abandon`](crate::Router::abandon).
#[derive(Debug, PartialEq)]
#[must_use = "a ticket holds an in-flight count: close it with Router::finish or Router::abandon"]
pub struct Ticket {
    pub(crate) decision: Decision,
    pub(crate) verdict: CookieVerdict,
    /// The valid cookie was signed with an older key.
    pub(crate) stale_key: bool,
    pub(crate) started_ms: u64,
    /// The backend whose in-flight count this ticket holds: the primary, or
    /// where the front end sent the request instead (`Router::reroute`).
    pub(crate) held: Option<usize>,
}

/// What [`Router::finish`](crate::Router::finish) recorded as passive health,
/// for front ends that mirror it elsewhere (the filter's shared record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Ranked backends the retry walked past before the one that served:
    /// each counted one failure.
    pub walked_past: Vec<usize>,
    /// The backend that served and whether its outcome was a failure
    /// (`None` when nothing was observed or the server is not ours).
    pub served: Option<(usize, bool)>,
}

impl Attribution {
    /// Every passive observation, `(backend, failure)`, in the order recorded.
    pub fn passive(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        self.walked_past
            .iter()
            .map(|&i| (i, true))
            .chain(self.served)
    }
}

impl Ticket {
    /// The routing decision.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Ranked backends: primary first, then fallbacks.
    pub fn ranked(&self) -> &[usize] {
        &self.decision.ranked
    }

    /// The backend the request is counted on (the primary unless rerouted).
    pub fn primary(&self) -> Option<usize> {
        self.held
    }

    /// What the request's session cookie said.
    pub fn verdict(&self) -> CookieVerdict {
        self.verdict
    }

    /// The valid session cookie was signed with an older key (it is re-signed).
    pub fn stale_key(&self) -> bool {
        self.stale_key
    }

    /// When the pick happened, ms.
    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }

    /// Milliseconds from the pick to `at_ms` (e.g. when response headers
    /// arrived): the latency sample for the [`Outcome`](crate::Outcome).
    pub fn latency_ms(&self, at_ms: u64) -> f64 {
        at_ms.saturating_sub(self.started_ms) as f64
    }

    /// The backend to pin the client to with a new `Set-Cookie`, given who
    /// served (`None`: unknown) and the answer's status (`None`: none seen, e.g.
    /// a redirect the edge answers itself). `None` means send no cookie.
    pub fn cookie_for(&self, served: Option<usize>, status: Option<u16>) -> Option<usize> {
        cookie_to_send(self.verdict, self.stale_key, served, status)
    }

    /// Ranked backends the retry walked past before reaching `served`: those
    /// between where the request started and `served` in the ranked list, or
    /// all of them from there when `served` is not listed (Envoy's fallback
    /// policy chose). Nothing when `served` is unknown.
    pub fn walked_past(&self, served: Option<usize>) -> &[usize] {
        let ranked = &self.decision.ranked;
        let Some(s) = served else {
            return &[];
        };
        let from = self
            .held
            .and_then(|h| ranked.iter().position(|&r| r == h))
            .unwrap_or(0);
        let rest = &ranked[from..];
        match rest.iter().position(|&r| r == s) {
            Some(p) => &rest[..p],
            None => rest,
        }
    }
}

/// The cookie rule every front end applies ([`Ticket::cookie_for`], and the
/// native module's companion filter, which holds no ticket): the backend to
/// pin the client to with a new `Set-Cookie`, given what the request's cookie
/// said (`stale_key`: its valid value was signed with an older key), who
/// served (`None`: unknown) and the status (`None`: none seen). `None`: send
/// no cookie: the request's valid, newest-key cookie already names the
/// server, or the server answered 5xx.
pub fn cookie_to_send(
    verdict: CookieVerdict,
    stale_key: bool,
    served: Option<usize>,
    status: Option<u16>,
) -> Option<usize> {
    let j = served?;
    // Never pin a session to a node that has just answered 5xx.
    if status.is_some_and(|s| s >= 500) {
        return None;
    }
    match verdict {
        CookieVerdict::Valid(i) if i == j && !stale_key => None,
        _ => Some(j),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Reason;

    fn ticket(ranked: Vec<usize>, verdict: CookieVerdict, stale_key: bool) -> Ticket {
        Ticket {
            held: ranked.first().copied(),
            decision: Decision {
                ranked,
                algorithm: "round_robin",
                reason: Reason::RoundRobin,
                scores: Vec::new(),
                panic: false,
            },
            verdict,
            stale_key,
            started_ms: 100,
        }
    }

    #[test]
    fn cookie_rule() {
        let valid = ticket(vec![1, 0], CookieVerdict::Valid(1), false);
        assert_eq!(valid.cookie_for(Some(1), Some(200)), None, "already right");
        assert_eq!(valid.cookie_for(Some(0), Some(200)), Some(0), "moved");
        assert_eq!(valid.cookie_for(Some(0), Some(503)), None, "5xx");
        assert_eq!(valid.cookie_for(None, Some(200)), None, "unknown server");
        assert_eq!(valid.cookie_for(Some(0), None), Some(0), "no status seen");
        let stale = ticket(vec![1, 0], CookieVerdict::Valid(1), true);
        assert_eq!(stale.cookie_for(Some(1), Some(200)), Some(1), "re-signed");
        assert_eq!(stale.cookie_for(Some(1), Some(500)), None);
        for v in [
            CookieVerdict::Absent,
            CookieVerdict::Invalid(crate::Rejection::Expired),
        ] {
            assert_eq!(
                ticket(vec![1], v, false).cookie_for(Some(1), Some(404)),
                Some(1)
            );
        }
    }

    #[test]
    fn retries_blame_the_nodes_walked_past() {
        let mut t = ticket(vec![2, 0, 1], CookieVerdict::Absent, false);
        assert_eq!(t.walked_past(Some(2)), &[] as &[usize]);
        assert_eq!(t.walked_past(Some(0)), [2]);
        assert_eq!(t.walked_past(Some(1)), [2, 0]);
        assert_eq!(t.walked_past(Some(3)), [2, 0, 1], "fallback policy chose");
        assert_eq!(t.walked_past(None), &[] as &[usize]);
        t.held = Some(0);
        assert_eq!(t.walked_past(Some(1)), [0], "started at the reroute");
        assert_eq!(t.latency_ms(150), 50.0);
        assert_eq!(t.latency_ms(50), 0.0);
    }
}
