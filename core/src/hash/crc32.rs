//! CRC-32 (IEEE 802.3, the zlib / nginx `ngx_crc32_long` checksum), used by
//! ketama rings and by front ends that need a short stable digest.
//!
//! One 256-entry table (1 KiB, built at compile time by the `crc` crate),
//! not a slice-by-16 one: the Envoy filter ships every table byte, and the
//! strings hashed here are short.
//!
//! ```
//! use edgepick_core::hash::crc32;
//! assert_eq!(crc32::hash(b"123456789"), 0xcbf4_3926);
//! let mut h = crc32::Hasher::new();
//! h.update(b"1234");
//! h.update(b"56789");
//! assert_eq!(h.finalize(), 0xcbf4_3926);
//! ```

use crc::{Crc, Digest, Table, CRC_32_ISO_HDLC};

static CRC32: Crc<u32, Table<1>> = Crc::<u32, Table<1>>::new(&CRC_32_ISO_HDLC);

/// The CRC-32 of `bytes`.
pub fn hash(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// Incremental CRC-32: `update` any number of times, then `finalize`.
#[derive(Clone)]
pub struct Hasher(Digest<'static, u32, Table<1>>);

impl Hasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Hasher {
        Hasher(CRC32.digest())
    }

    /// Feed more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The CRC-32 of every byte fed so far.
    pub fn finalize(self) -> u32 {
        self.0.finalize()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

impl core::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("crc32::Hasher")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // The CRC catalogue's check value and zlib's crc32 of a few strings.
        assert_eq!(hash(b""), 0);
        assert_eq!(hash(b"123456789"), 0xcbf4_3926);
        assert_eq!(hash(b"foo"), 0x8c73_6521);
        assert_eq!(
            hash(b"The quick brown fox jumps over the lazy dog"),
            0x414f_a339
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for split in [0, 1, 7, 255, 1024, 2999, 3000] {
            let mut h = Hasher::new();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(h.finalize(), hash(&data), "split at {split}");
        }
    }
}
