//! Bounds-checked MSB-first and LSB-first bit readers and writers.
//!
//! This crate is the bit I/O layer shared by the daspack codecs. It offers, for each bit order,
//!
//! - a writer into a caller-provided `&mut [u8]` ([`MsbSliceWriter`], [`LsbSliceWriter`]) whose
//!   `write_bits` is all-or-nothing: when the buffer lacks room it returns [`BitError::BufferFull`]
//!   and writes nothing, so a caller never ends up with half a code word; the remaining room is
//!   available as [`MsbSliceWriter::remaining_bits`], and a writer can be suspended (whole bytes
//!   handed over, the last partial byte kept in a [`Carry`]) and resumed on another buffer;
//! - with the `alloc` feature (on by default), a writer into a `Vec<u8>` ([`MsbVecWriter`],
//!   [`LsbVecWriter`]);
//! - a reader over a byte slice ([`MsbReader`], [`LsbReader`]), optionally limited to a bit length,
//!   whose every read returns `Err(BitError::UnexpectedEnd { bit_offset, .. })` instead of reading
//!   past the end. No function of this crate panics on any input.
//!
//! Writers accumulate bits in a `u64` and store whole bytes at once; readers load eight bytes at a
//! byte index and shift by the bit offset, so a read costs the same for any width.
//!
//! Widths: `write_bits` and `read_bits` take 0..=64 bits ([`MAX_BITS`]); `peek_bits` takes 0..=57
//! ([`MAX_PEEK_BITS`]), the most that one unaligned eight-byte load always holds. Larger widths
//! return [`BitError::WidthTooLarge`].
//!
//! Bit orders: MSB-first packs each value's most significant bit first and fills each byte from
//! its most significant bit (the order of most prefix-code specifications); LSB-first packs each
//! value's least significant bit first and fills each byte from bit 0 (the order of DEFLATE).
//!
//! ```
//! use daspack_bitio::{MsbReader, MsbSliceWriter};
//!
//! let mut buf = [0u8; 4];
//! let mut w = MsbSliceWriter::new(&mut buf);
//! w.write_bits(0b101, 3).unwrap();
//! w.write_bits(0x3ff, 10).unwrap();
//! assert_eq!(w.bit_len(), 13);
//! let len = w.finish();
//! assert_eq!(&buf[..len], &[0b1011_1111, 0b1111_1000]);
//!
//! let mut r = MsbReader::with_bit_len(&buf[..len], 13);
//! assert_eq!(r.read_bits(3), Ok(0b101));
//! assert_eq!(r.read_bits(10), Ok(0x3ff));
//! assert!(r.read_bits(1).is_err());
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod lsb;
mod msb;

pub use lsb::{LsbReader, LsbSliceWriter};
pub use msb::{MsbReader, MsbSliceWriter};

#[cfg(feature = "alloc")]
pub use lsb::LsbVecWriter;
#[cfg(feature = "alloc")]
pub use msb::MsbVecWriter;

use core::fmt;

/// The widest value `write_bits` and `read_bits` accept.
pub const MAX_BITS: u32 = 64;

/// The widest value `peek_bits` accepts (an eight-byte load at any bit offset holds 57 bits).
pub const MAX_PEEK_BITS: u32 = 57;

/// What went wrong in a read or a write. Every variant says where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitError {
    /// A read of `needed` bits at `bit_offset` found only `available` bits before the end.
    /// Nothing was consumed.
    UnexpectedEnd {
        /// Bit position of the read, from the start of the stream.
        bit_offset: u64,
        /// Bits asked for.
        needed: u64,
        /// Bits left before the end.
        available: u64,
    },
    /// A write of `needed` bits at `bit_offset` does not fit in the buffer, which has room for
    /// `available` more bits. Nothing was written.
    BufferFull {
        /// Bit position of the write, from the start of the buffer.
        bit_offset: u64,
        /// Bits asked for.
        needed: u64,
        /// Room left in the buffer, in bits.
        available: u64,
    },
    /// A width larger than the operation supports (see [`MAX_BITS`] and [`MAX_PEEK_BITS`]).
    WidthTooLarge {
        /// Width asked for.
        width: u32,
        /// Largest width supported by the operation.
        max: u32,
    },
}

impl fmt::Display for BitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BitError::UnexpectedEnd { bit_offset, needed, available } => {
                write!(f, "unexpected end of bit stream at bit {bit_offset}: {needed} bits needed, {available} left")
            }
            BitError::BufferFull { bit_offset, needed, available } => {
                write!(f, "output buffer full at bit {bit_offset}: {needed} bits to write, room for {available}")
            }
            BitError::WidthTooLarge { width, max } => {
                write!(f, "bit width {width} too large (at most {max})")
            }
        }
    }
}

/// The bits of a suspended slice writer that do not fill a whole byte (0..=7 bits).
///
/// A carry belongs to the bit order of the writer that produced it: resume an MSB writer only with
/// a carry from an MSB writer, and likewise for LSB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carry {
    value: u8,
    len: u8,
}

impl Carry {
    /// No pending bits.
    pub const EMPTY: Carry = Carry { value: 0, len: 0 };

    /// Number of pending bits (0..=7).
    pub const fn len(&self) -> u32 {
        self.len as u32
    }

    /// True when no bits are pending.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pending bits, right-aligned, in the form `write_bits` takes them.
    pub const fn value(&self) -> u64 {
        self.value as u64
    }
}

/// A bit writer of either order (implemented by all the writers of this crate).
pub trait BitWrite {
    /// Appends the low `nbits` bits of `value` (higher bits are ignored); all-or-nothing.
    fn write_bits(&mut self, value: u64, nbits: u32) -> Result<(), BitError>;
    /// Bits written so far.
    fn bit_len(&self) -> u64;
}

/// The low `n` bits set, for `n` in 0..=64.
#[inline(always)]
pub(crate) const fn low_mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}
