//! Shared-data key names, namespaced by plugin and backend list.

/// Key names under one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys for plugin `plugin` whose backends are `(name, address)` pairs.
    pub fn new<'a>(plugin: &str, backends: impl IntoIterator<Item = (&'a str, String)>) -> Keys {
        let mut h = edgepick_core::hash::crc32::Hasher::new();
        for (name, addr) in backends {
            h.update(name.as_bytes());
            h.update(b"=");
            h.update(addr.as_bytes());
            h.update(b";");
        }
        let plugin = if plugin.is_empty() { "default" } else { plugin };
        Keys {
            prefix: format!("edgepick.{plugin}.{:08x}", h.finalize()),
        }
    }

    /// `edgepick.<ns>`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The health record.
    pub fn health(&self) -> String {
        format!("{}.health", self.prefix)
    }

    /// The workers' in-flight record.
    pub fn inflight(&self) -> String {
        format!("{}.inflight", self.prefix)
    }

    /// The heartbeat prober's lease.
    pub fn probe_lease(&self) -> String {
        format!("{}.probe_lease", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_backend_list() {
        let a = Keys::new("edgepick", [("a", "127.0.0.1:1".to_string())]);
        let b = Keys::new("edgepick", [("a", "127.0.0.1:2".to_string())]);
        assert_ne!(a.prefix(), b.prefix());
        assert!(a.health().starts_with("edgepick.edgepick."));
        assert!(a.health().ends_with(".health"));
        assert!(a.probe_lease().ends_with(".probe_lease"));
        assert!(Keys::new("", []).prefix().starts_with("edgepick.default."));
    }
}
