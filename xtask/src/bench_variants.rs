//! The variants `cargo xtask bench` measures, baselines first: native
//! Envoy, the minimal wasm filter (the floor every ratio divides by), then
//! edgepick's algorithms at 3 and 64 backends and the cost of its options.

use crate::bench::{edgepick_config, endpoints, endpoints_of, Client, Setup, Variant, FEW, MANY};
use std::path::Path;

/// Every Envoy variant, baselines first.
pub(crate) fn variants(filter: &Path, minimal: &Path) -> Vec<Variant> {
    let mut v = vec![
        Variant {
            name: "envoy round_robin (native)",
            backends: FEW,
            setup: Setup::Native("round_robin"),
            client: Client::Plain,
        },
        Variant {
            name: "envoy ring_hash (native)",
            backends: FEW,
            setup: Setup::Native("ring_hash"),
            client: Client::Header("x-user: 42".into()),
        },
        Variant {
            name: "override_host, header from client",
            backends: FEW,
            setup: Setup::OverrideHost(None),
            client: Client::Header(format!(
                "x-gateway-destination-endpoint: 127.0.0.1:{}",
                crate::bench::backend_ports()[1]
            )),
        },
        Variant {
            name: "minimal wasm filter (floor)",
            backends: FEW,
            setup: Setup::OverrideHost(Some((minimal.to_path_buf(), endpoints()))),
            client: Client::Plain,
        },
        // What a 64-host cluster costs Envoy itself, filter aside: the
        // 64-backend rows' change that is not the filter's.
        Variant {
            name: "minimal wasm filter, 64 backends",
            backends: MANY,
            setup: Setup::OverrideHost(Some((minimal.to_path_buf(), endpoints_of(MANY)))),
            client: Client::Plain,
        },
    ];
    // (label, backends, algorithm, cookies configured, client sends its cookie back)
    for (name, n, alg, sticky, held) in [
        (
            "edgepick round_robin, no cookies",
            FEW,
            "round_robin",
            false,
            false,
        ),
        ("edgepick ip_hash, no cookies", FEW, "ip_hash", false, false),
        ("edgepick rfws, no cookies", FEW, "rfws", false, false),
        (
            "edgepick least_connections, 3",
            FEW,
            "least_connections",
            false,
            false,
        ),
        (
            "edgepick rfws + sticky (new clients)",
            FEW,
            "rfws",
            true,
            false,
        ),
        (
            "edgepick rfws + sticky (cookie held)",
            FEW,
            "rfws",
            true,
            true,
        ),
        (
            "edgepick round_robin, 64 backends",
            MANY,
            "round_robin",
            false,
            false,
        ),
        ("edgepick rfws, 64 backends", MANY, "rfws", false, false),
        (
            "edgepick least_connections, 64",
            MANY,
            "least_connections",
            false,
            false,
        ),
    ] {
        v.push(Variant {
            name,
            backends: n,
            setup: Setup::Edgepick(filter.to_path_buf(), edgepick_config(alg, sticky, n), true),
            client: if held {
                Client::HeldCookie
            } else {
                Client::Plain
            },
        });
    }
    // The native load-balancing policy (no HTTP filter): the same documents.
    for (name, n, alg) in [
        ("module round_robin", FEW, "round_robin"),
        ("module ip_hash", FEW, "ip_hash"),
        ("module rfws", FEW, "rfws"),
        ("module least_connections, 3", FEW, "least_connections"),
        ("module rfws, 64 backends", MANY, "rfws"),
        ("module least_connections, 64", MANY, "least_connections"),
    ] {
        v.push(Variant {
            name,
            backends: n,
            setup: Setup::Module(edgepick_config(alg, false, n)),
            client: Client::Plain,
        });
    }
    // What stripping the balancer's cookie before the upstream costs.
    v.push(Variant {
        name: "rfws + sticky (held), cookie not stripped",
        backends: FEW,
        setup: Setup::Edgepick(
            filter.to_path_buf(),
            edgepick_config("rfws", true, FEW).replace("\"keys\":", "\"strip\":false,\"keys\":"),
            true,
        ),
        client: Client::HeldCookie,
    });
    // What Envoy's attempt count saves the filter (it asks for the
    // upstream.address property on every request without it).
    v.push(Variant {
        name: "rfws + sticky (held), no attempt count",
        backends: FEW,
        setup: Setup::Edgepick(
            filter.to_path_buf(),
            edgepick_config("rfws", true, FEW),
            false,
        ),
        client: Client::HeldCookie,
    });
    v
}
