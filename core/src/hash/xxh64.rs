//! XXH64 (Yann Collet, <https://github.com/Cyan4973/xxHash>, `XXH64` in
//! `xxhash.h`), the hash Envoy's `HashUtil::xxHash64` computes and maglev uses
//! for its permutations and lookups. One-shot only.
//!
//! ```
//! use edgepick_core::hash::xxh64;
//! assert_eq!(xxh64::hash(b"abc", 0), 0x44BC_2CF5_AD77_0999);
//! ```

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

fn u32_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[i..i + 4]);
    u64::from(u32::from_le_bytes(w))
}

fn round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

/// XXH64 of `input` with `seed`.
pub fn hash(input: &[u8], seed: u64) -> u64 {
    let whole = input.len() / 32 * 32;
    let h = if whole > 0 {
        stripes(&input[..whole], seed)
    } else {
        seed.wrapping_add(P5)
    };
    avalanche(tail(h.wrapping_add(input.len() as u64), &input[whole..]))
}

/// The four accumulators over the 32-byte stripes, merged.
fn stripes(input: &[u8], seed: u64) -> u64 {
    let mut v = [
        seed.wrapping_add(P1).wrapping_add(P2),
        seed.wrapping_add(P2),
        seed,
        seed.wrapping_sub(P1),
    ];
    for stripe in input.chunks_exact(32) {
        for (k, acc) in v.iter_mut().enumerate() {
            *acc = round(*acc, u64_at(stripe, 8 * k));
        }
    }
    let h = v[0]
        .rotate_left(1)
        .wrapping_add(v[1].rotate_left(7))
        .wrapping_add(v[2].rotate_left(12))
        .wrapping_add(v[3].rotate_left(18));
    v.iter().fold(h, |h, &x| merge(h, x))
}

/// The last `< 32` bytes: 8 at a time, then 4, then one by one.
fn tail(mut h: u64, rest: &[u8]) -> u64 {
    let mut i = 0;
    while i + 8 <= rest.len() {
        h = (h ^ round(0, u64_at(rest, i)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        i += 8;
    }
    if i + 4 <= rest.len() {
        h = (h ^ u32_at(rest, i).wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        i += 4;
    }
    for &b in &rest[i..] {
        h = (h ^ u64::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h
}

fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_vectors() {
        assert_eq!(hash(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(hash(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(hash(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(hash(&[b'a'; 32], 0), 0x856E_8432_98F9_9AD7);
        assert_eq!(
            hash(b"Nobody inspects the spammish repetition", 0),
            0xFBCE_A83C_8A37_8BF1
        );
        assert_eq!(
            hash(b"The quick brown fox jumps over the lazy dog", 0),
            0x0B24_2D36_1FDA_71BC
        );
        assert_eq!(hash(b"Hello, World!", 42), 0xC2E0_FE28_B251_2846);
    }

    #[test]
    fn every_tail_length_after_a_stripe() {
        // 32..=63 bytes: one stripe, then each mix of 8-, 4- and 1-byte steps.
        let text = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?";
        let mut seen = std::collections::BTreeSet::new();
        for len in 32..text.len() {
            assert!(seen.insert(hash(&text[..len], 7)), "length {len} collides");
        }
    }
}
