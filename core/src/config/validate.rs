//! Stage two: raw document → [`Config`], one named error per problem.

use super::raw::*;
use super::validate_algorithm::algorithm;
use super::validate_policy::{cookie, health};
use super::*;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::net::IpAddr;

/// Names and addresses already seen. The configuration is the operator's own
/// input (no hash flooding to fear), so SipHash with fixed keys: no
/// `RandomState`, whose seeding brings WASI `random_get` and its error tables
/// into the Envoy filter.
type Seen = HashSet<String, BuildHasherDefault<DefaultHasher>>;

pub(super) type Result<T> = core::result::Result<T, ConfigError>;

/// Upper bound on backends: keeps tables (maglev, ketama) bounded.
pub const MAX_BACKENDS: usize = 10_000;
/// Upper bound on fallbacks in a ranked list.
pub const MAX_FALLBACKS: usize = 16;

pub(super) fn parse_raw(bytes: &[u8]) -> Result<RawConfig> {
    let text = core::str::from_utf8(bytes)
        .map_err(|e| ConfigError::new("(document)", format!("not UTF-8: {e}")))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ConfigError::new("(document)", "empty configuration"));
    }
    // serde would read a struct from an array, field by position: refuse it.
    if trimmed.starts_with('[') {
        return Err(ConfigError::new(
            "(document)",
            "the configuration must be a JSON object { … }",
        ));
    }
    // Errors in a value name its field (JSON path); syntax errors the whole
    // document (their message gives the line and column).
    super::read::from_str(text)
}

pub(super) fn validate(raw: RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    if let Some(v) = raw.version {
        if v != 1 {
            return Err(ConfigError::new(
                "version",
                format!("unsupported version {v}; this build reads version 1"),
            ));
        }
    }
    let mode = match raw.mode.as_deref() {
        None | Some("proxy") => Mode::Proxy,
        Some("redirect") => Mode::Redirect,
        Some(other) => {
            return Err(ConfigError::new(
                "mode",
                format!("unknown mode {other:?}; expected \"proxy\" or \"redirect\""),
            ))
        }
    };
    let backends = backends(raw.backends, mode)?;
    let algorithm = algorithm(raw.algorithm.unwrap_or_default())?;
    if let Algorithm::ConsistentHash {
        flavour: HashFlavour::Maglev { table_size },
        ..
    } = algorithm
    {
        if table_size <= backends.len() as u64 {
            return Err(ConfigError::new(
                "algorithm.table_size",
                format!(
                    "{table_size} slots for {} backends: the table must be larger than the \
                     number of backends (Envoy advises 100 slots per backend)",
                    backends.len()
                ),
            ));
        }
    }
    let health = health(raw.health.unwrap_or_default(), backends.len())?;
    let cookie = raw.cookie.map(|c| cookie(c, env)).transpose()?;
    let fallbacks = raw.fallbacks.unwrap_or(2);
    if fallbacks > MAX_FALLBACKS {
        return Err(ConfigError::new(
            "fallbacks",
            format!("{fallbacks} is more than {MAX_FALLBACKS}"),
        ));
    }
    Ok(Config {
        mode,
        algorithm,
        backends,
        health,
        cookie,
        trusted_hops: raw.client.and_then(|c| c.trusted_hops).unwrap_or(0),
        fallbacks,
        decision_header: raw.decision_header.unwrap_or(false),
    })
}

pub(super) fn finite(field: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ConfigError::new(field, "must be a finite number"))
    }
}

/// Visible ASCII only: nothing a header or request line could be split on.
pub(super) fn printable(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_graphic())
}

/// An absolute `http(s)://host[...]` URL of visible ASCII.
fn absolute_http_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    printable(u) && host.is_some_and(|h| !h.is_empty() && !h.starts_with(':') && !h.contains('@'))
}

/// Addresses no request can be sent to.
fn undeliverable(ip: IpAddr) -> Option<&'static str> {
    match ip {
        _ if ip.is_unspecified() => Some("is unspecified (0.0.0.0 or ::)"),
        _ if ip.is_multicast() => Some("is a multicast address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("is the broadcast address"),
        _ => None,
    }
}

fn backends(raw: Vec<RawBackend>, mode: Mode) -> Result<Vec<Backend>> {
    if raw.is_empty() {
        return Err(ConfigError::new("backends", "no backends configured"));
    }
    if raw.len() > MAX_BACKENDS {
        return Err(ConfigError::new(
            "backends",
            format!("{} backends; at most {MAX_BACKENDS}", raw.len()),
        ));
    }
    // Both sets hold strings (an address as its canonical `ip:port`, equal
    // exactly when the addresses are): one set type in the filter, not two.
    let mut names = Seen::default();
    let mut addrs = Seen::default();
    let mut out = Vec::with_capacity(raw.len());
    for (i, b) in raw.into_iter().enumerate() {
        let at = |f: &str| format!("backends[{i}].{f}");
        let address = address(b.address, &at("address"))?;
        let canonical = address.to_string();
        if !addrs.insert(canonical.clone()) {
            return Err(ConfigError::new(
                at("address"),
                format!("duplicate address {address}"),
            ));
        }
        let name = backend_name(b.name.unwrap_or(canonical), &at("name"))?;
        if !names.insert(name.clone()) {
            return Err(ConfigError::new(
                at("name"),
                format!("duplicate name {name:?}"),
            ));
        }
        let url = url(b.url, mode, &at("url"))?;
        let weight = b.weight.unwrap_or(1);
        if weight > 1_000_000 {
            return Err(ConfigError::new(
                at("weight"),
                format!("{weight} is more than 1000000"),
            ));
        }
        let capacity = b.capacity.unwrap_or(100);
        if capacity == 0 {
            return Err(ConfigError::new(at("capacity"), "must be at least 1"));
        }
        out.push(Backend {
            name,
            address,
            url,
            weight,
            capacity,
            link: link(&at("link"), b.link.unwrap_or_default())?,
            down: b.down.unwrap_or(false),
        });
    }
    if out.iter().all(|b| b.down) {
        return Err(ConfigError::new(
            "backends",
            "every backend is down: at least one must be up",
        ));
    }
    if out.iter().all(|b| b.weight == 0) {
        return Err(ConfigError::new(
            "backends",
            "total weight is 0: at least one backend needs weight ≥ 1",
        ));
    }
    Ok(out)
}

/// `backends[i].address`: present, `ip:port`, a port, a deliverable address.
fn address(text: Option<String>, at: &str) -> Result<SocketAddr> {
    let text = text.ok_or_else(|| ConfigError::new(at, "missing; expected ip:port"))?;
    let address: SocketAddr = text
        .parse()
        .map_err(|_| ConfigError::new(at, format!("{text:?} is not ip:port")))?;
    if address.port() == 0 {
        return Err(ConfigError::new(at, "port 0 is not a valid destination"));
    }
    if let Some(why) = undeliverable(address.ip()) {
        return Err(ConfigError::new(
            at,
            format!("{address} {why}: not a backend"),
        ));
    }
    Ok(address)
}

/// `backends[i].name`: 1-64 characters that are safe in a header and a cookie.
fn backend_name(name: String, at: &str) -> Result<String> {
    let safe = |c: u8| c.is_ascii_alphanumeric() || b"-_.:[]".contains(&c);
    if name.is_empty() || name.len() > 64 || !name.bytes().all(safe) {
        return Err(ConfigError::new(
            at,
            format!("{name:?} must be 1-64 characters of [A-Za-z0-9-_.:[]]"),
        ));
    }
    Ok(name)
}

/// `backends[i].url`: an absolute http(s) URL (trailing `/` dropped),
/// required in redirect mode.
fn url(raw: Option<String>, mode: Mode, at: &str) -> Result<Option<String>> {
    match raw {
        Some(u) if absolute_http_url(&u) => Ok(Some(u.trim_end_matches('/').to_string())),
        Some(u) => Err(ConfigError::new(
            at,
            format!(
                "{u:?} must be an absolute http:// or https:// URL with a host, \
                 of visible ASCII (no spaces or control characters)"
            ),
        )),
        None if mode == Mode::Redirect => {
            Err(ConfigError::new(at, "required when mode is \"redirect\""))
        }
        None => Ok(None),
    }
}

fn link(at: &str, raw: RawLink) -> Result<Link> {
    let f = |name: &str| format!("{at}.{name}");
    let bandwidth_mbps = finite(&f("bandwidth_mbps"), raw.bandwidth_mbps.unwrap_or(1000.0))?;
    if bandwidth_mbps <= 0.0 {
        return Err(ConfigError::new(
            f("bandwidth_mbps"),
            "must be greater than 0",
        ));
    }
    let hops = raw.hops.unwrap_or(1);
    if hops == 0 {
        return Err(ConfigError::new(f("hops"), "must be at least 1"));
    }
    let delay_ms = finite(&f("delay_ms"), raw.delay_ms.unwrap_or(0.0))?;
    if delay_ms < 0.0 {
        return Err(ConfigError::new(f("delay_ms"), "must not be negative"));
    }
    let residual_mbps = finite(
        &f("residual_mbps"),
        raw.residual_mbps.unwrap_or(bandwidth_mbps),
    )?;
    if !(0.0..=bandwidth_mbps).contains(&residual_mbps) {
        return Err(ConfigError::new(
            f("residual_mbps"),
            "must be between 0 and bandwidth_mbps",
        ));
    }
    Ok(Link {
        bandwidth_mbps,
        hops,
        delay_ms,
        residual_mbps,
    })
}
