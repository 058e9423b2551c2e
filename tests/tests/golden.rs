//! The golden vectors replayed natively with the core. The same file is replayed
//! in the browser package (web-demo/tests/browser.mjs) and through the compiled
//! filter in the host runner (host-runner/tests/golden_filter.rs).
//! Regenerate with `cargo xtask golden` (see tests/golden/README.md).

use edgepick_core::vectors;

fn file() -> vectors::VectorFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/vectors.json");
    let text =
        std::fs::read_to_string(path).expect("tests/golden/vectors.json is versioned in the repo");
    vectors::parse(&text).expect("vectors file parses")
}

#[test]
fn native_core_reproduces_every_golden_vector() {
    let f = file();
    assert!(
        f.cases.len() >= 15,
        "the vectors file lost cases: {}",
        f.cases.len()
    );
    let bad = vectors::check(&f);
    assert!(
        bad.is_empty(),
        "decisions differ from the golden vectors:\n{}",
        bad.join("\n")
    );
}

#[test]
fn golden_vectors_cover_every_algorithm() {
    let f = file();
    for name in edgepick_core::Algorithm::NAMES {
        assert!(
            f.cases
                .iter()
                .any(|c| c.config["algorithm"]["name"] == name),
            "no golden case for algorithm {name}"
        );
    }
}

#[test]
fn a_changed_expectation_is_detected() {
    // The checker itself must be able to fail.
    let mut f = file();
    let case = &mut f.cases[0];
    case.expected[0].reverse();
    case.expected[0].push("nonexistent".into());
    assert_eq!(vectors::check(&f).len(), 1);
}
