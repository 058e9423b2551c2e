//! Configuration export and import between a topology and the core's document.

use edgepick_core::{Config, ConfigError};
use edgepick_sim::Topology;
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
}

fn failed(e: ConfigError) -> Check {
    Check {
        ok: false,
        field: Some(e.field),
        problem: Some(crate::plain::plain(&e.problem)),
        topology: None,
        unmatched: Vec::new(),
    }
}

/// The topology's configuration as the filter reads it (pretty JSON).
pub fn export(topology_json: &str) -> Result<String, ConfigError> {
    Ok(Topology::from_json(topology_json)?
        .to_config()?
        .to_json_pretty())
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
        },
        Err(e) => failed(e),
    }
}

/// Validate, then apply to the topology.
pub fn import(config_json: &str, topology_json: &str) -> Check {
    let cfg = match Config::from_json(config_json) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let mut topo = match Topology::from_json(topology_json) {
        Ok(t) => t,
        Err(e) => {
            return failed(ConfigError {
                field: format!("(topology) {}", e.field),
                problem: e.problem,
            })
        }
    };
    let unmatched = topo.apply_config(&cfg);
    let text = serde_json::to_string(&topo).unwrap_or_default();
    Check {
        ok: true,
        field: None,
        problem: None,
        topology: Some(text),
        unmatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_then_import_is_valid() {
        let topo = serde_json::to_string(&Topology::default()).unwrap();
        let cfg = export(&topo).unwrap();
        assert!(check(&cfg).ok);
        let back = import(&cfg, &topo);
        assert!(back.ok && back.unmatched.is_empty(), "{back:?}");
        let bad = check(r#"{"backends":[{"name":"a","address":"nope"}]}"#);
        assert_eq!(bad.field.as_deref(), Some("backends[0].address"));
    }
}
