//! The `edgepick-host` binary's inputs for calls and metadata: scripted gRPC
//! answers (`--grpc-scripted`) and per-request properties whose path
//! segments contain dots (`--property`). Both modules are also run in real
//! Envoy (`tests/tests/fidelity_grpc.rs`, `fidelity_metadata.rs`).

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgepick-host"))
        .args(args)
        .output()
        .unwrap()
}

/// The last per-request JSON record of a successful run.
fn last_request(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|r| r.get("event").is_none())
        .expect("a request record")
}

#[test]
fn grpc_answers_are_scripted_from_the_command_line() {
    let wasm = common::wat_guest("grpc_authz").display().to_string();
    let message = Path::new(env!("CARGO_TARGET_TMPDIR")).join("allow.bin");
    std::fs::write(&message, [0x0a, 0x02, b'o', b'k']).unwrap();
    let from_file = format!("authz=0@{}", message.display());
    let run = |script: &str| {
        cli(&[
            "run",
            "--wasm",
            &wasm,
            "--config-raw",
            "authz",
            "--path",
            "/p",
            "--grpc-scripted",
            script,
        ])
    };
    let v = last_request(&run(&from_file));
    assert_eq!(v["local_response"]["status"], 200, "{v}");
    assert_eq!(
        v["local_response"]["body"], "receive ctx=root token=5 size=4 message=\n\u{2}ok",
        "{v}"
    );
    let v = last_request(&run("authz=7:not yours"));
    assert_eq!(
        v["local_response"]["body"],
        "close ctx=root token=5 status=7 get_status=7 message=not yours{via_upstream}",
        "{v}"
    );
    let out = run("authz=twelve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--grpc-scripted authz=twelve: bad gRPC status"),
        "{err}"
    );
}

#[test]
fn properties_with_dotted_segments_come_from_the_command_line() {
    let wasm = common::wat_guest("dynamic_metadata").display().to_string();
    let v = last_request(&cli(&[
        "run",
        "--wasm",
        &wasm,
        "--property",
        r"metadata.filter_metadata.envoy\.lb.version=v2",
        "--property",
        r"metadata.filter_metadata.io\.example\.auth.user\.id=alice",
    ]));
    let headers = v["request"]["headers"].as_array().unwrap();
    assert!(
        headers.contains(&serde_json::json!(["x-props", "0,v2;0,alice;1,;1,;"])),
        "{v}"
    );
}
