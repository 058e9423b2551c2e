//! The request path: a client sends, the edge picks with [`edgepick_core::Router`] (every
//! routing decision), the request crosses its link, queues at the server, is
//! served, and the response returns the way the method dictates.
//!
//! Links: a transfer takes `size / bandwidth + delay`. A server's link and the
//! edge's interface are shared FIFO resources (a transfer waits for the one
//! before it); each client's access link is its own. Reservations further along
//! a path are made when the request enters it, a small approximation that
//! saves events.

use super::engine::{Path, Req, Simulation, NONE};
use super::metrics::End;
use super::queue::{Ev, Micros};
use super::topology::{LinkSpec, Method};
use edgepick_core::rng::Rng;
use std::net::{IpAddr, Ipv4Addr};

/// Size of small messages (302, DNS answer, 503, reset), bytes.
const SMALL: f64 = 300.0;

fn tx_us(bytes: f64, mbps: f64) -> Micros {
    // 1 Mbps is one bit per microsecond.
    (bytes * 8.0 / mbps.max(1e-6)) as Micros
}

fn ms(v: f64) -> Micros {
    (v.max(0.0) * 1000.0) as Micros
}

/// Send `bytes` on a FIFO link that is busy until `*busy`: returns when the last bit left.
fn send(busy: &mut Micros, at: Micros, bytes: f64, mbps: f64) -> Micros {
    let start = at.max(*busy);
    *busy = start.saturating_add(tx_us(bytes, mbps));
    *busy
}

/// The client address: group `g`, client `c`.
pub(super) fn client_ip(g: u32, c: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        100 + (g % 150) as u8,
        (c >> 8) as u8,
        c as u8,
    ))
}

fn exp_gap(rng: &mut dyn Rng, mean_us: f64) -> Micros {
    (-(1.0 - rng.unit()).ln() * mean_us) as Micros
}

impl Simulation {
    pub(super) fn next_gap(&mut self, g: usize) -> Micros {
        let rate = self.topo.clients[g].rate;
        let gap = exp_gap(&mut self.groups[g].rng, 1e6 / rate.max(1e-9));
        self.now.saturating_add(gap)
    }

    fn alloc(&mut self, r: Req) -> u32 {
        self.live += 1;
        match self.free.pop() {
            Some(k) => {
                self.reqs[k as usize] = r;
                k
            }
            None => {
                self.reqs.push(r);
                self.tickets.push(None);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    pub(super) fn client_link(&self, r: u32) -> LinkSpec {
        self.topo.clients[self.reqs[r as usize].group as usize].link
    }

    pub(super) fn server_link(&self, i: usize) -> LinkSpec {
        let base = self.topo.servers[i].link;
        let f = self.servers[i].link;
        LinkSpec {
            bandwidth_mbps: base.bandwidth_mbps / f,
            delay_ms: base.delay_ms * f,
            hops: base.hops,
        }
    }

    pub(super) fn sizes(&self, r: u32) -> (f64, f64) {
        let g = &self.topo.clients[self.reqs[r as usize].group as usize];
        (g.request_kb * 1000.0, g.response_kb * 1000.0)
    }

    pub(super) fn on_arrive(&mut self, g: usize) {
        if !self.arrivals_open || self.topo.clients[g].rate <= 0.0 {
            return;
        }
        let at = self.next_gap(g);
        self.queue.push(at, Ev::Arrive(g as u32));
        self.metrics.generated += 1;
        let clients = self.groups[g].clients.len() as u64;
        let client = self.groups[g].rng.below(clients) as u32;
        let r = self.alloc(Req {
            start: self.now,
            sent: self.now,
            group: g as u32,
            client,
            node: NONE,
            attempt: 0,
            path: Path::Direct,
        });
        let link = self.client_link(r);
        let (req_bytes, _) = self.sizes(r);
        let state = &self.groups[g].clients[client as usize];
        let to_edge = self
            .now
            .saturating_add(tx_us(req_bytes, link.bandwidth_mbps))
            .saturating_add(ms(link.delay_ms));
        match self.topo.method {
            Method::Proxy | Method::Nat | Method::Dr => self.queue.push(to_edge, Ev::AtEdge(r)),
            Method::Redirect if state.cached != NONE => {
                self.send_direct(r, state.cached as usize, self.now)
            }
            Method::Redirect => self.queue.push(to_edge, Ev::AtEdge(r)),
            Method::Dns if state.cached != NONE && state.cached_until > self.now => {
                self.send_direct(r, state.cached as usize, self.now)
            }
            // A DNS query is small: only the delay counts.
            Method::Dns => self
                .queue
                .push(self.now.saturating_add(ms(link.delay_ms)), Ev::AtEdge(r)),
        }
    }

    pub(super) fn on_edge(&mut self, r: u32) {
        let Some((i, ticket)) = self.pick(r) else {
            // No backend at all: the edge answers 503 at once.
            let link = self.client_link(r);
            self.finish(r, self.now.saturating_add(ms(link.delay_ms)), 0);
            return;
        };
        let method = self.topo.method;
        let overhead = ms(if method.is_l7() {
            self.topo.edge.l7_overhead_ms
        } else {
            self.topo.edge.l4_overhead_ms
        });
        let link = self.client_link(r);
        match method {
            Method::Proxy | Method::Nat | Method::Dr => {
                let path = match method {
                    Method::Dr => Path::DirectReturn,
                    _ => Path::ViaEdge {
                        l7: method == Method::Proxy,
                    },
                };
                let (req_bytes, _) = self.sizes(r);
                let edge_bw = self.topo.edge.bandwidth_mbps;
                let out = send(
                    &mut self.edge_in_busy,
                    self.now.saturating_add(overhead),
                    req_bytes,
                    edge_bw,
                );
                self.tickets[r as usize] = Some(ticket);
                let req = &mut self.reqs[r as usize];
                req.node = i as u32;
                req.sent = self.now;
                req.path = path;
                self.forward(r, i, out, req_bytes);
            }
            Method::Redirect | Method::Dns => {
                // The client goes to the node itself: nothing for the edge to count.
                self.router.abandon(ticket);
                let g = self.reqs[r as usize].group as usize;
                let c = self.reqs[r as usize].client as usize;
                let state = &mut self.groups[g].clients[c];
                state.cached = i as u32;
                state.cached_until = self
                    .now
                    .saturating_add(self.topo.dns_ttl_ms.saturating_mul(1000));
                // The 302 or the DNS answer travels back; then the client goes to the node.
                let back = self
                    .now
                    .saturating_add(overhead)
                    .saturating_add(tx_us(SMALL, link.bandwidth_mbps))
                    .saturating_add(ms(link.delay_ms));
                self.send_direct(r, i, back);
            }
        }
    }

    /// The client sends the request straight to node `i`, starting at `at`.
    fn send_direct(&mut self, r: u32, i: usize, at: Micros) {
        let link = self.client_link(r);
        let (req_bytes, _) = self.sizes(r);
        let req = &mut self.reqs[r as usize];
        req.node = i as u32;
        req.sent = at;
        req.path = Path::Direct;
        let leaves = at
            .saturating_add(tx_us(req_bytes, link.bandwidth_mbps))
            .saturating_add(ms(link.delay_ms));
        self.forward(r, i, leaves, req_bytes);
    }

    /// The request crosses node `i`'s link, entering it at `at`.
    fn forward(&mut self, r: u32, i: usize, at: Micros, bytes: f64) {
        self.metrics.sent(at, i);
        let link = self.server_link(i);
        let arrive = send(&mut self.servers[i].up_busy, at, bytes, link.bandwidth_mbps)
            .saturating_add(ms(link.delay_ms));
        self.queue.push(arrive, Ev::AtServer(r));
    }

    pub(super) fn on_server(&mut self, r: u32) {
        let i = self.reqs[r as usize].node as usize;
        let spec = &self.topo.servers[i];
        let s = &self.servers[i];
        if !s.alive {
            // Nobody answers: the sender gives up after the connect timeout.
            let give_up = self.reqs[r as usize]
                .sent
                .saturating_add(ms(self.topo.edge.connect_timeout_ms));
            self.fail(r, give_up.max(self.now));
        } else if (s.running.len() as u32) < spec.workers {
            self.start(i, r);
        } else if (s.waiting.len() as u32) < spec.queue {
            self.servers[i].waiting.push_back(r);
        } else {
            self.respond(r, i, 503, SMALL);
        }
    }

    fn start(&mut self, i: usize, r: u32) {
        let spec = &self.topo.servers[i];
        let s = &mut self.servers[i];
        let mean_us = 1e6 * f64::from(spec.workers) / spec.rate * s.slow;
        let done = self.now.saturating_add(exp_gap(&mut s.rng, mean_us));
        s.running.push(r);
        self.queue.push(
            done,
            Ev::ServiceDone {
                req: r,
                node: i as u32,
                inc: s.inc,
            },
        );
    }

    pub(super) fn on_service_done(&mut self, r: u32, i: usize, inc: u32) {
        let s = &mut self.servers[i];
        if inc != s.inc {
            return; // the node was killed while serving it; already failed
        }
        if let Some(k) = s.running.iter().position(|&x| x == r) {
            s.running.swap_remove(k);
        }
        if let Some(next) = s.waiting.pop_front() {
            self.start(i, next);
        }
        let (_, resp) = self.sizes(r);
        self.respond(r, i, 200, resp);
    }

    /// Node `i` answers `status` with `bytes` now.
    fn respond(&mut self, r: u32, i: usize, status: u16, bytes: f64) {
        let link = self.server_link(i);
        let back = send(
            &mut self.servers[i].down_busy,
            self.now,
            bytes,
            link.bandwidth_mbps,
        )
        .saturating_add(ms(link.delay_ms));
        self.returned(r, back, status, bytes);
    }

    /// The node's answer (or a failure, `status` 0) leaves the node's link at `at`.
    fn returned(&mut self, r: u32, at: Micros, status: u16, bytes: f64) {
        let req = self.reqs[r as usize];
        let link = self.topo.clients[req.group as usize].link;
        let to_client = tx_us(bytes, link.bandwidth_mbps).saturating_add(ms(link.delay_ms));
        match req.path {
            Path::ViaEdge { .. } => self.queue.push(at, Ev::EdgeResponse { req: r, status }),
            Path::DirectReturn => self
                .queue
                .push(at.saturating_add(to_client), Ev::DrDone { req: r, status }),
            Path::Direct => {
                if status == 0 && self.topo.method == Method::Redirect {
                    // The redirect target is gone: next time ask the edge again.
                    self.groups[req.group as usize].clients[req.client as usize].cached = NONE;
                }
                self.finish(r, at + to_client, status);
            }
        }
    }

    /// No answer from the node; the sender notices at `at`.
    fn fail(&mut self, r: u32, at: Micros) {
        let req = self.reqs[r as usize];
        match req.path {
            Path::ViaEdge { .. } => self.queue.push(at, Ev::EdgeResponse { req: r, status: 0 }),
            Path::DirectReturn => self.queue.push(at, Ev::DrDone { req: r, status: 0 }),
            Path::Direct => self.returned(r, at, 0, 0.0),
        }
    }

    pub(super) fn on_edge_response(&mut self, r: u32, status: u16) {
        let req = self.reqs[r as usize];
        let outcome = self.outcome(r, status);
        self.close(r, &outcome);
        let l7 = matches!(req.path, Path::ViaEdge { l7: true });
        if outcome.is_failure() && l7 && req.attempt < self.topo.edge.retries {
            // An L7 proxy retries elsewhere (nginx proxy_next_upstream).
            self.reqs[r as usize].attempt += 1;
            self.on_edge(r);
            return;
        }
        let bytes = if status == 200 {
            self.sizes(r).1
        } else {
            SMALL
        };
        let link = self.client_link(r);
        let out = send(
            &mut self.edge_out_busy,
            self.now,
            bytes,
            self.topo.edge.bandwidth_mbps,
        );
        self.finish(
            r,
            out.saturating_add(tx_us(bytes, link.bandwidth_mbps))
                .saturating_add(ms(link.delay_ms)),
            status,
        );
    }

    pub(super) fn on_dr_done(&mut self, r: u32, status: u16) {
        let outcome = self.outcome(r, status);
        self.close(r, &outcome);
        self.finish(r, self.now, status);
    }

    /// The request ends for its client at `at` (possibly ahead of the clock).
    fn finish(&mut self, r: u32, at: Micros, status: u16) {
        let start = self.reqs[r as usize].start;
        let end = match status {
            200 => End::Ok,
            503 => End::Dropped,
            _ => End::Failed,
        };
        self.metrics.end(at, end, at.saturating_sub(start));
        self.live -= 1;
        self.free.push(r);
    }

    /// Node `i` stops: what it was serving or queueing fails (connection reset).
    pub(super) fn kill(&mut self, i: usize) {
        let s = &mut self.servers[i];
        if !s.alive {
            return;
        }
        s.alive = false;
        s.inc = s.inc.wrapping_add(1);
        let lost: Vec<u32> = s.running.drain(..).chain(s.waiting.drain(..)).collect();
        let reset = self.now.saturating_add(ms(self.server_link(i).delay_ms));
        for r in lost {
            self.fail(r, reset);
        }
    }
}
