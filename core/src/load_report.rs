//! Load reports from backends: ORCA `endpoint-load-metrics` (TEXT and JSON
//! forms; cncf/xds `orca_load_report.proto`, Envoy `orca_parser.cc`) and the plain
//! `x-edgepick-load: 0.42`. The utilisation used for `V_FS` is
//! `application_utilization` when positive, else `cpu_utilization` (Envoy's
//! client-side weighted round robin does the same), clamped to `[0, 1]`.

use crate::float::parse_f64;
use crate::json::{Event, Events};
use core::fmt;
use std::borrow::Cow;

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
    let x = parse_f64(v.trim()).ok_or_else(|| err(format!("{field}: {v:?} is not a number")))?;
    if !x.is_finite() || x < 0.0 {
        return Err(err(format!(
            "{field}: {v:?} must be a finite non-negative number"
        )));
    }
    Ok(x)
}

fn pick(cpu: Option<f64>, app: Option<f64>) -> Result<f64, LoadReportError> {
    // An explicit `application_utilization: 0` with no CPU figure is a report of
    // zero load (proto3 reads the absent CPU field as 0 too).
    match (app.filter(|a| *a > 0.0), cpu, app) {
        (Some(a), _, _) => Ok(a.min(1.0)),
        (None, Some(c), _) => Ok(c.min(1.0)),
        (None, None, Some(a)) => Ok(a),
        (None, None, None) => Err(err("no cpu_utilization or application_utilization")),
    }
}

/// Parse an `endpoint-load-metrics` value (`TEXT …`, `JSON …`). `BIN` is not read.
pub fn parse_orca(value: &str) -> Result<f64, LoadReportError> {
    if value.len() > MAX_REPORT_LEN {
        return Err(err("longer than 4096 bytes"));
    }
    let v = value.trim();
    let (format, body) = v.split_once([' ', '\t']).unwrap_or((v, ""));
    if format == "TEXT" {
        let (mut cpu, mut app) = (None, None);
        for pair in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, val) = pair
                .split_once([':', '='])
                .ok_or_else(|| err(format!("{pair:?} is not key:value")))?;
            match k.trim() {
                "cpu_utilization" => cpu = Some(number("cpu_utilization", val)?),
                "application_utilization" => app = Some(number("application_utilization", val)?),
                _ => {}
            }
        }
        pick(cpu, app)
    } else if format == "JSON" {
        json_report(body)
    } else if format == "BIN" {
        Err(err(
            "BIN (protobuf) reports are not read; send TEXT or JSON",
        ))
    } else {
        Err(err(format!(
            "unknown format {format:?}; expected TEXT or JSON"
        )))
    }
}

/// Members of a JSON report that are read, the proto3 JSON names after the
/// field names (which win when both are present).
const JSON_FIELDS: [&str; 4] = [
    "cpu_utilization",
    "application_utilization",
    "cpuUtilization",
    "applicationUtilization",
];

/// The utilisation of a JSON report (an object; every other member is
/// skipped, a repeated member counts with its last value).
fn json_report(body: &str) -> Result<f64, LoadReportError> {
    let mut events = Events::new(body);
    // Each wanted member's value: a number's text, or what else it was.
    let mut found: [Option<Result<Cow<'_, str>, String>>; 4] = Default::default();
    let mut depth = 0usize;
    let mut member = None;
    loop {
        let event = events.next().map_err(|e| err(format!("JSON: {e}")))?;
        if let Some(i) = member.take() {
            found[i] = Some(match &event {
                Event::Number(n) => Ok(n.clone()),
                Event::String(s) => Err(format!("string {s:?}")),
                Event::Boolean(b) => Err(b.to_string()),
                Event::Null => Err("null".to_string()),
                _ => Err("an array or object".to_string()),
            });
        }
        match event {
            Event::Eof => break,
            Event::ObjectKey(k) if depth == 1 => member = JSON_FIELDS.iter().position(|f| *f == k),
            Event::StartObject | Event::StartArray => depth += 1,
            Event::EndObject | Event::EndArray => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let [cpu, app, cpu_camel, app_camel] = found;
    let value = |field: &str, v: Option<Result<Cow<'_, str>, String>>| match v {
        None => Ok(None),
        Some(Ok(n)) => number(field, &n).map(Some),
        Some(Err(what)) => Err(err(format!("{field}: {what} is not a number"))),
    };
    pick(
        value(JSON_FIELDS[0], cpu.or(cpu_camel))?,
        value(JSON_FIELDS[1], app.or(app_camel))?,
    )
}

/// Parse the plain `x-edgepick-load` form: one number in `[0, 1]` (larger clamps to 1).
pub fn parse_plain(value: &str) -> Result<f64, LoadReportError> {
    if value.len() > 64 {
        return Err(err("x-edgepick-load longer than 64 bytes"));
    }
    Ok(number("x-edgepick-load", value)?.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn text_with_colon_and_equals() {
        let v = "TEXT cpu_utilization:0.3,mem_utilization:0.8,rps_fractional:10,eps:1,named_metrics.x:0.4";
        assert!(close(parse_orca(v).unwrap(), 0.3));
        assert!(close(
            parse_orca("TEXT cpu_utilization=0.25, mem_utilization=0.5").unwrap(),
            0.25
        ));
        assert!(close(
            parse_orca("  TEXT  cpu_utilization : 0.5 ,").unwrap(),
            0.5
        ));
    }

    #[test]
    fn application_utilization_wins_when_positive() {
        assert!(close(
            parse_orca("TEXT cpu_utilization:0.3,application_utilization:0.6").unwrap(),
            0.6
        ));
        assert!(close(
            parse_orca("TEXT cpu_utilization:0.3,application_utilization:0").unwrap(),
            0.3
        ));
        assert!(close(
            parse_orca("TEXT application_utilization:0").unwrap(),
            0.0
        ));
        assert!(
            close(parse_orca("TEXT cpu_utilization:2.5").unwrap(), 1.0),
            "clamped"
        );
    }

    #[test]
    fn json_snake_and_camel_case() {
        assert!(close(
            parse_orca(r#"JSON {"cpu_utilization": 0.4, "mem_utilization": 0.1}"#).unwrap(),
            0.4
        ));
        assert!(close(
            parse_orca(r#"JSON {"cpuUtilization": 0.45}"#).unwrap(),
            0.45
        ));
        assert!(close(
            parse_orca(r#"JSON {"cpuUtilization": 0.2, "applicationUtilization": 0.7}"#).unwrap(),
            0.7
        ));
        assert!(close(
            parse_orca(r#"JSON {"cpu_utilization": 1, "named_metrics": {"x": 3}}"#).unwrap(),
            1.0
        ));
    }

    #[test]
    fn json_reads_only_top_level_members() {
        let nested = r#"JSON {"named_metrics": {"cpu_utilization": 0.9, "a": [1, {"b": 2}]},
            "utilization": {"x": 1}, "cpu_utilization": 0.25}"#;
        assert!(close(parse_orca(nested).unwrap(), 0.25));
        assert!(close(
            parse_orca(r#"JSON {"cpuUtilization": 0.9, "cpu_utilization": 0.3}"#).unwrap(),
            0.3
        ));
        assert!(close(
            parse_orca(r#"JSON {"cpu_utilization": 0.9, "cpu_utilization": 0.2}"#).unwrap(),
            0.2
        ));
        assert!(message(parse_orca(r#"JSON [{"cpu_utilization": 0.5}]"#)).contains("no cpu"));
        assert!(message(parse_orca("JSON 0.5")).contains("no cpu"));
        assert!(close(
            parse_orca(r#"JSON {"cpu_utilization": 5e-1}"#).unwrap(),
            0.5
        ));
    }

    #[test]
    fn json_errors_say_what_and_where() {
        assert_eq!(
            message(parse_orca(r#"JSON {"cpu_utilization": null}"#)),
            "load report: cpu_utilization: null is not a number"
        );
        assert_eq!(
            message(parse_orca(r#"JSON {"cpu_utilization": {"v": 1}}"#)),
            "load report: cpu_utilization: an array or object is not a number"
        );
        assert!(message(parse_orca(r#"JSON {"cpu_utilization": 0.5,}"#))
            .starts_with("load report: JSON: invalid JSON at line 1 column 25: Trailing commas"));
        assert!(message(parse_orca(r#"JSON {"cpu_utilization": 0.5} {}"#))
            .contains("invalid JSON at line 1 column 26"));
    }

    #[test]
    fn plain_number() {
        assert!(close(parse_plain("0.42").unwrap(), 0.42));
        assert!(close(parse_plain(" 0 ").unwrap(), 0.0));
        assert!(close(parse_plain("7").unwrap(), 1.0));
    }

    fn message(r: Result<f64, LoadReportError>) -> String {
        r.expect_err("should be rejected").to_string()
    }

    #[test]
    fn garbage_is_an_error_with_a_clear_message() {
        assert!(message(parse_plain("abc")).contains("\"abc\" is not a number"));
        assert!(message(parse_plain("-0.5")).contains("non-negative"));
        assert!(message(parse_plain("NaN")).contains("finite"));
        assert!(message(parse_plain(&"1".repeat(65))).contains("longer than 64"));
        assert!(message(parse_orca("TEXT cpu_utilization:high"))
            .contains("cpu_utilization: \"high\" is not a number"));
        assert!(message(parse_orca("TEXT cpu_utilization")).contains("is not key:value"));
        assert!(message(parse_orca("TEXT mem_utilization:0.5")).contains("no cpu_utilization"));
        assert!(message(parse_orca("TEXT")).contains("no cpu_utilization"));
        assert!(message(parse_orca("JSON {not json")).contains("JSON:"));
        assert!(
            message(parse_orca(r#"JSON {"cpu_utilization": "0.5"}"#)).contains("is not a number")
        );
        assert!(message(parse_orca(r#"JSON {"cpu_utilization": -1}"#)).contains("non-negative"));
        assert!(message(parse_orca("BIN CgQIARAB")).contains("BIN"));
        assert!(message(parse_orca("XML <load/>")).contains("unknown format \"XML\""));
        assert!(message(parse_orca("")).contains("unknown format"));
        assert!(
            message(parse_orca(&format!("TEXT {}", "x".repeat(MAX_REPORT_LEN))))
                .contains("longer than 4096")
        );
        assert!(message(parse_orca("0.5")).starts_with("load report: "));
    }
}
