//! The table-driven reader against its reference: `#[derive(Deserialize)]` on
//! the raw structs through serde_json, with `serde_path_to_error` for the
//! field. On every document both accept (and read equal structs) or both
//! refuse: a value error names the same field with the same words (the
//! `at line … column …` suffix aside), a syntax error names `(document)`.
//! The one intended difference: a struct written as an array, which serde
//! read field by field and the reader refuses.

use super::super::raw::RawConfig;
use super::*;
use proptest::prelude::*;
use serde_json::error::Category;

/// What the derive says: the raw config, or (field, message, is a syntax error).
fn reference(text: &str) -> core::result::Result<RawConfig, (String, String, bool)> {
    let mut de = serde_json::Deserializer::from_str(text);
    let r: core::result::Result<RawConfig, _> = serde_path_to_error::deserialize(&mut de);
    let raw = match r {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." || path.is_empty() {
                DOCUMENT.to_string()
            } else {
                path
            };
            let inner = e.into_inner();
            let syntax = inner.classify() != Category::Data;
            return Err((field, inner.to_string(), syntax));
        }
    };
    de.end()
        .map(|()| raw)
        .map_err(|e| (DOCUMENT.to_string(), e.to_string(), true))
}

/// A message without its position.
fn words(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// `floating point `1e3`` as written vs as serde formats the f64: compare the rest.
fn without_float(message: &str) -> String {
    match message.split_once("floating point `") {
        Some((before, after)) => {
            let rest = after.split_once('`').map_or("", |(_, r)| r);
            format!("{before}floating point `…`{rest}")
        }
        None => message.to_string(),
    }
}

/// Is the character at `line L column C` (the end of `message`) a `[`?
fn array_opens_at(text: &str, message: &str) -> bool {
    let Some((_, at)) = message.rsplit_once(" at line ") else {
        return false;
    };
    let Some((line, column)) = at.split_once(" column ") else {
        return false;
    };
    let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>()) else {
        return false;
    };
    let line = text.split('\n').nth(line - 1).unwrap_or("");
    line.chars().nth(column - 1) == Some('[')
}

#[track_caller]
fn same(text: &str) {
    let ours = from_str(text);
    match (reference(text), ours) {
        (Ok(r), Ok(o)) => assert_eq!(r, o, "{text:?}"),
        (_, Err(o))
            if o.problem
                .contains("invalid type: sequence, expected struct") =>
        {
            assert!(array_opens_at(text, &o.problem), "{text:?}: {o}");
        }
        (Ok(_), Err(o)) => panic!("{text:?}: serde accepts, the reader says {o}"),
        (Err((rf, rm, _)), Ok(_)) => panic!("{text:?}: the reader accepts, serde says {rf}: {rm}"),
        (Err((_, rm, true)), Err(o)) => {
            assert_eq!(o.field, DOCUMENT, "{text:?}: serde: {rm}; ours: {o}");
            assert!(o.problem.contains(" at line "), "{o}");
        }
        (Err((rf, rm, false)), Err(o)) => {
            assert_eq!(
                without_float(words(&rm)),
                without_float(words(&o.problem)),
                "{text:?}"
            );
            if !rm.starts_with("duplicate field") {
                assert_eq!(rf, o.field, "{text:?}: {rm}");
            }
        }
    }
}

const DOCS: &[&str] = &[
    r#"{"backends": [{"name": "a", "address": "127.0.0.1:1", "weight": "heavy"}]}"#,
    r#"{"backends": [{"name": "a"}, {"address": "x", "weight": -1}]}"#,
    r#"{"algorithm": {"name": "rfws", "load_threshold": "high"}}"#,
    r#"{"cookie": {"keys": "0123456789abcdef"}}"#,
    r#"{"cookie": {"keys": ["0123456789abcdef", 5]}}"#,
    r#"{"backendz": []}"#,
    r#"{"backends": [{"wieght": 2}]}"#,
    r#"{"client": {"trusted_hops": 1, "x": 2}}"#,
    r#"42"#,
    r#""x""#,
    r#"null"#,
    r#"{"backends": {}}"#,
    r#"{"backends": null}"#,
    r#"{"backends": [[]]}"#,
    r#"{"backends": [{}, {"link": {"hops": 1.5}}]}"#,
    r#"{"backends": [{}, {"link": [1]}]}"#,
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
    r#"{"backends": [{"name": "a"}] "mode": 1}"#,
    r#"{"backends": [{"name": "a"} {"name": "b"}]}"#,
    r#"{"backends": [{"name": "a", }]}"#,
    r#"{"backends": [{"name": "a"}"#,
    r#"{"backends": [{"name": "a"}]} x"#,
    r#"{"backends": [{"name": "a\x"}]}"#,
    r#"{"backends": [{"weight": 99999999999999999999999}]}"#,
    r#"{"backends": [{"weight": 1}], "backends": []}"#,
    r#"{"algorithm": {"tie_tolerance": -2, "table_size": 18446744073709551615}}"#,
    r#"{"fallbacks": 18446744073709551616}"#,
    r#"{"version": 1, "mode": "proxy", "decision_header": false, "fallbacks": 3}"#,
    "{\"mode\": \"a\u{1}b\"}",
    "{} ",
    "{}}",
    "[",
];

#[test]
fn reads_as_the_derive() {
    for d in DOCS {
        same(d);
    }
}

#[test]
fn a_full_document_reads_as_the_derive() {
    let doc = r#"{
      "version": 1, "mode": "proxy",
      "algorithm": {"name": "rfws", "tie_tolerance": 0.05, "load_threshold": 0.9},
      "backends": [
        {"name": "shanghai", "address": "10.0.1.10:8080", "url": "https://sh.example.com",
         "weight": 1, "capacity": 200,
         "link": {"bandwidth_mbps": 1000, "hops": 3, "delay_ms": 12, "residual_mbps": 600}}
      ],
      "health": {
        "heartbeat": {"interval_ms": 1000, "window_ms": 3000, "threshold": 2,
                      "path": "/health", "timeout_ms": 500, "cluster": "edgepick"},
        "max_fails": 1, "fail_timeout_ms": 10000, "slow_start_ms": 0, "panic_threshold": 0.5
      },
      "cookie": {"name": "edgepick", "keys": ["newest-key-at-least-16-bytes"],
                 "max_age_s": 3600, "path": "/", "same_site": "Lax", "secure": false,
                 "http_only": true},
      "client": {"trusted_hops": 0}, "fallbacks": 2, "decision_header": false
    }"#;
    same(doc);
    assert!(from_str(doc).is_ok());
}

#[test]
fn errors_read_well() {
    let e = |t: &str| from_str(t).expect_err(t).to_string();
    assert_eq!(
        e(r#"{"backends": [{"name": "a", "weight": "heavy"}]}"#),
        "backends[0].weight: invalid type: string \"heavy\", expected u32 at line 1 column 45"
    );
    assert_eq!(
        e("{\"backends\": [\n  {\"name\": \"a\"},\n  {\"wieght\": 2}\n]}"),
        "backends[1].wieght: unknown field `wieght`, expected one of `name`, `address`, \
         `url`, `weight`, `capacity`, `link`, `down` at line 3 column 11"
    );
    assert_eq!(
        e(r#"{"client": {"trusted_hops": 300}}"#),
        "client.trusted_hops: invalid value: integer `300`, expected u8 at line 1 column 31"
    );
    assert_eq!(
        e(r#"{"mode": "proxy", "mode": "redirect"}"#),
        "(document): duplicate field `mode` at line 1 column 24"
    );
    assert_eq!(
        e(r#"{"link": [1]}"#),
        "link: unknown field `link`, expected one of `version`, `mode`, `algorithm`, \
         `backends`, `health`, `cookie`, `client`, `fallbacks`, `decision_header`, `dns` \
         at line 1 column 7"
    );
    assert_eq!(
        e(r#"{"backends": [{"link": [1]}]}"#),
        "backends[0].link: invalid type: sequence, expected struct RawLink at line 1 column 24"
    );
    let syntax = e(r#"{"backends": [{"name": "a"} {"name": "b"}]}"#);
    assert!(
        syntax.starts_with("(document): invalid JSON at line 1 column 29: "),
        "{syntax}"
    );
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
        "keys_env",
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
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|v| {
                let fields: Vec<String> = v.iter().map(|(k, x)| format!("\"{k}\": {x}")).collect();
                format!("{{{}}}", fields.join(",\n "))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn generated_documents_read_as_the_derive(doc in value()) {
        same(&doc);
    }

    #[test]
    fn generated_config_like_documents_read_as_the_derive(
        v in prop::collection::vec(value(), 1..4),
        cut in 0usize..200,
    ) {
        let doc = format!("{{\"backends\": [{}], \"cookie\": {}}}", v.join(", "), v[0]);
        same(&doc);
        // A truncated or garbled document: a syntax error somewhere.
        let mut cut = cut.min(doc.len());
        while !doc.is_char_boundary(cut) {
            cut -= 1;
        }
        same(&doc[..cut]);
    }
}

#[test]
fn the_dns_servers_section_is_accepted_and_skipped() {
    let doc = r#"{"backends":[{"name":"a","address":"127.0.0.1:80"}],
        "dns":{"zone":"example.","regions":[{"name":"eu","subnets":["10.0.0.0/8"],
               "links":{"a":{"hops":[1,{"x":null}]}}}],"answers":"ranked"},
        "fallbacks":1}"#;
    let cfg = crate::Config::from_json(doc).expect("a document with a dns section");
    assert_eq!(
        (cfg.backends.len(), cfg.fallbacks),
        (1, 1),
        "fields after it are read"
    );
    assert_eq!(
        from_str(doc).map(|r| r.dns.is_some()),
        Ok(true),
        "the section was given"
    );
    // Still malformed JSON inside it is a syntax error.
    let bad = doc.replace(r#""answers":"ranked""#, r#""answers":"#);
    assert!(crate::Config::from_json(&bad).is_err());
}
