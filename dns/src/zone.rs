//! Answering one query: authoritative data (SOA, NS, NXDOMAIN, REFUSED) and
//! the A/AAAA records of the core's pick, sized to what the client can take.
//! Pure: the time comes in, no I/O.

use crate::pool::{address_dependent, granularity, region_of, Pick, Pool};
use crate::settings::{Records, Settings};
use crate::subnet::{canonical, max_len, truncate};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::opt::ClientSubnet;
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;

/// Largest UDP payload answered (the DNS flag day 2020 default): bounds the
/// amplification whatever the client advertises.
pub const MAX_UDP_PAYLOAD: usize = 1232;
/// UDP payload without EDNS (RFC 1035).
pub const PLAIN_UDP_PAYLOAD: usize = 512;

/// One question, as the handler read it.
#[derive(Debug, Clone)]
pub struct Question {
    /// Query name, lower case, fully qualified.
    pub name: String,
    /// Query type.
    pub qtype: RecordType,
    /// The resolver's address.
    pub src: IpAddr,
    /// EDNS Client Subnet, if the query carried one.
    pub ecs: Option<ClientSubnet>,
    /// Bytes the response may take (already bounded).
    pub max_size: usize,
}

/// What to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Response code.
    pub rcode: ResponseCode,
    /// The AA bit: set for every name inside the zone.
    pub authoritative: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (SOA for negative answers).
    pub authority: Vec<Record>,
    /// The ECS option to echo, with its scope set.
    pub ecs: Option<ClientSubnet>,
    /// Records were left out to fit `max_size` (TC bit).
    pub truncated: bool,
    /// The core's pick behind an A/AAAA answer.
    pub pick: Option<Pick>,
    /// Backend indices of the answer records, in order.
    pub backends: Vec<usize>,
}

/// A validated configuration and its live backend state.
pub struct Zone {
    /// The configuration.
    pub settings: Settings,
    /// Backends' live state.
    pub pool: Mutex<Pool>,
    serial: u32,
    /// `.` + the zone: the suffix of every name inside it.
    suffix: String,
    /// `settings.names` as record owner names.
    owners: Vec<Name>,
}

impl Zone {
    /// A zone over `settings`; `serial` is the SOA serial (the reload
    /// generation's checksum).
    pub fn new(settings: Settings, serial: u32) -> Zone {
        let pool = Mutex::new(Pool::new(&settings));
        let suffix = format!(".{}", settings.zone);
        let owners = settings.names.iter().map(|n| fqdn(n)).collect();
        Zone {
            settings,
            pool,
            serial,
            suffix,
            owners,
        }
    }

    /// Answer `q` at `now_ms`.
    pub fn answer(&self, q: &Question, now_ms: u64) -> Answer {
        let s = &self.settings;
        let mut out = Answer {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: Vec::new(),
            authority: Vec::new(),
            ecs: None,
            truncated: false,
            pick: None,
            backends: Vec::new(),
        };
        let in_zone = q.name == s.zone || q.name.ends_with(&self.suffix);
        if !in_zone {
            out.rcode = ResponseCode::Refused;
            out.authoritative = false;
            return out;
        }
        let served = s.names.iter().position(|n| *n == q.name);
        let apex = q.name == s.zone;
        match (q.qtype, served) {
            (RecordType::SOA, _) if apex => out.answers.push(self.soa()),
            (RecordType::NS, _) if apex => out.answers.extend(self.ns()),
            (RecordType::A | RecordType::AAAA | RecordType::ANY, Some(i)) => {
                self.addresses(q, &self.owners[i], now_ms, &mut out)
            }
            (_, Some(_)) => {}
            _ if apex || self.is_empty_non_terminal(&q.name) => {}
            _ => out.rcode = ResponseCode::NXDomain,
        }
        if out.answers.is_empty() {
            out.authority.push(self.soa());
        }
        self.fit(q, &mut out);
        out
    }

    /// A name with no records of its own above a served name (`eu.zone` for
    /// `www.eu.zone`): NODATA, not NXDOMAIN.
    fn is_empty_non_terminal(&self, name: &str) -> bool {
        let suffix = format!(".{name}");
        self.settings.names.iter().any(|n| n.ends_with(&suffix))
    }

    fn addresses(&self, q: &Question, name: &Name, now_ms: u64, out: &mut Answer) {
        let s = &self.settings;
        let (client, scope) = client_key(s, q);
        out.ecs = q
            .ecs
            .as_ref()
            .map(|e| ClientSubnet::new(e.addr(), e.source_prefix(), scope));
        let Ok(mut pool) = self.pool.lock() else {
            out.rcode = ResponseCode::ServFail;
            return;
        };
        let pick = pool.pick(client, region_of(s, client), now_ms);
        let window = s.base.health.heartbeat.as_ref().map_or(0, |h| h.window_ms);
        let ttl = if pool.changing(now_ms, window) {
            s.changing_ttl_s
        } else {
            s.ttl_s
        };
        drop(pool);
        let want_v4 = q.qtype != RecordType::AAAA;
        let backends = &s.base.backends;
        out.backends = pick
            .ranked
            .iter()
            .copied()
            .filter(|&i| {
                backends
                    .get(i)
                    .is_some_and(|b| b.address.is_ipv4() == want_v4)
            })
            .take(if s.records == Records::One {
                1
            } else {
                usize::MAX
            })
            .collect();
        out.answers = out
            .backends
            .iter()
            .map(|&i| match backends[i].address.ip() {
                IpAddr::V4(v4) => Record::from_rdata(name.clone(), ttl, RData::A(A(v4))),
                IpAddr::V6(v6) => Record::from_rdata(name.clone(), ttl, RData::AAAA(AAAA(v6))),
            })
            .collect();
        out.pick = Some(pick);
    }

    fn soa(&self) -> Record {
        let s = &self.settings;
        let soa = SOA::new(
            fqdn(&s.nameservers[0]),
            fqdn(&s.hostmaster),
            self.serial,
            3600,
            600,
            86_400,
            s.ttl_s,
        );
        Record::from_rdata(fqdn(&s.zone), s.ttl_s, RData::SOA(soa))
    }

    fn ns(&self) -> Vec<Record> {
        let s = &self.settings;
        s.nameservers
            .iter()
            .map(|n| Record::from_rdata(fqdn(&s.zone), s.ttl_s, RData::NS(NS(fqdn(n)))))
            .collect()
    }

    /// Drop trailing answer records until the response fits `max_size`
    /// (counted without name compression: an upper bound); set TC if any went.
    fn fit(&self, q: &Question, out: &mut Answer) {
        let name = q.name.len() + 1;
        let opt = q
            .ecs
            .as_ref()
            .map_or(11, |e| 11 + 8 + usize::from(e.source_prefix()).div_ceil(8));
        let fixed = 12 + name + 4 + opt + out.authority.iter().map(record_size).sum::<usize>();
        let mut total = fixed;
        let keep = out
            .answers
            .iter()
            .take_while(|r| {
                total += record_size(r);
                total <= q.max_size
            })
            .count();
        if keep < out.answers.len() {
            out.answers.truncate(keep);
            out.backends.truncate(keep);
            out.truncated = true;
        }
    }
}

/// Wire size of a record without name compression.
fn record_size(r: &Record) -> usize {
    let rdata = match r.data() {
        RData::A(_) => 4,
        RData::AAAA(_) => 16,
        RData::NS(ns) => ns.0.len() + 1,
        RData::SOA(soa) => soa.mname().len() + soa.rname().len() + 2 + 20,
        _ => 512,
    };
    r.name().len() + 1 + 10 + rdata
}

/// The address the core hashes and regions match, and the ECS scope to
/// answer with: the subnet truncated to the server's granularity, or the
/// resolver's own address without ECS (or with ECS source prefix 0, scope 0).
fn client_key(s: &Settings, q: &Question) -> (IpAddr, u8) {
    let dependent = address_dependent(s);
    match &q.ecs {
        Some(e) if e.source_prefix() > 0 => {
            let ip = canonical(e.addr());
            let g = granularity(s, ip.is_ipv4()).min(max_len(ip));
            let len = e.source_prefix().min(g);
            (truncate(ip, len), if dependent { len } else { 0 })
        }
        _ => (canonical(q.src), 0),
    }
}

fn fqdn(n: &str) -> Name {
    Name::from_str(n).unwrap_or_else(|_| Name::root())
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
