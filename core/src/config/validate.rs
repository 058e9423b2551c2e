//! Stage two: raw document → [`Config`], one named error per problem.

use super::raw::*;
use super::*;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, DefaultHasher};

/// Names and addresses already seen. The configuration is the operator's own
/// input (no hash flooding to fear), so SipHash with fixed keys: no
/// `RandomState`, whose seeding brings WASI `random_get` and its error tables
/// into the Envoy filter.
type Seen = HashSet<String, BuildHasherDefault<DefaultHasher>>;

type Result<T> = core::result::Result<T, ConfigError>;

/// Upper bound on backends: keeps tables (maglev, ketama) bounded.
pub const MAX_BACKENDS: usize = 10_000;
/// Upper bound on fallbacks in a ranked list.
pub const MAX_FALLBACKS: usize = 16;
/// Shortest accepted cookie key, bytes.
pub const MIN_KEY_LEN: usize = 16;

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

pub(super) fn validate(raw: RawConfig) -> Result<Config> {
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
    let health = health(raw.health.unwrap_or_default())?;
    let cookie = raw.cookie.map(cookie).transpose()?;
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

fn finite(field: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ConfigError::new(field, "must be a finite number"))
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
        let address_text = b
            .address
            .ok_or_else(|| ConfigError::new(at("address"), "missing; expected ip:port"))?;
        let address: SocketAddr = address_text.parse().map_err(|_| {
            ConfigError::new(at("address"), format!("{address_text:?} is not ip:port"))
        })?;
        if address.port() == 0 {
            return Err(ConfigError::new(
                at("address"),
                "port 0 is not a valid destination",
            ));
        }
        let canonical = address.to_string();
        if !addrs.insert(canonical.clone()) {
            return Err(ConfigError::new(
                at("address"),
                format!("duplicate address {address}"),
            ));
        }
        let name = b.name.unwrap_or(canonical);
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:[]".contains(&c))
        {
            return Err(ConfigError::new(
                at("name"),
                format!("{name:?} must be 1-64 characters of [A-Za-z0-9-_.:[]]"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(ConfigError::new(
                at("name"),
                format!("duplicate name {name:?}"),
            ));
        }
        let url = match b.url {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_string())
            }
            Some(u) => {
                return Err(ConfigError::new(
                    at("url"),
                    format!("{u:?} must start with http:// or https://"),
                ))
            }
            None if mode == Mode::Redirect => {
                return Err(ConfigError::new(
                    at("url"),
                    "required when mode is \"redirect\"",
                ))
            }
            None => None,
        };
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
        });
    }
    if out.iter().all(|b| b.weight == 0) {
        return Err(ConfigError::new(
            "backends",
            "total weight is 0: at least one backend needs weight ≥ 1",
        ));
    }
    Ok(out)
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

/// Rejects a parameter given to an algorithm that does not take it.
fn only(name: &str, raw: &RawAlgorithm, allowed: &[&str]) -> Result<()> {
    let given: [(&str, bool); 7] = [
        ("tie_tolerance", raw.tie_tolerance.is_some()),
        ("load_threshold", raw.load_threshold.is_some()),
        ("choices", raw.choices.is_some()),
        ("decay_ms", raw.decay_ms.is_some()),
        ("default_rtt_ms", raw.default_rtt_ms.is_some()),
        ("key", raw.key.is_some()),
        ("flavour", raw.flavour.is_some()),
    ];
    for (param, present) in given {
        if present && !allowed.contains(&param) {
            return Err(ConfigError::new(
                format!("algorithm.{param}"),
                format!("not a parameter of {name}"),
            ));
        }
    }
    if raw.table_size.is_some() && !allowed.contains(&"table_size") {
        return Err(ConfigError::new(
            "algorithm.table_size",
            format!("not a parameter of {name}"),
        ));
    }
    Ok(())
}

fn algorithm(raw: RawAlgorithm) -> Result<Algorithm> {
    let name = raw.name.clone().unwrap_or_else(|| "rfws".to_string());
    let alg = match name.as_str() {
        "rfws" => {
            only(&name, &raw, &["tie_tolerance", "load_threshold"])?;
            let tie_tolerance =
                finite("algorithm.tie_tolerance", raw.tie_tolerance.unwrap_or(0.05))?;
            if !(0.0..1.0).contains(&tie_tolerance) {
                return Err(ConfigError::new(
                    "algorithm.tie_tolerance",
                    "must be in [0, 1)",
                ));
            }
            let load_threshold = finite(
                "algorithm.load_threshold",
                raw.load_threshold.unwrap_or(0.9),
            )?;
            if !(load_threshold > 0.0 && load_threshold < 1.0) {
                return Err(ConfigError::new(
                    "algorithm.load_threshold",
                    "must be in (0, 1): the paper's threshold is below 1",
                ));
            }
            Algorithm::Rfws {
                tie_tolerance,
                load_threshold,
            }
        }
        "round_robin" | "random" | "weighted_random" | "ip_hash" => {
            only(&name, &raw, &[])?;
            match name.as_str() {
                "round_robin" => Algorithm::RoundRobin,
                "random" => Algorithm::Random,
                "weighted_random" => Algorithm::WeightedRandom,
                _ => Algorithm::IpHash,
            }
        }
        "least_connections" => {
            only(&name, &raw, &["choices"])?;
            if let Some(c) = raw.choices {
                if !(2..=64).contains(&c) {
                    return Err(ConfigError::new(
                        "algorithm.choices",
                        "must be between 2 and 64",
                    ));
                }
            }
            Algorithm::LeastConnections {
                choices: raw.choices,
            }
        }
        "least_response_time" => {
            only(&name, &raw, &["decay_ms", "default_rtt_ms"])?;
            let decay_ms = finite("algorithm.decay_ms", raw.decay_ms.unwrap_or(10_000.0))?;
            if decay_ms <= 0.0 {
                return Err(ConfigError::new(
                    "algorithm.decay_ms",
                    "must be greater than 0",
                ));
            }
            let default_rtt_ms = finite(
                "algorithm.default_rtt_ms",
                raw.default_rtt_ms.unwrap_or(30.0),
            )?;
            if default_rtt_ms < 0.0 {
                return Err(ConfigError::new(
                    "algorithm.default_rtt_ms",
                    "must not be negative",
                ));
            }
            Algorithm::LeastResponseTime {
                decay_ms,
                default_rtt_ms,
            }
        }
        "consistent_hash" => {
            only(&name, &raw, &["key", "flavour", "table_size"])?;
            let key = hash_key(raw.key.as_deref().unwrap_or("client_address"))?;
            let flavour = match raw.flavour.as_deref().unwrap_or("ketama") {
                "ketama" => {
                    if raw.table_size.is_some() {
                        return Err(ConfigError::new(
                            "algorithm.table_size",
                            "only for flavour \"maglev\"",
                        ));
                    }
                    HashFlavour::Ketama
                }
                "maglev" => {
                    let table_size = raw.table_size.unwrap_or(65_537);
                    if !(7..=5_000_011).contains(&table_size) || !is_prime(table_size) {
                        return Err(ConfigError::new(
                            "algorithm.table_size",
                            format!("{table_size} must be a prime between 7 and 5000011"),
                        ));
                    }
                    HashFlavour::Maglev { table_size }
                }
                other => {
                    return Err(ConfigError::new(
                        "algorithm.flavour",
                        format!("unknown flavour {other:?}; expected \"ketama\" or \"maglev\""),
                    ))
                }
            };
            Algorithm::ConsistentHash { key, flavour }
        }
        other => {
            return Err(ConfigError::new(
                "algorithm.name",
                format!(
                    "unknown algorithm {other:?}; expected one of {}",
                    comma_list(&Algorithm::NAMES)
                ),
            ))
        }
    };
    Ok(alg)
}

fn hash_key(text: &str) -> Result<HashKey> {
    let bad = |why: &str| ConfigError::new("algorithm.key", format!("{text:?}: {why}"));
    match text.split_once(':') {
        Some(("header", h)) if !h.is_empty() => Ok(HashKey::Header(h.to_ascii_lowercase())),
        Some(("cookie", c)) if !c.is_empty() => Ok(HashKey::Cookie(c.to_string())),
        Some(_) => Err(bad(
            "expected header:NAME, cookie:NAME, path or client_address",
        )),
        None => match text {
            "path" => Ok(HashKey::Path),
            "client_address" => Ok(HashKey::ClientAddress),
            _ => Err(bad(
                "expected header:NAME, cookie:NAME, path or client_address",
            )),
        },
    }
}

/// `a, b, c` (what `[&str]::join(", ")` gives, without its generic copy loop).
fn comma_list(items: &[&str]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out
}

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn health(raw: RawHealth) -> Result<Health> {
    let d = Health::default();
    let heartbeat = raw.heartbeat.map(heartbeat).transpose()?;
    let panic_threshold = finite(
        "health.panic_threshold",
        raw.panic_threshold.unwrap_or(d.panic_threshold),
    )?;
    if !(0.0..=1.0).contains(&panic_threshold) {
        return Err(ConfigError::new(
            "health.panic_threshold",
            "must be in [0, 1]",
        ));
    }
    let fail_timeout_ms = raw.fail_timeout_ms.unwrap_or(d.fail_timeout_ms);
    if fail_timeout_ms > 86_400_000 {
        return Err(ConfigError::new(
            "health.fail_timeout_ms",
            "more than a day",
        ));
    }
    let slow_start_ms = raw.slow_start_ms.unwrap_or(d.slow_start_ms);
    if slow_start_ms > 3_600_000 {
        return Err(ConfigError::new(
            "health.slow_start_ms",
            "more than an hour",
        ));
    }
    Ok(Health {
        heartbeat,
        max_fails: raw.max_fails.unwrap_or(d.max_fails),
        fail_timeout_ms,
        slow_start_ms,
        panic_threshold,
    })
}

fn heartbeat(raw: RawHeartbeat) -> Result<Heartbeat> {
    let interval_ms = raw.interval_ms.unwrap_or(1000);
    if !(10..=3_600_000).contains(&interval_ms) {
        return Err(ConfigError::new(
            "health.heartbeat.interval_ms",
            "must be between 10 and 3600000",
        ));
    }
    let window_ms = raw.window_ms.unwrap_or(interval_ms * 3);
    if window_ms < interval_ms {
        return Err(ConfigError::new(
            "health.heartbeat.window_ms",
            "must be at least interval_ms",
        ));
    }
    let threshold = raw.threshold.unwrap_or(1);
    let fits = window_ms / interval_ms;
    if threshold == 0 || u64::from(threshold) > fits {
        return Err(ConfigError::new(
            "health.heartbeat.threshold",
            format!("{threshold} must be between 1 and window_ms / interval_ms = {fits}"),
        ));
    }
    let path = raw.path.unwrap_or_else(|| "/health".to_string());
    if !path.starts_with('/') {
        return Err(ConfigError::new(
            "health.heartbeat.path",
            format!("{path:?} must start with /"),
        ));
    }
    let timeout_ms = raw.timeout_ms.unwrap_or(interval_ms.min(1000));
    if timeout_ms == 0 {
        return Err(ConfigError::new(
            "health.heartbeat.timeout_ms",
            "must be at least 1",
        ));
    }
    Ok(Heartbeat {
        interval_ms,
        window_ms,
        threshold,
        path,
        timeout_ms,
        cluster: raw.cluster.unwrap_or_else(|| "edgepick".to_string()),
    })
}

fn cookie(raw: RawCookie) -> Result<Cookie> {
    let name = raw.name.unwrap_or_else(|| "edgepick".to_string());
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(ConfigError::new(
            "cookie.name",
            format!("{name:?} is not a valid cookie name"),
        ));
    }
    let keys = raw.keys.unwrap_or_default();
    if keys.is_empty() {
        return Err(ConfigError::new(
            "cookie.keys",
            "at least one signing key is required",
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        if k.len() < MIN_KEY_LEN {
            return Err(ConfigError::new(
                format!("cookie.keys[{i}]"),
                format!(
                    "key is {} bytes; at least {MIN_KEY_LEN} are required",
                    k.len()
                ),
            ));
        }
    }
    let path = raw.path.unwrap_or_else(|| "/".to_string());
    if !path.starts_with('/') || path.bytes().any(|c| c == b';' || c.is_ascii_control()) {
        return Err(ConfigError::new(
            "cookie.path",
            format!("{path:?} must start with / and hold no ';'"),
        ));
    }
    let same_site = match raw.same_site.as_deref().unwrap_or("Lax") {
        s if s.eq_ignore_ascii_case("strict") => SameSite::Strict,
        s if s.eq_ignore_ascii_case("lax") => SameSite::Lax,
        s if s.eq_ignore_ascii_case("none") => SameSite::None,
        other => {
            return Err(ConfigError::new(
                "cookie.same_site",
                format!("{other:?}; expected Strict, Lax or None"),
            ))
        }
    };
    let secure = raw.secure.unwrap_or(false);
    if same_site == SameSite::None && !secure {
        return Err(ConfigError::new(
            "cookie.same_site",
            "SameSite=None requires \"secure\": true (browsers drop it otherwise)",
        ));
    }
    let max_age_s = raw.max_age_s.unwrap_or(3600);
    if max_age_s == 0 || max_age_s > 400 * 86_400 {
        return Err(ConfigError::new(
            "cookie.max_age_s",
            "must be between 1 and 34560000 (400 days)",
        ));
    }
    Ok(Cookie {
        name,
        keys: keys.into_iter().map(String::into_bytes).collect(),
        max_age_s,
        path,
        same_site,
        secure,
        http_only: raw.http_only.unwrap_or(true),
    })
}
