//! Prometheus counters, rendered in the text exposition format.
//!
//! - `edgepick_dns_answers_total{backend,reason}`: A/AAAA answers whose first
//!   record is `backend`, by the core's reason (`score`, `hash`,
//!   `round_robin`, …, or `panic` when health was ignored).
//! - `edgepick_dns_responses_total{rcode}`: every response by RCODE.
//! - `edgepick_dns_truncated_total`: responses sent with TC set.
//! - `edgepick_dns_backend_up{backend}`: 1 unless the heartbeat verdict is faulty.
//! - `edgepick_dns_reloads_total{result}`: configuration reloads (`ok`, `refused`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// The counters; cheap to update from any thread.
#[derive(Default)]
pub struct Metrics {
    answers: Mutex<BTreeMap<String, BTreeMap<&'static str, u64>>>,
    responses: Mutex<BTreeMap<&'static str, u64>>,
    counters: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    if let Ok(mut m) = m.lock() {
        *m.entry(k).or_insert(0) += 1;
    }
}

impl Metrics {
    /// An answer led by `backend` for `reason`.
    pub fn answer(&self, backend: &str, reason: &'static str) {
        if let Ok(mut m) = self.answers.lock() {
            // No allocation once the backend has been counted.
            let by_reason = match m.get_mut(backend) {
                Some(r) => r,
                None => m.entry(backend.to_string()).or_default(),
            };
            *by_reason.entry(reason).or_insert(0) += 1;
        }
    }

    /// A response with `rcode` (its mnemonic, lower case).
    pub fn response(&self, rcode: &'static str, truncated: bool) {
        bump(&self.responses, rcode);
        if truncated {
            bump(&self.counters, "truncated");
        }
    }

    /// A reload attempt.
    pub fn reload(&self, ok: bool) {
        bump(
            &self.counters,
            if ok { "reload_ok" } else { "reload_refused" },
        );
    }

    /// The exposition text; `up` lists each backend and whether it is up.
    pub fn render(&self, up: &[(String, bool)]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# TYPE edgepick_dns_answers_total counter");
        if let Ok(m) = self.answers.lock() {
            for (b, reasons) in m.iter() {
                for (r, n) in reasons {
                    let _ = writeln!(
                        s,
                        "edgepick_dns_answers_total{{backend=\"{}\",reason=\"{r}\"}} {n}",
                        esc(b)
                    );
                }
            }
        }
        let _ = writeln!(s, "# TYPE edgepick_dns_responses_total counter");
        if let Ok(m) = self.responses.lock() {
            for (rc, n) in m.iter() {
                let _ = writeln!(
                    s,
                    "edgepick_dns_responses_total{{rcode=\"{}\"}} {n}",
                    esc(rc)
                );
            }
        }
        let c = self.counters.lock().map(|m| m.clone()).unwrap_or_default();
        let get = |k| c.get(k).copied().unwrap_or(0);
        let _ = writeln!(s, "# TYPE edgepick_dns_truncated_total counter");
        let _ = writeln!(s, "edgepick_dns_truncated_total {}", get("truncated"));
        let _ = writeln!(s, "# TYPE edgepick_dns_reloads_total counter");
        let _ = writeln!(
            s,
            "edgepick_dns_reloads_total{{result=\"ok\"}} {}",
            get("reload_ok")
        );
        let _ = writeln!(
            s,
            "edgepick_dns_reloads_total{{result=\"refused\"}} {}",
            get("reload_refused")
        );
        let _ = writeln!(s, "# TYPE edgepick_dns_backend_up gauge");
        for (b, ok) in up {
            let _ = writeln!(
                s,
                "edgepick_dns_backend_up{{backend=\"{}\"}} {}",
                esc(b),
                u8::from(*ok)
            );
        }
        s
    }
}

/// Escape a label value (backslash, quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_by_label() {
        let m = Metrics::default();
        m.answer("a", "score");
        m.answer("a", "score");
        m.answer("b\"x", "panic");
        m.response("nxdomain", false);
        m.response("noerror", true);
        let t = m.render(&[("a".into(), true), ("b".into(), false)]);
        assert!(t.contains("edgepick_dns_answers_total{backend=\"a\",reason=\"score\"} 2"));
        assert!(t.contains("edgepick_dns_answers_total{backend=\"b\\\"x\",reason=\"panic\"} 1"));
        assert!(t.contains("edgepick_dns_responses_total{rcode=\"nxdomain\"} 1"));
        assert!(t.contains("edgepick_dns_truncated_total 1"));
        assert!(t.contains("edgepick_dns_backend_up{backend=\"b\"} 0"));
    }
}
