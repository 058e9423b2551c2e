//! The raw structs as tables: each is a [`Shape`] (its field names and how
//! each is read), which `read.rs` walks a document against into a [`Val`]
//! tree; [`config`] then moves that tree into the [`raw`](super::raw) structs.
//! A field added to a raw struct goes in its shape and its mover below.

use super::raw::*;

/// How a field is read. Every field is optional (absent or `null`) except a
/// [`Kind::Seq`], which is absent or an array.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    U8,
    U32,
    U64,
    Usize,
    F64,
    Bool,
    Str,
    /// An array of strings.
    Strs,
    /// An object.
    Struct(&'static Shape),
    /// An array of objects.
    Seq(&'static Shape),
}

/// A raw struct: its field names and kinds, in declaration order.
pub(super) struct Shape {
    /// What an error says was expected: `struct RawLink`.
    pub(super) expecting: &'static str,
    pub(super) fields: &'static [&'static str],
    pub(super) kinds: &'static [Kind],
}

/// A value read for one field.
pub(super) enum Val {
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
pub(super) type Fields = Vec<Option<Val>>;

macro_rules! shape {
    ($id:ident, $name:literal, [$($f:literal: $k:expr),* $(,)?]) => {
        pub(super) static $id: Shape = Shape {
            expecting: concat!("struct ", $name),
            fields: &[$($f),*],
            kinds: &[$($k),*],
        };
    };
}

shape!(CONFIG, "RawConfig", [
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
shape!(ALGORITHM, "RawAlgorithm", [
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
shape!(BACKEND, "RawBackend", [
    "name": Kind::Str,
    "address": Kind::Str,
    "url": Kind::Str,
    "weight": Kind::U32,
    "capacity": Kind::U32,
    "link": Kind::Struct(&LINK),
    "down": Kind::Bool,
]);
shape!(LINK, "RawLink", [
    "bandwidth_mbps": Kind::F64,
    "hops": Kind::U32,
    "delay_ms": Kind::F64,
    "residual_mbps": Kind::F64,
]);
shape!(HEALTH, "RawHealth", [
    "heartbeat": Kind::Struct(&HEARTBEAT),
    "max_fails": Kind::U32,
    "fail_timeout_ms": Kind::U64,
    "slow_start_ms": Kind::U64,
    "panic_threshold": Kind::F64,
]);
shape!(HEARTBEAT, "RawHeartbeat", [
    "interval_ms": Kind::U64,
    "window_ms": Kind::U64,
    "threshold": Kind::U32,
    "path": Kind::Str,
    "timeout_ms": Kind::U64,
    "cluster": Kind::Str,
]);
shape!(COOKIE, "RawCookie", [
    "name": Kind::Str,
    "keys": Kind::Strs,
    "max_age_s": Kind::U64,
    "path": Kind::Str,
    "same_site": Kind::Str,
    "secure": Kind::Bool,
    "http_only": Kind::Bool,
    "strip": Kind::Bool,
    "keys_env": Kind::Strs,
]);
shape!(CLIENT, "RawClient", ["trusted_hops": Kind::U8]);

// Moving the fields into the raw structs. Each getter takes the value the
// shape declared for that position.

trait FromVal: Sized {
    fn from_val(v: Val) -> Option<Self>;
}

macro_rules! from_val {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl FromVal for $t {
            fn from_val(v: Val) -> Option<Self> {
                match v {
                    Val::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    )*};
}

from_val!(
    u8 => U8,
    u32 => U32,
    u64 => U64,
    usize => Usize,
    f64 => F64,
    bool => Bool,
    String => Str,
    Vec<String> => Strs,
    Fields => Struct,
    Vec<Fields> => Seq,
);

fn at<T: FromVal>(f: &mut Fields, i: usize) -> Option<T> {
    f.get_mut(i).and_then(Option::take).and_then(T::from_val)
}

pub(super) fn config(mut f: Fields) -> RawConfig {
    RawConfig {
        version: at(&mut f, 0),
        mode: at(&mut f, 1),
        algorithm: at(&mut f, 2).map(algorithm),
        backends: at::<Vec<Fields>>(&mut f, 3)
            .unwrap_or_default()
            .into_iter()
            .map(backend)
            .collect(),
        health: at(&mut f, 4).map(health),
        cookie: at(&mut f, 5).map(cookie),
        client: at(&mut f, 6).map(|mut c: Fields| RawClient {
            trusted_hops: at(&mut c, 0),
        }),
        fallbacks: at(&mut f, 7),
        decision_header: at(&mut f, 8),
    }
}

fn algorithm(mut f: Fields) -> RawAlgorithm {
    RawAlgorithm {
        name: at(&mut f, 0),
        tie_tolerance: at(&mut f, 1),
        load_threshold: at(&mut f, 2),
        choices: at(&mut f, 3),
        decay_ms: at(&mut f, 4),
        default_rtt_ms: at(&mut f, 5),
        key: at(&mut f, 6),
        flavour: at(&mut f, 7),
        table_size: at(&mut f, 8),
    }
}

fn backend(mut f: Fields) -> RawBackend {
    RawBackend {
        name: at(&mut f, 0),
        address: at(&mut f, 1),
        url: at(&mut f, 2),
        weight: at(&mut f, 3),
        capacity: at(&mut f, 4),
        link: at(&mut f, 5).map(|mut l: Fields| RawLink {
            bandwidth_mbps: at(&mut l, 0),
            hops: at(&mut l, 1),
            delay_ms: at(&mut l, 2),
            residual_mbps: at(&mut l, 3),
        }),
        down: at(&mut f, 6),
    }
}

fn health(mut f: Fields) -> RawHealth {
    RawHealth {
        heartbeat: at(&mut f, 0).map(|mut h: Fields| RawHeartbeat {
            interval_ms: at(&mut h, 0),
            window_ms: at(&mut h, 1),
            threshold: at(&mut h, 2),
            path: at(&mut h, 3),
            timeout_ms: at(&mut h, 4),
            cluster: at(&mut h, 5),
        }),
        max_fails: at(&mut f, 1),
        fail_timeout_ms: at(&mut f, 2),
        slow_start_ms: at(&mut f, 3),
        panic_threshold: at(&mut f, 4),
    }
}

fn cookie(mut f: Fields) -> RawCookie {
    RawCookie {
        name: at(&mut f, 0),
        keys: at(&mut f, 1),
        max_age_s: at(&mut f, 2),
        path: at(&mut f, 3),
        same_site: at(&mut f, 4),
        secure: at(&mut f, 5),
        http_only: at(&mut f, 6),
        strip: at(&mut f, 7),
        keys_env: at(&mut f, 8),
    }
}
