//! One test list for both targets: the wasm filter and the native
//! load-balancing policy (with its companion cookie filter) run the same
//! end-to-end behaviours. A behaviour is a function taking a [`Target`];
//! [`on_both_targets!`](crate::on_both_targets) makes one `#[test]` per
//! target from it (`wasm::name` and `native::name`), so a difference between
//! the targets fails the one that differs.

use edgepick_tests::harness::native::{Endpoint, NativeBuilder};
use edgepick_tests::harness::{Envoy, EnvoyBuilder};
use std::net::SocketAddr;

/// Where edgepick runs in Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The proxy-wasm filter (`override_host` picks what it ranked).
    Wasm,
    /// The native dynamic module: policy plus cookie filter.
    Native,
}

/// What a behaviour asks of Envoy, the same on both targets.
#[derive(Debug, Clone)]
pub struct Edge<'a> {
    /// One listener per configuration (listener `i` uses configuration `i`).
    pub configs: Vec<String>,
    /// The backends' addresses (the native cluster's endpoints).
    pub addresses: &'a [SocketAddr],
    /// Envoy worker threads.
    pub concurrency: u32,
}

impl<'a> Edge<'a> {
    /// One listener with `config` over `addresses`, one worker.
    pub fn new(config: &str, addresses: &'a [SocketAddr]) -> Self {
        Edge {
            configs: vec![config.to_string()],
            addresses,
            concurrency: 1,
        }
    }

    /// Another listener with its own configuration.
    pub fn and(mut self, config: &str) -> Self {
        self.configs.push(config.to_string());
        self
    }

    /// Envoy worker threads.
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n;
        self
    }

    /// Start Envoy running `target`; `Err` when it refuses to start.
    pub fn try_start(&self, target: Target) -> anyhow::Result<Envoy> {
        match target {
            Target::Wasm => {
                let wasm = super::setup();
                let mut b =
                    EnvoyBuilder::new(&wasm, &self.configs[0]).concurrency(self.concurrency);
                for c in &self.configs[1..] {
                    b = b.add_listener(Some(c));
                }
                b.start()
            }
            Target::Native => {
                super::native::setup();
                let endpoints: Vec<Endpoint> =
                    self.addresses.iter().map(|a| Endpoint::from(*a)).collect();
                let mut b =
                    NativeBuilder::new(&self.configs[0], &endpoints).concurrency(self.concurrency);
                for c in &self.configs[1..] {
                    b = b.add_listener(c);
                }
                b.start()
            }
        }
    }

    /// Start Envoy running `target`.
    pub fn start(&self, target: Target) -> Envoy {
        self.try_start(target)
            .unwrap_or_else(|e| panic!("envoy ({target:?}) starts: {e:#}"))
    }
}

/// One `#[test]` per target for each behaviour named: `wasm::name` and
/// `native::name`, each calling `name(Target::…)`.
#[macro_export]
macro_rules! on_both_targets {
    ($($name:ident),+ $(,)?) => {
        mod wasm {
            $(#[test]
            fn $name() {
                super::$name($crate::common::target::Target::Wasm)
            })+
        }
        mod native {
            $(#[test]
            fn $name() {
                super::$name($crate::common::target::Target::Native)
            })+
        }
    };
}
