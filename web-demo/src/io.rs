//! Configuration export and import between a topology and the core's document.

use edgepick_core::{Config, ConfigError};
use edgepick_sim::{Exported, Topology};
use serde::Serialize;

/// What the core said about a configuration document.
#[derive(Debug, Serialize, PartialEq)]
pub struct Check {
    /// Accepted by [`Config::from_json`].
    pub ok: bool,
    /// The offending field, when not.
    pub field: Option<String>,
    /// What is wrong with it.
    pub problem: Option<String>,
    /// The topology with the configuration applied (import only).
    pub topology: Option<String>,
    /// Backends that matched no server (import only).
    pub unmatched: Vec<String>,
    /// Fields the simulator cannot represent, each with the reason (import only).
    pub not_represented: Vec<String>,
}

fn failed(e: ConfigError) -> Check {
    Check {
        ok: false,
        field: Some(e.field),
        problem: Some(crate::plain::plain(&e.problem)),
        topology: None,
        unmatched: Vec::new(),
        not_represented: Vec::new(),
    }
}

/// A cookie key for one export: 32 hex digits (128 bits) from `fill`
/// (the browser's random source).
pub fn fresh_key(fill: impl FnOnce(&mut [u8]) -> bool) -> Result<String, ConfigError> {
    let mut b = [0u8; 16];
    if !fill(&mut b) {
        return Err(ConfigError {
            field: "cookie.keys".into(),
            problem: "the browser gave no random numbers for a cookie key".into(),
        });
    }
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The topology's configuration as the filter reads it, and the notes on it:
/// `{config, notes}` with `config` pretty JSON text. `key` signs the cookie
/// when the scenario has none of its own.
pub fn export(topology_json: &str, key: &str) -> Result<(String, Vec<String>), ConfigError> {
    let Exported { config, notes } = Topology::from_json(topology_json)?.export(key)?;
    let text = serde_json::to_string_pretty(&config).unwrap_or_default();
    Ok((text, notes))
}

/// Validate with the core.
pub fn check(config_json: &str) -> Check {
    match Config::from_json(config_json) {
        Ok(_) => Check {
            ok: true,
            field: None,
            problem: None,
            topology: None,
            unmatched: Vec::new(),
            not_represented: Vec::new(),
        },
        Err(e) => failed(e),
    }
}

/// Validate, then apply to the topology.
pub fn import(config_json: &str, topology_json: &str) -> Check {
    let mut topo = match Topology::from_json(topology_json) {
        Ok(t) => t,
        Err(e) => {
            return failed(ConfigError {
                field: format!("(topology) {}", e.field),
                problem: e.problem,
            })
        }
    };
    match topo.import(config_json) {
        Ok(done) => Check {
            ok: true,
            field: None,
            problem: None,
            topology: Some(serde_json::to_string(&topo).unwrap_or_default()),
            unmatched: done.unmatched,
            not_represented: done.not_represented,
        },
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn export_then_import_is_the_same_topology() {
        let mut t = Topology {
            sticky: true,
            ..Topology::default()
        };
        t.servers[0].capacity = Some(10);
        t.servers[0].address = Some("192.0.2.1:8080".into());
        let topo = serde_json::to_string(&t).unwrap();
        let (cfg, notes) = export(&topo, KEY).unwrap();
        assert!(check(&cfg).ok);
        assert!(cfg.contains(KEY) && notes.iter().any(|n| n.contains("cookie key")));
        let back = import(&cfg, &topo);
        assert!(back.ok && back.unmatched.is_empty(), "{back:?}");
        let again: Topology = serde_json::from_str(back.topology.as_deref().unwrap()).unwrap();
        assert_eq!(again.servers[0].capacity, Some(10));
        assert_eq!(again.servers[0].address.as_deref(), Some("192.0.2.1:8080"));
        let bad = check(r#"{"backends":[{"name":"a","address":"nope"}]}"#);
        assert_eq!(bad.field.as_deref(), Some("backends[0].address"));
    }

    #[test]
    fn each_key_is_fresh_and_a_failed_source_is_said() {
        let mut n = 0u8;
        let mut draw = || {
            fresh_key(|b| {
                n += 1;
                b.fill(n);
                true
            })
            .unwrap()
        };
        let (a, b) = (draw(), draw());
        assert_eq!(
            (a.len(), a.as_str()),
            (32, "01010101010101010101010101010101")
        );
        assert_ne!(a, b);
        assert_eq!(fresh_key(|_| false).unwrap_err().field, "cookie.keys");
    }
}
