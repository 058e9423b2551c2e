//! Load reports from backends: ORCA `endpoint-load-metrics` (TEXT and JSON
//! forms; cncf/xds `orca_load_report.proto`, Envoy `orca_parser.cc`) and the plain
//! `x-edgepick-load: 0.42`. The utilisation used for `V_FS` is
//! `application_utilization` when positive, else `cpu_utilization` (Envoy's
//! client-side weighted round robin does the same), clamped to `[0, 1]`.

use core::fmt;

/// Why a report was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReportError(pub String);

impl fmt::Display for LoadReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "load report: {}", self.0)
    }
}

impl std::error::Error for LoadReportError {}

/// Longest report examined.
pub const MAX_REPORT_LEN: usize = 4096;

fn err(s: impl Into<String>) -> LoadReportError {
    LoadReportError(s.into())
}

fn number(field: &str, v: &str) -> Result<f64, LoadReportError> {
    let x: f64 = v.trim().parse().map_err(|_| err(format!("{field}: {v:?} is not a number")))?;
    if !x.is_finite() || x < 0.0 {
        return Err(err(format!("{field}: {v:?} must be a finite non-negative number")));
    }
    Ok(x)
}

fn pick(cpu: Option<f64>, app: Option<f64>) -> Result<f64, LoadReportError> {
    match (app.filter(|a| *a > 0.0), cpu) {
        (Some(a), _) => Ok(a.min(1.0)),
        (None, Some(c)) => Ok(c.min(1.0)),
        (None, None) => Err(err("no cpu_utilization or application_utilization")),
    }
}

/// Parse an `endpoint-load-metrics` value (`TEXT …`, `JSON …`). `BIN` is not read.
pub fn parse_orca(value: &str) -> Result<f64, LoadReportError> {
    if value.len() > MAX_REPORT_LEN {
        return Err(err("longer than 4096 bytes"));
    }
    let v = value.trim();
    if let Some(body) = v.strip_prefix("TEXT ") {
        let (mut cpu, mut app) = (None, None);
        for pair in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, val) = pair.split_once([':', '=']).ok_or_else(|| err(format!("{pair:?} is not key:value")))?;
            match k.trim() {
                "cpu_utilization" => cpu = Some(number("cpu_utilization", val)?),
                "application_utilization" => app = Some(number("application_utilization", val)?),
                _ => {}
            }
        }
        pick(cpu, app)
    } else if let Some(body) = v.strip_prefix("JSON ") {
        let doc: serde_json::Value = serde_json::from_str(body).map_err(|e| err(format!("JSON: {e}")))?;
        let field = |k: &str| -> Result<Option<f64>, LoadReportError> {
            match doc.get(k).or_else(|| doc.get(camel(k).as_str())) {
                None => Ok(None),
                Some(serde_json::Value::Number(n)) => n.as_f64().map(|x| number(k, &x.to_string())).transpose(),
                Some(other) => Err(err(format!("{k}: {other} is not a number"))),
            }
        };
        pick(field("cpu_utilization")?, field("application_utilization")?)
    } else if v.starts_with("BIN ") {
        Err(err("BIN (protobuf) reports are not read; send TEXT or JSON"))
    } else {
        Err(err(format!("unknown format {:?}; expected TEXT or JSON", v.split(' ').next().unwrap_or(""))))
    }
}

fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Parse the plain `x-edgepick-load` form: one number in `[0, 1]` (larger clamps to 1).
pub fn parse_plain(value: &str) -> Result<f64, LoadReportError> {
    if value.len() > 64 {
        return Err(err("x-edgepick-load longer than 64 bytes"));
    }
    Ok(number("x-edgepick-load", value)?.min(1.0))
}
