//! L4 benchmark (ignored by default; run it with
//! `cargo test -p edgepick-tests --test bench_l4 -- --ignored --nocapture`
//! and `EDGEPICK_ENVOY`, `EDGEPICK_NATIVE_MODULE` set as for `cargo xtask test`):
//! new connections per second through Envoy `tcp_proxy` (one worker) with the
//! native policy versus Envoy's own `ROUND_ROBIN`, same backends, same run,
//! rounds interleaved so both see the same machine load. Each connection:
//! connect from a loopback source, read the backend's greeting, one echo, close.

use edgepick_tests::harness::l4::{L4Builder, L4Conn, TcpEcho};
use edgepick_tests::harness::native::Endpoint;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const ROUND: Duration = Duration::from_secs(2);

/// Connections completed per second by `CLIENTS` threads in one round.
fn rate(l: SocketAddr) -> f64 {
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|w| {
            std::thread::spawn(move || {
                let (mut n, mut i) = (0usize, 0usize);
                while start.elapsed() < ROUND {
                    let src = IpAddr::V4(Ipv4Addr::new(127, 20 + w as u8, (i % 250) as u8, 1));
                    L4Conn::open(l, src, Duration::from_secs(10)).expect("connection");
                    n += 1;
                    i += 1;
                }
                n
            })
        })
        .collect();
    let n: usize = threads.into_iter().map(|t| t.join().expect("client")).sum();
    n as f64 / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "benchmark: run with --ignored"]
fn l4_connections_per_second_native_policy_vs_envoy_round_robin() {
    let bs: Vec<TcpEcho> = ["a", "b", "c"]
        .iter()
        .map(|n| TcpEcho::spawn(n).expect("echo"))
        .collect();
    let eps: Vec<Endpoint> = bs.iter().map(|b| Endpoint::from(b.addr())).collect();
    let variants = [
        (
            "edgepick round_robin",
            r#"{"algorithm":{"name":"round_robin"}}"#,
            false,
        ),
        (
            "edgepick least_connections",
            r#"{"algorithm":{"name":"least_connections"}}"#,
            false,
        ),
        ("envoy ROUND_ROBIN", "{}", true),
    ];
    let envoys: Vec<_> = variants
        .iter()
        .map(|(_, cfg, own)| {
            let b = L4Builder::new(cfg, &eps).health_checks(60_000);
            let b = if *own {
                b.envoy_policy("ROUND_ROBIN")
            } else {
                b
            };
            b.start().expect("envoy starts")
        })
        .collect();
    let mut sums = vec![0.0; variants.len()];
    for e in &envoys {
        rate(e.listener(0)); // warm-up
    }
    for _ in 0..3 {
        for (k, e) in envoys.iter().enumerate() {
            sums[k] += rate(e.listener(0)) / 3.0;
        }
    }
    let base = sums[2];
    for ((name, _, _), r) in variants.iter().zip(&sums) {
        println!(
            "{name}: {r:.0} connections/s, ratio to Envoy's ROUND_ROBIN {:.3}",
            r / base
        );
    }
}
