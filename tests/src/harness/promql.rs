//! The metric names a PromQL expression reads, for checking that a dashboard
//! only queries metrics an Envoy run exports. Not a parser: a scanner that
//! keeps every identifier standing where a metric name can stand, and skips
//! function and aggregation names (an identifier followed by `(`), keywords
//! and operators, the label lists after `by`/`without`/`on`/`ignoring`/
//! `group_left`/`group_right`, label matchers in `{}`, ranges in `[]`,
//! strings, numbers and durations, and Grafana variables (`$name`, `${name}`).

use std::collections::BTreeSet;

/// Words that are never metric names (besides [`LABEL_LIST`]).
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "group",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
    "inf",
    "nan",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Index just past the bracket closing the one at `open` (or the end).
fn skip_group(s: &[char], open: usize, close: char) -> usize {
    let opening = s[open];
    let mut depth = 0;
    let mut i = open;
    while i < s.len() {
        match s[i] {
            '"' | '\'' | '`' => i = skip_string(s, i) - 1,
            c if c == opening => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// Index just past the string literal starting at `at`.
fn skip_string(s: &[char], at: usize) -> usize {
    let quote = s[at];
    let mut i = at + 1;
    while i < s.len() {
        match s[i] {
            '\\' if quote != '`' => i += 1,
            c if c == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// Index of the first non-whitespace character at or after `i`.
fn skip_space(s: &[char], mut i: usize) -> usize {
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The metric names `expr` reads.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let s: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&s, i);
        } else if c == '{' {
            i = skip_group(&s, i, '}');
        } else if c == '[' {
            i = skip_group(&s, i, ']');
        } else if c == '#' {
            // A comment runs to the end of the line.
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '$' {
            // A Grafana variable: `$name` or `${name}`.
            i += 1;
            if i < s.len() && s[i] == '{' {
                i = skip_group(&s, i, '}');
            } else {
                while i < s.len() && ident_char(s[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() || (c == '.' && s.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // A number or a duration (`5m`, `1e3`, `0x1f`).
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == '.') {
                i += 1;
            }
        } else if ident_start(c) {
            let start = i;
            while i < s.len() && ident_char(s[i]) {
                i += 1;
            }
            let word: String = s[start..i].iter().collect();
            let lower = word.to_ascii_lowercase();
            let next = skip_space(&s, i);
            if LABEL_LIST.contains(&lower.as_str()) {
                if s.get(next) == Some(&'(') {
                    i = skip_group(&s, next, ')');
                }
            } else if KEYWORDS.contains(&lower.as_str()) || s.get(next) == Some(&'(') {
                // An operator, or a function / aggregation name.
            } else {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::metric_names;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    #[test]
    fn keeps_metric_names_only() {
        assert_eq!(
            names(
                r#"sum by (backend) (rate(edgepick_picks{backend=~"$backend"}[$__rate_interval]))"#
            ),
            ["edgepick_picks"]
        );
        assert_eq!(
            names(
                "sum by (backend) (rate(edgepick_picks[5m])) / ignoring (backend) group_left \
                 sum without (instance, backend) (rate(envoy_cluster_upstream_rq_total{envoy_cluster_name=\"x\"}[1m] offset 1h))"
            ),
            ["edgepick_picks", "envoy_cluster_upstream_rq_total"]
        );
        assert_eq!(
            names("min by(backend)(edgepick_healthy) == bool 0 or on() vector(1) * 1.5e3"),
            ["edgepick_healthy"]
        );
        assert_eq!(
            names("histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket[${__interval}])))"),
            ["envoy_cluster_upstream_rq_time_bucket"]
        );
        assert_eq!(
            names(r#"topk(3, edgepick_inflight) unless absent("a{b}")"#),
            ["edgepick_inflight"]
        );
    }
}
