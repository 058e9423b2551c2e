//! Stage two, continued: health checking and session cookies.

use super::raw::*;
use super::validate::{finite, printable, Result};
use super::*;

/// Most heartbeat probes per second one Envoy worker may send (backends ÷
/// interval): 10,000 backends probed every 10 ms drove Envoy to 120 % of a
/// core and 571 MB; 1,000 per second is 10,000 backends every 10 s.
pub const MAX_PROBES_PER_S: u64 = 1_000;
/// Shortest accepted cookie key, bytes.
pub const MIN_KEY_LEN: usize = 16;

pub(super) fn health(raw: RawHealth, backends: usize) -> Result<Health> {
    let d = Health::default();
    let heartbeat = raw.heartbeat.map(|h| heartbeat(h, backends)).transpose()?;
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

fn heartbeat(raw: RawHeartbeat, backends: usize) -> Result<Heartbeat> {
    let interval_ms = raw.interval_ms.unwrap_or(1000);
    if !(10..=3_600_000).contains(&interval_ms) {
        return Err(ConfigError::new(
            "health.heartbeat.interval_ms",
            "must be between 10 and 3600000",
        ));
    }
    let window_ms = raw.window_ms.unwrap_or(interval_ms.saturating_mul(3));
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
    let probes_per_s = (backends as u64 * 1000).div_ceil(interval_ms);
    if probes_per_s > MAX_PROBES_PER_S {
        return Err(ConfigError::new(
            "health.heartbeat.interval_ms",
            format!(
                "{backends} backends every {interval_ms} ms is {probes_per_s} probes/s; at most \
                 {MAX_PROBES_PER_S} (interval_ms ≥ {})",
                (backends as u64 * 1000).div_ceil(MAX_PROBES_PER_S)
            ),
        ));
    }
    let path = raw.path.unwrap_or_else(|| "/health".to_string());
    if !path.starts_with('/') || !printable(&path) {
        return Err(ConfigError::new(
            "health.heartbeat.path",
            format!("{path:?} must start with / and hold only visible ASCII (no spaces or control characters)"),
        ));
    }
    let timeout_ms = raw.timeout_ms.unwrap_or(interval_ms.min(1000));
    if timeout_ms == 0 {
        return Err(ConfigError::new(
            "health.heartbeat.timeout_ms",
            "must be at least 1",
        ));
    }
    let cluster = raw.cluster.unwrap_or_else(|| "edgepick".to_string());
    if cluster.is_empty() || !printable(&cluster) {
        return Err(ConfigError::new(
            "health.heartbeat.cluster",
            format!("{cluster:?} must be an Envoy cluster name: visible ASCII, not empty"),
        ));
    }
    Ok(Heartbeat {
        interval_ms,
        window_ms,
        threshold,
        path,
        timeout_ms,
        cluster,
    })
}

/// The signing keys: inline (`keys`) or read from the VM's environment
/// variables named by `keys_env`, never both. A key's bytes are never put in
/// an error message.
fn cookie_keys(
    keys: Option<Vec<String>>,
    keys_env: Option<Vec<String>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<String>, Vec<String>)> {
    let from_env = keys_env.is_some();
    let (keys, names) = match (keys, keys_env) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "cookie.keys_env",
                "give the keys inline (keys) or by environment variable (keys_env), not both",
            ))
        }
        (_, Some(names)) => {
            let mut keys = Vec::with_capacity(names.len());
            for (i, n) in names.iter().enumerate() {
                let field = format!("cookie.keys_env[{i}]");
                let valid = !n.is_empty() && n.bytes().all(|c| c.is_ascii_graphic() && c != b'=');
                if !valid {
                    return Err(ConfigError::new(
                        field,
                        format!("{n:?} is not an environment variable name"),
                    ));
                }
                let key = env(n).ok_or_else(|| {
                    ConfigError::new(
                        &field,
                        format!(
                            "environment variable {n} is not set in the VM \
                             (Envoy: vm_config.environment_variables)"
                        ),
                    )
                })?;
                if key.len() < MIN_KEY_LEN {
                    return Err(ConfigError::new(
                        field,
                        format!(
                            "the key in {n} is {} bytes; at least {MIN_KEY_LEN} are required",
                            key.len()
                        ),
                    ));
                }
                keys.push(key);
            }
            (keys, names)
        }
        (keys, None) => (keys.unwrap_or_default(), Vec::new()),
    };
    if keys.is_empty() {
        return Err(ConfigError::new(
            if from_env {
                "cookie.keys_env"
            } else {
                "cookie.keys"
            },
            "at least one signing key is required",
        ));
    }
    if !from_env {
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
    }
    Ok((keys, names))
}

pub(super) fn cookie(raw: RawCookie, env: &dyn Fn(&str) -> Option<String>) -> Result<Cookie> {
    let name = raw.name.unwrap_or_else(|| "edgepick".to_string());
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(ConfigError::new(
            "cookie.name",
            format!("{name:?} is not a valid cookie name"),
        ));
    }
    let (keys, keys_env) = cookie_keys(raw.keys, raw.keys_env, env)?;
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
        keys_env,
        max_age_s,
        path,
        same_site,
        secure,
        http_only: raw.http_only.unwrap_or(true),
        strip: raw.strip.unwrap_or(true),
    })
}
