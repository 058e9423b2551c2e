//! The variants `cargo xtask bench` measures, baselines first: native
//! Envoy, the minimal wasm filter (the floor every ratio divides by), then
//! edgepick's algorithms at 3 and 64 backends and the cost of its options.

use crate::bench::{
    edgepick_config, endpoints, endpoints_of, session_cookie_header, Client, ModuleFilters, Setup,
    Signal, Variant, BACKENDS, FEW, MANY,
};
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
                BACKENDS[1]
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
            setup: Setup::Edgepick(
                filter.to_path_buf(),
                edgepick_config(alg, sticky, n),
                Signal::Upstream,
            ),
            client: if held {
                Client::HeldCookie
            } else {
                Client::Plain
            },
        });
    }
    // Round robin that keeps nothing of the response (no passive health, no
    // cookie): it reads no response value at all, so the route need not
    // write the signal either.
    v.push(Variant {
        name: "edgepick round_robin, max_fails 0 (reads nothing back)",
        backends: FEW,
        setup: Setup::Edgepick(
            filter.to_path_buf(),
            edgepick_config("round_robin", false, FEW).replace(
                "\"panic_threshold\":0",
                "\"panic_threshold\":0,\"max_fails\":0",
            ),
            Signal::None,
        ),
        client: Client::Plain,
    });
    // The native load-balancing policy: the same documents; with cookies,
    // its companion filters as deploy/envoy-native.yaml runs them (the
    // cookie filter, the upstream filter that strips the cookie).
    for (name, n, alg, sticky) in [
        ("module round_robin", FEW, "round_robin", false),
        ("module ip_hash", FEW, "ip_hash", false),
        ("module rfws", FEW, "rfws", false),
        (
            "module least_connections, 3",
            FEW,
            "least_connections",
            false,
        ),
        ("module rfws, 64 backends", MANY, "rfws", false),
        (
            "module least_connections, 64",
            MANY,
            "least_connections",
            false,
        ),
        ("module rfws + sticky (cookie held)", FEW, "rfws", true),
    ] {
        v.push(Variant {
            name,
            backends: n,
            setup: Setup::Module(edgepick_config(alg, sticky, n), ModuleFilters::AsDeployed),
            client: if sticky {
                Client::HeldCookie
            } else {
                Client::Plain
            },
        });
    }
    // What carrying a held cookie costs Envoy when nothing reads it, and
    // what Envoy's own sticky sessions cost with their cookie held: the
    // peers of the held-cookie rows.
    v.push(Variant {
        name: "native round_robin, a session cookie sent (nothing reads it)",
        backends: FEW,
        setup: Setup::Native("round_robin"),
        client: Client::Header(session_cookie_header()),
    });
    v.push(Variant {
        name: "Envoy's stateful_session cookie (held), native round_robin",
        backends: FEW,
        setup: Setup::Native("stateful_session"),
        client: Client::HeldCookie,
    });
    // What the module's stripping filter costs: the same, cookie not stripped.
    v.push(Variant {
        name: "module rfws + sticky (held), cookie not stripped",
        backends: FEW,
        setup: Setup::Module(
            edgepick_config("rfws", true, FEW).replace("\"keys\":", "\"strip\":false,\"keys\":"),
            ModuleFilters::AsDeployed,
        ),
        client: Client::HeldCookie,
    });
    // The least any companion cookie filter costs: Envoy hosting one
    // dynamic-module HTTP filter that reads the Cookie header (none sent).
    v.push(Variant {
        name: "module rfws + one dynamic-module filter (reads Cookie, none sent)",
        backends: FEW,
        setup: Setup::Module(edgepick_config("rfws", true, FEW), ModuleFilters::OneReader),
        client: Client::Plain,
    });
    // What stripping the balancer's cookie before the upstream costs, and
    // what the route's signal saves: with Envoy's attempt count instead the
    // filter reads two headers (the count, `:status`); with neither it also
    // asks for the upstream.address property on every request.
    for (name, strip, signal) in [
        (
            "rfws + sticky (held), cookie not stripped",
            false,
            Signal::Upstream,
        ),
        (
            "rfws + sticky (held), attempt count, no x-edgepick-upstream",
            true,
            Signal::AttemptCount,
        ),
        ("rfws + sticky (held), no signal at all", true, Signal::None),
    ] {
        let cfg = edgepick_config("rfws", true, FEW);
        v.push(Variant {
            name,
            backends: FEW,
            setup: Setup::Edgepick(
                filter.to_path_buf(),
                if strip {
                    cfg
                } else {
                    cfg.replace("\"keys\":", "\"strip\":false,\"keys\":")
                },
                signal,
            ),
            client: Client::HeldCookie,
        });
    }
    v.extend(hostcall_budget(minimal));
    v
}

/// The floor plus one kind of hostcall each (the minimal filter's
/// `;probe=`), and plus the exact hostcalls edgepick's round robin makes:
/// what each costs Envoy with no filter work around it, so a ratio target
/// can be checked against the hostcalls it needs.
fn hostcall_budget(minimal: &Path) -> Vec<Variant> {
    [
        ("floor + clock read", "clock", Signal::None),
        ("floor + :status read", "status", Signal::None),
        (
            "floor + attempt count (route option + read)",
            "attempts",
            Signal::AttemptCount,
        ),
        (
            "floor + x-edgepick-upstream (route formatter + read)",
            "upstream-header",
            Signal::Upstream,
        ),
        ("floor + upstream.address read", "upstream", Signal::None),
        ("floor + a missing header's read", "miss", Signal::None),
        (
            "floor + every request header read (as for Cookie lines)",
            "pairs",
            Signal::None,
        ),
        (
            "floor + round robin's hostcalls (2 clocks, :status, attempt count)",
            "clock+clock2+status+attempts",
            Signal::AttemptCount,
        ),
    ]
    .into_iter()
    .map(|(name, ops, attempts)| Variant {
        name,
        backends: FEW,
        setup: Setup::Edgepick(
            minimal.to_path_buf(),
            format!("{};probe={ops}", endpoints()),
            attempts,
        ),
        // A session cookie's size, so the header map is a held session's.
        client: if ops == "pairs" {
            Client::Header(format!("cookie: ep_sid={}", "x".repeat(64)))
        } else {
            Client::Plain
        },
    })
    .collect()
}
