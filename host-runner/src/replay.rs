//! Replays a request trace (JSON lines) through a filter on N workers and
//! prints one JSON decision per request, plus a per-endpoint summary.

use crate::{BackendResponse, Exchange, Filter, Host, HostConfig, HostError, Request, Vm};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

/// The request header the filter writes with its pick (`ip:port[,ip:port]`).
pub const ENDPOINT_HEADER: &str = "x-gateway-destination-endpoint";

/// The response header explaining edgepick's choice (`decision_header`).
pub const DECISION_HEADER: &str = "x-edgepick-decision";

/// One trace line.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TraceLine {
    /// Client `ip:port`.
    #[serde(default)]
    pub client: Option<String>,
    /// Method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Path.
    pub path: String,
    /// Headers: an object or a list of `[name, value]` pairs.
    #[serde(default)]
    pub headers: Option<Value>,
    /// Virtual time of arrival, ms since the start.
    #[serde(default)]
    pub time_ms: Option<u64>,
    /// Simulated backend response.
    #[serde(default)]
    pub response: Option<TraceResponse>,
}

/// A simulated backend response in a trace.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TraceResponse {
    /// Status (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    /// Headers (object or pairs).
    #[serde(default)]
    pub headers: Option<Value>,
    /// Latency in virtual ms.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
}

fn header_pairs(v: &Option<Value>) -> Vec<(String, String)> {
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), text(v)))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|p| Some((p.get(0)?.as_str()?.to_ascii_lowercase(), text(p.get(1)?))))
            .collect(),
        _ => Vec::new(),
    }
}

impl TraceLine {
    /// The request this line describes.
    pub fn request(&self) -> Request {
        let mut r = Request::get(&self.path);
        if let Some(m) = &self.method {
            r.method = m.clone();
        }
        r.headers = header_pairs(&self.headers);
        if let Some((_, host)) = r.headers.iter().find(|(k, _)| k == "host") {
            r.authority = host.clone();
        }
        r.client = self.client.clone();
        r
    }
}

/// The backend: the trace's response (or 200), served by the first endpoint
/// the filter named, which is also reported as `upstream.address`.
pub fn simulate(resp: &Option<TraceResponse>, forwarded: &crate::HeaderMap) -> BackendResponse {
    let endpoint = forwarded
        .iter()
        .find(|(k, _)| k == ENDPOINT_HEADER)
        .and_then(|(_, v)| v.split(',').next())
        .map(|e| e.trim().to_string());
    let mut out = BackendResponse {
        status: 200,
        upstream_address: endpoint.clone(),
        ..BackendResponse::default()
    };
    match resp {
        Some(r) => {
            out.status = r.status.unwrap_or(200);
            out.headers = header_pairs(&r.headers);
            out.body = r.body.clone().unwrap_or_default().into_bytes();
            out.latency_ms = r.latency_ms.unwrap_or(0);
        }
        None => {
            if let Some(e) = endpoint {
                out.headers.push(("x-served-by".into(), e));
            }
        }
    }
    out
}

/// The JSON decision printed for one request.
pub fn decision(ex: &Exchange, worker: usize) -> Value {
    let cookies = ex.set_cookies();
    json!({
        "endpoint": ex.request_header(ENDPOINT_HEADER),
        "status": ex.status,
        "set_cookie": if cookies.is_empty() { Value::Null } else { json!(cookies) },
        "decision": ex.response_header(DECISION_HEADER),
        "local_response": ex.local_response.as_ref().map(|l| json!({
            "status": l.status, "body": l.body, "headers": l.headers, "details": l.details,
        })),
        "worker": worker,
        "logs": ex.logs.iter().map(|l| format!("{:?}: {}", l.level, l.message)).collect::<Vec<_>>(),
        "fault": ex.fault,
    })
}

/// Requests and statuses per primary endpoint (the first one the filter named).
pub type Summary = BTreeMap<String, BTreeMap<String, u64>>;

/// Replays `trace` on `workers` VMs (requests go round-robin), writing one
/// JSON decision per line to `out`. Errors name the trace line.
pub fn replay(
    filter: Filter,
    config: HostConfig,
    workers: usize,
    trace: impl BufRead,
    mut out: impl Write,
) -> anyhow::Result<Summary> {
    let host = Host::new(filter, config);
    let start = host.config().start_time_nanos;
    let mut vms: Vec<Vm> = (0..workers.max(1))
        .map(|_| host.start_vm())
        .collect::<Result<_, HostError>>()?;
    let mut summary = Summary::new();
    let mut n = 0usize;
    for (i, line) in trace.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let t: TraceLine = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("trace line {}: bad JSON: {e}", i + 1))?;
        if let Some(ms) = t.time_ms {
            host.shared()
                .set_now_nanos(start.saturating_add(ms.saturating_mul(1_000_000)));
        }
        for vm in vms.iter_mut() {
            vm.poll()?;
        }
        let w = n % vms.len();
        n += 1;
        let req = t.request();
        // Envoy's fault policy: a faulted VM stays failed (503, or the
        // request passes unfiltered with `fail_open`).
        let ex = vms[w].serve(&req, |fwd| Some(simulate(&t.response, fwd)));
        let endpoint = ex
            .request_header(ENDPOINT_HEADER)
            .and_then(|list| list.split(',').next())
            .map_or("(none)", str::trim)
            .to_string();
        let status = ex.status.map_or("paused".to_string(), |s| s.to_string());
        *summary
            .entry(endpoint)
            .or_default()
            .entry(status)
            .or_default() += 1;
        let value = decision(&ex, w);
        writeln!(out, "{value}")?;
    }
    Ok(summary)
}

/// Formats the summary as a table.
pub fn format_summary(s: &Summary) -> String {
    let width = s.keys().map(String::len).max().unwrap_or(0).max(16);
    let mut t = format!(
        "{:<width$} {:>8}  statuses\n",
        "primary endpoint", "requests"
    );
    for (endpoint, statuses) in s {
        let total: u64 = statuses.values().sum();
        let st: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}={v}")).collect();
        t.push_str(&format!(
            "{endpoint:<width$} {total:>8}  {}\n",
            st.join(" ")
        ));
    }
    t
}
