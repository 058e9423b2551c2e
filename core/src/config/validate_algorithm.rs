//! Stage two, continued: the algorithm and its parameters.

use super::names;
use super::raw::*;
use super::shapes::RawStruct;
use super::validate::{finite, Result};
use super::*;

/// Largest maglev table: building one takes time on every worker at every
/// configuration (measured natively, release build: 131 ms for 10,000
/// backends at 1,000,003 slots; 2.9 s at Envoy's own limit of 5,000,011).
pub const MAX_MAGLEV_TABLE: u64 = 1_000_003;

/// Rejects a parameter given to an algorithm that does not take it.
fn only(name: &str, raw: &RawAlgorithm, allowed: &[&str]) -> Result<()> {
    let mut given = raw.given().into_iter().filter(|&f| f != "name");
    match given.find(|f| !allowed.contains(f)) {
        Some(param) => Err(ConfigError::new(
            format!("algorithm.{param}"),
            format!("not a parameter of {name}"),
        )),
        None => Ok(()),
    }
}

pub(super) fn algorithm(raw: RawAlgorithm) -> Result<Algorithm> {
    let name = raw.name.clone().unwrap_or_else(|| names::RFWS.to_string());
    match name.as_str() {
        names::RFWS => {
            only(&name, &raw, &["tie_tolerance", "load_threshold"])?;
            rfws(&raw)
        }
        names::ROUND_ROBIN | names::RANDOM | names::WEIGHTED_RANDOM | names::IP_HASH => {
            only(&name, &raw, &[])?;
            Ok(match name.as_str() {
                names::ROUND_ROBIN => Algorithm::RoundRobin,
                names::RANDOM => Algorithm::Random,
                names::WEIGHTED_RANDOM => Algorithm::WeightedRandom,
                _ => Algorithm::IpHash,
            })
        }
        names::LEAST_CONNECTIONS => {
            only(&name, &raw, &["choices"])?;
            if raw.choices.is_some_and(|c| !(2..=64).contains(&c)) {
                return Err(ConfigError::new(
                    "algorithm.choices",
                    "must be between 2 and 64",
                ));
            }
            Ok(Algorithm::LeastConnections {
                choices: raw.choices,
            })
        }
        names::LEAST_RESPONSE_TIME => {
            only(&name, &raw, &["decay_ms", "default_rtt_ms"])?;
            least_response_time(&raw)
        }
        names::CONSISTENT_HASH => {
            only(&name, &raw, &["key", "flavour", "table_size"])?;
            let key = hash_key(raw.key.as_deref().unwrap_or("client_address"))?;
            let flavour = hash_flavour(&raw)?;
            Ok(Algorithm::ConsistentHash { key, flavour })
        }
        other => Err(ConfigError::new(
            "algorithm.name",
            format!(
                "unknown algorithm {other:?}; expected one of {}",
                comma_list(&Algorithm::NAMES)
            ),
        )),
    }
}

fn rfws(raw: &RawAlgorithm) -> Result<Algorithm> {
    let tie_tolerance = finite("algorithm.tie_tolerance", raw.tie_tolerance.unwrap_or(0.05))?;
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
    Ok(Algorithm::Rfws {
        tie_tolerance,
        load_threshold,
    })
}

fn least_response_time(raw: &RawAlgorithm) -> Result<Algorithm> {
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
    Ok(Algorithm::LeastResponseTime {
        decay_ms,
        default_rtt_ms,
    })
}

fn hash_flavour(raw: &RawAlgorithm) -> Result<HashFlavour> {
    match raw.flavour.as_deref().unwrap_or("ketama") {
        "ketama" if raw.table_size.is_some() => Err(ConfigError::new(
            "algorithm.table_size",
            "only for flavour \"maglev\"",
        )),
        "ketama" => Ok(HashFlavour::Ketama),
        "maglev" => {
            let table_size = raw.table_size.unwrap_or(65_537);
            if !(7..=MAX_MAGLEV_TABLE).contains(&table_size) || !is_prime(table_size) {
                return Err(ConfigError::new(
                    "algorithm.table_size",
                    format!("{table_size} must be a prime between 7 and {MAX_MAGLEV_TABLE}"),
                ));
            }
            Ok(HashFlavour::Maglev { table_size })
        }
        other => Err(ConfigError::new(
            "algorithm.flavour",
            format!("unknown flavour {other:?}; expected \"ketama\" or \"maglev\""),
        )),
    }
}

fn hash_key(text: &str) -> Result<HashKey> {
    let bad = |why: &str| ConfigError::new("algorithm.key", format!("{text:?}: {why}"));
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
    };
    match text.split_once(':') {
        Some(("header", h)) if token(h) => Ok(HashKey::Header(h.to_ascii_lowercase())),
        Some(("cookie", c)) if token(c) => Ok(HashKey::Cookie(c.to_string())),
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
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}
