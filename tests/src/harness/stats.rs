//! Envoy admin statistics as data: `/stats` (`name: value` lines, custom wasm
//! metrics under `wasmcustom.`) and `/stats/prometheus` (the same without the
//! prefix, dots as underscores).

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

/// Samples from `/stats/prometheus`: metric name → summed value over label sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prometheus(pub BTreeMap<String, f64>);

impl Prometheus {
    /// Parse the Prometheus text format (comments skipped, labels summed over).
    pub fn parse(text: &str) -> Prometheus {
        let mut m = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series).to_string();
            *m.entry(name).or_insert(0.0) += v;
        }
        Prometheus(m)
    }

    /// The value of metric `name` (e.g. `edgepick_picks_a`), if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// The Prometheus name of a filter-side metric name (`edgepick.picks.a` → `edgepick_picks_a`).
    pub fn name_of(metric: &str) -> String {
        metric
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
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
        let p = Prometheus::parse(
            "# TYPE edgepick_picks_a counter\nedgepick_picks_a{} 12\nenvoy_x{a=\"1\"} 1\nenvoy_x{a=\"2\"} 2\n",
        );
        assert_eq!(
            (p.get("edgepick_picks_a"), p.get("envoy_x")),
            (Some(12.0), Some(3.0))
        );
        assert_eq!(Prometheus::name_of("edgepick.picks.a"), "edgepick_picks_a");
    }
}
