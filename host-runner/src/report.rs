//! What `run` and `replay` print: per request, what went upstream (headers
//! and body as the filter left them) and what the client got (status,
//! headers, body, a local response), the log lines in order; between
//! requests, the lines of VM start, configure, ticks and callouts. As JSON
//! lines (`--format json`) or as readable text (`--format text`).

use crate::{Exchange, LogLine};
use serde_json::{json, Value};

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Json,
    /// Readable text: the request going upstream beside what the client got.
    Text,
}

/// Log lines as `Level: message`.
pub fn log_texts(logs: &[LogLine]) -> Vec<String> {
    logs.iter()
        .map(|l| format!("{:?}: {}", l.level, l.message))
        .collect()
}

fn body_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn header<'a>(m: &'a [(String, String)], name: &str) -> Option<&'a str> {
    m.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The forwarded request and the client's response, as JSON values.
pub fn exchange_json(ex: &Exchange) -> (Value, Value) {
    let forwarded = ex.local_response.is_none() && ex.status.is_some();
    let request = json!({
        "method": header(&ex.request_headers, ":method"),
        "path": header(&ex.request_headers, ":path"),
        "forwarded": forwarded,
        "headers": ex.request_headers,
        "body": ex.request_body.as_deref().map(body_text),
    });
    let response = json!({
        "status": ex.status,
        "headers": ex.response_headers,
        "body": body_text(&ex.response_body),
    });
    (request, response)
}

/// A record for lines written outside any request (`event`: `vm_start`,
/// `tick`), with the guest fault that ended the VM there, if any.
pub fn event(
    format: Format,
    event: &str,
    worker: usize,
    logs: &[LogLine],
    fault: Option<&str>,
) -> String {
    match format {
        Format::Json => {
            json!({ "event": event, "worker": worker, "logs": log_texts(logs), "fault": fault })
                .to_string()
        }
        Format::Text => {
            let mut t = format!("== {event} (worker {worker})\n");
            for l in log_texts(logs) {
                t.push_str(&format!("   log  {l}\n"));
            }
            if let Some(f) = fault {
                t.push_str(&format!("   fault: {f}\n"));
            }
            t
        }
    }
}

/// The text form of one request's record `value` (as built by
/// [`crate::replay::decision`]): the upstream request on the left, the
/// client's response on the right, then local response, fault and logs.
pub fn text(n: usize, value: &Value) -> String {
    let mut t = format!(
        "== request {n} (worker {}): {} {}\n",
        value["worker"],
        value["request"]["method"].as_str().unwrap_or("?"),
        value["request"]["path"].as_str().unwrap_or("?"),
    );
    let lines = |side: &Value, first: String| {
        let mut v = vec![first];
        for h in side["headers"].as_array().into_iter().flatten() {
            v.push(format!(
                "{}: {}",
                h[0].as_str().unwrap_or(""),
                h[1].as_str().unwrap_or("")
            ));
        }
        if let Some(b) = side["body"].as_str().filter(|b| !b.is_empty()) {
            v.push(format!("body: {b:?}"));
        }
        v
    };
    let req = &value["request"];
    let left = if req["forwarded"].as_bool() == Some(true) {
        lines(req, "-> upstream".into())
    } else {
        vec!["-> (not forwarded)".into()]
    };
    let status = value["response"]["status"].to_string();
    let right = lines(&value["response"], format!("<- client {status}"));
    let width = left
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .clamp(20, 60);
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map_or("", String::as_str);
        let r = right.get(i).map_or("", String::as_str);
        t.push_str(&format!("   {l:<width$}  | {r}\n").replace(" \n", "\n"));
    }
    if !value["local_response"].is_null() {
        t.push_str(&format!("   local response: {}\n", value["local_response"]));
    }
    if let Some(f) = value["fault"].as_str() {
        t.push_str(&format!("   fault: {f}\n"));
    }
    for l in value["logs"].as_array().into_iter().flatten() {
        t.push_str(&format!("   log  {}\n", l.as_str().unwrap_or("")));
    }
    t
}
