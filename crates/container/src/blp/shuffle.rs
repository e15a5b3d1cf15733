//! Blosc's byte shuffle and bit shuffle filters, as c-blosc 1.x applies them to one block.
//!
//! * Byte shuffle: for `n = len / typesize` elements, byte `j` of element `i` goes to `j * n + i`; the
//!   `len % typesize` trailing bytes are copied unchanged.
//! * Bit shuffle (the bitshuffle algorithm): bit `k` of byte `j` of element `i` goes to bit position
//!   `(j * 8 + k) * n + i` (bits numbered LSB first within each byte). c-blosc 1.x only bit-shuffles a block whose
//!   element count is a multiple of 8 (then the `len % typesize` trailing bytes are copied); any other block is
//!   copied unchanged.

/// Byte shuffle of `src` into `dst` (same length).
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    debug_assert_eq!(src.len(), dst.len());
    let n = src.len().checked_div(typesize).unwrap_or(0);
    let body = n * typesize;
    if typesize <= 1 || n == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let done = match typesize {
        2 => shuffle_blocks::<2>(src, dst, n),
        4 => shuffle_blocks::<4>(src, dst, n),
        8 => shuffle_blocks::<8>(src, dst, n),
        _ => 0,
    };
    for (i, elem) in src[..body].chunks_exact(typesize).enumerate().skip(done) {
        for (j, &b) in elem.iter().enumerate() {
            dst[j * n + i] = b;
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// [`shuffle`] of the first `8 * (n / 8)` elements for a fixed element size, eight elements at a time (the compiler
/// sees every index bound); returns how many elements it did.
#[inline(always)]
fn shuffle_blocks<const T: usize>(src: &[u8], dst: &mut [u8], n: usize) -> usize {
    let blocks = n / 8;
    for (b, blk) in src[..blocks * 8 * T].chunks_exact(8 * T).enumerate() {
        for j in 0..T {
            let mut out = [0u8; 8];
            for (k, o) in out.iter_mut().enumerate() {
                *o = blk[k * T + j];
            }
            dst[j * n + b * 8..][..8].copy_from_slice(&out);
        }
    }
    blocks * 8
}

/// [`unshuffle`] of the first `8 * (n / 8)` elements for a fixed element size; returns how many it did.
#[inline(always)]
fn unshuffle_blocks<const T: usize>(src: &[u8], dst: &mut [u8], n: usize) -> usize {
    let blocks = n / 8;
    for (b, blk) in dst[..blocks * 8 * T].chunks_exact_mut(8 * T).enumerate() {
        for j in 0..T {
            let inp: [u8; 8] = src[j * n + b * 8..][..8].try_into().expect("8 bytes");
            for (k, &v) in inp.iter().enumerate() {
                blk[k * T + j] = v;
            }
        }
    }
    blocks * 8
}

/// Inverse of [`shuffle`].
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    debug_assert_eq!(src.len(), dst.len());
    let n = src.len().checked_div(typesize).unwrap_or(0);
    let body = n * typesize;
    if typesize <= 1 || n == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let done = match typesize {
        2 => unshuffle_blocks::<2>(src, dst, n),
        4 => unshuffle_blocks::<4>(src, dst, n),
        8 => unshuffle_blocks::<8>(src, dst, n),
        _ => 0,
    };
    for (i, elem) in dst[..body].chunks_exact_mut(typesize).enumerate().skip(done) {
        for (j, b) in elem.iter_mut().enumerate() {
            *b = src[j * n + i];
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Transposes an 8x8 bit matrix held in a `u64` (row = byte, column = bit): bit `k` of byte `m` becomes bit `m` of
/// byte `k`. Three delta swaps instead of 64 single-bit moves.
#[inline]
fn transpose8(mut x: u64) -> u64 {
    let mut t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^ t ^ (t << 28)
}

/// Bit shuffle of `src` into `dst` (same length), c-blosc 1.x semantics.
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    debug_assert_eq!(src.len(), dst.len());
    let n = src.len().checked_div(typesize).unwrap_or(0);
    if typesize == 0 || !n.is_multiple_of(8) {
        dst.copy_from_slice(src);
        return;
    }
    let body = n * typesize;
    let row = n / 8; // bytes per bit plane
    for j in 0..typesize {
        for b in 0..row {
            let base = 8 * b * typesize + j;
            let mut x = 0u64;
            for m in 0..8 {
                x |= u64::from(src[base + m * typesize]) << (8 * m);
            }
            let t = transpose8(x).to_le_bytes();
            for (k, &byte) in t.iter().enumerate() {
                dst[(j * 8 + k) * row + b] = byte;
            }
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// Inverse of [`bitshuffle`].
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    debug_assert_eq!(src.len(), dst.len());
    let n = src.len().checked_div(typesize).unwrap_or(0);
    if typesize == 0 || !n.is_multiple_of(8) {
        dst.copy_from_slice(src);
        return;
    }
    let body = n * typesize;
    let row = n / 8;
    for j in 0..typesize {
        for b in 0..row {
            let mut x = 0u64;
            for k in 0..8 {
                x |= u64::from(src[(j * 8 + k) * row + b]) << (8 * k);
            }
            let t = transpose8(x).to_le_bytes();
            let base = 8 * b * typesize + j;
            for (m, &byte) in t.iter().enumerate() {
                dst[base + m * typesize] = byte;
            }
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_bitshuffle(ts: usize, src: &[u8]) -> Vec<u8> {
        let n = src.len() / ts;
        let mut out = src.to_vec();
        if !n.is_multiple_of(8) {
            return out;
        }
        out[..n * ts].fill(0);
        for i in 0..n {
            for j in 0..ts {
                for k in 0..8 {
                    let bit = (src[i * ts + j] >> k) & 1;
                    let pos = (j * 8 + k) * n + i;
                    out[pos / 8] |= bit << (pos % 8);
                }
            }
        }
        out
    }

    #[test]
    fn shuffles_round_trip_and_match_reference() {
        for ts in [1usize, 2, 3, 4, 7, 8, 15, 16, 33] {
            for len in [0usize, 1, 5, 8, 63, 64, 100, 128, 1000, 1024, 4099] {
                let src: Vec<u8> = (0..len).map(|i| (i * 37 + i / 5) as u8).collect();
                let mut a = vec![0; len];
                let mut b = vec![0; len];
                shuffle(ts, &src, &mut a);
                // Reference: byte j of element i goes to j * n + i; trailing bytes stay.
                let n = len / ts;
                let mut want = src.clone();
                for i in 0..n {
                    for j in 0..ts {
                        want[j * n + i] = src[i * ts + j];
                    }
                }
                assert_eq!(a, want, "shuffle ts {ts} len {len}");
                unshuffle(ts, &a, &mut b);
                assert_eq!(b, src);
                bitshuffle(ts, &src, &mut a);
                assert_eq!(a, naive_bitshuffle(ts, &src), "ts {ts} len {len}");
                bitunshuffle(ts, &a, &mut b);
                assert_eq!(b, src);
            }
        }
        let src: Vec<u8> = (0..16u8).collect();
        let mut a = vec![0; 16];
        shuffle(4, &src, &mut a);
        assert_eq!(a, [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]);
    }
}
