//! The page's golden-vector replay: `tests/golden/vectors.json` read and
//! replayed by [`edgepick_core::vectors`], the same code the native tests run,
//! with each case's ranked picks reported next to the expected ones.

use edgepick_core::vectors::{self, Case};
use serde::Serialize;

/// One case replayed.
#[derive(Debug, Serialize)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// Ranked backend names per request, as computed here.
    pub got: Vec<Vec<String>>,
    /// As the file says.
    pub expected: Vec<Vec<String>>,
    /// `got == expected`.
    pub pass: bool,
    /// Why the case could not run, if it could not.
    pub error: Option<String>,
}

/// Every case replayed.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Cases that matched.
    pub passed: usize,
    /// Cases that did not.
    pub failed: usize,
    /// Per case.
    pub cases: Vec<CaseResult>,
}

fn run_case(case: Case) -> CaseResult {
    let (got, error) = match vectors::replay(&case) {
        Ok(got) => (got, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    CaseResult {
        pass: error.is_none() && got == case.expected,
        name: case.name,
        got,
        expected: case.expected,
        error,
    }
}

/// Replay `vectors_json`; errors only when the document is not a vectors file.
pub fn replay(vectors_json: &str) -> Result<Report, String> {
    let file = vectors::parse(vectors_json).map_err(|e| e.to_string())?;
    let cases: Vec<CaseResult> = file.cases.into_iter().map(run_case).collect();
    let passed = cases.iter().filter(|c| c.pass).count();
    Ok(Report {
        passed,
        failed: cases.len() - passed,
        cases,
    })
}

#[cfg(test)]
mod tests {
    const VECTORS: &str = include_str!("../../tests/golden/vectors.json");

    #[test]
    fn replays_the_golden_vectors() {
        let r = super::replay(VECTORS).unwrap();
        assert_eq!(r.failed, 0, "{r:?}");
        assert!(r.passed >= 2);
    }

    #[test]
    fn a_changed_expectation_fails_its_case() {
        let mut file = edgepick_core::vectors::parse(VECTORS).unwrap();
        file.cases[0].expected[0].insert(0, "zz".into());
        let doc = serde_json::to_string(&file).unwrap();
        let r = super::replay(&doc).unwrap();
        assert_eq!(r.failed, 1, "{r:?}");
    }

    #[test]
    fn a_document_that_is_not_a_vectors_file_is_an_error() {
        let e = super::replay(r#"{"version": 2, "cases": []}"#).unwrap_err();
        assert!(e.contains("version 2"), "{e}");
    }
}
