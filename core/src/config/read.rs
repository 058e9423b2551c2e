//! Reading the raw document: the same serde calls `#[derive(Deserialize)]`
//! makes for [`RawConfig`], through one table-driven visitor instead of one
//! generated visitor per struct.
//!
//! The derive instantiated a `visit_map` and a `visit_seq` per raw struct
//! against serde_json's deserializer, about 23 KB of the Envoy filter's code.
//! Here every struct is a [`Shape`] (its field names and kinds), read by one
//! [`StructVisitor`] into a [`Val`] tree, then moved into the raw structs. The
//! deserializer sees exactly the calls the derive made (`deserialize_struct`,
//! `deserialize_option`, `deserialize_seq`, the same primitive impls), so
//! every error — message, line and column — is the one it gave; a test checks
//! that against the derive.

use super::raw::*;
use core::fmt;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// How a field is read. Every field is an `Option<T>` except a [`Kind::Seq`].
#[derive(Clone, Copy)]
enum Kind {
    U8,
    U32,
    U64,
    Usize,
    F64,
    Bool,
    Str,
    Strs,
    /// `Option<struct>`.
    Struct(&'static Shape),
    /// `Vec<struct>`, `#[serde(default)]` (the only non-optional field).
    Seq(&'static Shape),
}

/// A raw struct: what the derive knew about it.
struct Shape {
    /// Serde name (`deserialize_struct`'s first argument).
    name: &'static str,
    /// `expecting` text: `struct RawLink`.
    expecting: &'static str,
    /// `invalid_length` text in sequence form: `struct RawLink with 4 elements`.
    with_len: &'static str,
    fields: &'static [&'static str],
    kinds: &'static [Kind],
    /// Bit `i`: field `i` is `#[serde(default)]` (a short sequence leaves it default).
    defaults: u32,
}

/// A value read for one field.
enum Val {
    U8(u8),
    U32(u32),
    U64(u64),
    Usize(usize),
    F64(f64),
    Bool(bool),
    Str(String),
    Strs(Vec<String>),
    Struct(Fields),
    Seq(Vec<Fields>),
}

/// A struct's fields, in declaration order; `None` when absent or null.
type Fields = Vec<Option<Val>>;

macro_rules! shape {
    ($id:ident, $name:literal, $n:literal, $defaults:literal, [$($f:literal: $k:expr),* $(,)?]) => {
        static $id: Shape = Shape {
            name: $name,
            expecting: concat!("struct ", $name),
            with_len: concat!("struct ", $name, " with ", $n),
            fields: &[$($f),*],
            kinds: &[$($k),*],
            defaults: $defaults,
        };
    };
}

// Every field of RawConfig but `algorithm` is `#[serde(default)]`.
shape!(CONFIG, "RawConfig", "9 elements", 0b1_1111_1011, [
    "version": Kind::U32,
    "mode": Kind::Str,
    "algorithm": Kind::Struct(&ALGORITHM),
    "backends": Kind::Seq(&BACKEND),
    "health": Kind::Struct(&HEALTH),
    "cookie": Kind::Struct(&COOKIE),
    "client": Kind::Struct(&CLIENT),
    "fallbacks": Kind::Usize,
    "decision_header": Kind::Bool,
]);
shape!(ALGORITHM, "RawAlgorithm", "9 elements", 0, [
    "name": Kind::Str,
    "tie_tolerance": Kind::F64,
    "load_threshold": Kind::F64,
    "choices": Kind::U32,
    "decay_ms": Kind::F64,
    "default_rtt_ms": Kind::F64,
    "key": Kind::Str,
    "flavour": Kind::Str,
    "table_size": Kind::U64,
]);
shape!(BACKEND, "RawBackend", "6 elements", 0, [
    "name": Kind::Str,
    "address": Kind::Str,
    "url": Kind::Str,
    "weight": Kind::U32,
    "capacity": Kind::U32,
    "link": Kind::Struct(&LINK),
]);
shape!(LINK, "RawLink", "4 elements", 0, [
    "bandwidth_mbps": Kind::F64,
    "hops": Kind::U32,
    "delay_ms": Kind::F64,
    "residual_mbps": Kind::F64,
]);
shape!(HEALTH, "RawHealth", "5 elements", 0, [
    "heartbeat": Kind::Struct(&HEARTBEAT),
    "max_fails": Kind::U32,
    "fail_timeout_ms": Kind::U64,
    "slow_start_ms": Kind::U64,
    "panic_threshold": Kind::F64,
]);
shape!(HEARTBEAT, "RawHeartbeat", "6 elements", 0, [
    "interval_ms": Kind::U64,
    "window_ms": Kind::U64,
    "threshold": Kind::U32,
    "path": Kind::Str,
    "timeout_ms": Kind::U64,
    "cluster": Kind::Str,
]);
shape!(COOKIE, "RawCookie", "7 elements", 0, [
    "name": Kind::Str,
    "keys": Kind::Strs,
    "max_age_s": Kind::U64,
    "path": Kind::Str,
    "same_site": Kind::Str,
    "secure": Kind::Bool,
    "http_only": Kind::Bool,
]);
shape!(CLIENT, "RawClient", "1 element", 0, ["trusted_hops": Kind::U8]);

/// Read a document (like `serde_json::from_str::<RawConfig>`).
pub(super) fn from_str(text: &str) -> serde_json::Result<RawConfig> {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de.deserialize_struct(CONFIG.name, CONFIG.fields, StructVisitor(&CONFIG))?;
    de.end()?;
    Ok(config(fields))
}

/// Reads one field's value.
struct ValSeed(Kind);

impl<'de> DeserializeSeed<'de> for ValSeed {
    type Value = Option<Val>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Val>, D::Error> {
        Ok(match self.0 {
            Kind::U8 => Option::<u8>::deserialize(d)?.map(Val::U8),
            Kind::U32 => Option::<u32>::deserialize(d)?.map(Val::U32),
            Kind::U64 => Option::<u64>::deserialize(d)?.map(Val::U64),
            Kind::Usize => Option::<usize>::deserialize(d)?.map(Val::Usize),
            Kind::F64 => Option::<f64>::deserialize(d)?.map(Val::F64),
            Kind::Bool => Option::<bool>::deserialize(d)?.map(Val::Bool),
            Kind::Str => Option::<String>::deserialize(d)?.map(Val::Str),
            Kind::Strs => Option::<Vec<String>>::deserialize(d)?.map(Val::Strs),
            Kind::Struct(s) => d.deserialize_option(OptionVisitor(s))?.map(Val::Struct),
            Kind::Seq(s) => Some(Val::Seq(d.deserialize_seq(SeqVisitor(s))?)),
        })
    }
}

/// `Option<struct>`, as serde's `Option<T>` reads it.
struct OptionVisitor(&'static Shape);

impl<'de> Visitor<'de> for OptionVisitor {
    type Value = Option<Fields>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_struct(self.0.name, self.0.fields, StructVisitor(self.0))
            .map(Some)
    }
}

/// `Vec<struct>`, as serde's `Vec<T>` reads it.
struct SeqVisitor(&'static Shape);

impl<'de> Visitor<'de> for SeqVisitor {
    type Value = Vec<Fields>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StructSeed(self.0))? {
            out.push(v);
        }
        Ok(out)
    }
}

/// A struct element of a sequence.
struct StructSeed(&'static Shape);

impl<'de> DeserializeSeed<'de> for StructSeed {
    type Value = Fields;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields, D::Error> {
        d.deserialize_struct(self.0.name, self.0.fields, StructVisitor(self.0))
    }
}

/// Any raw struct, from a map (by name, unknown and repeated keys rejected)
/// or a sequence (by position), as the derive with `deny_unknown_fields` does.
struct StructVisitor(&'static Shape);

impl<'de> Visitor<'de> for StructVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.expecting)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fields, A::Error> {
        let mut out = Fields::with_capacity(self.0.kinds.len());
        for (i, &kind) in self.0.kinds.iter().enumerate() {
            match seq.next_element_seed(ValSeed(kind))? {
                Some(v) => out.push(v),
                None if self.0.defaults & (1 << i) != 0 => out.push(None),
                None => return Err(de::Error::invalid_length(i, &self.0.with_len)),
            }
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let n = self.0.kinds.len();
        let mut out: Fields = (0..n).map(|_| None).collect();
        let mut seen = vec![false; n];
        while let Some(i) = map.next_key_seed(FieldSeed(self.0))? {
            if seen[i] {
                return Err(de::Error::duplicate_field(self.0.fields[i]));
            }
            seen[i] = true;
            out[i] = map.next_value_seed(ValSeed(self.0.kinds[i]))?;
        }
        Ok(out)
    }
}

/// A key: the index of a known field, or `unknown field` listing them.
struct FieldSeed(&'static Shape);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.0
            .fields
            .iter()
            .position(|f| *f == v)
            .ok_or_else(|| de::Error::unknown_field(v, self.0.fields))
    }
}

// Moving the fields into the raw structs. Each getter takes the value the
// shape declared for that position, so any other variant is unreachable.

fn take(f: &mut Fields, i: usize) -> Option<Val> {
    f.get_mut(i).and_then(Option::take)
}

fn u8_at(f: &mut Fields, i: usize) -> Option<u8> {
    match take(f, i) {
        Some(Val::U8(v)) => Some(v),
        _ => None,
    }
}

fn u32_at(f: &mut Fields, i: usize) -> Option<u32> {
    match take(f, i) {
        Some(Val::U32(v)) => Some(v),
        _ => None,
    }
}

fn u64_at(f: &mut Fields, i: usize) -> Option<u64> {
    match take(f, i) {
        Some(Val::U64(v)) => Some(v),
        _ => None,
    }
}

fn usize_at(f: &mut Fields, i: usize) -> Option<usize> {
    match take(f, i) {
        Some(Val::Usize(v)) => Some(v),
        _ => None,
    }
}

fn f64_at(f: &mut Fields, i: usize) -> Option<f64> {
    match take(f, i) {
        Some(Val::F64(v)) => Some(v),
        _ => None,
    }
}

fn bool_at(f: &mut Fields, i: usize) -> Option<bool> {
    match take(f, i) {
        Some(Val::Bool(v)) => Some(v),
        _ => None,
    }
}

fn str_at(f: &mut Fields, i: usize) -> Option<String> {
    match take(f, i) {
        Some(Val::Str(v)) => Some(v),
        _ => None,
    }
}

fn strs_at(f: &mut Fields, i: usize) -> Option<Vec<String>> {
    match take(f, i) {
        Some(Val::Strs(v)) => Some(v),
        _ => None,
    }
}

fn struct_at(f: &mut Fields, i: usize) -> Option<Fields> {
    match take(f, i) {
        Some(Val::Struct(v)) => Some(v),
        _ => None,
    }
}

fn seq_at(f: &mut Fields, i: usize) -> Vec<Fields> {
    match take(f, i) {
        Some(Val::Seq(v)) => v,
        _ => Vec::new(),
    }
}

fn config(mut f: Fields) -> RawConfig {
    RawConfig {
        version: u32_at(&mut f, 0),
        mode: str_at(&mut f, 1),
        algorithm: struct_at(&mut f, 2).map(algorithm),
        backends: seq_at(&mut f, 3).into_iter().map(backend).collect(),
        health: struct_at(&mut f, 4).map(health),
        cookie: struct_at(&mut f, 5).map(cookie),
        client: struct_at(&mut f, 6).map(|mut c| RawClient {
            trusted_hops: u8_at(&mut c, 0),
        }),
        fallbacks: usize_at(&mut f, 7),
        decision_header: bool_at(&mut f, 8),
    }
}

fn algorithm(mut f: Fields) -> RawAlgorithm {
    RawAlgorithm {
        name: str_at(&mut f, 0),
        tie_tolerance: f64_at(&mut f, 1),
        load_threshold: f64_at(&mut f, 2),
        choices: u32_at(&mut f, 3),
        decay_ms: f64_at(&mut f, 4),
        default_rtt_ms: f64_at(&mut f, 5),
        key: str_at(&mut f, 6),
        flavour: str_at(&mut f, 7),
        table_size: u64_at(&mut f, 8),
    }
}

fn backend(mut f: Fields) -> RawBackend {
    RawBackend {
        name: str_at(&mut f, 0),
        address: str_at(&mut f, 1),
        url: str_at(&mut f, 2),
        weight: u32_at(&mut f, 3),
        capacity: u32_at(&mut f, 4),
        link: struct_at(&mut f, 5).map(|mut l| RawLink {
            bandwidth_mbps: f64_at(&mut l, 0),
            hops: u32_at(&mut l, 1),
            delay_ms: f64_at(&mut l, 2),
            residual_mbps: f64_at(&mut l, 3),
        }),
    }
}

fn health(mut f: Fields) -> RawHealth {
    RawHealth {
        heartbeat: struct_at(&mut f, 0).map(|mut h| RawHeartbeat {
            interval_ms: u64_at(&mut h, 0),
            window_ms: u64_at(&mut h, 1),
            threshold: u32_at(&mut h, 2),
            path: str_at(&mut h, 3),
            timeout_ms: u64_at(&mut h, 4),
            cluster: str_at(&mut h, 5),
        }),
        max_fails: u32_at(&mut f, 1),
        fail_timeout_ms: u64_at(&mut f, 2),
        slow_start_ms: u64_at(&mut f, 3),
        panic_threshold: f64_at(&mut f, 4),
    }
}

fn cookie(mut f: Fields) -> RawCookie {
    RawCookie {
        name: str_at(&mut f, 0),
        keys: strs_at(&mut f, 1),
        max_age_s: u64_at(&mut f, 2),
        path: str_at(&mut f, 3),
        same_site: str_at(&mut f, 4),
        secure: bool_at(&mut f, 5),
        http_only: bool_at(&mut f, 6),
    }
}
