//! The `edgepick-host` binary: replay, run and the error messages.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgepick-host"))
        .args(args)
        .output()
        .unwrap()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// Every JSON record printed.
fn records(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The per-request records (not `event` records).
fn requests(stdout: &[u8]) -> Vec<serde_json::Value> {
    records(stdout)
        .into_iter()
        .filter(|r| r.get("event").is_none())
        .collect()
}

fn tmp(name: &str, text: &str) -> String {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A trace for the `headers` guest (the example trace is for edgepick).
const TRACE: &str = r#"{"client":"127.0.0.5:4000","method":"GET","path":"/","headers":{"user-agent":"curl/8"},"time_ms":0}
{"client":"127.0.0.6:4001","method":"GET","path":"/cart","headers":{"cookie":"edgepick=abc"},"time_ms":5}
{"client":"127.0.0.7:4002","method":"POST","path":"/api","headers":{},"time_ms":10,"response":{"status":503,"headers":{"retry-after":"1"},"latency_ms":5,"body":"busy"}}
{"client":"127.0.0.5:4000","method":"GET","path":"/","time_ms":250}
"#;

#[test]
fn replay_prints_one_decision_per_request_and_a_summary() {
    let wasm = common::guest_path("headers").display().to_string();
    let config = tmp("endpoint.json", "\"127.0.0.1:9001\"");
    let trace = tmp("trace.jsonl", TRACE);
    let out = cli(&[
        "replay",
        "--wasm",
        &wasm,
        "--config",
        &config,
        "--trace",
        &trace,
        "--workers",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let all = records(&out.stdout);
    // One vm_start record per worker, then one record per request.
    let starts: Vec<_> = all.iter().filter(|r| r["event"] == "vm_start").collect();
    assert_eq!(starts.len(), 2);
    let lines = requests(&out.stdout);
    assert_eq!(lines.len(), 4);
    // What went upstream and what the client got.
    assert_eq!(lines[0]["request"]["path"], "/");
    assert_eq!(lines[0]["request"]["forwarded"], true);
    assert_eq!(lines[2]["response"]["body"], "busy");
    assert!(lines[0]["response"]["body"]
        .as_str()
        .unwrap()
        .contains("served by"));
    assert_eq!(lines[0]["endpoint"], "127.0.0.1:9001");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["set_cookie"][0], "ep=127.0.0.1:9001; Path=/");
    assert_eq!(lines[0]["local_response"], serde_json::Value::Null);
    assert_eq!(lines[1]["worker"], 1);
    assert_eq!(lines[2]["status"], 503);
    assert!(lines[0]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "Info: request /"));
    assert!(stderr.contains("127.0.0.1:9001"), "{stderr}");
    assert!(stderr.contains("200=3 503=1"), "{stderr}");
    // Same inputs, same output.
    let again = cli(&[
        "replay",
        "--wasm",
        &wasm,
        "--config",
        &config,
        "--trace",
        &trace,
        "--workers",
        "2",
    ]);
    assert_eq!(out.stdout, again.stdout);
}

#[test]
fn run_handles_one_request() {
    let wasm = common::guest_path("local_response").display().to_string();
    let out = cli(&[
        "run",
        "--wasm",
        &wasm,
        "--config",
        &example("config.json"),
        "--path",
        "/deny",
        "--header",
        "a:b",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = requests(&out.stdout).pop().unwrap();
    assert_eq!(v["status"], 403);
    assert_eq!(v["local_response"]["body"], "denied by filter");
}

#[test]
fn bad_inputs_give_clear_errors() {
    let wasm = common::guest_path("headers").display().to_string();
    let config = example("config.json");
    let out = cli(&["run", "--wasm", "/nope.wasm", "--config", &config]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nope.wasm not found"));
    let bad = tmp("bad.jsonl", "{\"path\":\"/\"}\n{not json}\n");
    let out = cli(&[
        "replay", "--wasm", &wasm, "--config", &config, "--trace", &bad,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("trace line 2: bad JSON"), "{err}");
    // No configuration: the guest refuses it, and the error says so.
    let out = cli(&["run", "--wasm", &wasm]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("plugin configuration rejected"), "{err}");
    let out = cli(&[
        "run",
        "--wasm",
        &wasm,
        "--config",
        &config,
        "--config-raw",
        "x",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be used with"), "{err}");
    let out = cli(&["run", "--wasm", &wasm, "--config", "/nope.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reading --config /nope.json"), "{err}");
}

#[test]
fn a_plain_string_configuration_is_taken_as_bytes() {
    // Not JSON: the module gets the bytes, as it would from Envoy.
    let wasm = common::guest_path("headers").display().to_string();
    let out = cli(&["run", "--wasm", &wasm, "--config-raw", "127.0.0.1:9009"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v = requests(&out.stdout).pop().unwrap();
    assert_eq!(v["endpoint"], "127.0.0.1:9009");
}

#[test]
fn bench_reports_throughput() {
    let wasm = common::guest_path("headers").display().to_string();
    let out = cli(&[
        "bench",
        "--wasm",
        &wasm,
        "--config",
        &example("config.json"),
        "--requests",
        "200",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["requests_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn replay_into_a_closed_pipe_stops_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let wasm = common::guest_path("headers").display().to_string();
    let config = tmp("endpoint.json", "\"127.0.0.1:9001\"");
    // Far more output than a pipe buffers, so the writer meets the closed pipe.
    let trace = tmp("long.jsonl", &"{\"path\":\"/\"}\n".repeat(5000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgepick-host"))
        .args([
            "replay", "--wasm", &wasm, "--config", &config, "--trace", &trace,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "{first}");
    // The reader is dropped here, like `| head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
}

#[test]
fn tick_runs_a_service_module_on_the_virtual_clock() {
    let wasm = common::wat_guest("ticker").display().to_string();
    let out = cli(&["tick", "--wasm", &wasm, "--ms", "300"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ticks: Vec<String> = records(&out.stdout)
        .iter()
        .filter(|r| r["event"] == "tick")
        .flat_map(|r| r["logs"].as_array().cloned().unwrap_or_default())
        .map(|l| l.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ticks, ["Info: tick 1", "Info: tick 2", "Info: tick 3"]);
}

#[test]
fn run_shows_rewritten_bodies_side_by_side_in_text() {
    let wasm = common::wat_guest("body_rewrite").display().to_string();
    let body = tmp("body.txt", "abc");
    let out = cli(&[
        "run",
        "--wasm",
        &wasm,
        "--method",
        "POST",
        "--body-file",
        &body,
        "--format",
        "text",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("-> upstream"), "{text}");
    assert!(text.contains("body: \"<abc>\""), "{text}");
    assert!(text.contains("SERVED BY THE SIMULATED BACKEND"), "{text}");
}

#[test]
fn scripted_callout_answers_need_no_server() {
    let wasm = common::guest_path("callout").display().to_string();
    let out = cli(&[
        "run",
        "--wasm",
        &wasm,
        "--config-raw",
        "auth",
        "--scripted",
        "auth=200:welcome",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = requests(&out.stdout).pop().unwrap();
    let forwarded = v["request"]["headers"].as_array().unwrap().clone();
    assert!(
        forwarded.contains(&serde_json::json!(["x-auth-body", "welcome"])),
        "{v}"
    );
    let out = cli(&["run", "--wasm", &wasm, "--scripted", "auth=abc"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--scripted auth=abc: bad status"), "{err}");
}

#[test]
fn a_tick_that_faults_is_reported_and_later_requests_fail_closed() {
    let module = wat::parse_str(
        r#"(module
          (import "env" "proxy_set_tick_period_milliseconds" (func $tp (param i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "proxy_abi_version_0_2_1"))
          (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
          (func (export "proxy_on_configure") (param i32 i32) (result i32)
            (drop (call $tp (i32.const 100))) (i32.const 1))
          (func (export "proxy_on_tick") (param i32) unreachable))"#,
    )
    .unwrap();
    let wasm = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tick_trap.wasm");
    std::fs::write(&wasm, module).unwrap();
    let trace = tmp(
        "tick_trap.jsonl",
        "{\"path\":\"/a\",\"time_ms\":0}\n{\"path\":\"/b\",\"time_ms\":500}\n",
    );
    let out = cli(&[
        "replay",
        "--wasm",
        wasm.to_str().unwrap(),
        "--trace",
        &trace,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = records(&out.stdout);
    let tick = all
        .iter()
        .find(|r| r["event"] == "tick")
        .expect("a tick record");
    assert!(
        tick["fault"].as_str().unwrap().contains("proxy_on_tick"),
        "{tick}"
    );
    let reqs = requests(&out.stdout);
    assert_eq!(
        (reqs[0]["status"].as_u64(), reqs[1]["status"].as_u64()),
        (Some(200), Some(503))
    );
    assert!(
        reqs[1]["fault"]
            .as_str()
            .unwrap()
            .contains("failed earlier"),
        "{}",
        reqs[1]
    );
}
