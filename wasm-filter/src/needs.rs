//! [`Needs`]: what of a request and its response a configuration reads,
//! worked out once per configuration. Every value read costs Envoy ~10,500
//! instructions (`cargo xtask bench --instructions`, the "floor +" rows), so
//! a request reads only what its configuration uses.

use edgepick_core::config::{Algorithm, HashKey};
use edgepick_core::Mode;

/// Which request and response data a configuration reads (worked out once
/// per configuration).
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The `Cookie` header (sticky sessions, cookie hash keys).
    pub cookie: bool,
    /// The client address (`source.address`, X-Forwarded-For).
    pub client: bool,
    /// `:path` (redirects, path hash keys; debug logs read it too).
    pub path: bool,
    /// Load reports (only RFWS's `V_FS` reads them).
    pub load: bool,
    /// Response times and throughput (RFWS's `D` and `B_R`, least response
    /// time): the clock is read when the response headers arrive.
    pub timing: bool,
    /// Anything of the response at all: the outcome feeds passive health
    /// (`max_fails` > 0), the cookie rule or the measurements. Without any
    /// of them (round robin with `max_fails: 0`, say) the filter reads
    /// nothing of the response and counts no failures: Envoy's retries and
    /// the heartbeats do the failover.
    pub outcome: bool,
}

impl Needs {
    /// What `cfg` reads.
    pub fn of(cfg: &edgepick_core::Config) -> Needs {
        let key = match &cfg.algorithm {
            Algorithm::ConsistentHash { key, .. } => Some(key),
            _ => None,
        };
        let load = matches!(cfg.algorithm, Algorithm::Rfws { .. });
        let timing = matches!(
            cfg.algorithm,
            Algorithm::Rfws { .. } | Algorithm::LeastResponseTime { .. }
        );
        Needs {
            cookie: cfg.cookie.is_some() || matches!(key, Some(HashKey::Cookie(_))),
            client: matches!(cfg.algorithm, Algorithm::IpHash)
                || matches!(key, Some(HashKey::ClientAddress)),
            path: cfg.mode == Mode::Redirect || matches!(key, Some(HashKey::Path)),
            load,
            timing,
            outcome: cfg.health.max_fails > 0 || cfg.cookie.is_some() || load || timing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(doc: &str) -> Needs {
        let cfg = edgepick_core::Config::from_json(doc).expect("valid configuration");
        Needs::of(&cfg)
    }

    const BACKENDS: &str = r#""backends":[{"name":"a","address":"127.0.0.1:1"}]"#;

    #[test]
    fn the_response_is_read_only_when_something_uses_it() {
        let rr = |extra: &str| {
            needs(&format!(
                r#"{{"algorithm":{{"name":"round_robin"}},{extra}{BACKENDS}}}"#
            ))
        };
        assert!(rr("").outcome, "passive health is on by default");
        assert!(
            !rr(r#""health":{"max_fails":0},"#).outcome,
            "nothing uses it"
        );
        let sticky = rr(r#""health":{"max_fails":0},"cookie":{"keys":["0123456789abcdef0123"]},"#);
        assert!(
            sticky.outcome && sticky.cookie,
            "the cookie rule needs who served"
        );
        let rfws = needs(&format!(
            r#"{{"algorithm":{{"name":"rfws"}},"health":{{"max_fails":0}},{BACKENDS}}}"#
        ));
        assert!(rfws.outcome && rfws.timing && rfws.load);
        let lrt = needs(&format!(
            r#"{{"algorithm":{{"name":"least_response_time"}},"health":{{"max_fails":0}},{BACKENDS}}}"#
        ));
        assert!(lrt.outcome && lrt.timing && !lrt.load);
    }
}
