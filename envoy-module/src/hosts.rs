//! The cluster's hosts as core backends.
//!
//! Order (hash algorithms depend on it): the hosts the configuration lists,
//! in its order, then the others in Envoy's order (priority, then index).
//! Priorities are flattened: the policy treats every host of the cluster as
//! one pool.
//!
//! Each host's entry comes from, in this order: the configuration's
//! `backends` entry with its address (as written); else its endpoint
//! metadata under the namespace [`METADATA_NS`] (`"edgepick"`), keys
//! `name` (string), `weight`, `capacity`, `bandwidth_mbps`, `hops`,
//! `delay_ms`, `residual_mbps` (numbers) and `down` (bool), each optional;
//! else core's defaults, with Envoy's `load_balancing_weight` as the weight.

use crate::cluster::Cluster;
use crate::settings::Settings;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;

/// Endpoint metadata namespace (`metadata.filter_metadata.edgepick`).
pub const METADATA_NS: &str = "edgepick";

/// One host, where Envoy keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// Priority level.
    pub priority: u32,
    /// Index in that priority's list of all hosts.
    pub index: usize,
    /// Its address.
    pub address: SocketAddr,
}

/// Envoy's hosts, in Envoy's order (hosts whose address is not `ip:port`,
/// e.g. pipes, are left out).
pub fn read(c: &dyn Cluster) -> Vec<Host> {
    let mut out = Vec::new();
    for priority in 0..c.priorities() {
        for index in 0..c.hosts(priority) {
            if let Some(address) = c.address(priority, index).and_then(|a| a.parse().ok()) {
                out.push(Host {
                    priority,
                    index,
                    address,
                });
            }
        }
    }
    out
}

/// Host counts per priority: changes whenever membership does (a cheap check
/// besides Envoy's membership notice).
pub fn shape(c: &dyn Cluster) -> Vec<usize> {
    (0..c.priorities()).map(|p| c.hosts(p)).collect()
}

/// `hosts` in core order with their backend entries.
pub fn backends(s: &Settings, c: &dyn Cluster, hosts: &[Host]) -> (Vec<Host>, Vec<Value>) {
    let listed = s.listed_entries();
    let mut order: Vec<Host> = Vec::with_capacity(hosts.len());
    let mut entries = Vec::with_capacity(hosts.len());
    for (addr, entry) in &listed {
        if let Some(h) = hosts.iter().find(|h| h.address == *addr) {
            order.push(*h);
            entries.push(entry.clone());
        }
    }
    for h in hosts {
        if !listed.iter().any(|(a, _)| *a == h.address) {
            order.push(*h);
            entries.push(from_metadata(c, h));
        }
    }
    (order, entries)
}

/// The name of a host the document does not list: `metadata_name`
/// (endpoint metadata `edgepick.name`), else the address itself.
pub fn unlisted_name(address: &SocketAddr, metadata_name: Option<&str>) -> String {
    metadata_name.map_or_else(|| address.to_string(), str::to_string)
}

fn from_metadata(c: &dyn Cluster, h: &Host) -> Value {
    let (p, i) = (h.priority, h.index);
    let num = |k: &str| c.metadata_num(p, i, METADATA_NS, k);
    let mut e = Map::new();
    let name = unlisted_name(&h.address, c.metadata_str(p, i, METADATA_NS, "name"));
    e.insert("name".into(), json!(name));
    e.insert("address".into(), json!(h.address.to_string()));
    let weight = num("weight").unwrap_or(f64::from(c.weight(p, i).max(1)));
    e.insert("weight".into(), number(weight));
    if let Some(v) = num("capacity") {
        e.insert("capacity".into(), number(v));
    }
    let mut link = Map::new();
    for k in ["bandwidth_mbps", "hops", "delay_ms", "residual_mbps"] {
        if let Some(v) = num(k) {
            link.insert(k.into(), number(v));
        }
    }
    if !link.is_empty() {
        e.insert("link".into(), Value::Object(link));
    }
    if let Some(d) = c.metadata_bool(p, i, METADATA_NS, "down") {
        e.insert("down".into(), json!(d));
    }
    Value::Object(e)
}

/// Metadata numbers are doubles: whole ones become JSON integers (core reads
/// `weight`, `capacity` and `hops` as integers and names the field otherwise).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && (0.0..9.0e15).contains(&v) {
        json!(v as u64)
    } else {
        json!(v)
    }
}
