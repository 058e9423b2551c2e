//! The edge's side of a request: one [`Router::pick`](edgepick_core::Router::pick)
//! per attempt, its [`Ticket`] kept by request slot until the attempt's
//! answer (or failure) closes it with [`Router::finish`](edgepick_core::Router::finish).

use super::engine::{Req, Simulation};
use super::flow::client_ip;
use edgepick_core::router::{Outcome, Request};
use edgepick_core::ticket::Ticket;

impl Simulation {
    /// Ask the router; keeps the client's session cookie up to date (the
    /// ticket's rule, before the answer is known, as a redirect does). A
    /// retry takes the first fallback that is not the node that just failed.
    pub(super) fn pick(&mut self, r: u32) -> Option<(usize, Ticket)> {
        let Req {
            group,
            client,
            attempt,
            node,
            ..
        } = self.reqs[r as usize];
        let now_ms = self.now / 1000;
        let gs = &self.topo.clients[group as usize];
        let keeps = f64::from(client) < gs.session_share * f64::from(gs.clients);
        let with_cookie = keeps && self.topo.sticky && self.topo.method.is_l7();
        let state = &mut self.groups[group as usize].clients[client as usize];
        let req = Request {
            peer: Some(client_ip(group, client)),
            forwarded_for: None,
            cookie: if with_cookie {
                state.cookie.as_deref()
            } else {
                None
            },
            path: "/",
            headers: &[],
        };
        let mut ticket = self.router.pick(&req, now_ms, &mut self.rng);
        let i = match attempt {
            0 => ticket.primary(),
            _ => ticket
                .ranked()
                .iter()
                .copied()
                .find(|&j| j as u32 != node)
                .or(ticket.primary()),
        };
        let Some(i) = i else {
            self.router.abandon(ticket);
            return None;
        };
        self.router.reroute(&mut ticket, i);
        if with_cookie {
            if let Some(h) = self.router.set_cookie(&ticket, Some(i), None, now_ms) {
                state.cookie = Some(h.split(';').next().unwrap_or_default().to_string());
            }
        }
        Some((i, ticket))
    }

    pub(super) fn outcome(&self, r: u32, status: u16) -> Outcome {
        let (_, resp) = self.sizes(r);
        let sent = self.reqs[r as usize].sent;
        Outcome {
            status: (status != 0).then_some(status),
            latency_ms: Some(self.now.saturating_sub(sent) as f64 / 1000.0),
            bytes: if status == 200 { resp as u64 } else { 0 },
            load: None,
        }
    }

    /// Close request `r`'s ticket: node `node` answered `outcome` now.
    pub(super) fn close(&mut self, r: u32, outcome: &Outcome) {
        if let Some(t) = self.tickets[r as usize].take() {
            let node = self.reqs[r as usize].node as usize;
            self.router
                .finish(t, Some(node), Some(outcome), self.now / 1000);
        }
    }
}
