//! Shared test support for edgepick: the test backend ([`backend`], run by the
//! `edgepick-backend` binary) and the end-to-end harness ([`harness`]) that runs
//! it behind a real Envoy with the edgepick filter.

pub mod backend;
pub mod harness;
pub mod http_server;
