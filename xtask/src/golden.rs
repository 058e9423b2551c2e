//! `cargo xtask golden`: regenerate `tests/golden/vectors.json`.
//!
//! The cases are written here; the expected picks are computed by the core and
//! checked, where a peer defines the answer (nginx's round robin and ip_hash,
//! nginx's ketama), against that peer's known answers before the file is written.

use crate::steps::root;
use anyhow::{bail, Result};
use edgepick_core::config::Config;
use edgepick_core::vectors::{self, Case, StateEntry, VectorFile, VectorRequest};
use serde_json::{json, Value};

const NOW_MS: u64 = 1_800_000_000_000;
const KEY: &str = "golden-vector-key-0123456789abcdef";

fn backends(n: usize, extra: impl Fn(usize) -> Value) -> Value {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    Value::Array(
        (0..n)
            .map(|i| {
                let mut b = json!({"name": names[i], "address": format!("127.0.0.1:{}", 9001 + i)});
                if let (Value::Object(m), Value::Object(x)) = (&mut b, extra(i)) {
                    m.extend(x);
                }
                b
            })
            .collect(),
    )
}

fn weights(w: &[u32], i: usize) -> Value {
    json!({ "weight": w[i] })
}

fn plain() -> impl Fn(usize) -> Value {
    |_| json!({})
}

fn peers(list: &[&str]) -> Vec<VectorRequest> {
    list.iter()
        .map(|p| VectorRequest {
            peer: Some(p.to_string()),
            ..Default::default()
        })
        .collect()
}

fn header_reqs(name: &str, keys: &[&str]) -> Vec<VectorRequest> {
    keys.iter()
        .map(|k| VectorRequest {
            peer: Some("10.1.1.1".into()),
            headers: [(name.to_string(), k.to_string())].into_iter().collect(),
            ..Default::default()
        })
        .collect()
}

fn case(
    name: &str,
    config: Value,
    seed: u64,
    deterministic: bool,
    state: Vec<StateEntry>,
    requests: Vec<VectorRequest>,
) -> Case {
    Case {
        name: name.into(),
        config,
        seed,
        now_ms: NOW_MS,
        deterministic,
        state,
        requests,
        expected: Vec::new(),
    }
}

fn down(name: &str) -> StateEntry {
    StateEntry {
        backend: name.into(),
        faulty: true,
        ..Default::default()
    }
}

fn cookie_for(config: &Value, backend: &str) -> Result<String> {
    let cfg = Config::from_json(&config.to_string())?;
    let c = cfg
        .cookie
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("case has no cookie config"))?;
    Ok(format!(
        "{}={}",
        c.name,
        edgepick_core::cookie::Signer::new(c).sign(backend, NOW_MS)
    ))
}

fn cases() -> Result<Vec<Case>> {
    let mut out = Vec::new();
    let rr = json!({"algorithm": {"name": "round_robin"}, "backends": backends(3, |i| weights(&[5, 1, 1], i))});
    out.push(case(
        "round_robin_nginx_5_1_1",
        rr,
        1,
        true,
        vec![],
        peers(&["10.0.0.1"; 14]),
    ));

    let ip = json!({"algorithm": {"name": "ip_hash"}, "backends": backends(3, plain())});
    let ip_peers = [
        "192.168.1.10",
        "192.168.1.200",
        "10.0.0.1",
        "2001:db8::1",
        "1.2.3.4",
        "172.16.5.9",
    ];
    out.push(case(
        "ip_hash_nginx",
        ip.clone(),
        1,
        true,
        vec![],
        peers(&ip_peers),
    ));
    out.push(case(
        "ip_hash_nginx_b_down",
        ip.clone(),
        1,
        false,
        vec![down("b")],
        peers(&["192.168.1.10"]),
    ));
    let ipw = json!({"algorithm": {"name": "ip_hash"}, "backends": backends(3, |i| weights(&[5, 1, 1], i))});
    out.push(case(
        "ip_hash_nginx_weights_5_1_1",
        ipw,
        1,
        true,
        vec![],
        peers(&["192.168.1.10"]),
    ));
    let ipx = json!({"algorithm": {"name": "ip_hash"}, "client": {"trusted_hops": 1}, "backends": backends(3, plain())});
    let xff = VectorRequest {
        peer: Some("127.0.0.1".into()),
        xff: Some("9.9.9.9, 192.168.1.10".into()),
        ..Default::default()
    };
    out.push(case(
        "ip_hash_xff_one_trusted_hop",
        ipx,
        1,
        true,
        vec![],
        vec![xff],
    ));

    let keys = ["foo", "bar", "/index.html", "user:42", "abc123"];
    let ket = json!({"algorithm": {"name": "consistent_hash", "key": "header:x-user", "flavour": "ketama"}, "backends": backends(3, plain())});
    out.push(case(
        "ketama_nginx",
        ket,
        1,
        true,
        vec![],
        header_reqs("x-user", &keys),
    ));
    let mag = json!({"algorithm": {"name": "consistent_hash", "key": "header:x-user", "flavour": "maglev", "table_size": 65537}, "backends": backends(4, plain())});
    out.push(case(
        "maglev",
        mag,
        1,
        true,
        vec![],
        header_reqs("x-user", &keys),
    ));

    let link = |bw: f64, hops: u32, delay: f64, res: f64| json!({"link": {"bandwidth_mbps": bw, "hops": hops, "delay_ms": delay, "residual_mbps": res}});
    let rfws_score = json!({"algorithm": {"name": "rfws"}, "backends": backends(3, move |i| [link(100.0, 2, 5.0, 80.0), link(300.0, 2, 5.0, 80.0), link(200.0, 4, 1.0, 80.0)][i].clone())});
    out.push(case(
        "rfws_best_score",
        rfws_score,
        1,
        true,
        vec![],
        peers(&["10.0.0.1"]),
    ));
    let rfws_delay = json!({"algorithm": {"name": "rfws", "tie_tolerance": 0.05}, "backends": backends(3, move |i| [link(100.0, 1, 9.0, 50.0), link(102.0, 1, 3.0, 50.0), link(50.0, 1, 1.0, 50.0)][i].clone())});
    out.push(case(
        "rfws_tie_by_delay",
        rfws_delay,
        1,
        true,
        vec![],
        peers(&["10.0.0.1"]),
    ));
    let rfws_res = json!({"algorithm": {"name": "rfws"}, "backends": backends(3, move |i| [link(100.0, 1, 5.0, 20.0), link(100.0, 1, 5.0, 90.0), link(100.0, 1, 5.0, 40.0)][i].clone())});
    out.push(case(
        "rfws_tie_by_residual_bandwidth",
        rfws_res,
        1,
        true,
        vec![],
        peers(&["10.0.0.1"]),
    ));
    let rfws_rand = json!({"algorithm": {"name": "rfws"}, "backends": backends(4, move |_| link(100.0, 1, 5.0, 50.0))});
    out.push(case(
        "rfws_tie_random",
        rfws_rand,
        42,
        false,
        vec![],
        peers(&["10.0.0.1"; 6]),
    ));
    let rfws_load = json!({"algorithm": {"name": "rfws", "load_threshold": 0.8}, "backends": backends(3, move |i| {
        let bw = [400.0, 200.0, 100.0][i];
        let mut v = link(bw, 1, 5.0, 50.0);
        v["capacity"] = json!(10);
        v
    })});
    let loaded = vec![
        StateEntry {
            backend: "a".into(),
            inflight: 9,
            ..Default::default()
        },
        StateEntry {
            backend: "b".into(),
            load: Some(0.5),
            latency_ms: Some(20.0),
            ..Default::default()
        },
    ];
    out.push(case(
        "rfws_load_threshold_and_v_fs",
        rfws_load,
        1,
        false,
        loaded,
        peers(&["10.0.0.1"]),
    ));

    let sticky = json!({"algorithm": {"name": "rfws"}, "cookie": {"keys": [KEY]}, "backends": backends(3, move |i| link([300.0, 200.0, 100.0][i], 1, 5.0, 50.0))});
    let good = cookie_for(&sticky, "c")?;
    let to_down = cookie_for(&sticky, "b")?;
    let tampered = good.replace(".Yw.", ".Yg.");
    let reqs = [
        Some(good),
        Some(tampered),
        Some("edgepick=garbage".to_string()),
        Some(to_down),
        None,
    ]
    .into_iter()
    .map(|c| VectorRequest {
        peer: Some("10.0.0.1".into()),
        cookie: c,
        ..Default::default()
    })
    .collect();
    out.push(case(
        "sticky_cookie_valid_tampered_garbage_down",
        sticky,
        1,
        false,
        vec![down("b")],
        reqs,
    ));

    let lc = json!({"algorithm": {"name": "least_connections"}, "backends": backends(3, plain())});
    let inflight = |b: &str, n: u32| StateEntry {
        backend: b.into(),
        inflight: n,
        ..Default::default()
    };
    out.push(case(
        "least_connections",
        lc,
        7,
        false,
        vec![inflight("a", 4), inflight("b", 1), inflight("c", 3)],
        peers(&["10.0.0.1"; 2]),
    ));
    let lrt =
        json!({"algorithm": {"name": "least_response_time"}, "backends": backends(4, plain())});
    let lat = |b: &str, ms: f64| StateEntry {
        backend: b.into(),
        latency_ms: Some(ms),
        ..Default::default()
    };
    out.push(case(
        "least_response_time_p2c",
        lrt,
        9,
        false,
        vec![
            lat("a", 50.0),
            lat("b", 5.0),
            lat("c", 20.0),
            lat("d", 80.0),
        ],
        peers(&["10.0.0.1"; 6]),
    ));
    let rnd = json!({"algorithm": {"name": "random"}, "backends": backends(4, plain())});
    out.push(case(
        "random_seeded",
        rnd,
        3,
        false,
        vec![],
        peers(&["10.0.0.1"; 6]),
    ));
    let wr = json!({"algorithm": {"name": "weighted_random"}, "backends": backends(3, |i| weights(&[1, 3, 6], i))});
    out.push(case(
        "weighted_random_seeded",
        wr,
        5,
        false,
        vec![],
        peers(&["10.0.0.1"; 6]),
    ));
    let pan = json!({"algorithm": {"name": "round_robin"}, "backends": backends(3, plain())});
    out.push(case(
        "panic_mode_all_down",
        pan,
        1,
        false,
        vec![down("a"), down("b"), down("c")],
        peers(&["10.0.0.1"; 3]),
    ));
    Ok(out)
}

/// Peer-defined answers (nginx, from `shared/reference/algorithms.md`): first picks.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "round_robin_nginx_5_1_1",
        &[
            "a", "a", "b", "a", "c", "a", "a", "a", "a", "b", "a", "c", "a", "a",
        ],
    ),
    ("ip_hash_nginx", &["b", "b", "a", "c"]),
    ("ip_hash_nginx_b_down", &["c"]),
    ("ip_hash_nginx_weights_5_1_1", &["a"]),
    ("ip_hash_xff_one_trusted_hop", &["b"]),
    ("ketama_nginx", &["a", "b", "b", "c", "c"]),
];

/// Build, check against known answers, and write the vectors file.
pub fn run() -> Result<()> {
    let mut file = VectorFile {
        version: vectors::VERSION,
        cases: cases()?,
    };
    for c in &mut file.cases {
        c.expected = vectors::replay(c)?;
    }
    let mut wrong = Vec::new();
    for (name, firsts) in KNOWN {
        let c = file
            .cases
            .iter()
            .find(|c| c.name == *name)
            .ok_or_else(|| anyhow::anyhow!("no case {name}"))?;
        let got: Vec<&str> = c
            .expected
            .iter()
            .take(firsts.len())
            .map(|r| r.first().map_or("", String::as_str))
            .collect();
        if got != *firsts {
            wrong.push(format!(
                "{name}: core gives {got:?}, the peer gives {firsts:?}"
            ));
        }
    }
    if !wrong.is_empty() {
        bail!(
            "the core disagrees with known answers; vectors not written:\n  {}",
            wrong.join("\n  ")
        );
    }
    let path = root().join("tests/golden/vectors.json");
    std::fs::create_dir_all(path.parent().unwrap_or(&root()))?;
    std::fs::write(&path, serde_json::to_string_pretty(&file)? + "\n")?;
    eprintln!("wrote {} ({} cases)", path.display(), file.cases.len());
    Ok(())
}
