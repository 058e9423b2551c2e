//! The raw structs as tables. [`raw_structs!`] declares each raw struct once
//! and generates from that one list the struct, its [`Shape`] (field names and
//! how each is read, which `read.rs` walks a document against into a [`Val`]
//! tree) and [`RawStruct::from_fields`], which moves that tree into the struct, and
//! [`RawStruct::given`], which names the fields a document gave.
//! A field's kind follows from its Rust type ([`Slot::KIND`]); a field's
//! position in the table and in the mover are the same list's, so reordering
//! or adding a field cannot put a value in the wrong place.

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
    /// Any value, skipped: a section another program reads ([`Section`]).
    Section,
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
    Section(Section),
}

/// A section of the document that another program reads and validates (the
/// DNS server's `dns`): accepted here whatever it holds, so one document
/// configures every front end, and not kept.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Section;

/// Not kept, so nothing to write: `null` (read back as absent).
#[cfg(feature = "serde")]
impl serde::Serialize for Section {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

#[cfg(test)]
impl<'de> serde::Deserialize<'de> for Section {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Section)
    }
}

/// A struct's fields, in declaration order; `None` when absent or null.
pub(super) type Fields = Vec<Option<Val>>;

/// A raw struct read from an object.
pub(super) trait RawStruct: Sized {
    /// Its table.
    const SHAPE: &'static Shape;
    /// Move the fields read against [`Self::SHAPE`] into the struct.
    fn from_fields(f: Fields) -> Self;
    /// The names of the fields the document gave, in declaration order.
    fn given(&self) -> Vec<&'static str>;
}

/// A value a [`Val`] holds; `KIND` says how the reader reads it.
pub(super) trait FromVal: Sized {
    const KIND: Kind;
    fn from_val(v: Val) -> Option<Self>;
}

/// A raw struct's field type: `Option<T>` (absent or `null` is `None`) or a
/// `Vec` of raw structs (absent is empty).
pub(super) trait Slot: Sized {
    const KIND: Kind;
    fn from_slot(v: Option<Val>) -> Self;
    /// Whether the document gave the field.
    fn is_given(&self) -> bool;
}

impl<T: FromVal> Slot for Option<T> {
    const KIND: Kind = T::KIND;
    fn from_slot(v: Option<Val>) -> Self {
        v.and_then(T::from_val)
    }
    fn is_given(&self) -> bool {
        self.is_some()
    }
}

impl<T: RawStruct> Slot for Vec<T> {
    const KIND: Kind = Kind::Seq(T::SHAPE);
    fn from_slot(v: Option<Val>) -> Self {
        match v {
            Some(Val::Seq(list)) => list.into_iter().map(T::from_fields).collect(),
            _ => Vec::new(),
        }
    }
    fn is_given(&self) -> bool {
        !self.is_empty()
    }
}

macro_rules! from_val {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl FromVal for $t {
            const KIND: Kind = Kind::$variant;
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
    Section => Section,
);

/// A field the document does not give: not written by the typed serializer.
#[cfg(feature = "serde")]
pub(crate) fn absent<T: Slot>(v: &T) -> bool {
    !v.is_given()
}

/// Declares raw structs: for each, the struct (with serde's `Deserialize`
/// derive under `cfg(test)`, the differential test's reference, and with the
/// `serde` feature a `Serialize` that writes the fields given: the typed way
/// to write a document), a static [`Shape`] named by the second identifier,
/// and [`RawStruct`] / [`FromVal`].
macro_rules! raw_structs {
    ($(
        $(#[$doc:meta])*
        $name:ident, $shape:ident {
            $($(#[$fdoc:meta])* $field:ident: $ty:ty,)*
        }
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Default, PartialEq)]
        #[cfg_attr(test, derive(serde::Deserialize), serde(deny_unknown_fields, default))]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[cfg_attr(
                    feature = "serde",
                    serde(skip_serializing_if = "crate::config::shapes::absent")
                )]
                pub $field: $ty,
            )*
        }

        static $shape: $crate::config::shapes::Shape = $crate::config::shapes::Shape {
            expecting: concat!("struct ", stringify!($name)),
            fields: &[$(stringify!($field)),*],
            kinds: &[$(<$ty as $crate::config::shapes::Slot>::KIND),*],
        };

        impl $crate::config::shapes::RawStruct for $name {
            const SHAPE: &'static $crate::config::shapes::Shape = &$shape;
            fn from_fields(f: $crate::config::shapes::Fields) -> Self {
                use $crate::config::shapes::Slot;
                // Struct fields are evaluated in the order written: the
                // table's order.
                let mut f = f.into_iter();
                $name {
                    $($field: Slot::from_slot(f.next().flatten()),)*
                }
            }

            fn given(&self) -> Vec<&'static str> {
                use $crate::config::shapes::Slot;
                let mut out = Vec::new();
                $(if self.$field.is_given() {
                    out.push(stringify!($field));
                })*
                out
            }
        }

        impl $crate::config::shapes::FromVal for $name {
            const KIND: $crate::config::shapes::Kind =
                $crate::config::shapes::Kind::Struct(&$shape);
            fn from_val(v: $crate::config::shapes::Val) -> Option<Self> {
                match v {
                    $crate::config::shapes::Val::Struct(f) => {
                        Some(<Self as $crate::config::shapes::RawStruct>::from_fields(f))
                    }
                    _ => None,
                }
            }
        }
    )*};
}
pub(super) use raw_structs;
