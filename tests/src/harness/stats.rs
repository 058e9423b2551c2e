//! Envoy admin statistics as data: `/stats` (`name: value` lines, custom wasm
//! metrics under `wasmcustom.`, full names) and `/stats/prometheus` (without
//! the prefix, dots as underscores, and the tags of deploy/envoy.yaml's
//! `stats_config` as labels: `edgepick_picks{backend="a"}`).

use std::collections::BTreeMap;

/// Values from `/stats`, by full stat name. Histograms are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats(pub BTreeMap<String, f64>);

impl Stats {
    /// Parse the text of `/stats`.
    pub fn parse(text: &str) -> Stats {
        Stats(
            text.lines()
                .filter_map(|l| {
                    let (k, v) = l.rsplit_once(": ")?;
                    Some((k.trim().to_string(), v.trim().parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// A wasm custom metric by its filter-side name (`edgepick.picks.a` →
    /// `wasmcustom.edgepick.picks.a`); 0 when absent.
    pub fn custom(&self, name: &str) -> f64 {
        self.get(&format!("wasmcustom.{name}")).unwrap_or(0.0)
    }

    /// Sum of every stat whose name starts with `prefix`.
    pub fn sum_prefix(&self, prefix: &str) -> f64 {
        self.0
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

/// One sample line of `/stats/prometheus`: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name.
    pub name: String,
    /// Labels in the order Envoy printed them.
    pub labels: Vec<(String, String)>,
    /// Sample value.
    pub value: f64,
}

impl Series {
    /// The value of label `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `/stats/prometheus` as data: every sample line and every `# TYPE` line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prometheus {
    /// Sample lines, in the order printed.
    pub series: Vec<Series>,
    /// `# TYPE <name> <type>` lines: name → type.
    pub types: BTreeMap<String, String>,
}

/// `label="value",...` (without the braces) as pairs; `None` when malformed.
fn parse_labels(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let mut chars = after.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.push((key.trim().to_string(), value));
        rest = after[end + 2..].trim_start().trim_start_matches(',').trim();
    }
    Some(out)
}

impl Prometheus {
    /// Parse the Prometheus text format; lines that do not parse are skipped.
    pub fn parse(text: &str) -> Prometheus {
        let mut p = Prometheus::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(t) = line.strip_prefix("# TYPE ") {
                if let Some((name, kind)) = t.split_once(' ') {
                    p.types.insert(name.to_string(), kind.trim().to_string());
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let Some((head, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match head.split_once('{') {
                Some((n, l)) => match l.strip_suffix('}').and_then(parse_labels) {
                    Some(labels) => (n, labels),
                    None => continue,
                },
                None => (head, Vec::new()),
            };
            p.series.push(Series {
                name: name.to_string(),
                labels,
                value,
            });
        }
        p
    }

    /// Every series of metric `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Series> + 'a {
        self.series.iter().filter(move |s| s.name == name)
    }

    /// The sum of metric `name` over its label sets, if it has any series.
    pub fn get(&self, name: &str) -> Option<f64> {
        let mut it = self.all(name).peekable();
        it.peek()?;
        Some(it.map(|s| s.value).sum())
    }

    /// The value of the one series of `name` whose label `label` is `value`
    /// (`None` when there is none or more than one).
    pub fn labelled(&self, name: &str, label: &str, value: &str) -> Option<f64> {
        let mut it = self.all(name).filter(|s| s.label(label) == Some(value));
        let first = it.next()?;
        it.next().is_none().then_some(first.value)
    }

    /// Whether the output names metric `name`: a `# TYPE` line or a series.
    pub fn exports(&self, name: &str) -> bool {
        self.types.contains_key(name) || self.series.iter().any(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_formats() {
        let s = Stats::parse(
            "wasmcustom.edgepick.picks.a: 3\nwasmcustom.edgepick.picks.b: 4\nx.hist: P0(nan,1)\n",
        );
        assert_eq!(
            (
                s.custom("edgepick.picks.a"),
                s.sum_prefix("wasmcustom.edgepick.picks.")
            ),
            (3.0, 7.0)
        );
        let p = Prometheus::parse(concat!(
            "# TYPE edgepick_picks counter\n",
            "edgepick_picks{envoy_response_code=\"200\",backend=\"x_rq_200\"} 2\n",
            "edgepick_picks{backend=\"eu-west_1\"} 12\n",
            "envoy_x{a=\"q\\\"uote\",b=\"1\"} 1\n",
            "edgepick_warnings_suppressed{} 0\n",
            "# TYPE envoy_h histogram\n",
            "envoy_h_bucket{le=\"+Inf\"} 3\n",
        ));
        assert_eq!(p.get("edgepick_picks"), Some(14.0));
        assert_eq!(
            p.labelled("edgepick_picks", "backend", "x_rq_200"),
            Some(2.0)
        );
        assert_eq!(
            p.labelled("edgepick_picks", "backend", "eu-west_1"),
            Some(12.0)
        );
        assert_eq!(p.labelled("edgepick_picks", "backend", "eu"), None);
        assert_eq!(p.all("envoy_x").next().unwrap().label("a"), Some("q\"uote"));
        assert_eq!(p.get("edgepick_warnings_suppressed"), Some(0.0));
        assert!(p.exports("envoy_h") && p.exports("envoy_h_bucket") && !p.exports("envoy_y"));
    }
}
