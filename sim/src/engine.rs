//! The simulation's state and clock: [`Simulation::new`], [`Simulation::run_until`],
//! live controls (kill, revive, degrade, overload, reconfigure); snapshots are
//! in `view.rs`.
//! The request path itself is in `flow.rs`.

use super::metrics::Metrics;
use super::queue::{Ev, EventQueue, Micros};
use super::topology::Topology;
use edgepick_core::backend::LoadSample;
use edgepick_core::config::ConfigError;
use edgepick_core::rng::SplitMix64;
use edgepick_core::router::Router;
use edgepick_core::ticket::Ticket;
use std::collections::VecDeque;

/// "No node" marker in compact request and client records.
pub(super) const NONE: u32 = u32::MAX;

/// Which way a request travels, fixed when it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    /// Through the edge both ways (reverse proxy when `l7`, else NAT).
    ViaEdge { l7: bool },
    /// Through the edge in, straight back to the client (LVS-DR).
    DirectReturn,
    /// Client to node, both ways (after a redirect or a DNS answer).
    Direct,
}

/// One request in the system.
#[derive(Debug, Clone, Copy)]
pub(super) struct Req {
    pub start: Micros,
    pub sent: Micros,
    pub group: u32,
    pub client: u32,
    pub node: u32,
    pub attempt: u32,
    pub path: Path,
}

/// A web server node.
#[derive(Debug, Clone)]
pub(super) struct ServerState {
    pub alive: bool,
    /// Bumped on each kill, so services started before it are void.
    pub inc: u32,
    pub running: Vec<u32>,
    pub waiting: VecDeque<u32>,
    /// Service rate divided by this (overload).
    pub slow: f64,
    /// Link bandwidth divided and delay multiplied by this (degrade).
    pub link: f64,
    /// The link towards the node is busy sending until then (FIFO, per direction).
    pub up_busy: Micros,
    pub down_busy: Micros,
    pub rng: SplitMix64,
}

/// What a client remembers.
#[derive(Debug, Clone, Default)]
pub(super) struct ClientState {
    /// `name=value` of its session cookie.
    pub cookie: Option<String>,
    /// Node from a redirect or a DNS answer.
    pub cached: u32,
    /// DNS answer expiry.
    pub cached_until: Micros,
}

/// A client group's arrival process and its clients.
#[derive(Debug, Clone)]
pub(super) struct GroupState {
    pub rng: SplitMix64,
    pub clients: Vec<ClientState>,
}

/// A seeded discrete-event simulation of one topology.
pub struct Simulation {
    pub(super) topo: Topology,
    pub(super) router: Router,
    pub(super) now: Micros,
    pub(super) queue: EventQueue,
    pub(super) reqs: Vec<Req>,
    /// The router's ticket of each request sent through the edge, by slot.
    pub(super) tickets: Vec<Option<Ticket>>,
    pub(super) free: Vec<u32>,
    pub(super) live: u32,
    pub(super) servers: Vec<ServerState>,
    pub(super) groups: Vec<GroupState>,
    pub(super) edge_in_busy: Micros,
    pub(super) edge_out_busy: Micros,
    pub(super) rng: SplitMix64,
    pub(super) arrivals_open: bool,
    pub(super) events: u64,
    /// The fault timeline's epoch (see [`Ev::Fault`]).
    pub(super) fault_epoch: u32,
    /// Scheduled faults applied so far.
    pub(super) faults_applied: u32,
    /// Metrics so far.
    pub metrics: Metrics,
}

fn server_state(seed: u64, i: usize) -> ServerState {
    ServerState {
        alive: true,
        inc: 0,
        running: Vec::new(),
        waiting: VecDeque::new(),
        slow: 1.0,
        link: 1.0,
        up_busy: 0,
        down_busy: 0,
        rng: SplitMix64::new(seed ^ (0x5E5E_0000 + i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
    }
}

fn group_state(seed: u64, g: usize, clients: u32) -> GroupState {
    let client = ClientState {
        cookie: None,
        cached: NONE,
        cached_until: 0,
    };
    GroupState {
        rng: SplitMix64::new(seed ^ (0xC11E_0000 + g as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)),
        clients: vec![client; clients as usize],
    }
}

impl Simulation {
    /// A simulation at time 0 with every node up; errors name the bad field.
    pub fn new(topo: Topology) -> Result<Simulation, ConfigError> {
        topo.validate()?;
        let mut router = Router::new(topo.to_config()?);
        // Nothing reads the run's scores ("why" asks a fresh router).
        router.record_scores(false);
        let seed = topo.seed;
        let mut sim = Simulation {
            router,
            now: 0,
            queue: EventQueue::default(),
            reqs: Vec::new(),
            tickets: Vec::new(),
            free: Vec::new(),
            live: 0,
            servers: (0..topo.servers.len())
                .map(|i| server_state(seed, i))
                .collect(),
            groups: topo
                .clients
                .iter()
                .enumerate()
                .map(|(g, c)| group_state(seed, g, c.clients))
                .collect(),
            edge_in_busy: 0,
            edge_out_busy: 0,
            rng: SplitMix64::new(seed ^ 0x0EDC_E000),
            arrivals_open: true,
            events: 0,
            fault_epoch: 0,
            faults_applied: 0,
            metrics: Metrics::new(topo.bucket_ms, topo.servers.len()),
            topo,
        };
        for g in 0..sim.groups.len() {
            let gap = sim.next_gap(g);
            sim.queue.push(gap, Ev::Arrive(g as u32));
        }
        sim.queue.push(
            sim.topo.health.interval_ms.saturating_mul(1000),
            Ev::Heartbeat,
        );
        sim.queue
            .push(sim.topo.bucket_ms.saturating_mul(1000), Ev::Bucket);
        sim.schedule_faults(true);
        Ok(sim)
    }

    /// The topology being simulated.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// The edge's router (the same code the Envoy filter runs).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Simulated time, ms.
    pub fn now_ms(&self) -> f64 {
        self.now as f64 / 1000.0
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Requests in the system (generated and not yet ended).
    pub fn live_requests(&self) -> u32 {
        self.live
    }

    /// Process every event up to and including `t_ms`; the clock ends at `t_ms`.
    pub fn run_until(&mut self, t_ms: f64) {
        let until = (t_ms.max(0.0) * 1000.0) as Micros;
        while let Some(at) = self.queue.peek_time() {
            if at > until {
                break;
            }
            let Some((at, ev)) = self.queue.pop() else {
                break;
            };
            self.now = at;
            self.events += 1;
            self.handle(ev);
        }
        self.now = self.now.max(until);
    }

    /// Stop generating requests and run until every request has ended.
    pub fn drain(&mut self) {
        self.arrivals_open = false;
        while self.live > 0 {
            let Some((at, ev)) = self.queue.pop() else {
                break;
            };
            self.now = at;
            self.events += 1;
            self.handle(ev);
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Arrive(g) => self.on_arrive(g as usize),
            Ev::AtEdge(r) => self.on_edge(r),
            Ev::AtServer(r) => self.on_server(r),
            Ev::ServiceDone { req, node, inc } => self.on_service_done(req, node as usize, inc),
            Ev::EdgeResponse { req, status } => self.on_edge_response(req, status),
            Ev::DrDone { req, status } => self.on_dr_done(req, status),
            Ev::Heartbeat => self.on_heartbeat(),
            Ev::Bucket => self.on_bucket(),
            Ev::Fault { k, epoch } => self.on_fault(k as usize, epoch),
        }
    }

    /// Index of the server called `name`.
    pub fn server_index(&self, name: &str) -> Option<usize> {
        self.topo.servers.iter().position(|s| s.name == name)
    }

    fn on_heartbeat(&mut self) {
        let now_ms = self.now / 1000;
        for (i, s) in self.servers.iter().enumerate() {
            if !s.alive {
                continue;
            }
            // The status component says "I am running" and reports its load;
            // the round trip (two crossings of the node's link) measures `D`.
            self.router.heartbeat(i, now_ms);
            let rtt_ms = 2.0 * self.server_link(i).delay_ms;
            self.router.link_rtt(i, rtt_ms, now_ms);
            let spec = &self.topo.servers[i];
            let used = (s.running.len() + s.waiting.len()) as f64;
            let utilization = (used / f64::from((spec.workers + spec.queue).max(1))).min(1.0);
            self.router.states_mut()[i].load = Some(LoadSample {
                utilization,
                at_ms: now_ms,
            });
        }
        self.router.evaluate_health(now_ms);
        self.queue.push(
            self.now
                .saturating_add(self.topo.health.interval_ms.max(1).saturating_mul(1000)),
            Ev::Heartbeat,
        );
    }

    fn on_bucket(&mut self) {
        let healthy = self.healthy();
        self.metrics.close(self.now, self.live, healthy);
        self.queue.push(
            self.now
                .saturating_add(self.topo.bucket_ms.saturating_mul(1000)),
            Ev::Bucket,
        );
    }

    pub(super) fn healthy(&self) -> Vec<bool> {
        let now_ms = self.now / 1000;
        let h = &self.router.config().health;
        self.router
            .states()
            .iter()
            .map(|s| s.is_healthy(now_ms, h))
            .collect()
    }

    /// Replace the scenario's parameters live (algorithm, method, stickiness,
    /// fault detection, rates, links, the fault timeline). The servers and
    /// client groups must keep their number and names; otherwise start a new
    /// simulation. A changed timeline applies from now on: its faults after
    /// the clock are scheduled, those at or before it are not applied (a
    /// fault injected by hand and recorded at its time stays applied once).
    pub fn reconfigure(&mut self, topo: Topology) -> Result<(), ConfigError> {
        topo.validate()?;
        let same_servers = topo.servers.len() == self.topo.servers.len()
            && topo
                .servers
                .iter()
                .zip(&self.topo.servers)
                .all(|(a, b)| a.name == b.name);
        if !same_servers || topo.clients.len() != self.topo.clients.len() {
            return Err(ConfigError {
                field: "servers".into(),
                problem: "servers or client groups changed: start a new simulation".into(),
            });
        }
        let mut router = Router::new(topo.to_config()?);
        router.record_scores(false);
        router.states_mut().clone_from_slice(self.router.states());
        self.router = router;
        for (g, c) in topo.clients.iter().enumerate() {
            if c.clients as usize != self.groups[g].clients.len() {
                self.groups[g].clients.resize(
                    c.clients as usize,
                    ClientState {
                        cookie: None,
                        cached: NONE,
                        cached_until: 0,
                    },
                );
            }
        }
        if topo.method != self.topo.method || topo.sticky != self.topo.sticky {
            for c in self.groups.iter_mut().flat_map(|g| g.clients.iter_mut()) {
                *c = ClientState {
                    cookie: None,
                    cached: NONE,
                    cached_until: 0,
                };
            }
        }
        let timeline_changed = topo.faults != self.topo.faults;
        self.topo = topo;
        if timeline_changed {
            self.reschedule_faults();
        }
        Ok(())
    }
}
