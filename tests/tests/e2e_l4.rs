//! L4: the native policy (`libedgepick_envoy.so`) as the load-balancing
//! policy of an Envoy 1.40 `tcp_proxy` cluster, from the shipped
//! `deploy/envoy-l4.yaml`, in front of TCP echo backends on loopback, with
//! connections from many loopback source addresses (each 127.x.y.z a client).

mod common;

use edgepick_tests::harness::l4::{L4Builder, L4Conn, TcpEcho};
use edgepick_tests::harness::native::Endpoint;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

fn setup() {
    let _ = edgepick_tests::harness::envoy_binary();
    let _ = edgepick_tests::harness::native::native_module();
}

fn echoes(names: &[&str]) -> Vec<TcpEcho> {
    names
        .iter()
        .map(|n| TcpEcho::spawn(n).expect("echo backend"))
        .collect()
}

fn endpoints(bs: &[TcpEcho]) -> Vec<Endpoint> {
    bs.iter().map(|b| Endpoint::from(b.addr())).collect()
}

/// Client `i`: 127.(1 + i / 250).(i % 250).1, a distinct /24 per client.
fn source(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 1 + (i / 250) as u8, (i % 250) as u8, 1))
}

fn open(l: SocketAddr, i: usize) -> L4Conn {
    L4Conn::open(l, source(i), T).unwrap_or_else(|e| panic!("connection {i}: {e:#}"))
}

fn tally(names: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for n in names {
        *m.entry(n).or_insert(0) += 1;
    }
    m
}

#[test]
fn l4_round_robin_answers_every_connection_from_many_sources_in_turn() {
    setup();
    let bs = echoes(&["a", "b", "c"]);
    let envoy = L4Builder::new(r#"{"algorithm":{"name":"round_robin"}}"#, &endpoints(&bs))
        .start()
        .expect("envoy starts");
    let l = envoy.listener(0);
    let t = tally((0..90).map(|i| open(l, i).backend));
    // One worker, equal weights: exactly one in three each.
    let want: BTreeMap<String, usize> = ["a", "b", "c"].map(|n| (n.to_string(), 30)).into();
    assert_eq!(t, want);
}

#[test]
fn l4_least_connections_counts_the_open_tcp_connections_per_backend() {
    setup();
    let bs = echoes(&["a", "b"]);
    // No health checks in the way: a long interval.
    let envoy = L4Builder::new(
        r#"{"algorithm":{"name":"least_connections"}}"#,
        &endpoints(&bs),
    )
    .health_checks(60_000)
    .start()
    .expect("envoy starts");
    let l = envoy.listener(0);
    let held: Vec<L4Conn> = (0..10).map(|i| open(l, i)).collect();
    let t = tally(held.iter().map(|c| c.backend.clone()));
    assert_eq!(t.get("a"), Some(&5), "{t:?}");
    // Close every connection to a: b keeps 5 open, a none.
    let (on_a, mut on_b): (Vec<L4Conn>, Vec<L4Conn>) =
        held.into_iter().partition(|c| c.backend == "a");
    drop(on_a);
    std::thread::sleep(Duration::from_millis(500));
    let clusters =
        String::from_utf8_lossy(&envoy.admin_get("/clusters").expect("admin").body).into_owned();
    let active: Vec<&str> = clusters
        .lines()
        .filter(|l| l.contains("rq_active") || l.contains("cx_active"))
        .collect();
    println!("Envoy's per-host counts with 5 open on b: {active:#?}");
    // Envoy's rq_active for a tcp_proxy cluster counts open connections: the
    // next 5 all go to a (round robin would split them).
    let next: Vec<L4Conn> = (10..15).map(|i| open(l, i)).collect();
    let t = tally(next.iter().map(|c| c.backend.clone()));
    assert_eq!(t.get("a"), Some(&5), "after closing a's connections: {t:?}");
    for c in &mut on_b {
        c.echo().expect("b's connections still open");
    }
}

#[test]
fn l4_source_hash_keeps_each_source_on_one_backend_and_spreads_sources() {
    setup();
    let bs = echoes(&["a", "b", "c"]);
    for algo in [
        r#"{"name":"ip_hash"}"#,
        r#"{"name":"consistent_hash","key":"client_address"}"#,
    ] {
        let cfg = format!(r#"{{"algorithm":{algo}}}"#);
        let envoy = L4Builder::new(&cfg, &endpoints(&bs))
            .start()
            .expect("envoy starts");
        let l = envoy.listener(0);
        let first: Vec<String> = (0..60).map(|i| open(l, i).backend).collect();
        // Sources in another order each round (round robin would follow the order).
        for round in 1..3 {
            for k in 0..60 {
                let i = (k * 7 + round * 13) % 60;
                assert_eq!(
                    open(l, i).backend,
                    first[i],
                    "{algo} round {round} source {i}"
                );
            }
        }
        let t = tally(first);
        assert_eq!(
            t.len(),
            3,
            "{algo}: sources spread over every backend: {t:?}"
        );
    }
}

/// The ABI gives the policy no source address, only Envoy's hash of it: an
/// exact nginx `ip_hash` (key: the first three octets) or stream
/// `hash $remote_addr` (key: the address text through nginx's crc32 / ketama)
/// cannot be computed. Shown on one /24: nginx sends all of it to one peer;
/// the L4 path, keyed on Envoy's hash of each whole address, spreads it.
#[test]
fn l4_ip_hash_is_not_nginxs_the_policy_never_sees_the_address() {
    setup();
    let bs = echoes(&["a", "b", "c"]);
    let envoy = L4Builder::new(r#"{"algorithm":{"name":"ip_hash"}}"#, &endpoints(&bs))
        .start()
        .expect("envoy starts");
    let l = envoy.listener(0);
    let srcs: Vec<Ipv4Addr> = (1..=30).map(|d| Ipv4Addr::new(127, 9, 9, d)).collect();
    let nginx: std::collections::BTreeSet<usize> = srcs
        .iter()
        .map(|&ip| common::nginx_ip_hash(ip, &[1, 1, 1]))
        .collect();
    assert_eq!(nginx.len(), 1, "nginx: one /24, one peer");
    let got = tally(srcs.iter().map(|&ip| {
        L4Conn::open(l, IpAddr::V4(ip), T)
            .unwrap_or_else(|e| panic!("{ip}: {e:#}"))
            .backend
    }));
    println!("one /24 through the L4 ip_hash: {got:?} (nginx: all on one peer)");
    assert!(got.len() >= 2, "{got:?}");
}

#[test]
fn l4_a_backend_death_fails_no_new_connection() {
    setup();
    // Hashing sends a retried connect to the same host: only the policy's
    // passive state (read before the pick stands) moves it in time.
    for algo in [
        r#"{"name":"consistent_hash","key":"client_address"}"#,
        r#"{"name":"least_connections"}"#,
    ] {
        kill_run(algo);
    }
}

fn kill_run(algo: &str) {
    let bs = echoes(&["a", "b", "c"]);
    let cfg =
        format!(r#"{{"algorithm":{algo},"health":{{"max_fails":1,"fail_timeout_ms":10000}}}}"#);
    let envoy = L4Builder::new(&cfg, &endpoints(&bs))
        .health_checks(200)
        .concurrency(2)
        .start()
        .expect("envoy starts");
    let l = envoy.listener(0);
    // Long-lived connections, spread over the three.
    let mut held: Vec<L4Conn> = (0..12).map(|i| open(l, 1000 + i)).collect();
    let on_b = held.iter().filter(|c| c.backend == "b").count();
    assert!(on_b > 0, "some long connection on b");
    // New connections from 4 client threads, each from its own sources; b
    // dies one second in.
    let start = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            std::thread::spawn(move || {
                let (mut ok, mut failed, mut cut) = (BTreeMap::new(), Vec::new(), 0usize);
                let mut i = 0;
                while start.elapsed() < Duration::from_secs(4) {
                    let src = w * 250 + i % 250;
                    match L4Conn::open(l, source(src), T) {
                        Ok(c) => *ok.entry(c.backend).or_insert(0usize) += 1,
                        // Greeted by b, then cut by its death: an established connection.
                        Err(e) if format!("{e:#}").starts_with("echo") => cut += 1,
                        Err(e) => failed.push((start.elapsed(), format!("{src}: {e:#}"))),
                    }
                    i += 1;
                    // Bounded: about 200 new connections a second per thread.
                    std::thread::sleep(Duration::from_millis(5));
                }
                (ok, failed, cut)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let killed_at = start.elapsed();
    bs[1].kill();
    let (mut ok, mut failed, mut cut) = (BTreeMap::<String, usize>::new(), Vec::new(), 0);
    for w in workers {
        let (o, f, c) = w.join().expect("client thread");
        for (k, v) in o {
            *ok.entry(k).or_insert(0) += v;
        }
        failed.extend(f);
        cut += c;
    }
    // Envoy had completed the TCP handshake with b (its kernel's accept
    // queue) but b never accepted: its death resets them, after tcp_proxy's
    // connect succeeded, so no retry. Established to the killed backend: a
    // reset before the greeting within 1 s of the kill (a loaded machine delays
    // its report), counted apart. A retried connect that meets the dead host
    // again ends differently: tcp_proxy closes ("greeting: closed").
    let (queued, failed): (Vec<_>, Vec<_>) = failed.into_iter().partition(|(at, e)| {
        e.ends_with("greeting: Connection reset by peer (os error 104)")
            && at.saturating_sub(killed_at) < Duration::from_secs(1)
            && *at >= killed_at
    });
    let ended: Vec<bool> = held.iter_mut().map(|c| c.echo().is_err()).collect();
    let ended_on_b = held
        .iter()
        .zip(&ended)
        .filter(|(c, e)| **e && c.backend == "b")
        .count();
    let ended_elsewhere = held
        .iter()
        .zip(&ended)
        .filter(|(c, e)| **e && c.backend != "b")
        .count();
    let total: usize = ok.values().sum::<usize>() + failed.len() + queued.len() + cut;
    println!(
        "L4 kill ({algo}): b killed at {killed_at:?}; {total} new connections: served {ok:?}, \
         failed {}, reset in b's accept queue {}, cut by the death after b's greeting {cut}; long connections: \
         {on_b} on b ended {ended_on_b}, elsewhere ended {ended_elsewhere}",
        failed.len(),
        queued.len()
    );
    assert!(
        failed.is_empty(),
        "{} new connections failed, the first: {:#?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert_eq!(ended_on_b, on_b, "every long connection to b ends with it");
    assert_eq!(ended_elsewhere, 0, "the others' long connections stay");
    assert!(total >= 100, "enough traffic: {total}");
    // After the kill (and Envoy's health check) nothing new reaches b.
    let after = tally((0..30).map(|i| open(l, 2000 + i).backend));
    assert!(!after.contains_key("b"), "{after:?}");
}

#[test]
fn l4_the_shipped_document_loads_and_answers() {
    setup();
    let path = edgepick_tests::harness::native::deploy_file("envoy-l4.yaml");
    let doc: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml");
    let cfg = doc
        .pointer("/static_resources/clusters/0/load_balancing_policy/policies/0/typed_extension_config/typed_config/lb_policy_config/value")
        .and_then(serde_json::Value::as_str)
        .expect("the policy's document");
    let bs = echoes(&["a", "b"]);
    let envoy = L4Builder::new(cfg, &endpoints(&bs))
        .start()
        .expect("envoy starts with the shipped document");
    // Held open: least connections splits them.
    let held: Vec<L4Conn> = (0..4).map(|i| open(envoy.listener(0), 3000 + i)).collect();
    let t = tally(held.iter().map(|c| c.backend.clone()));
    assert_eq!(t.get("a"), Some(&2), "{t:?}");
}
