//! Unsigned LEB128 varints of the entropy tables (7 bits per byte, least significant first, high bit = more).

use alloc::vec::Vec;

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The input ends inside the varint.
    Truncated,
    /// The varint is longer than the field allows.
    TooLong,
}

/// Appends `v`.
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint of at most `max_bytes` bytes at `*pos`, advancing `*pos` past it.
pub(crate) fn take(input: &[u8], pos: &mut usize, max_bytes: u32) -> Result<u64, VarintError> {
    let mut v = 0u64;
    for k in 0..max_bytes {
        let b = *input.get(*pos).ok_or(VarintError::Truncated)?;
        *pos += 1;
        v |= ((b & 0x7F) as u64) << (7 * k);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(VarintError::TooLong)
}
