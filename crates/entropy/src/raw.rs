//! A little-endian (LSB-first) raw bit stream for bits that are not worth modelling.
//!
//! The writer accumulates into a u64 and emits 32 bits at a time; the reader refills a u64 from the slice. Reads past
//! the end return zero bits and set an overrun flag, so a hostile stream never panics the decoder; callers check
//! [`RawReader::overrun`] once at the end.

use alloc::vec::Vec;

/// Appends raw bits to a byte vector, least significant bit first.
#[derive(Debug, Default)]
pub struct RawWriter {
    acc: u64,
    nbits: u32,
    /// The bytes written are `out[..len]`; the rest is room, so that a step writes its 4 bytes whether or not it
    /// keeps them.
    out: Vec<u8>,
    len: usize,
}

impl RawWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the `n` low bits of `v` (`n <= 32`; higher bits of `v` must be zero).
    #[inline(always)]
    pub fn put(&mut self, v: u32, n: u32) {
        self.with_room(4, |w| w.put(v, n));
    }

    /// Appends the `n` low bits of `v` for any `n <= 64`.
    #[inline(always)]
    pub fn put_long(&mut self, v: u64, n: u32) {
        self.with_room(8, |w| w.put_long(v, n));
    }

    /// Runs `f` on a [`RawBlock`] with room for at least `bytes` bytes: it may write that many (`bytes / 8` 64-bit
    /// fields, say) without a check on the room.
    #[inline(always)]
    pub fn with_room<R>(&mut self, bytes: usize, f: impl FnOnce(&mut RawBlock<'_>) -> R) -> R {
        // (+ 4: a step writes 4 bytes even when it keeps none of them.)
        if self.out.len() < self.len + bytes + 4 {
            self.grow(bytes + 4);
        }
        let mut block = RawBlock { out: &mut self.out, len: self.len, acc: self.acc, nbits: self.nbits };
        let r = f(&mut block);
        (self.len, self.acc, self.nbits) = (block.len, block.acc, block.nbits);
        r
    }

    /// Makes room for at least `bytes` more bytes, and some: zeroed bytes are memory in use, so the room is a
    /// page or so past what is asked, not the doubling of the vector's capacity (which `resize` still does).
    #[cold]
    fn grow(&mut self, bytes: usize) {
        self.out.resize(self.len + bytes.max(4096), 0);
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> u64 {
        self.len as u64 * 8 + self.nbits as u64
    }

    /// Pads the last byte with zero bits and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.truncate(self.len);
        let nbytes = self.nbits.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..nbytes]);
        self.out
    }
}

/// A [`RawWriter`] lent for a stretch of writes (see [`RawWriter::with_room`]): its state in locals, which stay in
/// registers through a loop.
pub struct RawBlock<'a> {
    out: &'a mut [u8],
    len: usize,
    acc: u64,
    nbits: u32,
}

impl RawBlock<'_> {
    /// As [`RawWriter::put`].
    #[inline(always)]
    pub fn put(&mut self, v: u32, n: u32) {
        debug_assert!(n <= 32 && (n == 32 || v >> n == 0));
        self.acc |= (v as u64) << self.nbits;
        self.nbits += n;
        // Without a branch on whether 32 bits are full: residuals' raw widths vary from sample to sample, and
        // that branch, taken every few samples, was mispredicted. The 4 bytes are written either way (the room
        // is there) and kept when full.
        let full = self.nbits >= 32;
        self.out[self.len..self.len + 4].copy_from_slice(&(self.acc as u32).to_le_bytes());
        self.len += 4 * full as usize;
        self.acc >>= 32 * full as u32;
        self.nbits -= 32 * full as u32;
    }

    /// As [`RawWriter::put_long`].
    #[inline(always)]
    pub fn put_long(&mut self, v: u64, n: u32) {
        if n > 32 {
            self.put(v as u32, 32);
            self.put((v >> 32) as u32, n - 32);
        } else {
            self.put(v as u32, n);
        }
    }
}

/// Reads raw bits written by [`RawWriter`].
#[derive(Debug)]
pub struct RawReader<'a> {
    buf: &'a [u8],
    pos: usize,
    acc: u64,
    nbits: u32,
    consumed: u64,
}

impl<'a> RawReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        RawReader { buf, pos: 0, acc: 0, nbits: 0, consumed: 0 }
    }

    #[inline(always)]
    fn refill(&mut self) {
        // Fast path: a whole 4-byte word is available.
        if let Some(w) = self.buf.get(self.pos..self.pos + 4) {
            let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            self.acc |= (w as u64) << self.nbits;
            self.nbits += 32;
            self.pos += 4;
        } else {
            // Near or past the end: missing bytes read as zeros; `consumed` tells whether any were used.
            while self.nbits <= 56 {
                if let Some(&b) = self.buf.get(self.pos) {
                    self.acc |= (b as u64) << self.nbits;
                }
                self.pos += 1;
                self.nbits += 8;
            }
        }
    }

    /// Reads `n <= 32` bits. Past the end of the input the bits read as zeros and [`overrun`](Self::overrun) is set.
    #[inline(always)]
    pub fn get(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        self.consumed += n as u64;
        if self.nbits < n {
            self.refill();
        }
        let v = (self.acc & ((1u64 << n) - 1)) as u32;
        self.acc >>= n;
        self.nbits -= n;
        v
    }

    /// Reads `n <= 64` bits.
    #[inline(always)]
    pub fn get_long(&mut self, n: u32) -> u64 {
        if n > 32 {
            let lo = self.get(32) as u64;
            lo | (self.get(n - 32) as u64) << 32
        } else {
            self.get(n) as u64
        }
    }

    /// True when more bits were read than the input held (beyond the zero padding of its last byte).
    pub fn overrun(&self) -> bool {
        self.consumed > self.buf.len() as u64 * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip_mixed_widths() {
        let mut w = RawWriter::new();
        let mut items = vec![];
        let mut x = 99u64;
        for i in 0..5000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let n = i % 65;
            let v = if n == 64 { x } else { x & ((1u64 << n) - 1) };
            items.push((v, n));
            w.put_long(v, n);
        }
        let bits = w.bit_len();
        let bytes = w.finish();
        assert_eq!(bytes.len() as u64, bits.div_ceil(8));
        let mut r = RawReader::new(&bytes);
        for &(v, n) in &items {
            assert_eq!(r.get_long(n), v);
        }
        assert!(!r.overrun());
        r.get(9);
        assert!(r.overrun());
    }

    #[test]
    fn empty_input_reads_zeros() {
        let mut r = RawReader::new(&[]);
        assert_eq!(r.get(32), 0);
        assert_eq!(r.get_long(64), 0);
        assert!(r.overrun());
    }
}
