//! Shared set-up for the native policy's end-to-end tests.

use super::tally;
use edgepick_tests::harness::native::{native_module, Endpoint};
use edgepick_tests::harness::{self, Backend, Client, Envoy};

/// Point the harness at the backend binary; fail loudly without Envoy or the module.
pub fn setup() {
    harness::set_backend_binary(env!("CARGO_BIN_EXE_edgepick-backend"));
    let _ = harness::envoy_binary();
    let _ = native_module();
}

/// The backends as endpoints (no weight, no metadata).
pub fn endpoints(bs: &[Backend]) -> Vec<Endpoint> {
    bs.iter().map(|b| Endpoint::from(b.addr())).collect()
}

/// `n` requests on one connection to listener 0, all answered 200; who served.
pub fn served(envoy: &Envoy, n: usize) -> std::collections::BTreeMap<String, usize> {
    let mut cl = Client::new(envoy.listener(0));
    let rs: Vec<_> = (0..n).map(|_| cl.get("/w").expect("request")).collect();
    assert!(
        rs.iter().all(|r| r.status == 200),
        "every request is served"
    );
    tally(&rs)
}
