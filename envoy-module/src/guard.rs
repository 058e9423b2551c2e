//! The policy's two boundaries that need no Envoy to test: reading the
//! configuration, and a pick behind a panic guard.

use crate::abi::LogLevel;
use crate::cluster::Cluster;
use crate::picker::{Fallback, Picker};
use crate::settings::Settings;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The `lb_policy_name` this module answers to.
pub const POLICY_NAME: &str = "edgepick";

/// Read the policy's configuration: `Err` carries the line to log.
pub fn configure(name: &[u8], config: &[u8]) -> Result<Settings, String> {
    if name != POLICY_NAME.as_bytes() {
        return Err(format!(
            "lb_policy_name {:?} is unknown: this module provides {POLICY_NAME:?}",
            String::from_utf8_lossy(name)
        ));
    }
    let env = |k: &str| std::env::var(k).ok();
    Settings::parse(config, &env).map_err(|e| format!("configuration refused: {e}"))
}

/// One pick with the panic boundary: a panic is logged, the pool rebuilt on
/// the next pick, and the first of Envoy's healthy hosts answered.
pub fn guarded_choose(
    picker: &mut Picker,
    c: &dyn Cluster,
    now_ms: u64,
    log: &dyn Fn(LogLevel, &str),
) -> Option<(u32, u32)> {
    match catch_unwind(AssertUnwindSafe(|| picker.choose(c, now_ms))) {
        Ok((choice, fallback)) => {
            if let Some(Fallback::Config(e)) = fallback {
                log(
                    LogLevel::Error,
                    &format!("edgepick: the cluster's hosts make no valid configuration ({e}); picking Envoy's healthy hosts in turn"),
                );
            }
            choice
        }
        Err(_) => {
            log(
                LogLevel::Error,
                "edgepick: a pick panicked; answered with a healthy host, rebuilding",
            );
            picker.membership_changed();
            catch_unwind(AssertUnwindSafe(|| {
                (0..c.priorities()).find_map(|p| (c.healthy_hosts(p) > 0).then_some((p, 0)))
            }))
            .ok()
            .flatten()
        }
    }
}
