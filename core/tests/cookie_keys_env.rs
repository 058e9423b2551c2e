//! Cookie signing keys from the VM's environment (`cookie.keys_env`): read in
//! order through the lookup the host passes, never written back out, and
//! every mistake refused with the field and the variable named, never the key.

use edgepick_core::Config;

const BACKENDS: &str = r#""backends": [{"name": "a", "address": "127.0.0.1:8081"}]"#;

fn doc(cookie: &str) -> String {
    format!(r#"{{{BACKENDS}, "cookie": {cookie}}}"#)
}

fn env(name: &str) -> Option<String> {
    match name {
        "EP_KEY_NEW" => Some("new-key-0123456789abcdef".into()),
        "EP_KEY_OLD" => Some("old-key-0123456789abcdef".into()),
        "EP_SHORT" => Some("s3cret".into()),
        _ => None,
    }
}

fn refusal(cookie: &str) -> (String, String) {
    let e = Config::from_json_env(doc(cookie).as_bytes(), &env).unwrap_err();
    (e.field, e.problem)
}

#[test]
fn keys_are_read_newest_first_and_only_their_names_are_serialised() {
    let cfg = Config::from_json_env(
        doc(r#"{"keys_env": ["EP_KEY_NEW", "EP_KEY_OLD"]}"#).as_bytes(),
        &env,
    )
    .unwrap();
    let c = cfg.cookie.as_ref().unwrap();
    assert_eq!(
        c.keys,
        vec![
            b"new-key-0123456789abcdef".to_vec(),
            b"old-key-0123456789abcdef".to_vec()
        ]
    );
    assert_eq!(c.keys_env, ["EP_KEY_NEW", "EP_KEY_OLD"]);
    let json = cfg.to_json();
    assert!(!json.contains("0123456789abcdef"), "a key leaked: {json}");
    assert!(json.contains("\"keys_env\""), "{json}");
    let again = Config::from_json_env(json.as_bytes(), &env).unwrap();
    assert_eq!(again, cfg, "round trip through the same environment");
}

#[test]
fn mistakes_name_the_field_and_the_variable_never_the_key() {
    let (field, problem) = refusal(r#"{"keys_env": ["EP_KEY_NEW", "EP_MISSING"]}"#);
    assert_eq!(field, "cookie.keys_env[1]");
    assert!(
        problem.contains("EP_MISSING") && problem.contains("environment_variables"),
        "{problem}"
    );

    let (field, problem) = refusal(r#"{"keys_env": ["EP_SHORT"]}"#);
    assert_eq!(field, "cookie.keys_env[0]");
    assert!(problem.contains("6 bytes"), "{problem}");
    assert!(
        !problem.contains("s3cret"),
        "the key itself was printed: {problem}"
    );

    let (field, _) = refusal(r#"{"keys": ["inline-key-0123456789"], "keys_env": ["EP_KEY_NEW"]}"#);
    assert_eq!(field, "cookie.keys_env");
    let (field, _) = refusal(r#"{"keys_env": []}"#);
    assert_eq!(field, "cookie.keys_env");
    for bad in ["", "A=B", "A B", "A\nB"] {
        let name = serde_json::to_string(bad).unwrap();
        let (field, _) = refusal(&format!(r#"{{"keys_env": [{name}]}}"#));
        assert_eq!(field, "cookie.keys_env[0]", "{bad:?}");
    }
}

#[test]
fn without_an_environment_a_named_key_is_not_set() {
    let e = Config::from_json(&doc(r#"{"keys_env": ["EP_KEY_NEW"]}"#)).unwrap_err();
    assert_eq!(e.field, "cookie.keys_env[0]");
    assert!(e.problem.contains("not set"), "{}", e.problem);
}
