//! Randomness is an input: every decision that needs it takes a `&mut dyn Rng`.
//!
//! [`SplitMix64`] (Steele, Lea & Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014) is the seeded generator used by the golden vectors,
//! the simulator and the filter, so the same seed gives the same decisions on
//! every target.

/// A source of random 64-bit words.
pub trait Rng {
    /// The next uniformly distributed 64-bit word.
    fn next_u64(&mut self) -> u64;

    /// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift
    /// reduction (bias below 2^-32 for the sizes used here). Returns 0 for `n == 0`.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// SplitMix64: tiny, fast, and fully determined by its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl Rng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }
}

/// SplitMix64's increment, 2^64 / φ: also a good odd multiplier for spreading
/// small integers (context ids, group numbers) before [`mix`].
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser (Stafford's "Mix13"): a bijection that spreads every
/// input bit over the output; `mix(0) == 0`. The filter seeds its generator
/// with it.
pub const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_sequence() {
        // First outputs for seed 1234567 from the reference C implementation.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn mix_is_the_generators_finaliser() {
        assert_eq!(mix(0), 0);
        assert_ne!(mix(1), 1);
        let seed = 1234567;
        assert_eq!(mix(seed + GOLDEN_GAMMA), SplitMix64::new(seed).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64::new(7);
        for n in 1..200u64 {
            assert!(r.below(n) < n);
        }
        assert_eq!(r.below(0), 0);
    }
}
