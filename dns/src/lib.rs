//! # edgepick-dns
//!
//! An authoritative GSLB DNS server (the paper's forwarding server reached
//! through DNS) answering each A/AAAA query with edgepick-core's pick for the
//! querying client: the resolver's address or its EDNS Client Subnet
//! (RFC 7871), in the client's region (per-region route metrics for RFWS).
//!
//! It reads the filter's JSON configuration document plus a `dns` section
//! ([`settings`]); health comes from its own active probes through the core's
//! heartbeat model ([`probe`]); [`zone`] answers one question without I/O;
//! [`handler`] is the hickory-server glue (TCP through its `ServerFuture`,
//! UDP through [`udp`]'s threads); [`serve`] runs it all.
//!
//! ```
//! use edgepick_dns::{settings::Settings, zone::{Question, Zone}};
//! use hickory_proto::rr::RecordType;
//! let s = Settings::from_json(r#"{
//!   "algorithm": {"name": "ip_hash"},
//!   "backends": [{"name": "a", "address": "127.0.1.1:80"}, {"name": "b", "address": "127.0.1.2:80"}],
//!   "dns": {"zone": "example.test", "names": ["www"]}
//! }"#).unwrap();
//! let zone = Zone::new(s, 1);
//! let q = Question { name: "www.example.test.".into(), qtype: RecordType::A,
//!     src: "127.0.0.9".parse().unwrap(), ecs: None, max_size: 512 };
//! let a = zone.answer(&q, 0);
//! assert_eq!(a.answers.len(), 2); // the ranked list: the choice first
//! ```

pub mod handler;
pub mod metrics;
mod names;
pub mod pool;
pub mod probe;
pub mod serve;
pub mod settings;
pub mod subnet;
pub mod udp;
pub mod udp_batch;
pub mod zone;
