//! The hash functions the selectors and the filter's shared keys use, each
//! checked against its reference vectors: CRC-32 (ketama, as nginx) and XXH64
//! (maglev, as Envoy).

pub mod crc32;
pub mod xxh64;
