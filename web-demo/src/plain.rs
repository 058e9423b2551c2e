//! Parser messages in plain language. serde reports a bad field as
//! "invalid type: floating point `1.5`, expected u32 at line 1 column 1279";
//! the page shows "must be a whole number, 0 or more (not 1.5)" after the
//! field's path. Messages this module does not recognise pass through, minus
//! the position in a document the user never sees.

/// `problem` (a serde or validation message) in plain language.
pub fn plain(problem: &str) -> String {
    let p = strip_position(problem);
    if let Some(rest) = p.strip_prefix("invalid type: ") {
        return must_be(rest);
    }
    if let Some(rest) = p.strip_prefix("invalid value: ") {
        return must_be(rest);
    }
    if let Some(rest) = p.strip_prefix("missing field ") {
        return format!("{} is missing", unquote(rest));
    }
    if let Some(rest) = p.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((got, list)) => format!("must be {} (not {})", one_of(list), unquote(got)),
            None => format!("{} is not a known choice", unquote(rest)),
        };
    }
    if let Some(rest) = p.strip_prefix("unknown field ") {
        let name = rest.split_once(", expected").map_or(rest, |(n, _)| n);
        return format!("{} is not a field here", unquote(name));
    }
    if let Some(rest) = p.strip_prefix("duplicate field ") {
        return format!("{} is given twice", unquote(rest));
    }
    p.to_string()
}

/// Drop serde_json's " at line L column C" suffix.
fn strip_position(p: &str) -> &str {
    match p.rfind(" at line ") {
        Some(i) if p[i..].contains(" column ") => &p[..i],
        _ => p,
    }
}

/// "floating point `1.5`, expected u32" → "must be a whole number, 0 or more (not 1.5)".
fn must_be(rest: &str) -> String {
    let Some((got, expected)) = rest.split_once(", expected ") else {
        return rest.to_string();
    };
    format!("must be {} (not {})", kind(expected), value(got))
}

/// What a Rust type name means to a person.
fn kind(expected: &str) -> String {
    let e = expected.trim();
    let text = match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "a borrowed string" => "text in quotes",
        "a sequence" => "a list",
        _ if e.starts_with("struct ") || e == "a map" => "an object with fields",
        _ if e.starts_with("one of ") || e.starts_with("variant ") => return one_of(e),
        _ => e,
    };
    text.to_string()
}

/// "one of `a`, `b`" → "one of a, b".
fn one_of(list: &str) -> String {
    let list = list.trim().trim_start_matches("one of ");
    format!("one of {}", list.replace('`', ""))
}

/// "floating point `1.5`" → "1.5", "string \"x\"" → "\"x\"", "map" → "an object".
fn value(got: &str) -> String {
    if let Some((_, v)) = got.split_once('`') {
        return v.trim_end_matches('`').to_string();
    }
    if let Some(v) = got.strip_prefix("string ") {
        return v.to_string();
    }
    match got {
        "map" => "an object".into(),
        "sequence" => "a list".into(),
        "null" | "unit value" => "empty".into(),
        other => other.to_string(),
    }
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('`').to_string()
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn type_errors_name_what_is_wanted_and_what_was_given() {
        let cases = [
            (
                "invalid type: floating point `1.5`, expected u32 at line 1 column 1279",
                "must be a whole number, 0 or more (not 1.5)",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "must be a whole number, 0 or more (not -1)",
            ),
            (
                "invalid type: string \"fast\", expected f64 at line 3 column 9",
                "must be a number (not \"fast\")",
            ),
            (
                "invalid type: null, expected a string",
                "must be text in quotes (not empty)",
            ),
            (
                "invalid type: map, expected a sequence",
                "must be a list (not an object)",
            ),
            (
                "unknown variant `tcp`, expected one of `proxy`, `redirect`, `dns`",
                "must be one of proxy, redirect, dns (not tcp)",
            ),
            (
                "missing field `rate` at line 1 column 80",
                "rate is missing",
            ),
            (
                "unknown field `rat`, expected `rate` or `x`",
                "rat is not a field here",
            ),
        ];
        for (serde, want) in cases {
            assert_eq!(plain(serde), want, "{serde}");
        }
    }

    #[test]
    fn other_messages_pass_through_without_position() {
        assert_eq!(plain("must be at least 1"), "must be at least 1");
        assert_eq!(plain("expected value at line 1 column 5"), "expected value");
    }
}
