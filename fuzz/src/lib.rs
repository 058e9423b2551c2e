//! Helpers shared by the fuzz targets: cutting an input into the values a
//! front end passes to the core (a clock reading, a small count, text).

/// Clock readings worth trying: the ends of `u64`, just below them, a
/// realistic Unix time in ms, and small values.
const CLOCKS: [u64; 8] = [
    0,
    1,
    999,
    1_800_000_000_000,
    u64::MAX / 1000,
    u64::MAX / 2,
    u64::MAX - 1000,
    u64::MAX,
];

/// An input cut into pieces from the front.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Read `data` from its first byte.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// One byte (0 when the input is used up).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A clock reading in ms: one byte picks an extreme value, an offset near
    /// it, or eight raw bytes (so the fuzzer explores the whole range).
    pub fn clock(&mut self) -> u64 {
        let b = self.byte();
        let base = CLOCKS[usize::from(b & 7)];
        match b >> 3 {
            0 => base,
            1 => base.saturating_sub(u64::from(self.byte())),
            2 => base.saturating_add(u64::from(self.byte()) * 1000),
            _ => {
                let mut raw = [0u8; 8];
                for r in &mut raw {
                    *r = self.byte();
                }
                u64::from_le_bytes(raw)
            }
        }
    }

    /// The bytes not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }

    /// The rest as text, invalid UTF-8 replaced (front ends read headers the
    /// same way: never a panic on bytes).
    pub fn text(self) -> String {
        String::from_utf8_lossy(self.data).into_owned()
    }
}
