//! A deterministic, seeded discrete-event simulation of the paper's Figure 2:
//! client groups, one edge node, web server nodes and the links between them.
//!
//! * Time is virtual (microseconds inside, milliseconds outside); events sit in a
//!   binary heap ordered by (time, sequence), so a seed always gives the same run.
//! * Every routing decision is [`edgepick_core::Router::pick`], the code the Envoy filter
//!   runs; each request's ticket is closed with `Router::finish`, live nodes send
//!   heartbeats (with a load report) and the edge runs `evaluate_health`, so
//!   fault detection is the paper's.
//! * Methods ([`Method`]): reverse proxy, HTTP redirect, DNS with a TTL, L4 NAT,
//!   L4 direct routing.
//! * Faults ([`FaultAction`]): kill / revive a node, degrade its link, overload it,
//!   scheduled in the topology or applied live.
//!
//! ```
//! use edgepick_sim::{Simulation, Topology, Server};
//! let mut topo = Topology::default();
//! topo.algorithm = serde_json::json!({"name": "round_robin"});
//! topo.servers = vec![Server { name: "a".into(), ..Server::default() }, Server { name: "b".into(), ..Server::default() }];
//! let mut sim = Simulation::new(topo).unwrap();
//! sim.run_until(2_000.0);
//! sim.drain();
//! let m = &sim.metrics;
//! assert_eq!(m.generated, m.ok + m.dropped + m.failed);
//! ```

mod compare;
mod edge;
mod engine;
mod export;
mod flow;
mod import;
mod metrics;
mod queue;
mod timeline;
mod topology;
mod validate;
mod view;
mod why;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tie_tests;
#[cfg(test)]
mod timeline_tests;

pub use compare::{catalogue, compare, CompareRow};
pub use engine::Simulation;
pub use export::{placeholder_address, Exported, DNS_NAME, DNS_ZONE};
pub use import::Imported;
pub use metrics::{BucketView, End, Histogram, Metrics};
pub use queue::{Ev, EventQueue, Micros};
pub use topology::{
    ClientGroup, Edge, FaultAction, HealthParams, LinkSpec, Method, ScheduledFault, Server,
    Topology, SIM_COOKIE_KEY,
};
pub use view::{NodeView, Snapshot};
pub use why::{Why, WhyNode};
