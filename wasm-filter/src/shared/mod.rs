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
//! | gauge `edgepick.inflight.<backend>` | in-flight requests to the backend: `+1` on pick, `-1` when the ticket closes |
//! | counter `edgepick.health_writes.<plugin>` | bumped after every health record write |
//!
//! `<ns>` is the plugin name plus a fingerprint of the backend list
//! ([`Keys`]), so a configuration that renumbers backends never reads the old
//! one's record.
//!
//! Why two mechanisms: a shared-data read costs a hostcall that copies the
//! value back through the VM's allocator (measured in Envoy 1.40: about as
//! much as the whole pick), a stat read or add is one call returning a
//! number. So in-flight counts, which change on every request, are stat
//! gauges — atomic adds, no read-modify-write, no lost updates — and a
//! worker re-reads the health record only when the `health_writes` counter
//! moved (or on its tick).
//!
//! [`HealthSnapshot`]: edgepick_core::health::HealthSnapshot

pub mod health;
pub mod keys;
pub mod lease;
#[cfg(test)]
pub(crate) mod mem_store;
pub mod store;

pub use health::update_health;
pub use keys::Keys;
pub use lease::{acquire_lease, Lease};
pub use store::{update, Store, StoreError, MAX_CAS_TRIES};
