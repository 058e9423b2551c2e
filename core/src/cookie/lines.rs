//! Removing the balancer's cookie from a request's `Cookie` lines (HAProxy
//! `cookie … indirect`): every other cookie reaches the backend byte for
//! byte, whatever bytes it holds (non-UTF-8 included). Shared by the wasm
//! filter and the native module's companion filter.

/// Whether pair `segment` (between `;`) is cookie `name`.
fn is_named(segment: &[u8], name: &str) -> bool {
    segment
        .iter()
        .position(|&b| b == b'=')
        .is_some_and(|eq| segment[..eq].trim_ascii() == name.as_bytes())
}

/// Whether one `Cookie` line carries cookie `name`.
pub fn has_cookie(line: &[u8], name: &str) -> bool {
    line.split(|&b| b == b';').any(|s| is_named(s, name))
}

/// One `Cookie` line without cookie `name` (every pair of that name goes);
/// `None` when nothing but separators is left. The kept pairs keep their
/// bytes; the line's leading whitespace is dropped.
pub fn strip_cookie(line: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    for segment in line.split(|&b| b == b';').filter(|s| !is_named(s, name)) {
        if !out.is_empty() {
            out.push(b';');
        }
        out.extend_from_slice(if out.is_empty() {
            segment.trim_ascii_start()
        } else {
            segment
        });
    }
    let left = out.iter().any(|b| !b.is_ascii_whitespace() && *b != b';');
    left.then_some(out)
}

/// A request's `Cookie` lines with cookie `name` removed, or `None` when no
/// line carries it (nothing to rewrite). Lines left empty are dropped; the
/// others keep their bytes except the removed pairs and their separator.
pub fn without<L: AsRef<[u8]>>(lines: &[L], name: &str) -> Option<Vec<Vec<u8>>> {
    let first = lines.iter().position(|l| has_cookie(l.as_ref(), name))?;
    let mut out = Vec::with_capacity(lines.len());
    out.extend(lines[..first].iter().map(|l| l.as_ref().to_vec()));
    out.extend(strip_cookie(lines[first].as_ref(), name));
    for l in &lines[first + 1..] {
        let l = l.as_ref();
        if has_cookie(l, name) {
            out.extend(strip_cookie(l, name));
        } else {
            out.push(l.to_vec());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(line: &[u8]) -> Option<Vec<u8>> {
        strip_cookie(line, "ep")
    }

    #[test]
    fn strips_only_the_named_cookie_keeping_the_rest_byte_for_byte() {
        assert_eq!(strip(b"a=1; ep=v1.x.y.z; b=2").unwrap(), b"a=1; b=2");
        assert_eq!(strip(b"ep=v1; a=1").unwrap(), b"a=1");
        assert_eq!(strip(b"ep=v1"), None);
        assert_eq!(strip(b"ep=1; ep=2"), None, "duplicates go too");
        assert_eq!(strip(b"epx=1;ep=2").unwrap(), b"epx=1");
        assert_eq!(
            strip(b"a=1 ;  b=\"q w\"; ep=2").unwrap(),
            b"a=1 ;  b=\"q w\""
        );
        assert_eq!(
            strip(b"a=\xff\xfe; ep=2; c=\x80").unwrap(),
            b"a=\xff\xfe; c=\x80"
        );
        assert!(has_cookie(b"a=1; ep=2", "ep"));
        assert!(has_cookie(b" ep =2", "ep"));
        assert!(!has_cookie(b"a=1; epx=2", "ep"));
        assert!(!has_cookie(b"a=ep=2", "ep"), "a value is not a name");
    }
}
