//! # edgepick-envoy
//!
//! edgepick-core as a native Envoy dynamic module (`libedgepick_envoy.so`):
//! a load-balancing policy, `envoy.load_balancing_policies.dynamic_modules`
//! with `lb_policy_name: edgepick`, in which every core algorithm picks among
//! the cluster's hosts as Envoy knows them (STATIC, EDS, DNS).
//!
//! * Configuration: the wasm filter's JSON document (`lb_policy_config`, a
//!   `google.protobuf.StringValue`), `backends` optional ([`settings`],
//!   [`hosts`] for per-host values from the document or endpoint metadata).
//!   Refused at load with core's message naming the field.
//! * Health: Envoy's (health checks, outlier detection) plus core's passive
//!   state fed from the hosts' outcome counters ([`sync`]); in-flight counts
//!   are Envoy's per-host active requests.
//! * Host churn rebuilds core's router, keeping the state of hosts that stay.
//! * Sticky sessions: the policy reads the signed cookie when it picks; the
//!   companion HTTP filter in the same library (`envoy.filters.http.dynamic_modules`,
//!   `filter_name: edgepick`) sets it on the response only when it must
//!   change, and a second role (`edgepick_strip`, an upstream HTTP filter)
//!   strips it before the upstream ([`session`]).
//! * No panic crosses the boundary ([`guard`]).
//!
//! ## ABI
//! Written against Envoy v1.40.0's dynamic-modules ABI (`v0.2.0`), read from
//! `source/extensions/dynamic_modules/abi/abi.h` (the event hooks and
//! callbacks of the "Load Balancer" section) and the load balancer's
//! implementation `source/extensions/load_balancing_policies/dynamic_modules/`;
//! the declarations are in [`abi`]. At load ([`abi_check`]) the module looks up
//! every callback it declares in the Envoy process and refuses to load, naming
//! the missing ones, when the Envoy is not the ABI it was written for.
//!
//! ```yaml
//! load_balancing_policy:
//!   policies:
//!   - typed_extension_config:
//!       name: envoy.load_balancing_policies.dynamic_modules
//!       typed_config:
//!         "@type": type.googleapis.com/envoy.extensions.load_balancing_policies.dynamic_modules.v3.DynamicModulesLoadBalancerConfig
//!         dynamic_module_config: { name: edgepick_envoy }
//!         lb_policy_name: edgepick
//!         lb_policy_config:
//!           "@type": type.googleapis.com/google.protobuf.StringValue
//!           value: '{"algorithm": {"name": "rfws"}}'
//! ```

pub mod abi;
pub mod abi_check;
pub mod abi_http;
pub mod cluster;
pub mod guard;
pub mod hosts;
pub mod picker;
pub mod session;
pub mod settings;
pub mod sync;

#[cfg(all(not(test), not(target_family = "wasm")))]
mod ffi;
#[cfg(all(not(test), not(target_family = "wasm")))]
mod http;
#[cfg(all(not(test), not(target_family = "wasm")))]
mod lb;

#[cfg(test)]
mod tests;
