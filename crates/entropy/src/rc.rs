//! Adaptive binary range coder.
//!
//! The coder keeps a 32-bit `range` and codes one binary decision at a time with a probability `p0` (probability of
//! a 0, in units of 2^-15). `bound = (range >> 15) * p0`; a 0 keeps `[low, low + bound)`, a 1 keeps the rest.
//! Renormalisation shifts out one byte whenever `range < 2^24`; carries are propagated with the classic LZMA
//! cache/cache_size scheme, so the encoder output starts with one zero byte and ends with a 4-byte flush.

use alloc::vec::Vec;

const PROB_BITS: u32 = 15;
const TOP: u32 = 1 << 24;
const LO: i32 = 16;
const HI: i32 = (1 << PROB_BITS) - 16;

/// An adaptive probability: the mean of a fast (rate 1/16) and a slow (rate 1/128) estimate of P(bit = 0).
/// Both estimates stay within [16, 32752], so neither symbol ever gets a zero-width interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prob {
    fast: u16,
    slow: u16,
}

impl Default for Prob {
    fn default() -> Self {
        Self::new()
    }
}

impl Prob {
    /// P(0) = 1/2.
    pub const fn new() -> Self {
        Prob { fast: 1 << 14, slow: 1 << 14 }
    }

    #[inline(always)]
    fn p0(self) -> u32 {
        (self.fast as u32 + self.slow as u32) >> 1
    }

    /// Moves both estimates toward the coded bit. Branch-free: the target is selected arithmetically.
    #[inline(always)]
    fn update(&mut self, bit: u32) {
        let target = if bit == 0 { HI } else { LO };
        let f = self.fast as i32;
        let s = self.slow as i32;
        self.fast = (f + ((target - f) >> 4)) as u16;
        self.slow = (s + ((target - s) >> 7)) as u16;
    }
}

/// Range encoder writing into a growable byte vector.
#[derive(Debug)]
pub struct RangeEncoder {
    low: u64,
    range: u32,
    cache: u8,
    cache_size: u64,
    out: Vec<u8>,
}

impl Default for RangeEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeEncoder {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(bytes: usize) -> Self {
        RangeEncoder { low: 0, range: u32::MAX, cache: 0, cache_size: 1, out: Vec::with_capacity(bytes) }
    }

    /// Codes `bit` (0 or 1) with the adaptive probability `p`, then adapts `p`.
    #[inline(always)]
    pub fn encode(&mut self, p: &mut Prob, bit: u32) {
        let bound = (self.range >> PROB_BITS) * p.p0();
        if bit == 0 {
            self.range = bound;
        } else {
            self.low += bound as u64;
            self.range -= bound;
        }
        p.update(bit);
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
    }

    /// Codes the `nbits` low bits of `sym` (most significant first) with a binary tree of adaptive probabilities.
    /// `tree` must hold at least `1 << nbits` entries; entry 0 is unused.
    #[inline(always)]
    pub fn encode_tree(&mut self, tree: &mut [Prob], nbits: u32, sym: u32) {
        let mut node = 1usize;
        for i in (0..nbits).rev() {
            let bit = (sym >> i) & 1;
            self.encode(&mut tree[node], bit);
            node = (node << 1) | bit as usize;
        }
    }

    fn shift_low(&mut self) {
        if (self.low as u32) < 0xFF00_0000 || (self.low >> 32) != 0 {
            let carry = (self.low >> 32) as u8;
            let mut temp = self.cache;
            loop {
                self.out.push(temp.wrapping_add(carry));
                temp = 0xFF;
                self.cache_size -= 1;
                if self.cache_size == 0 {
                    break;
                }
            }
            self.cache = (self.low >> 24) as u8;
        }
        self.cache_size += 1;
        self.low = (self.low & 0x00FF_FFFF) << 8;
    }

    /// Flushes the coder state and returns the coded bytes.
    pub fn finish(mut self) -> Vec<u8> {
        for _ in 0..5 {
            self.shift_low();
        }
        self.out
    }

    /// Bytes written so far (not counting the pending flush).
    pub fn len(&self) -> usize {
        self.out.len() + self.cache_size as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Range decoder over a byte slice. Reading past the end yields zero bytes and is counted, so decoding a hostile
/// or truncated stream never panics; callers check [`RangeDecoder::overrun`] once at the end.
#[derive(Debug)]
pub struct RangeDecoder<'a> {
    code: u32,
    range: u32,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> RangeDecoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        let mut d = RangeDecoder { code: 0, range: u32::MAX, buf, pos: 1 };
        for _ in 0..4 {
            d.code = (d.code << 8) | d.next_byte() as u32;
        }
        d
    }

    #[inline(always)]
    fn next_byte(&mut self) -> u8 {
        let b = self.buf.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// Decodes one bit with the adaptive probability `p`, then adapts `p`.
    #[inline(always)]
    pub fn decode(&mut self, p: &mut Prob) -> u32 {
        let bound = (self.range >> PROB_BITS) * p.p0();
        // Branch-free selection: the bit is close to random for well-modelled data, so a branch would mispredict.
        let bit = (self.code >= bound) as u32;
        let mask = 0u32.wrapping_sub(bit);
        self.code -= bound & mask;
        self.range = (bound & !mask) | (self.range.wrapping_sub(bound) & mask);
        p.update(bit);
        while self.range < TOP {
            self.range <<= 8;
            self.code = (self.code << 8) | self.next_byte() as u32;
        }
        bit
    }

    /// Decodes an `nbits`-bit symbol coded with [`RangeEncoder::encode_tree`].
    #[inline(always)]
    pub fn decode_tree(&mut self, tree: &mut [Prob], nbits: u32) -> u32 {
        let mut node = 1usize;
        for _ in 0..nbits {
            let bit = self.decode(&mut tree[node]);
            node = (node << 1) | bit as usize;
        }
        (node as u32) - (1 << nbits)
    }

    /// True when the decoder needed more bytes than the input held (the stream was truncated or corrupt).
    /// A valid stream ends with a flush, so its decoder never reads past the end.
    pub fn overrun(&self) -> bool {
        self.pos > self.buf.len()
    }

    /// Bytes consumed so far (may exceed the input length when [`overrun`](Self::overrun) is true).
    pub fn position(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn bits_round_trip_with_skewed_and_changing_statistics() {
        let mut bits = vec![];
        let mut x = 12345u32;
        for i in 0..20000 {
            x = x.wrapping_mul(1664525).wrapping_add(1013904223);
            let threshold = if i < 10000 { 0x1000_0000 } else { 0xC000_0000 };
            bits.push((x < threshold) as u32);
        }
        let mut enc = RangeEncoder::new();
        let mut p = [Prob::new(); 2];
        for (i, &b) in bits.iter().enumerate() {
            enc.encode(&mut p[i & 1], b);
        }
        let bytes = enc.finish();
        // Entropy of the two halves is about 0.54 and 0.81 bits per bit.
        assert!(bytes.len() < 20000 * 70 / 100 / 8, "{} bytes", bytes.len());
        let mut dec = RangeDecoder::new(&bytes);
        let mut q = [Prob::new(); 2];
        for (i, &b) in bits.iter().enumerate() {
            assert_eq!(dec.decode(&mut q[i & 1]), b, "bit {i}");
        }
        assert!(!dec.overrun());
    }

    #[test]
    fn trees_round_trip() {
        let mut enc = RangeEncoder::new();
        let mut tree = [Prob::new(); 32];
        for s in 0..1000u32 {
            enc.encode_tree(&mut tree, 5, (s * 7) % 32);
        }
        let bytes = enc.finish();
        let mut dec = RangeDecoder::new(&bytes);
        let mut tree = [Prob::new(); 32];
        for s in 0..1000u32 {
            assert_eq!(dec.decode_tree(&mut tree, 5), (s * 7) % 32);
        }
    }

    #[test]
    fn empty_and_garbage_inputs_do_not_panic() {
        for input in [&[][..], &[0xFF; 3][..], &[0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..]] {
            let mut dec = RangeDecoder::new(input);
            let mut p = Prob::new();
            for _ in 0..1000 {
                dec.decode(&mut p);
            }
            assert!(dec.overrun());
        }
    }

    #[test]
    fn probabilities_stay_in_range() {
        let mut p = Prob::new();
        for _ in 0..10000 {
            p.update(1);
        }
        assert!(p.p0() >= 16);
        for _ in 0..10000 {
            p.update(0);
        }
        assert!(p.p0() <= 32752);
    }
}
