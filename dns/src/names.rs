//! Domain names in the `dns` section: checked, lower-cased, made absolute.

use crate::settings::MAX_NAMES;
use edgepick_core::ConfigError;

fn err(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// A domain name: LDH labels of 1..=63 bytes, 253 bytes at most; returned
/// lower case with the trailing dot.
fn check_name(field: &str, name: &str) -> Result<String, ConfigError> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let ok_label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if n.is_empty() || n.len() > 253 || !n.split('.').all(ok_label) {
        return Err(err(field, format!("{name:?} is not a domain name")));
    }
    Ok(format!("{n}."))
}

pub(crate) fn zone_name(v: Option<&str>) -> Result<String, ConfigError> {
    check_name(
        "dns.zone",
        v.ok_or_else(|| {
            err(
                "dns.zone",
                "missing: the zone this server is authoritative for",
            )
        })?,
    )
}

/// A name relative to the zone (`www`), the apex (`@`) or absolute inside
/// the zone (`www.example.test.`).
pub(crate) fn fqdn(field: &str, v: &str, zone: &str) -> Result<String, ConfigError> {
    if v == "@" {
        return Ok(zone.to_string());
    }
    if v.ends_with('.') {
        return check_name(field, v);
    }
    check_name(field, &format!("{v}.{zone}"))
}

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

pub(crate) fn names(v: Option<Vec<String>>, zone: &str) -> Result<Vec<String>, ConfigError> {
    let v = v.ok_or_else(|| err("dns.names", "missing: the names answered with the backends"))?;
    if v.is_empty() || v.len() > MAX_NAMES {
        return Err(err("dns.names", format!("needs 1 to {MAX_NAMES} names")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, n) in v.iter().enumerate() {
        let field = format!("dns.names[{i}]");
        let f = fqdn(&field, n, zone)?;
        if !in_zone(&f, zone) {
            return Err(err(field, format!("{f} is outside the zone {zone}")));
        }
        if out.contains(&f) {
            return Err(err(field, format!("{f} is listed twice")));
        }
        out.push(f);
    }
    Ok(out)
}

pub(crate) fn nameservers(v: Option<Vec<String>>, zone: &str) -> Result<Vec<String>, ConfigError> {
    let v = v.unwrap_or_else(|| vec![format!("ns1.{zone}")]);
    if v.is_empty() || v.len() > 8 {
        return Err(err("dns.nameservers", "needs 1 to 8 names"));
    }
    v.iter()
        .enumerate()
        .map(|(i, n)| fqdn(&format!("dns.nameservers[{i}]"), n, zone))
        .collect()
}
