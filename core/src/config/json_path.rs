//! The JSON path (`backends[1].weight`) of a deserialisation error.
//!
//! The document is read with plain `serde_json::from_str` (no path-tracking
//! deserializer wrapped around every visitor, which cost the Envoy filter
//! ~50 KB of code). When that fails with a data error, serde_json says where:
//! the line and column just after the offending value or key. The document up
//! to that point is well-formed JSON, so a small scan of it — a stack of open
//! objects (with their current key) and arrays (with their current index) —
//! gives the path that a path-tracking deserializer would have reported.

use serde_json::error::Category;

/// Field name used for errors that concern the whole document.
pub(super) const DOCUMENT: &str = "(document)";

/// The field to report for `err`, raised while deserialising `text`.
pub(super) fn error_field(text: &str, err: &serde_json::Error) -> String {
    if err.classify() != Category::Data {
        return DOCUMENT.to_string();
    }
    let Some(end) = byte_index(text, err.line(), err.column()) else {
        return DOCUMENT.to_string();
    };
    let mut frames = scan(&text[..end]);
    // The struct visitor itself rejected a repeated key: the error belongs to
    // the object holding it, not to the key.
    if err.to_string().starts_with("duplicate field `") {
        if let Some(Frame::Object { key, .. }) = frames.last_mut() {
            *key = None;
        }
    }
    render(&frames)
}

/// serde_json's (line, column): 1-based line, bytes since the start of the line.
fn byte_index(text: &str, line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let end = start.checked_add(column)?;
    (end <= text.len())
        .then_some(end)
        .filter(|&e| text.is_char_boundary(e))
}

#[derive(Debug)]
enum Frame {
    /// An open object; `key` once a key has been read (until the next `,`).
    Object {
        key: Option<String>,
        expect_key: bool,
    },
    /// An open array and the index of its current (or upcoming) element: an
    /// error right after `[` or `,` concerns the element about to be read.
    Array { index: usize },
}

/// The containers open at the end of `prefix` (a prefix of a JSON document).
fn scan(prefix: &str) -> Vec<Frame> {
    let b = prefix.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\n' | b'\r' | b'\t' | b':' => {
                if c == b':' {
                    if let Some(Frame::Object { expect_key, .. }) = frames.last_mut() {
                        *expect_key = false;
                    }
                }
                i += 1;
                continue;
            }
            b',' => {
                match frames.last_mut() {
                    Some(Frame::Object { key, expect_key }) => {
                        *key = None;
                        *expect_key = true;
                    }
                    Some(Frame::Array { index }) => *index += 1,
                    None => {}
                }
                i += 1;
                continue;
            }
            b'}' | b']' => {
                frames.pop();
                i += 1;
                continue;
            }
            _ => {}
        }
        match c {
            b'{' => {
                frames.push(Frame::Object {
                    key: None,
                    expect_key: true,
                });
                i += 1;
            }
            b'[' => {
                frames.push(Frame::Array { index: 0 });
                i += 1;
            }
            b'"' => {
                let end = string_end(b, i);
                if let Some(Frame::Object {
                    key,
                    expect_key: true,
                }) = frames.last_mut()
                {
                    *key = Some(decode_string(&prefix[i..end]));
                }
                i = end;
            }
            _ => {
                // Number or literal: up to the next delimiter.
                while i < b.len()
                    && !matches!(
                        b[i],
                        b' ' | b'\n' | b'\r' | b'\t' | b',' | b':' | b'}' | b']'
                    )
                {
                    i += 1;
                }
            }
        }
    }
    frames
}

/// Index just past the string literal starting at `start` (or the end of `b`).
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The text of a string literal (escapes decoded, as serde_json reads it).
fn decode_string(literal: &str) -> String {
    serde_json::from_str(literal).unwrap_or_else(|_| {
        literal
            .trim_start_matches('"')
            .trim_end_matches('"')
            .to_string()
    })
}

/// `a.b[2].c`, or [`DOCUMENT`] for the root.
fn render(frames: &[Frame]) -> String {
    let mut out = String::new();
    for f in frames {
        match f {
            Frame::Object { key: Some(k), .. } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Frame::Array { index } => {
                out.push('[');
                push_usize(&mut out, *index);
                out.push(']');
            }
            Frame::Object { key: None, .. } => {}
        }
    }
    if out.is_empty() {
        out.push_str(DOCUMENT);
    }
    out
}

fn push_usize(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[..len].iter().rev().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::super::raw::RawConfig;
    use super::*;
    use proptest::prelude::*;

    /// The path serde_path_to_error reports (what `Config::from_json` used to use).
    fn reference(text: &str) -> Option<(String, String)> {
        let mut de = serde_json::Deserializer::from_str(text);
        let r: core::result::Result<RawConfig, _> = serde_path_to_error::deserialize(&mut de);
        let e = match r {
            Ok(_) => match de.end() {
                Ok(()) => return None,
                Err(e) => return Some((DOCUMENT.to_string(), e.to_string())),
            },
            Err(e) => e,
        };
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            DOCUMENT.to_string()
        } else {
            path
        };
        Some((field, e.into_inner().to_string()))
    }

    /// What `Config::from_json` reports now; the table-driven reader must also
    /// read exactly what the derive reads.
    fn ours(text: &str) -> Option<(String, String)> {
        let derived = serde_json::from_str::<RawConfig>(text);
        let read = super::super::read::from_str(text);
        assert_eq!(
            format!("{:?}", derived.as_ref().map_err(ToString::to_string)),
            format!("{:?}", read.as_ref().map_err(ToString::to_string)),
            "{text:?}"
        );
        read.err().map(|e| (error_field(text, &e), e.to_string()))
    }

    #[track_caller]
    fn same(text: &str) {
        let (r, o) = (reference(text), ours(text));
        match (&r, &o) {
            (Some((rf, rm)), Some((of, om))) if rm == om => {
                // Syntax errors are reported for the whole document (the line and
                // column say where); data errors name the same field as before.
                if !om.contains("duplicate field") && !is_syntax(text) {
                    assert_eq!(rf, of, "path for {text:?}: {om}");
                }
            }
            _ => assert_eq!(r, o, "{text:?}"),
        }
    }

    fn is_syntax(text: &str) -> bool {
        super::super::read::from_str(text).is_err_and(|e| e.classify() != Category::Data)
    }

    const DOCS: &[&str] = &[
        r#"{"backends": [{"name": "a", "address": "127.0.0.1:1", "weight": "heavy"}]}"#,
        r#"{"backends": [{"name": "a"}, {"address": "x", "weight": -1}]}"#,
        r#"{"algorithm": {"name": "rfws", "load_threshold": "high"}}"#,
        r#"{"cookie": {"keys": "0123456789abcdef"}}"#,
        r#"{"cookie": {"keys": ["0123456789abcdef", 5]}}"#,
        r#"{"backendz": []}"#,
        r#"{"backends": [{"wieght": 2}]}"#,
        r#"42"#,
        r#""x""#,
        r#"null"#,
        r#"{"backends": {}}"#,
        r#"{"backends": [[]]}"#,
        r#"{"backends": [{}, {"link": {"hops": 1.5}}]}"#,
        r#"{"backends": [{}, {"link": [1]}]}"#,
        r#"{"backends": [{}, {"link": [1, 2, 3, 4, 5]}]}"#,
        r#"{"client": {"trusted_hops": 300}}"#,
        r#"{"fallbacks": -3, "mode": "proxy"}"#,
        r#"{"mode": {"a": [1, {"b": 2}]}}"#,
        r#"{"mode": "proxy", "mode": "redirect"}"#,
        r#"{"backends": [{"name": "a", "name": "b"}]}"#,
        r#"{"health": {"heartbeat": {"path": 7}}}"#,
        r#"{"health": {"heartbeat": {"interval_ms": 1e3}}}"#,
        r#"{"health": {"heartbeat": {"interval_ms": 10}, "max_fails": true}}"#,
        "{\n  \"backends\": [\n    {\"name\": \"a\"},\n    {\"weight\": null, \"capacity\": \"x\"}\n  ]\n}",
        r#"{"b\u0061ckends": [{"n\"ame": 1}]}"#,
        r#"{"backends": [{"name": "é", "address": "ü", "url": 1}]}"#,
        r#"{"decision_header": "yes"}"#,
        r#"{"version": 1.0}"#,
        r#"{"algorithm": null, "backends": [null]}"#,
        r#"{"algorithm": ["rfws", 0.1, 0.5, 3]}"#,
        r#"{"algorithm": ["rfws", 0.1, 0.5, "x"]}"#,
        r#"{"backends": [{"name": "a"}] "mode": 1}"#,
        r#"{"backends": [{"name": "a"} {"name": "b"}]}"#,
        r#"{"backends": [{"name": "a", }]}"#,
        r#"{"backends": [{"name": "a"}"#,
        r#"{"backends": [{"name": "a"}]} x"#,
        r#"{"backends": [{"name": "a\x"}]}"#,
        r#"{"backends": [{"weight": 99999999999999999999999}]}"#,
        r#"{"backends": [{"weight": 1}], "backends": []}"#,
    ];

    #[test]
    fn paths_match_serde_path_to_error() {
        for d in DOCS {
            same(d);
        }
    }

    /// A JSON value of any shape, biased towards the configuration's field names.
    fn value() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "version",
            "mode",
            "algorithm",
            "backends",
            "health",
            "cookie",
            "client",
            "fallbacks",
            "decision_header",
            "name",
            "address",
            "url",
            "weight",
            "capacity",
            "link",
            "hops",
            "bandwidth_mbps",
            "keys",
            "heartbeat",
            "path",
            "max_fails",
            "trusted_hops",
            "choices",
            "table_size",
            "x",
        ]);
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("\"s\"".to_string()),
            Just("\"127.0.0.1:80\"".to_string()),
            Just("1".to_string()),
            Just("-1".to_string()),
            Just("2.5".to_string()),
            Just("300".to_string()),
        ];
        leaf.prop_recursive(4, 24, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec((key.clone(), inner), 0..4).prop_map(|v| {
                    let fields: Vec<String> =
                        v.iter().map(|(k, x)| format!("\"{k}\": {x}")).collect();
                    format!("{{{}}}", fields.join(",\n "))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn generated_paths_match(doc in value()) {
            same(&doc);
        }

        #[test]
        fn generated_config_like_paths_match(v in prop::collection::vec(value(), 1..4), cut in 0usize..200) {
            let doc = format!("{{\"backends\": [{}], \"cookie\": {}}}", v.join(", "), v[0]);
            same(&doc);
            // A truncated or garbled document: a syntax error somewhere.
            let mut cut = cut.min(doc.len());
            while !doc.is_char_boundary(cut) { cut -= 1; }
            same(&doc[..cut]);
        }
    }
}
