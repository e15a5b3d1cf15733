//! Least-significant-bit-first writers and reader.

use crate::{low_mask, BitError, BitWrite, Carry, MAX_BITS, MAX_PEEK_BITS};

/// Pending bits, right-aligned: the next bit of the stream is bit 0.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    bits: u64,
    len: u32,
}

impl Acc {
    /// Appends `nbits` (1..=57) bits; the caller guarantees `len + nbits <= 64`.
    #[inline(always)]
    fn push(&mut self, value: u64, nbits: u32) {
        self.bits |= (value & low_mask(nbits)) << self.len;
        self.len += nbits;
    }

    /// Takes the whole bytes out: returns all eight bytes of the word and how many of them are
    /// complete; leaves fewer than 8 bits pending.
    #[inline(always)]
    fn drain(&mut self) -> ([u8; 8], usize) {
        let k = self.len / 8;
        let bytes = self.bits.to_le_bytes();
        self.bits = self.bits.checked_shr(8 * k).unwrap_or(0);
        self.len -= 8 * k;
        (bytes, k as usize)
    }

    fn carry(&self) -> Carry {
        debug_assert!(self.len < 8);
        Carry { value: (self.bits & low_mask(self.len)) as u8, len: self.len as u8 }
    }
}

/// An LSB-first bit writer into a caller-provided byte slice.
///
/// `write_bits` is all-or-nothing: when the slice lacks room it returns
/// [`BitError::BufferFull`] and the writer is unchanged. Bytes of the slice past the reported
/// length may be used as scratch (the writer stores eight bytes at a time where it can).
#[derive(Debug)]
pub struct LsbSliceWriter<'a> {
    buf: &'a mut [u8],
    /// Whole bytes stored in `buf`.
    pos: usize,
    acc: Acc,
}

impl<'a> LsbSliceWriter<'a> {
    /// A writer starting at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        LsbSliceWriter { buf, pos: 0, acc: Acc::default() }
    }

    /// A writer starting at the beginning of `buf` with the pending bits of a suspended LSB
    /// writer (see [`LsbSliceWriter::suspend`]). Fails when `buf` is empty and `carry` is not.
    pub fn resume(buf: &'a mut [u8], carry: Carry) -> Result<Self, BitError> {
        let mut w = LsbSliceWriter::new(buf);
        w.write_bits(carry.value(), carry.len())?;
        Ok(w)
    }

    /// Bits written so far (including a resumed carry).
    #[inline]
    pub fn bit_len(&self) -> u64 {
        self.pos as u64 * 8 + self.acc.len as u64
    }

    /// Room left, in bits: a `write_bits` of at most this many bits succeeds.
    #[inline]
    pub fn remaining_bits(&self) -> u64 {
        (self.buf.len() - self.pos) as u64 * 8 - self.acc.len as u64
    }

    /// Appends the low `nbits` bits of `value`, least significant first (higher bits of `value`
    /// are ignored). `nbits` may be 0..=64. All-or-nothing.
    #[inline]
    pub fn write_bits(&mut self, value: u64, nbits: u32) -> Result<(), BitError> {
        if nbits > MAX_PEEK_BITS {
            return self.write_wide(value, nbits);
        }
        let room = self.remaining_bits();
        if nbits as u64 > room {
            return Err(self.full(nbits, room));
        }
        if nbits == 0 {
            return Ok(());
        }
        if self.acc.len + nbits > 64 {
            self.store_whole_bytes();
        }
        self.acc.push(value, nbits);
        Ok(())
    }

    #[cold]
    fn write_wide(&mut self, value: u64, nbits: u32) -> Result<(), BitError> {
        if nbits > MAX_BITS {
            return Err(BitError::WidthTooLarge { width: nbits, max: MAX_BITS });
        }
        let room = self.remaining_bits();
        if nbits as u64 > room {
            return Err(self.full(nbits, room));
        }
        self.write_bits(value & 0xffff_ffff, 32)?;
        self.write_bits(value >> 32, nbits - 32)
    }

    fn full(&self, nbits: u32, room: u64) -> BitError {
        BitError::BufferFull { bit_offset: self.bit_len(), needed: nbits as u64, available: room }
    }

    /// Moves the whole bytes of the accumulator into `buf`. Room is guaranteed by the capacity
    /// check in `write_bits`.
    #[inline(always)]
    fn store_whole_bytes(&mut self) {
        let (bytes, k) = self.acc.drain();
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + 8) {
            // One eight-byte store instead of a k-byte copy; the bytes past k are rewritten later.
            dst.copy_from_slice(&bytes);
        } else if let Some(dst) = self.buf.get_mut(self.pos..self.pos + k) {
            dst.copy_from_slice(&bytes[..k]);
        }
        self.pos += k;
    }

    /// Pads the last byte with zero bits and returns the number of bytes written.
    pub fn finish(mut self) -> usize {
        self.store_whole_bytes();
        if self.acc.len > 0 {
            if let Some(b) = self.buf.get_mut(self.pos) {
                *b = self.acc.bits as u8;
                self.pos += 1;
            }
        }
        self.pos
    }

    /// Pads with zero bits to the next byte boundary, stores every pending byte and returns the
    /// number of bytes written. Unlike `finish`, the writer stays usable (later bits start on a
    /// fresh byte). Padding always fits: the room is counted in whole bytes.
    pub fn pad_to_byte(&mut self) -> usize {
        let pad = (8 - self.acc.len % 8) % 8;
        // Cannot fail: a partial byte always has its remaining bits available.
        let _ = self.write_bits(0, pad);
        self.store_whole_bytes();
        self.pos
    }

    /// Stops writing into this buffer: returns the number of whole bytes written and the bits of
    /// the last partial byte, to be written first by [`LsbSliceWriter::resume`] on the next buffer.
    pub fn suspend(mut self) -> (usize, Carry) {
        self.store_whole_bytes();
        (self.pos, self.acc.carry())
    }
}

impl BitWrite for LsbSliceWriter<'_> {
    #[inline]
    fn write_bits(&mut self, value: u64, nbits: u32) -> Result<(), BitError> {
        LsbSliceWriter::write_bits(self, value, nbits)
    }
    #[inline]
    fn bit_len(&self) -> u64 {
        LsbSliceWriter::bit_len(self)
    }
}

/// An LSB-first bit writer into a growing `Vec<u8>` (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Debug, Default, Clone)]
pub struct LsbVecWriter {
    buf: alloc::vec::Vec<u8>,
    acc: Acc,
}

#[cfg(feature = "alloc")]
impl LsbVecWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `bytes` bytes before it reallocates.
    pub fn with_capacity(bytes: usize) -> Self {
        LsbVecWriter { buf: alloc::vec::Vec::with_capacity(bytes), acc: Acc::default() }
    }

    /// Bits written so far.
    #[inline]
    pub fn bit_len(&self) -> u64 {
        self.buf.len() as u64 * 8 + self.acc.len as u64
    }

    /// Appends the low `nbits` bits of `value`, least significant first. `nbits` may be 0..=64;
    /// the only error is [`BitError::WidthTooLarge`].
    #[inline]
    pub fn write_bits(&mut self, value: u64, nbits: u32) -> Result<(), BitError> {
        if nbits > MAX_PEEK_BITS {
            if nbits > MAX_BITS {
                return Err(BitError::WidthTooLarge { width: nbits, max: MAX_BITS });
            }
            self.write_bits(value & 0xffff_ffff, 32)?;
            return self.write_bits(value >> 32, nbits - 32);
        }
        if nbits == 0 {
            return Ok(());
        }
        if self.acc.len + nbits > 64 {
            self.store_whole_bytes();
        }
        self.acc.push(value, nbits);
        Ok(())
    }

    #[inline(always)]
    fn store_whole_bytes(&mut self) {
        let (bytes, k) = self.acc.drain();
        self.buf.extend_from_slice(&bytes[..k]);
    }

    /// Pads the last byte with zero bits and returns the bytes (their number is the byte length).
    pub fn finish(mut self) -> alloc::vec::Vec<u8> {
        self.store_whole_bytes();
        if self.acc.len > 0 {
            self.buf.push(self.acc.bits as u8);
        }
        self.buf
    }
}

#[cfg(feature = "alloc")]
impl BitWrite for LsbVecWriter {
    #[inline]
    fn write_bits(&mut self, value: u64, nbits: u32) -> Result<(), BitError> {
        LsbVecWriter::write_bits(self, value, nbits)
    }
    #[inline]
    fn bit_len(&self) -> u64 {
        LsbVecWriter::bit_len(self)
    }
}

/// An LSB-first bit reader over a byte slice, optionally limited to a number of bits.
///
/// Every operation is bounds-checked: reading past the end returns
/// [`BitError::UnexpectedEnd`] with the bit offset and consumes nothing.
#[derive(Debug, Clone)]
pub struct LsbReader<'a> {
    data: &'a [u8],
    pos: u64,
    limit: u64,
}

impl<'a> LsbReader<'a> {
    /// A reader over all the bits of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        LsbReader { data, pos: 0, limit: data.len() as u64 * 8 }
    }

    /// A reader over the first `bit_len` bits of `data` (all of `data` when `bit_len` is larger).
    pub fn with_bit_len(data: &'a [u8], bit_len: u64) -> Self {
        let mut r = LsbReader::new(data);
        r.limit = r.limit.min(bit_len);
        r
    }

    /// Bits consumed so far.
    #[inline]
    pub fn bit_pos(&self) -> u64 {
        self.pos
    }

    /// Bits left before the end.
    #[inline]
    pub fn bits_left(&self) -> u64 {
        self.limit - self.pos
    }

    /// Total length of the stream in bits.
    #[inline]
    pub fn bit_len(&self) -> u64 {
        self.limit
    }

    /// The next bits right-aligned (the next bit is bit 0): at least 57 valid bits, and zero bits
    /// where the stream has ended. Never fails; compare with [`LsbReader::bits_left`] to know how
    /// many of the bits are real. Consumes nothing.
    #[inline(always)]
    pub fn peek_window(&self) -> u64 {
        let idx = (self.pos >> 3) as usize;
        let off = (self.pos & 7) as u32;
        if self.pos + 64 <= self.limit {
            // Fast path: the eight bytes at idx lie inside the stream; one unaligned load.
            if let Some(Ok(bytes)) = self.data.get(idx..idx + 8).map(<[u8; 8]>::try_from) {
                return u64::from_le_bytes(bytes) >> off;
            }
        }
        self.peek_window_tail(idx, off)
    }

    #[cold]
    #[inline(never)]
    fn peek_window_tail(&self, idx: usize, off: u32) -> u64 {
        let mut word = 0u64;
        for i in 0..8 {
            word |= (self.data.get(idx + i).copied().unwrap_or(0) as u64) << (8 * i);
        }
        word >>= off;
        let left = self.bits_left();
        if left < 64 {
            word &= low_mask(left as u32);
        }
        word
    }

    /// The next `n` bits (0..=57) without consuming them.
    #[inline]
    pub fn peek_bits(&self, n: u32) -> Result<u64, BitError> {
        if n > MAX_PEEK_BITS {
            return Err(BitError::WidthTooLarge { width: n, max: MAX_PEEK_BITS });
        }
        self.check(n as u64)?;
        Ok(self.peek_window() & low_mask(n))
    }

    /// Reads the next `n` bits (0..=64), the first one as the least significant.
    #[inline]
    pub fn read_bits(&mut self, n: u32) -> Result<u64, BitError> {
        if n > MAX_PEEK_BITS {
            return self.read_wide(n);
        }
        let v = self.peek_bits(n)?;
        self.pos += n as u64;
        Ok(v)
    }

    #[cold]
    fn read_wide(&mut self, n: u32) -> Result<u64, BitError> {
        if n > MAX_BITS {
            return Err(BitError::WidthTooLarge { width: n, max: MAX_BITS });
        }
        self.check(n as u64)?;
        let lo = self.read_bits(32)?;
        let hi = self.read_bits(n - 32)?;
        Ok(lo | (hi << 32))
    }

    /// Consumes `n` bits.
    #[inline]
    pub fn skip(&mut self, n: u64) -> Result<(), BitError> {
        self.check(n)?;
        self.pos += n;
        Ok(())
    }

    #[inline(always)]
    fn check(&self, n: u64) -> Result<(), BitError> {
        let left = self.bits_left();
        if n > left {
            return Err(BitError::UnexpectedEnd { bit_offset: self.pos, needed: n, available: left });
        }
        Ok(())
    }
}
