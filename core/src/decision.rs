//! What a pick returns: the ranked list and why.

use crate::config::Config;

/// Which RFWS tie-break step decided (paper steps 3–6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TieBreak {
    /// One node had the best score outright (step 3).
    None,
    /// Smallest delay `D` (step 4).
    Delay,
    /// Largest residual bandwidth `B_R` (step 5).
    ResidualBandwidth,
    /// At random among the still-tied (step 6).
    Random,
}

/// Why the first backend was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case", tag = "kind"))]
pub enum Reason {
    /// A valid session cookie named a healthy backend (RFWS step 2).
    Cookie,
    /// Highest score, with the tie-break step that decided.
    Score {
        /// The step that broke a tie, if any.
        tie: TieBreak,
    },
    /// Lowest load (least connections / least response time).
    LeastLoaded,
    /// A hash of the request key; `rehashes` re-hashes were needed.
    Hash {
        /// Re-hash rounds (nginx ip_hash) or ring steps skipped.
        rehashes: u32,
    },
    /// The hash found nothing usable within its tries: round robin instead (nginx).
    HashFallback,
    /// Next in the (weighted) round-robin sequence.
    RoundRobin,
    /// A random draw.
    Random,
    /// No backend can take the request.
    NoBackend,
}

/// The result of one pick.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Decision {
    /// Backend indices: the choice first, then fallbacks; unique, bounded.
    pub ranked: Vec<usize>,
    /// Algorithm name.
    pub algorithm: &'static str,
    /// Why `ranked[0]` was chosen.
    pub reason: Reason,
    /// Scores that decided, by backend index (algorithm-specific; may be empty).
    pub scores: Vec<(usize, f64)>,
    /// Too few healthy backends: health was ignored (panic mode).
    pub panic: bool,
}

impl Decision {
    /// The chosen backend, if any.
    pub fn primary(&self) -> Option<usize> {
        self.ranked.first().copied()
    }

    /// `ip:port,ip:port,…` for Envoy's `override_host` header.
    pub fn endpoints(&self, cfg: &Config) -> String {
        let mut out = String::new();
        for (n, &i) in self.ranked.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            if let Some(b) = cfg.backends.get(i) {
                out.push_str(&b.address.to_string());
            }
        }
        out
    }

    /// One line for logs and the `x-edgepick-decision` header, e.g.
    /// `rfws choice=b reason=score tie=delay fallbacks=a,c scores=a:12.5,b:12.9`.
    pub fn explain(&self, cfg: &Config) -> String {
        let name = |i: usize| cfg.backends.get(i).map_or("?", |b| b.name.as_str());
        let mut s = format!(
            "{} choice={}",
            self.algorithm,
            self.primary().map_or("none", name)
        );
        match self.reason {
            Reason::Cookie => s.push_str(" reason=cookie"),
            Reason::Score { tie } => {
                s.push_str(" reason=score");
                if tie != TieBreak::None {
                    let t = match tie {
                        TieBreak::Delay => "delay",
                        TieBreak::ResidualBandwidth => "residual_bandwidth",
                        _ => "random",
                    };
                    s.push_str(" tie=");
                    s.push_str(t);
                }
            }
            Reason::LeastLoaded => s.push_str(" reason=least_loaded"),
            Reason::Hash { rehashes } => s.push_str(&format!(" reason=hash rehashes={rehashes}")),
            Reason::HashFallback => s.push_str(" reason=hash_fallback"),
            Reason::RoundRobin => s.push_str(" reason=round_robin"),
            Reason::Random => s.push_str(" reason=random"),
            Reason::NoBackend => s.push_str(" reason=no_backend"),
        }
        if self.panic {
            s.push_str(" panic=1");
        }
        if self.ranked.len() > 1 {
            s.push_str(" fallbacks=");
            for (n, &i) in self.ranked[1..].iter().enumerate() {
                if n > 0 {
                    s.push(',');
                }
                s.push_str(name(i));
            }
        }
        if !self.scores.is_empty() {
            s.push_str(" scores=");
            for (n, &(i, v)) in self.scores.iter().enumerate() {
                if n > 0 {
                    s.push(',');
                }
                s.push_str(name(i));
                s.push(':');
                push_fixed4(&mut s, v);
            }
        }
        s
    }
}

/// Append `v` with four decimals, exactly as `format!("{v:.4}")` writes it,
/// from integer arithmetic: the Envoy filter then links no float formatting
/// (`core::fmt::float`, ~20 KB with its tables). Magnitudes of 2^64 and more
/// (no score comes near) are written `1.8e19+`.
fn push_fixed4(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    let a = v.abs();
    if a.is_infinite() {
        out.push_str("inf");
        return;
    }
    let whole = a.trunc();
    if whole >= 2f64.powi(64) {
        out.push_str("1.8e19+");
        return;
    }
    let mut whole = whole as u64;
    let mut frac = ten_thousandths(a - whole as f64);
    if frac == 10_000 {
        whole += 1;
        frac = 0;
    }
    out.push_str(&whole.to_string());
    out.push('.');
    let digits = frac.to_string();
    for _ in digits.len()..4 {
        out.push('0');
    }
    out.push_str(&digits);
}

/// `f · 10⁴` rounded half to even, exactly, for `0 ≤ f < 1` (`f = m · 2^e`).
fn ten_thousandths(f: f64) -> u32 {
    let bits = f.to_bits();
    let (exp, fraction) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    let (m, shift) = if exp == 0 {
        (fraction, 1074)
    } else {
        (fraction | 1 << 52, 1075 - exp)
    };
    if m == 0 || shift > 127 {
        return 0; // below 2^-74: rounds to 0
    }
    let scaled = u128::from(m) * 10_000;
    let (q, rem) = (scaled >> shift, scaled & ((1 << shift) - 1));
    let half = 1u128 << (shift - 1);
    let up = rem > half || (rem == half && q % 2 == 1);
    (q + u128::from(up)) as u32
}

#[cfg(test)]
mod tests {
    use super::push_fixed4;
    use crate::rng::{Rng, SplitMix64};

    fn fixed4(v: f64) -> String {
        let mut s = String::new();
        push_fixed4(&mut s, v);
        s
    }

    #[test]
    fn four_decimals_as_std_formats_them() {
        let mut rng = SplitMix64::new(7);
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            0.5,
            0.03125,
            0.00005,
            0.99995,
            0.999_949_999,
            9.99995,
            12.5,
            12.9,
            333.333_333,
            1e-9,
            4.5e15,
            9.1e15,
            1.8e19,
            -2.25,
            -1e-7,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            123_456.000_05,
        ];
        for _ in 0..20_000 {
            let bits = rng.next_u64();
            // Uniform in [0, 1000), and spread over magnitudes 2^-20 .. 2^63.
            values.push(rng.unit() * 1000.0);
            values.push(f64::from_bits(
                0x3EB0_0000_0000_0000 + bits % 0x0530_0000_0000_0000,
            ));
        }
        for v in values {
            assert_eq!(fixed4(v), format!("{v:.4}"), "{v:e}");
        }
        assert_eq!(fixed4(1.9e19), "1.8e19+");
        assert_eq!(fixed4(-1e300), "-1.8e19+");
    }
}
