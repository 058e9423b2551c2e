//! JSON read as a stream of events, for the configuration reader
//! (`config/read.rs`) and JSON load reports ([`crate::load_report`]).
//!
//! The parsing is `json-event-parser`'s (from the oxigraph project: strict
//! RFC 8259, checked against JSONTestSuite, no serde): a pull parser, so the
//! Envoy filter carries one small lexer rather than serde_json's deserializer
//! monomorphised for every visitor. This wrapper adds what both readers need:
//! where the last event ended (`line L column C`, for errors about a value)
//! and syntax errors as one sentence.

use json_event_parser::{JsonSyntaxError, LowLevelJsonParser};

pub(crate) use json_event_parser::JsonEvent as Event;

/// Deepest nesting of arrays and objects read (serde_json's recursion limit).
pub(crate) const MAX_DEPTH: usize = 128;

/// The events of one complete JSON text.
pub(crate) struct Events<'a> {
    text: &'a str,
    /// Bytes consumed: the end of the last event.
    offset: usize,
    parser: LowLevelJsonParser,
}

impl<'a> Events<'a> {
    /// Events of `text`, which holds the whole document.
    pub(crate) fn new(text: &'a str) -> Events<'a> {
        Events {
            text,
            offset: 0,
            parser: LowLevelJsonParser::new().with_max_stack_size(MAX_DEPTH),
        }
    }

    /// The next event ([`Event::Eof`] after the root value), or the syntax
    /// error that ends the document, e.g. `invalid JSON at line 1 column 9:
    /// Unexpected char: 'x'`.
    pub(crate) fn next(&mut self) -> Result<Event<'a>, String> {
        let text: &'a [u8] = self.text.as_bytes();
        loop {
            let rest = text.get(self.offset..).unwrap_or_default();
            let step = self.parser.parse_next(rest, true);
            self.offset += step.consumed_bytes;
            match step.event {
                Some(Ok(event)) => return Ok(event),
                Some(Err(e)) => return Err(syntax(&e)),
                None => {}
            }
        }
    }

    /// `line L column C` of the end of the last event: 1-based, columns in
    /// characters, C being the column of the event's last character.
    pub(crate) fn position(&self) -> String {
        let before = self.text.get(..self.offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
        let column = before[line_start..].chars().count();
        format!("line {line} column {column}")
    }
}

fn syntax(e: &JsonSyntaxError) -> String {
    let at = e.location().start;
    format!(
        "invalid JSON at line {} column {}: {}",
        at.line + 1,
        at.column + 1,
        e.message()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Result<Vec<String>, String> {
        let mut ev = Events::new(text);
        let mut out = Vec::new();
        loop {
            match ev.next()? {
                Event::Eof => return Ok(out),
                e => out.push(format!("{e:?}@{}", ev.position())),
            }
        }
    }

    #[test]
    fn events_and_where_they_end() {
        let got = all("{\"a\": [1, \"x\\n\"],\n \"b\": null}").unwrap();
        assert_eq!(
            got,
            [
                "StartObject@line 1 column 1",
                "ObjectKey(\"a\")@line 1 column 4",
                "StartArray@line 1 column 7",
                "Number(\"1\")@line 1 column 8",
                "String(\"x\\n\")@line 1 column 15",
                "EndArray@line 1 column 16",
                "ObjectKey(\"b\")@line 2 column 4",
                "Null@line 2 column 10",
                "EndObject@line 2 column 11",
            ]
        );
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        for (text, line, column) in [
            ("this is not json", 1, 1),
            ("{\"a\": 1,}", 1, 9),
            ("{\"a\": 1\n \"b\": 2}", 2, 2),
            ("[1, 2", 1, 6),
            ("{} x", 1, 4),
            ("\"\\x\"", 1, 2),
        ] {
            let e = all(text).expect_err(text);
            assert!(
                e.starts_with(&format!("invalid JSON at line {line} column {column}: ")),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 2);
        assert!(all(&deep).unwrap_err().contains("Max stack size"));
        let fine = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(all(&fine).unwrap().len(), 128);
    }
}
