//! Decimal text to `f64`, for configuration values and load reports; `f64`
//! as an ordered integer key, for the selectors' indexes.
//!
//! `lexical-parse-float` built `compact`: correctly rounded, like
//! `str::parse::<f64>` (the tests hold it to that), without the 10 KiB
//! power-of-five table and the fast paths that `str::parse` brings into the
//! Envoy filter.

/// Parse `text` (the whole of it) as `str::parse::<f64>` would.
pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    lexical_parse_float::FromLexical::from_lexical(text.as_bytes()).ok()
}

/// A non-NaN `f64` (infinities included) as a `u64` that orders as the
/// number does, `−0` equal to `+0`: a key for integer-ordered indexes.
pub(crate) fn ordered(x: f64) -> u64 {
    const SIGN: u64 = 1 << 63;
    let b = (x + 0.0).to_bits();
    if b & SIGN != 0 {
        !b
    } else {
        b | SIGN
    }
}

#[cfg(test)]
mod tests {
    use super::{ordered, parse_f64};
    use crate::rng::{Rng, SplitMix64};

    #[track_caller]
    fn same(text: &str) {
        let ours = parse_f64(text);
        let std = text.parse::<f64>().ok();
        assert_eq!(
            ours.map(f64::to_bits),
            std.map(f64::to_bits),
            "{text:?}: {ours:?} vs {std:?}"
        );
    }

    #[test]
    fn agrees_with_str_parse() {
        for t in [
            "0", "-0", "1", "0.42", "0.05", "1000", "1e3", "1E-3", "2.5e+2", "-1", "+1.5", ".5",
            "5.", "1e400", "-1e400", "1e-400", "4.9e-324", "2.2250738585072011e-308",
            "9007199254740993", "0.1000000000000000055511151231257827", "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791",
            "NaN", "nan", "inf", "-inf", "infinity", "Infinity", "", "-", ".", "e5", "1e", "1.2.3",
            "0x10", "1_000", " 1", "1 ", "١",
        ] {
            same(t);
        }
    }

    #[test]
    fn agrees_on_random_decimals() {
        let mut rng = SplitMix64::new(11);
        for _ in 0..100_000 {
            let digits = 1 + rng.below(25) as usize;
            let mut t: String = (0..digits)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect();
            if rng.below(2) == 0 {
                t.insert(rng.below(digits as u64 + 1) as usize, '.');
            }
            if rng.below(3) == 0 {
                t.push_str(&format!("e{}", rng.below(700) as i64 - 350));
            }
            same(&t);
            same(&f64::from_bits(rng.next_u64()).to_string());
        }
    }

    #[test]
    fn ordered_keys_sort_as_the_numbers() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            3.5e10,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(ordered(w[0]) < ordered(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(ordered(-0.0), ordered(0.0));
    }
}
