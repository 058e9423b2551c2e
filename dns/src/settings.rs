//! The configuration document: the filter's JSON document plus a `dns`
//! section. The core validates everything outside `dns` (and each region's
//! links, by validating the document once per region with that region's
//! links in place); this module validates the `dns` section itself. Every
//! error names its field.

use crate::names::{fqdn, names, nameservers, zone_name};
use crate::subnet::Subnet;
use edgepick_core::{Config, ConfigError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Default answer TTL, seconds: short, so a failed node leaves caches soon.
pub const DEFAULT_TTL_S: u32 = 5;
/// Default TTL while a name's answer is changing (a health flag flipped
/// within the last heartbeat window), seconds.
pub const DEFAULT_CHANGING_TTL_S: u32 = 1;
/// Largest TTL accepted, seconds.
pub const MAX_TTL_S: u32 = 3600;
/// Most names one document may serve.
pub const MAX_NAMES: usize = 256;
/// Most worker threads.
pub const MAX_THREADS: usize = 256;
/// Most regions one document may define.
pub const MAX_REGIONS: usize = 256;

/// The `dns` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    zone: Option<String>,
    names: Option<Vec<String>>,
    listen: Option<String>,
    metrics: Option<String>,
    ttl_s: Option<u32>,
    changing_ttl_s: Option<u32>,
    records: Option<String>,
    nameservers: Option<Vec<String>>,
    hostmaster: Option<String>,
    regions: Option<Vec<RawRegion>>,
    default_region: Option<String>,
    probe: Option<String>,
    seed: Option<u64>,
    threads: Option<usize>,
}

/// One entry of `dns.regions` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    name: Option<String>,
    subnets: Option<Vec<String>>,
    #[serde(default)]
    links: BTreeMap<String, Value>,
}

/// How many A/AAAA records an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// The ranked list: the choice first, then the core's fallbacks.
    Ranked,
    /// The choice alone.
    One,
}

/// How the server probes each backend when `health.heartbeat` is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `GET health.heartbeat.path` over HTTP/1.1; any 2xx or 3xx is a heartbeat.
    Http,
    /// A TCP connect to the backend's address is a heartbeat.
    Tcp,
}

/// A client region: the subnets it covers and the configuration whose
/// backends carry that region's links.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Region name (metrics, logs).
    pub name: String,
    /// Client subnets in this region.
    pub subnets: Vec<Subnet>,
    /// The document with this region's links in place.
    pub config: Config,
}

/// The validated `dns` section plus the core configuration(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The zone apex, lower case, with the trailing dot.
    pub zone: String,
    /// Fully qualified names answered with the pool (lower case, trailing dot).
    pub names: Vec<String>,
    /// UDP and TCP listen address.
    pub listen: SocketAddr,
    /// Prometheus metrics listen address.
    pub metrics: Option<SocketAddr>,
    /// Answer TTL, seconds.
    pub ttl_s: u32,
    /// TTL while the answer is changing, seconds.
    pub changing_ttl_s: u32,
    /// Several records or one.
    pub records: Records,
    /// NS names of the zone (the first is the SOA MNAME).
    pub nameservers: Vec<String>,
    /// SOA RNAME.
    pub hostmaster: String,
    /// Probe kind.
    pub probe: Probe,
    /// Seed of the random source (random picks, RFWS step 6).
    pub seed: u64,
    /// Threads answering UDP queries (`None`: one per CPU); read at start.
    pub threads: Option<usize>,
    /// The document's own links: clients in no region (unless `default_region`).
    pub base: Config,
    /// Regions, in configuration order.
    pub regions: Vec<Region>,
    /// Index into `regions` of the region for unmatched clients.
    pub default_region: Option<usize>,
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: problem.into(),
    }
}

impl Settings {
    /// Parse and validate the whole document.
    pub fn from_json(text: &str) -> Result<Settings, ConfigError> {
        let mut doc: Value = serde_json::from_str(text)
            .map_err(|e| err("(document)", format!("not valid JSON: {e}")))?;
        let obj = doc.as_object_mut().ok_or_else(|| {
            err(
                "(document)",
                "the configuration must be a JSON object { … }",
            )
        })?;
        let dns_value = obj
            .remove("dns")
            .ok_or_else(|| err("dns", "missing: the DNS server needs a \"dns\" section"))?;
        let raw: RawDns = serde_path_to_error::deserialize(dns_value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "dns".into()
            } else {
                format!("dns.{path}")
            };
            err(field, e.inner().to_string())
        })?;
        let base = Config::from_json(&doc.to_string())?;
        let regions = regions(&doc, raw.regions.unwrap_or_default(), &base)?;
        let default_region = match &raw.default_region {
            None => None,
            Some(n) => Some(regions.iter().position(|r| &r.name == n).ok_or_else(|| {
                err(
                    "dns.default_region",
                    format!("{n:?} is not a region in dns.regions"),
                )
            })?),
        };
        let zone = zone_name(raw.zone.as_deref())?;
        let ttl_s = ttl("dns.ttl_s", raw.ttl_s, DEFAULT_TTL_S)?;
        Ok(Settings {
            names: names(raw.names, &zone)?,
            listen: addr(
                "dns.listen",
                raw.listen.as_deref().unwrap_or("127.0.0.1:5353"),
            )?,
            metrics: raw
                .metrics
                .as_deref()
                .map(|m| addr("dns.metrics", m))
                .transpose()?,
            changing_ttl_s: ttl(
                "dns.changing_ttl_s",
                raw.changing_ttl_s,
                DEFAULT_CHANGING_TTL_S,
            )?
            .min(ttl_s),
            ttl_s,
            records: match raw.records.as_deref() {
                None | Some("ranked") => Records::Ranked,
                Some("one") => Records::One,
                Some(o) => {
                    return Err(err(
                        "dns.records",
                        format!("{o:?}: expected \"ranked\" or \"one\""),
                    ))
                }
            },
            nameservers: nameservers(raw.nameservers, &zone)?,
            hostmaster: match raw.hostmaster {
                None => format!("hostmaster.{zone}"),
                Some(h) => fqdn("dns.hostmaster", &h, &zone)?,
            },
            probe: match raw.probe.as_deref() {
                None | Some("http") => Probe::Http,
                Some("tcp") => Probe::Tcp,
                Some(o) => {
                    return Err(err(
                        "dns.probe",
                        format!("{o:?}: expected \"http\" or \"tcp\""),
                    ))
                }
            },
            seed: raw.seed.unwrap_or(1),
            threads: match raw.threads {
                Some(t) if !(1..=MAX_THREADS).contains(&t) => {
                    return Err(err(
                        "dns.threads",
                        format!("{t}: expected 1 to {MAX_THREADS}"),
                    ))
                }
                t => t,
            },
            zone,
            base,
            regions,
            default_region,
        })
    }

    /// The configuration whose links apply to a client in `region`
    /// (`None`: the document's own links).
    pub fn config_for(&self, region: Option<usize>) -> &Config {
        region
            .and_then(|r| self.regions.get(r))
            .map_or(&self.base, |r| &r.config)
    }
}

fn ttl(field: &str, v: Option<u32>, default: u32) -> Result<u32, ConfigError> {
    match v.unwrap_or(default) {
        t if t <= MAX_TTL_S => Ok(t),
        t => Err(err(
            field,
            format!("{t} is above the largest TTL accepted ({MAX_TTL_S} s)"),
        )),
    }
}

fn addr(field: &str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.parse()
        .map_err(|_| err(field, format!("{v:?} is not an ip:port address")))
}

/// Each region: its subnets, and the document validated again by the core
/// with the region's links in place of `backends[i].link`.
fn regions(doc: &Value, raw: Vec<RawRegion>, base: &Config) -> Result<Vec<Region>, ConfigError> {
    if raw.len() > MAX_REGIONS {
        return Err(err("dns.regions", format!("at most {MAX_REGIONS} regions")));
    }
    let mut out: Vec<Region> = Vec::new();
    for (r, region) in raw.into_iter().enumerate() {
        let field = format!("dns.regions[{r}]");
        let name = region
            .name
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| err(format!("{field}.name"), "missing or not visible ASCII"))?;
        if out.iter().any(|o| o.name == name) {
            return Err(err(
                format!("{field}.name"),
                format!("{name:?} is defined twice"),
            ));
        }
        let subnets = region
            .subnets
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, s)| Subnet::parse(s).map_err(|p| err(format!("{field}.subnets[{i}]"), p)))
            .collect::<Result<Vec<_>, _>>()?;
        let config = region_config(doc, &region.links, base, &field)?;
        out.push(Region {
            name,
            subnets,
            config,
        });
    }
    Ok(out)
}

fn region_config(
    doc: &Value,
    links: &BTreeMap<String, Value>,
    base: &Config,
    field: &str,
) -> Result<Config, ConfigError> {
    let mut doc = doc.clone();
    let mut backends = doc.get_mut("backends").and_then(Value::as_array_mut);
    let mut index = BTreeMap::new();
    for (name, link) in links {
        let i = base
            .backend_index(name)
            .ok_or_else(|| err(format!("{field}.links.{name}"), "no backend has this name"))?;
        index.insert(
            format!("backends[{i}].link"),
            format!("{field}.links.{name}"),
        );
        if let Some(b) = backends
            .as_deref_mut()
            .and_then(|b| b.get_mut(i))
            .and_then(Value::as_object_mut)
        {
            b.insert("link".into(), link.clone());
        }
    }
    Config::from_json(&Value::Object(into_map(doc)).to_string()).map_err(|e| {
        match index.iter().find(|(k, _)| e.field.starts_with(k.as_str())) {
            Some((k, v)) => err(format!("{v}{}", &e.field[k.len()..]), e.problem),
            None => e,
        }
    })
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
