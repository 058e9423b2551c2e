//! Reading the raw document: one table-driven reader over JSON events
//! ([`crate::json`]) instead of serde's generated visitors.
//!
//! Every raw struct has a `Shape` (`shapes.rs`: its field names and how each
//! is read, generated with the struct in `raw.rs`). The reader walks the events against the shapes into a tree of
//! values, then moves that into the [`raw`](super::raw) structs. It accepts what
//! `#[derive(Deserialize)]` with `deny_unknown_fields` accepted — `null` is an
//! absent field, integers must fit their type, unknown and repeated keys are
//! refused — with one deliberate difference: a struct must be written as an
//! object (serde also took an array of its fields in order). Errors carry
//! serde's wording and name the field's JSON path as `serde_path_to_error`
//! did, e.g. `backends[1].weight: invalid type: string "heavy", expected u32 at
//! line 3 column 40`; a syntax error names `(document)` and says where.
//! `read_tests.rs` holds the reader to the derive on thousands of documents.

use super::raw::RawConfig;
use super::shapes::{Fields, Kind, RawStruct, Shape, Val};
use super::ConfigError;
use crate::float::parse_f64;
use crate::json::{Event, Events};

/// Field name used for errors that concern the whole document.
pub(super) const DOCUMENT: &str = "(document)";

type Result<T> = core::result::Result<T, ConfigError>;

/// Read a document into the raw structs.
pub(super) fn from_str(text: &str) -> Result<RawConfig> {
    let mut r = Reader {
        events: Events::new(text),
        path: String::new(),
    };
    let first = r.next()?;
    let fields = r.object(RawConfig::SHAPE, first)?;
    match r.next()? {
        Event::Eof => Ok(RawConfig::from_fields(fields)),
        _ => Err(r.fail("trailing characters".to_string())),
    }
}

/// A JSON number as serde_json classifies it.
enum Number {
    /// A non-negative integer that fits `u64`.
    Pos(u64),
    /// A negative integer that fits `i64`.
    Neg,
    /// Anything else (a fraction, an exponent, a larger integer, `-0`).
    Float,
}

fn classify(text: &str) -> Number {
    if text.bytes().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        Number::Float
    } else if text.starts_with('-') {
        match text.parse::<i64>() {
            Ok(n) if n != 0 => Number::Neg,
            _ => Number::Float,
        }
    } else {
        text.parse().map_or(Number::Float, Number::Pos)
    }
}

/// How serde describes a value it did not expect.
fn unexpected(event: &Event<'_>) -> String {
    match event {
        Event::String(s) => format!("string {s:?}"),
        Event::Number(n) => match classify(n) {
            Number::Float => format!("floating point `{n}`"),
            _ => format!("integer `{n}`"),
        },
        Event::Boolean(b) => format!("boolean `{b}`"),
        Event::Null => "null".to_string(),
        Event::StartArray => "sequence".to_string(),
        Event::StartObject => "map".to_string(),
        _ => "end of a container".to_string(),
    }
}

/// serde's list of the fields an unknown key could have been.
fn one_of(fields: &[&str]) -> String {
    let mut out = String::new();
    if fields.len() > 2 {
        out.push_str("one of ");
    }
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(if fields.len() == 2 { " or " } else { ", " });
        }
        out.push('`');
        out.push_str(f);
        out.push('`');
    }
    out
}

struct Reader<'a> {
    events: Events<'a>,
    /// JSON path of the value being read (`backends[1].link`); empty at the root.
    path: String,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<Event<'a>> {
        self.events
            .next()
            .map_err(|e| ConfigError::new(DOCUMENT, e))
    }

    /// An error about the value just read, at the current path.
    fn fail(&self, problem: String) -> ConfigError {
        let field = if self.path.is_empty() {
            DOCUMENT
        } else {
            &self.path
        };
        ConfigError::new(field, format!("{problem} at {}", self.events.position()))
    }

    fn invalid_type(&self, got: &Event<'_>, expected: &str) -> ConfigError {
        self.fail(format!(
            "invalid type: {}, expected {expected}",
            unexpected(got)
        ))
    }

    /// Enter element `i` of the array at the current path; returns where to truncate.
    fn enter_index(&mut self, i: usize) -> usize {
        let at = self.path.len();
        self.path.push('[');
        self.path.push_str(&i.to_string());
        self.path.push(']');
        at
    }

    fn enter_key(&mut self, key: &str) -> usize {
        let at = self.path.len();
        if at > 0 {
            self.path.push('.');
        }
        self.path.push_str(key);
        at
    }

    /// A field's value, `first` being its first event.
    fn value(&mut self, kind: Kind, first: Event<'a>) -> Result<Option<Val>> {
        if matches!(first, Event::Null) && !matches!(kind, Kind::Seq(_)) {
            return Ok(None);
        }
        let v = match kind {
            Kind::U8 => Val::U8(self.int(&first, "u8", u8::MAX.into())? as u8),
            Kind::U32 => Val::U32(self.int(&first, "u32", u32::MAX.into())? as u32),
            Kind::U64 => Val::U64(self.int(&first, "u64", u64::MAX)?),
            Kind::Usize => Val::Usize(self.int(&first, "usize", usize::MAX as u64)? as usize),
            Kind::F64 => match &first {
                Event::Number(n) => match parse_f64(n) {
                    Some(x) => Val::F64(x),
                    None => return Err(self.invalid_type(&first, "f64")),
                },
                _ => return Err(self.invalid_type(&first, "f64")),
            },
            Kind::Bool => match first {
                Event::Boolean(b) => Val::Bool(b),
                _ => return Err(self.invalid_type(&first, "a boolean")),
            },
            Kind::Str => Val::Str(self.string(first)?),
            Kind::Strs => {
                let mut out = Vec::new();
                self.array(first, |r, element| {
                    out.push(r.string(element)?);
                    Ok(())
                })?;
                Val::Strs(out)
            }
            Kind::Section => {
                self.skip(first)?;
                Val::Section(super::shapes::Section)
            }
            Kind::Struct(shape) => Val::Struct(self.object(shape, first)?),
            Kind::Seq(shape) => {
                let mut out = Vec::new();
                self.array(first, |r, element| {
                    out.push(r.object(shape, element)?);
                    Ok(())
                })?;
                Val::Seq(out)
            }
        };
        Ok(Some(v))
    }

    /// Consume a whole value, `first` being its first event.
    fn skip(&mut self, first: Event<'a>) -> Result<()> {
        let mut depth = 0usize;
        let mut event = first;
        loop {
            match event {
                Event::StartArray | Event::StartObject => depth += 1,
                Event::EndArray | Event::EndObject => depth = depth.saturating_sub(1),
                Event::Eof => return Err(self.fail("EOF while parsing a value".to_string())),
                _ => {}
            }
            if depth == 0 {
                return Ok(());
            }
            event = self.next()?;
        }
    }

    /// An integer in `0..=max`.
    fn int(&self, event: &Event<'_>, ty: &str, max: u64) -> Result<u64> {
        match event {
            Event::Number(n) => match classify(n) {
                Number::Pos(v) if v <= max => Ok(v),
                Number::Pos(_) | Number::Neg => Err(self.fail(format!(
                    "invalid value: {}, expected {ty}",
                    unexpected(event)
                ))),
                Number::Float => Err(self.invalid_type(event, ty)),
            },
            _ => Err(self.invalid_type(event, ty)),
        }
    }

    fn string(&self, event: Event<'a>) -> Result<String> {
        match event {
            Event::String(s) => Ok(s.into_owned()),
            _ => Err(self.invalid_type(&event, "a string")),
        }
    }

    /// An array: `element` reads each element from its first event, at its index.
    fn array(
        &mut self,
        first: Event<'a>,
        mut element: impl FnMut(&mut Self, Event<'a>) -> Result<()>,
    ) -> Result<()> {
        if !matches!(first, Event::StartArray) {
            return Err(self.invalid_type(&first, "a sequence"));
        }
        for i in 0.. {
            let event = self.next()?;
            if matches!(event, Event::EndArray) {
                break;
            }
            let at = self.enter_index(i);
            element(self, event)?;
            self.path.truncate(at);
        }
        Ok(())
    }

    /// An object of `shape`: known keys, each at most once.
    fn object(&mut self, shape: &'static Shape, first: Event<'a>) -> Result<Fields> {
        if !matches!(first, Event::StartObject) {
            return Err(self.invalid_type(&first, shape.expecting));
        }
        let mut out: Fields = shape.kinds.iter().map(|_| None).collect();
        let mut seen = vec![false; shape.kinds.len()];
        loop {
            let key = match self.next()? {
                Event::EndObject => return Ok(out),
                Event::ObjectKey(key) => key,
                other => return Err(self.invalid_type(&other, "a key")),
            };
            let at = self.enter_key(&key);
            let Some(i) = shape.fields.iter().position(|f| *f == key) else {
                let problem = format!("unknown field `{key}`, expected {}", one_of(shape.fields));
                return Err(self.fail(problem));
            };
            if seen[i] {
                // The repeated key belongs to the object, as serde reported it.
                self.path.truncate(at);
                return Err(self.fail(format!("duplicate field `{key}`")));
            }
            seen[i] = true;
            let first = self.next()?;
            out[i] = self.value(shape.kinds[i], first)?;
            self.path.truncate(at);
        }
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
