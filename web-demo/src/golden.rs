//! Replays the golden vectors (`tests/golden/vectors.json`, version 1) with the
//! core and reports each case's ranked picks next to the expected ones.

use edgepick_core::backend::{LoadSample, MEASURE_TAU_MS};
use edgepick_core::{Config, Request, Router, SplitMix64};
use serde::Serialize;
use serde_json::Value;
use std::net::IpAddr;

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

fn names(v: &Value) -> Vec<Vec<String>> {
    let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter()
        .map(|r| {
            r.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn set_state(router: &mut Router, st: &Value, now_ms: u64) -> Result<(), String> {
    let name = st["backend"].as_str().ok_or("state[].backend missing")?;
    let i = router
        .config()
        .backend_index(name)
        .ok_or(format!("state names unknown backend {name:?}"))?;
    let s = &mut router.states_mut()[i];
    if st["faulty"].as_bool() == Some(true) {
        s.health.set_faulty(true, now_ms);
    }
    if let Some(n) = st["inflight"].as_u64() {
        s.inflight = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(u) = st["load"].as_f64() {
        s.load = Some(LoadSample {
            utilization: u.clamp(0.0, 1.0),
            at_ms: now_ms,
        });
    }
    if let Some(ms) = st["latency_ms"].as_f64() {
        s.latency.observe(ms, now_ms, MEASURE_TAU_MS);
    }
    Ok(())
}

fn headers(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.as_str().unwrap_or_default().into(),
                )
            })
            .collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|p| {
                Some((
                    p.get(0)?.as_str()?.to_ascii_lowercase(),
                    p.get(1)?.as_str()?.to_string(),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn run_case(case: &Value) -> Result<Vec<Vec<String>>, String> {
    let cfg = Config::from_json(&case["config"].to_string()).map_err(|e| format!("config: {e}"))?;
    let now_ms = case["now_ms"].as_u64().unwrap_or(0);
    let mut rng = SplitMix64::new(case["seed"].as_u64().unwrap_or(0));
    let mut router = Router::new(cfg);
    for st in case["state"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        set_state(&mut router, st, now_ms)?;
    }
    let mut out = Vec::new();
    for r in case["requests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let peer: Option<IpAddr> = r["peer"].as_str().and_then(|p| p.parse().ok());
        let owned = headers(&r["headers"]);
        let hs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let req = Request {
            peer,
            forwarded_for: r["xff"].as_str(),
            cookie: r["cookie"].as_str(),
            path: r["path"].as_str().unwrap_or("/"),
            headers: &hs,
        };
        let t = router.pick(&req, now_ms, &mut rng);
        out.push(
            t.ranked()
                .iter()
                .map(|&i| router.config().backends[i].name.clone())
                .collect(),
        );
        router.abandon(t);
    }
    Ok(out)
}

/// Replay `vectors_json`; errors only when the document itself is not JSON.
pub fn replay(vectors_json: &str) -> Result<Report, String> {
    let doc: Value = serde_json::from_str(vectors_json).map_err(|e| format!("vectors: {e}"))?;
    let mut cases = Vec::new();
    for (k, case) in doc["cases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = case["name"]
            .as_str()
            .map_or_else(|| format!("case {k}"), String::from);
        let expected = names(&case["expected"]);
        let (got, error) = match run_case(case) {
            Ok(g) => (g, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        cases.push(CaseResult {
            pass: error.is_none() && got == expected,
            name,
            got,
            expected,
            error,
        });
    }
    let passed = cases.iter().filter(|c| c.pass).count();
    Ok(Report {
        passed,
        failed: cases.len() - passed,
        cases,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn replays_nginx_round_robin() {
        let doc = include_str!("../tests/golden_sample.json");
        let r = super::replay(doc).unwrap();
        assert_eq!(r.failed, 0, "{r:?}");
        assert!(r.passed >= 2);
    }
}
