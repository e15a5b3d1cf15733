//! Reversible 5/3 integer lifting wavelet with symmetric boundary extension (as in JPEG 2000 lossless).
//!
//! One level on a sequence of length `n >= 2` produces `ceil(n/2)` low-pass values followed by `floor(n/2)`
//! high-pass values:
//! `d[i] = x[2i+1] - floor((x[2i] + x[2i+2]) / 2)`, `s[i] = x[2i] + floor((d[i-1] + d[i] + 2) / 4)`, with the
//! mirror extensions `x[n] = x[n-2]`, `d[-1] = d[0]` and `d[nh] = d[nh-1]`. A sequence of length 0 or 1 is left
//! as it is. Arithmetic wraps, so a decoder fed garbage never panics.

use alloc::vec;
use alloc::vec::Vec;

/// One forward level on `x` read and written with `stride`; `tmp` is scratch of at least `n` elements.
fn forward_strided(x: &mut [i64], n: usize, stride: usize, tmp: &mut [i64]) {
    if n < 2 {
        return;
    }
    let nl = n.div_ceil(2);
    let nh = n / 2;
    let at = |x: &[i64], i: usize| x[i * stride];
    let (low, high) = tmp[..n].split_at_mut(nl);
    for (i, h) in high.iter_mut().enumerate().take(nh) {
        let right = if 2 * i + 2 < n { at(x, 2 * i + 2) } else { at(x, 2 * i) };
        *h = at(x, 2 * i + 1).wrapping_sub(at(x, 2 * i).wrapping_add(right) >> 1);
    }
    for i in 0..nl {
        let dl = high[if i > 0 { i - 1 } else { 0 }];
        let dr = high[if i < nh { i } else { nh - 1 }];
        low[i] = at(x, 2 * i).wrapping_add(dl.wrapping_add(dr).wrapping_add(2) >> 2);
    }
    for (i, &v) in tmp[..n].iter().enumerate() {
        x[i * stride] = v;
    }
}

/// Inverse of [`forward_strided`].
fn inverse_strided(x: &mut [i64], n: usize, stride: usize, tmp: &mut [i64]) {
    if n < 2 {
        return;
    }
    let nl = n.div_ceil(2);
    let nh = n / 2;
    let out = &mut tmp[..n];
    let s = |i: usize| x[i * stride];
    let d = |i: usize| x[(nl + i) * stride];
    for i in 0..nl {
        let dl = d(if i > 0 { i - 1 } else { 0 });
        let dr = d(if i < nh { i } else { nh - 1 });
        out[2 * i] = s(i).wrapping_sub(dl.wrapping_add(dr).wrapping_add(2) >> 2);
    }
    for i in 0..nh {
        let right = if 2 * i + 2 < n { out[2 * i + 2] } else { out[2 * i] };
        out[2 * i + 1] = d(i).wrapping_add(out[2 * i].wrapping_add(right) >> 1);
    }
    for (i, &v) in out.iter().enumerate() {
        x[i * stride] = v;
    }
}

/// One forward level on a contiguous sequence.
pub fn forward_1d(x: &mut [i64]) {
    let n = x.len();
    let mut tmp = vec![0; n];
    forward_strided(x, n, 1, &mut tmp);
}

/// One inverse level on a contiguous sequence.
pub fn inverse_1d(x: &mut [i64]) {
    let n = x.len();
    let mut tmp = vec![0; n];
    inverse_strided(x, n, 1, &mut tmp);
}

/// Size of the low-pass region after `levels` levels on length `n`.
pub fn low_len(mut n: usize, levels: u32) -> usize {
    for _ in 0..levels {
        if n < 2 {
            break;
        }
        n = n.div_ceil(2);
    }
    n
}

/// A rectangle `rows x cols` at `(row0, col0)` of a plane: one subband.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub row0: usize,
    pub col0: usize,
    pub rows: usize,
    pub cols: usize,
}

/// Forward 2-D transform of a `rows x cols` row-major plane: `lt` levels along time (columns of the plane) and
/// `lx` levels along space (rows), Mallat layout (each level splits the current low-pass region). Level `j` applies
/// a time step if `j < lt` and a space step if `j < lx`.
pub fn forward_2d(x: &mut [i64], rows: usize, cols: usize, lt: u32, lx: u32) {
    let (mut r, mut c) = (rows, cols);
    let mut tmp = vec![0i64; rows.max(cols)];
    for level in 0..lt.max(lx) {
        if level < lx && c >= 2 {
            for row in 0..r {
                forward_strided(&mut x[row * cols..], c, 1, &mut tmp);
            }
        }
        if level < lt && r >= 2 {
            for col in 0..c {
                forward_strided(&mut x[col..], r, cols, &mut tmp);
            }
        }
        if level < lx {
            c = low_len(c, 1);
        }
        if level < lt {
            r = low_len(r, 1);
        }
    }
}

/// Inverse of [`forward_2d`] with the same parameters.
pub fn inverse_2d(x: &mut [i64], rows: usize, cols: usize, lt: u32, lx: u32) {
    let levels = lt.max(lx);
    // Region sizes before each level.
    let mut sizes = Vec::with_capacity(levels as usize);
    let (mut r, mut c) = (rows, cols);
    for level in 0..levels {
        sizes.push((r, c));
        if level < lx {
            c = low_len(c, 1);
        }
        if level < lt {
            r = low_len(r, 1);
        }
    }
    let mut tmp = vec![0i64; rows.max(cols)];
    for level in (0..levels).rev() {
        let (r, c) = sizes[level as usize];
        if level < lt && r >= 2 {
            for col in 0..c {
                inverse_strided(&mut x[col..], r, cols, &mut tmp);
            }
        }
        if level < lx && c >= 2 {
            for row in 0..r {
                inverse_strided(&mut x[row * cols..], c, 1, &mut tmp);
            }
        }
    }
}

/// The subbands of a plane after [`forward_2d`], coarsest (the final low-pass) first. Empty bands are omitted.
pub fn bands(rows: usize, cols: usize, lt: u32, lx: u32) -> Vec<Band> {
    let mut out = Vec::new();
    let (mut r, mut c) = (rows, cols);
    for level in 0..lt.max(lx) {
        let nr = if level < lt { low_len(r, 1) } else { r };
        let nc = if level < lx { low_len(c, 1) } else { c };
        // Detail bands of this level: (low rows, high cols), (high rows, low cols), (high rows, high cols).
        let detail = [
            Band { row0: 0, col0: nc, rows: nr, cols: c - nc },
            Band { row0: nr, col0: 0, rows: r - nr, cols: nc },
            Band { row0: nr, col0: nc, rows: r - nr, cols: c - nc },
        ];
        out.extend(detail.into_iter().filter(|b| b.rows > 0 && b.cols > 0));
        r = nr;
        c = nc;
    }
    if r > 0 && c > 0 {
        out.push(Band { row0: 0, col0: 0, rows: r, cols: c });
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_d_round_trips_every_small_length() {
        for n in 0..40usize {
            let orig: Vec<i64> = (0..n as i64).map(|i| (i * 7919) % 1013 - 500).collect();
            let mut x = orig.clone();
            forward_1d(&mut x);
            inverse_1d(&mut x);
            assert_eq!(x, orig, "n = {n}");
        }
    }

    #[test]
    fn smooth_signal_gives_small_details() {
        let mut x: Vec<i64> = (0..64).map(|i| 3 * i + 10).collect();
        forward_1d(&mut x);
        // Interior details vanish on a linear ramp; the last one sees the mirrored edge.
        assert!(x[32..63].iter().all(|&d| d == 0), "{:?}", &x[32..]);
    }

    #[test]
    fn bands_tile_the_plane() {
        for &(rows, cols, lt, lx) in &[(7, 5, 2, 1), (1, 9, 3, 3), (16, 16, 2, 2), (3, 1, 0, 4), (5, 6, 0, 0)] {
            let bands = bands(rows, cols, lt, lx);
            let area: usize = bands.iter().map(|b| b.rows * b.cols).sum();
            assert_eq!(area, rows * cols, "{rows}x{cols} lt={lt} lx={lx}");
        }
    }
}
