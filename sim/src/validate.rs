//! Reading and checking a topology document: errors name the field.

use crate::topology::{LinkSpec, Topology};
use edgepick_core::config::ConfigError;

fn bad(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: problem.into(),
    }
}

fn positive(field: String, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(bad(field, "must be a finite number greater than 0"))
    }
}

fn non_negative(field: String, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(bad(field, "must be a finite number ≥ 0"))
    }
}

fn check_link(at: &str, l: &LinkSpec) -> Result<(), ConfigError> {
    positive(format!("{at}.link.bandwidth_mbps"), l.bandwidth_mbps)?;
    non_negative(format!("{at}.link.delay_ms"), l.delay_ms)?;
    if l.hops == 0 {
        return Err(bad(format!("{at}.link.hops"), "must be at least 1"));
    }
    Ok(())
}

impl Topology {
    /// Parse a topology document; errors name the field.
    pub fn from_json(text: &str) -> Result<Topology, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let t: Topology = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            bad(
                if path == "." {
                    "(document)".into()
                } else {
                    path
                },
                e.into_inner().to_string(),
            )
        })?;
        t.validate()?;
        Ok(t)
    }

    /// Check the simulation-only fields (the core checks the rest in [`Topology::to_config`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.servers.is_empty() {
            return Err(bad("servers", "at least one web server node is needed"));
        }
        if self.bucket_ms == 0 {
            return Err(bad("bucket_ms", "must be at least 1"));
        }
        positive("edge.bandwidth_mbps".into(), self.edge.bandwidth_mbps)?;
        non_negative("edge.l7_overhead_ms".into(), self.edge.l7_overhead_ms)?;
        non_negative("edge.l4_overhead_ms".into(), self.edge.l4_overhead_ms)?;
        positive(
            "edge.connect_timeout_ms".into(),
            self.edge.connect_timeout_ms,
        )?;
        for (i, g) in self.clients.iter().enumerate() {
            let at = format!("clients[{i}]");
            non_negative(format!("{at}.rate"), g.rate)?;
            if g.clients == 0 {
                return Err(bad(format!("{at}.clients"), "must be at least 1"));
            }
            if !(0.0..=1.0).contains(&g.session_share) {
                return Err(bad(format!("{at}.session_share"), "must be in [0, 1]"));
            }
            non_negative(format!("{at}.request_kb"), g.request_kb)?;
            non_negative(format!("{at}.response_kb"), g.response_kb)?;
            check_link(&at, &g.link)?;
        }
        for (i, s) in self.servers.iter().enumerate() {
            let at = format!("servers[{i}]");
            positive(format!("{at}.rate"), s.rate)?;
            if s.workers == 0 {
                return Err(bad(format!("{at}.workers"), "must be at least 1"));
            }
            check_link(&at, &s.link)?;
        }
        for (i, f) in self.faults.iter().enumerate() {
            if !self.servers.iter().any(|s| s.name == f.target) {
                return Err(bad(
                    format!("faults[{i}].target"),
                    format!("no server named {:?}", f.target),
                ));
            }
            if !(f.factor.is_finite() && f.factor >= 1.0) {
                return Err(bad(format!("faults[{i}].factor"), "must be ≥ 1"));
            }
        }
        Ok(())
    }
}
