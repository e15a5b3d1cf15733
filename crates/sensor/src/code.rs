//! The code words of protocol v0.2, as `(bits, length)` pairs, bits right-aligned, most
//! significant bit first on the wire.

/// `00`: +1 from the previous sample.
pub const PLUS_ONE: (u32, u32) = (0b00, 2);
/// `01`: -1 from the previous sample.
pub const MINUS_ONE: (u32, u32) = (0b01, 2);
/// Prefix `101` of the long-run and event words (`101 rrrrrrrr`, 11 bits).
pub const ESCAPE_PREFIX: u32 = 0b101;
/// Length of a `101 rrrrrrrr` word.
pub const ESCAPE_LEN: u32 = 11;
/// Prefix `110` of the absolute sample word (`110 sxxxxxxxxxxx`, 15 bits).
pub const ABSOLUTE_PREFIX: u32 = 0b110;
/// Length of an absolute sample word.
pub const ABSOLUTE_LEN: u32 = 15;
/// The longest zero run one word codes (`101 11111111`).
pub const MAX_RUN: u32 = 256;
/// The shortest zero run coded with a `101 r` word; shorter runs use [`SHORT_RUNS`].
pub const MIN_LONG_RUN: u32 = 17;
/// The longest word of the protocol, in bits.
pub const MAX_WORD_LEN: u32 = ABSOLUTE_LEN;

/// The words of zero runs of 1 to 16 samples: `SHORT_RUNS[n - 1]` codes `n` unchanged samples.
// Digits grouped as the protocol table writes them: 3-bit prefix, then the rest.
#[allow(clippy::unusual_byte_groupings)]
pub const SHORT_RUNS: [(u32, u32); 16] = [
    (0b100_00, 5),    // 1
    (0b100_01, 5),    // 2
    (0b111_00, 5),    // 3
    (0b111_01, 5),    // 4
    (0b100_110, 6),   // 5
    (0b100_100, 6),   // 6
    (0b100_101, 6),   // 7
    (0b100_111, 6),   // 8
    (0b111_100, 6),   // 9
    (0b111_101, 6),   // 10
    (0b111_1100, 7),  // 11
    (0b111_1101, 7),  // 12
    (0b111_11100, 8), // 13
    (0b111_11101, 8), // 14
    (0b111_11111, 8), // 15
    (0b111_11110, 8), // 16
];

/// The canonical word of a zero run of `n` samples, `n` in 1..=256 (`(0, 0)` for any other `n`):
/// the [`SHORT_RUNS`] word up to 16, `101 (n-1)` from 17 to 256.
pub const fn run_word(n: u32) -> (u32, u32) {
    if n >= 1 && n < MIN_LONG_RUN {
        SHORT_RUNS[(n - 1) as usize]
    } else if n >= MIN_LONG_RUN && n <= MAX_RUN {
        ((ESCAPE_PREFIX << 8) | (n - 1), ESCAPE_LEN)
    } else {
        (0, 0)
    }
}

/// The word of an event with field `r` (0..=3).
pub const fn event_word(r: u8) -> (u32, u32) {
    ((ESCAPE_PREFIX << 8) | r as u32, ESCAPE_LEN)
}

/// The absolute word of a sample (only the low 12 bits of `v` are used).
pub const fn absolute_word(v: i16) -> (u32, u32) {
    ((ABSOLUTE_PREFIX << 12) | (v as u16 as u32 & 0xfff), ABSOLUTE_LEN)
}
