//! The load-time ABI check.
//!
//! Envoy asks a module for the ABI version it was built for
//! (`envoy_dynamic_module_on_program_init`) and only logs a warning when it
//! differs from its own ("Dynamic module ABI version … is deprecated"). A
//! callback that this Envoy does not have would only fail when first called
//! (the module is loaded lazily), inside a request. So before answering, the
//! module looks up every callback it declares ([`crate::abi::CALLBACKS`],
//! [`crate::abi_http::CALLBACKS`]) in
//! the Envoy process; when one is missing it writes a line naming them and
//! the ABI it was written for, and answers null, which Envoy reports as
//! "Failed to initialize dynamic module" and refuses the configuration.

use crate::abi::ABI_VERSION;

/// Every declared callback: the policy's and the companion filter's.
fn declared() -> impl Iterator<Item = &'static str> {
    crate::abi::CALLBACKS
        .iter()
        .chain(crate::abi_http::CALLBACKS)
        .copied()
}

/// The declared callbacks `present` does not find.
pub fn missing(present: &dyn Fn(&str) -> bool) -> Vec<&'static str> {
    declared().filter(|s| !present(s)).collect()
}

/// The refusal line for `missing` callbacks.
pub fn refusal(missing: &[&str]) -> String {
    format!(
        "edgepick: refusing to load: this Envoy lacks {} callback(s) of the dynamic-modules ABI \
         {ABI_VERSION} the module was written for (Envoy 1.40): {}. Use Envoy 1.40 or rebuild \
         edgepick-envoy against this Envoy's abi.h.",
        missing.len(),
        missing.join(", ")
    )
}

#[cfg(all(not(test), not(target_family = "wasm")))]
mod init {
    use super::*;
    use core::ffi::{c_char, c_void};

    extern "C" {
        /// `dlsym(3)` from the C library.
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }

    /// NUL-terminated [`ABI_VERSION`].
    static VERSION: &str = "v0.2.0\0";
    const _: () = assert!(VERSION.len() == ABI_VERSION.len() + 1);

    fn present(name: &str) -> bool {
        let Ok(c) = std::ffi::CString::new(name) else {
            return false;
        };
        // SAFETY: RTLD_DEFAULT (null on glibc) searches the process's global
        // scope, where Envoy exports its callbacks; `c` is NUL-terminated.
        !unsafe { dlsym(core::ptr::null_mut(), c.as_ptr()) }.is_null()
    }

    /// `envoy_dynamic_module_on_program_init`
    #[no_mangle]
    pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
        let gone = std::panic::catch_unwind(|| missing(&present)).unwrap_or_default();
        if gone.is_empty() {
            VERSION.as_ptr().cast()
        } else {
            eprintln!("{}", refusal(&gone));
            core::ptr::null()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_callback_is_checked() {
        assert!(missing(&|_| true).is_empty());
        assert_eq!(missing(&|_| false).len(), declared().count());
        let gone = missing(&|s| s != "envoy_dynamic_module_callback_lb_get_host_stat");
        assert_eq!(gone, ["envoy_dynamic_module_callback_lb_get_host_stat"]);
        let line = refusal(&gone);
        assert!(
            line.contains("v0.2.0") && line.contains("lb_get_host_stat"),
            "{line}"
        );
    }

    #[test]
    fn the_list_names_every_extern_declaration() {
        let src = [include_str!("abi.rs"), include_str!("abi_http.rs")].concat();
        let declared_fns: Vec<&str> = src
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub fn "))
            .filter_map(|l| l.split('(').next())
            .filter(|n| n.starts_with("envoy_dynamic_module_callback_"))
            .collect();
        assert_eq!(declared_fns.len(), declared().count());
        for d in declared_fns {
            assert!(
                declared().any(|c| c == d),
                "{d} is declared but not checked"
            );
        }
    }
}
