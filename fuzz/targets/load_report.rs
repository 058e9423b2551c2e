//! Load reports on response headers, as the filter reads them
//! (`wasm-filter/src/http.rs`): ORCA `endpoint-load-metrics` (TEXT, JSON) and
//! the plain `x-edgepick-load`. Any text is an error or a utilisation in
//! `[0, 1]`, never a panic.
#![no_main]

use edgepick_core::load_report::{parse_orca, parse_plain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for u in [parse_orca(&text), parse_plain(&text)]
        .into_iter()
        .flatten()
    {
        assert!((0.0..=1.0).contains(&u), "utilisation {u} from {text:?}");
    }
});
