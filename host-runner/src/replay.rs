//! Replays a request trace (JSON lines) through a filter on N workers and
//! prints one JSON decision per request, plus a per-endpoint summary.

use crate::report::{self, Format};
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
    /// Request body (text).
    #[serde(default)]
    pub body: Option<String>,
    /// Properties of this request by dotted path (`"upstream.address"`), as
    /// string values.
    #[serde(default)]
    pub properties: Option<BTreeMap<String, String>>,
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
        r.client = self.client.clone();
        r.body = self.body.as_ref().map(|b| b.clone().into_bytes());
        for (k, v) in self.properties.iter().flatten() {
            r.properties.push((k.clone(), v.clone().into_bytes()));
        }
        r
    }
}

/// The backend: the trace's response (or 200 with a short text body, so the
/// filter's response callbacks run), served by the first endpoint the filter
/// named, which is also reported as `upstream.address`.
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
            let by = endpoint.unwrap_or_else(|| "the simulated backend".into());
            out.body = format!("served by {by}\n").into_bytes();
            out.headers
                .push(("content-type".into(), "text/plain".into()));
            out.headers
                .push(("content-length".into(), out.body.len().to_string()));
            out.headers.push(("x-served-by".into(), by));
        }
    }
    out
}

/// The JSON record printed for one request: edgepick's decision, then what
/// went upstream (`request`) and what the client got (`response`).
pub fn decision(ex: &Exchange, worker: usize) -> Value {
    let cookies = ex.set_cookies();
    let (request, response) = report::exchange_json(ex);
    json!({
        "request": request,
        "response": response,
        "endpoint": ex.request_header(ENDPOINT_HEADER),
        "status": ex.status,
        "set_cookie": if cookies.is_empty() { Value::Null } else { json!(cookies) },
        "decision": ex.response_header(DECISION_HEADER),
        "local_response": ex.local_response.as_ref().map(|l| json!({
            "status": l.status, "body": l.body, "headers": l.headers, "details": l.details,
        })),
        "worker": worker,
        "logs": report::log_texts(&ex.logs),
        "fault": ex.fault,
    })
}

/// Requests and statuses per primary endpoint (the first one the filter named).
pub type Summary = BTreeMap<String, BTreeMap<String, u64>>;

/// Replays `trace` on `workers` VMs (requests go round-robin), writing one
/// record per request to `out`, and the log lines of VM start and of ticks
/// between requests as their own records. Errors name the trace line.
pub fn replay(
    filter: Filter,
    config: HostConfig,
    workers: usize,
    trace: impl BufRead,
    mut out: impl Write,
    format: Format,
) -> anyhow::Result<Summary> {
    let host = Host::new(filter, config);
    let start = host.config().start_time_nanos;
    let mut vms: Vec<Vm> = (0..workers.max(1))
        .map(|_| host.start_vm())
        .collect::<Result<_, HostError>>()?;
    for (w, vm) in vms.iter_mut().enumerate() {
        write!(
            out,
            "{}",
            line(
                format,
                report::event(format, "vm_start", w, &vm.take_logs(), None)
            )
        )?;
    }
    let mut summary = Summary::new();
    let mut n = 0usize;
    for (i, text) in trace.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let t: TraceLine = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("trace line {}: bad JSON: {e}", i + 1))?;
        if let Some(ms) = t.time_ms {
            host.shared()
                .set_now_nanos(start.saturating_add(ms.saturating_mul(1_000_000)));
        }
        for (w, vm) in vms.iter_mut().enumerate() {
            // A failed VM gets no ticks (Envoy's plugin stays failed); a
            // tick that faults is reported here, later requests get 503.
            let fault = match vm.failure() {
                None => vm.poll().err().map(|e| e.to_string()),
                Some(_) => None,
            };
            let logs = vm.take_logs();
            if !logs.is_empty() || fault.is_some() {
                let record = report::event(format, "tick", w, &logs, fault.as_deref());
                write!(out, "{}", line(format, record))?;
            }
        }
        let w = n % vms.len();
        n += 1;
        let req = t.request();
        // Envoy's fault policy: a faulted VM stays failed (503, or the
        // request passes unfiltered with `fail_open`).
        let ex = vms[w].serve(&req, |fwd| Some(simulate(&t.response, fwd)));
        vms[w].take_logs();
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
        let record = match format {
            Format::Json => value.to_string(),
            Format::Text => report::text(n, &value),
        };
        write!(out, "{}", line(format, record))?;
    }
    Ok(summary)
}

/// A record with its line end (text records end in one already).
fn line(format: Format, record: String) -> String {
    match format {
        Format::Json => record + "\n",
        Format::Text => record,
    }
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
