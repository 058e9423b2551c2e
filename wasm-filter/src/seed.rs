//! Per-VM randomness: a [`SplitMix64`](edgepick_core::SplitMix64) seed from
//! WASI `random_get` (in Envoy's WASI subset), mixed with the host clock and
//! the root context id so two VMs never share a stream even if `random_get`
//! were to fail. The mixing is core's ([`edgepick_core::rng::mix`]).

use edgepick_core::rng::{mix, GOLDEN_GAMMA};

/// Eight bytes from WASI `random_get`, if the host provides them.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
fn os_random() -> Option<u64> {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        // wasi_snapshot_preview1: random_get(buf: *mut u8, buf_len: u32) -> errno
        fn random_get(buf: *mut u8, buf_len: usize) -> i32;
    }
    let mut buf = [0u8; 8];
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call;
    // the host writes at most that many.
    let errno = unsafe { random_get(buf.as_mut_ptr(), buf.len()) };
    (errno == 0).then(|| u64::from_le_bytes(buf))
}

#[cfg(not(all(target_arch = "wasm32", target_os = "wasi")))]
fn os_random() -> Option<u64> {
    None
}

/// A seed from the OS (when available), the clock and a context id.
pub fn seed(now_nanos: u64, context_id: u32) -> u64 {
    mix(os_random().unwrap_or(0)
        ^ now_nanos.rotate_left(17)
        ^ u64::from(context_id).wrapping_mul(GOLDEN_GAMMA))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_context_and_time() {
        assert_ne!(seed(1, 1), seed(1, 2));
        assert_ne!(seed(1, 1), seed(2, 1));
    }
}
