//! State shared by every worker's VM.
//!
//! Envoy runs one VM per worker thread. They share two things: the host's
//! key/value store (shared data), where every write may carry the
//! compare-and-swap token (`cas`) returned by the last read, and stats
//! (`define_metric`), one process-wide atomic per name. This module holds the
//! key names, the CAS read-modify-write loop and the records kept there, all
//! behind the [`Store`] trait so they are tested natively with an in-memory
//! store. The health record's format and every change to it are the core's
//! ([`edgepick_core::health::HealthSnapshot`]): the filter only loads and
//! stores it.
//!
//! | where | what |
//! |-------|------|
//! | shared data `edgepick.<ns>.health` | [`HealthSnapshot`]: `E1 <version> <entry>…` ([`health`]) |
//! | shared data `edgepick.<ns>.probe_lease` | [`Lease`]: `<worker id hex>,<expiry unix ms>` ([`lease`]) |
//! | shared data `edgepick.<ns>.inflight` | each worker's own in-flight counts, stamped ([`inflight`]) |
//! | gauge `edgepick.inflight.<backend>` | in-flight requests to the backend, for metrics: each worker adds its own count's change, once a second |
//! | counter `edgepick.health_writes.<plugin>` | bumped after every health record write |
//!
//! `<ns>` is the plugin name plus a fingerprint of the backend list
//! ([`Keys`]), so a configuration that renumbers backends never reads the old
//! one's record.
//!
//! Why two mechanisms: a shared-data read costs a hostcall that copies the
//! value back through the VM's allocator, a stat read or add is one call
//! returning a number. So a worker re-reads the health record only when the
//! `health_writes` counter moved. In-flight counts travel the other way:
//! one stat gauge per backend would cost a read per backend on every sync
//! (64 hostcalls per sync at 64 backends), so the workers exchange them in
//! one shared-data record (one read, at most one write per sync), and the
//! gauges are only written, for metrics.
//!
//! [`HealthSnapshot`]: edgepick_core::health::HealthSnapshot

pub mod health;
pub mod inflight;
pub mod keys;
pub mod lease;
#[cfg(test)]
pub(crate) mod mem_store;
pub mod store;

pub use health::update_health;
pub use keys::Keys;
pub use lease::{acquire_lease, Lease};
pub use store::{update, Store, StoreError, MAX_CAS_TRIES};
