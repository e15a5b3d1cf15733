//! Fixed-accuracy quantisation: elements <-> the integers the tile coder sees.
//!
//! Integers: `q = floor((x + E) / (2E + 1))`, decoded as `q * (2E + 1)` clamped to the type's range, so
//! `|x - x'| <= E` and `E = 0` is the identity. Floats: `q = round(x / step)` with `step = 2E`; the encoder
//! reconstructs every element exactly as the decoder will (f64 product, then rounding to the element type) and
//! moves `q` by one when rounding pushed the error past `E`; an element no `q` can serve is an error.

use crate::format::{Header, Mode};
use crate::{ArrayBuf, ArrayRef, CodecError, DType};

/// Quantised floats must fit this range (the raw tile form stores them as i32).
const MAX_Q: i64 = i32::MAX as i64;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Quantiser {
    Int { step: i64, e: i64, lo: i64, hi: i64 },
    Float { step: f64, e: f64 },
}

impl Quantiser {
    pub fn new(data: ArrayRef<'_>, abs_error: f64) -> Result<Self, CodecError> {
        let dtype = data.dtype();
        if let Some((lo, hi)) = dtype.int_range() {
            // Integer data: the usable bound is the integer part of E.
            let e = abs_error.floor().min(((u32::MAX as u64 - 1) / 2) as f64) as i64;
            return Ok(Quantiser::Int { step: 2 * e + 1, e, lo, hi });
        }
        debug_assert!(abs_error > 0.0, "lossless floats take the exact path");
        // Guard: reconstruction rounds q * step to the element type, which can add half an ulp of the largest
        // value (plus the f64 product's own rounding); shrink the step so that half a step plus that stays <= E.
        let max_abs = match data {
            ArrayRef::F32(v) => v.iter().filter(|x| x.is_finite()).fold(0f64, |m, &x| m.max((x as f64).abs())),
            ArrayRef::F64(v) => v.iter().filter(|x| x.is_finite()).fold(0f64, |m, &x| m.max(x.abs())),
            _ => 0.0,
        };
        let ulp = if dtype == DType::F32 { f32::EPSILON as f64 } else { f64::EPSILON };
        let guard = max_abs * (ulp + 4.0 * f64::EPSILON);
        let step = 2.0 * (abs_error - guard);
        if step <= 0.0 {
            return Err(CodecError::InvalidParams(format!(
                "abs_error {abs_error:e} is below the float precision of the data (largest |value| {max_abs:e})"
            )));
        }
        if !step.is_finite() {
            return Err(CodecError::InvalidParams(format!("abs_error {abs_error:e} is too large")));
        }
        Ok(Quantiser::Float { step, e: abs_error })
    }

    pub fn from_header(h: &Header) -> Result<Self, CodecError> {
        match (h.mode, h.dtype.int_range()) {
            (Mode::Int { step }, Some((lo, hi))) => {
                let step = step as i64;
                Ok(Quantiser::Int { step, e: (step - 1) / 2, lo, hi })
            }
            (Mode::FloatQuant { step }, None) => Ok(Quantiser::Float { step, e: step / 2.0 }),
            _ => Err(CodecError::Corrupt { what: "mode does not match dtype", offset: 6 }),
        }
    }

    pub fn mode(&self) -> Mode {
        match *self {
            Quantiser::Int { step, .. } => Mode::Int { step: step as u64 },
            Quantiser::Float { step, .. } => Mode::FloatQuant { step },
        }
    }

    /// The quantised integers of the tile `(r0, c0, tr, tc)` of a row-major array with `cols` columns, into `out`
    /// (cleared first).
    #[allow(clippy::too_many_arguments)]
    pub fn quantise_region(
        &self,
        data: ArrayRef<'_>,
        cols: usize,
        r0: usize,
        c0: usize,
        tr: usize,
        tc: usize,
        out: &mut Vec<i64>,
    ) -> Result<(), CodecError> {
        out.clear();
        out.reserve(tr * tc);
        match (*self, data) {
            // (Row by row with `extend`, which vectorises: a push per element cost 6 instructions per sample.)
            (Quantiser::Int { step: 1, .. }, d) => match d {
                ArrayRef::I16(v) => widen(region_rows(v, cols, (r0, c0, tr, tc)), out),
                ArrayRef::U16(v) => widen(region_rows(v, cols, (r0, c0, tr, tc)), out),
                ArrayRef::I32(v) => widen(region_rows(v, cols, (r0, c0, tr, tc)), out),
                _ => unreachable!("integer quantiser is built for integer dtypes only"),
            },
            (Quantiser::Int { step, e, .. }, d) => {
                let q = |x: i64| (x + e).div_euclid(step);
                match d {
                    ArrayRef::I16(v) => region(v, cols, r0, c0, tr, tc, |x| out.push(q(x as i64))),
                    ArrayRef::U16(v) => region(v, cols, r0, c0, tr, tc, |x| out.push(q(x as i64))),
                    ArrayRef::I32(v) => region(v, cols, r0, c0, tr, tc, |x| out.push(q(x as i64))),
                    _ => unreachable!("integer quantiser is built for integer dtypes only"),
                }
            }
            (Quantiser::Float { step, e }, ArrayRef::F32(v)) => {
                let mut err = None;
                region(v, cols, r0, c0, tr, tc, |x| {
                    match quantise_float(x as f64, step, e, |q| (q as f64 * step) as f32 as f64) {
                        Ok(q) => out.push(q),
                        Err(why) => {
                            err.get_or_insert((x as f64, why));
                            out.push(0)
                        }
                    }
                });
                self.check(err, data, cols, r0, c0, tr, tc)?;
            }
            (Quantiser::Float { step, e }, ArrayRef::F64(v)) => {
                let mut err = None;
                region(v, cols, r0, c0, tr, tc, |x| match quantise_float(x, step, e, |q| q as f64 * step) {
                    Ok(q) => out.push(q),
                    Err(why) => {
                        err.get_or_insert((x, why));
                        out.push(0)
                    }
                });
                self.check(err, data, cols, r0, c0, tr, tc)?;
            }
            _ => unreachable!("float quantiser is built for float dtypes only"),
        }
        Ok(())
    }

    /// Turns a failed element into an error naming its index in the whole array.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        err: Option<(f64, &'static str)>,
        data: ArrayRef<'_>,
        cols: usize,
        r0: usize,
        c0: usize,
        tr: usize,
        tc: usize,
    ) -> Result<(), CodecError> {
        let Some((value, why)) = err else { return Ok(()) };
        let bound = match *self {
            Quantiser::Float { e, .. } => e,
            Quantiser::Int { e, .. } => e as f64,
        };
        // Find the first offending element again to report its index.
        let mut index = r0 * cols + c0;
        'outer: for r in r0..r0 + tr {
            for c in c0..c0 + tc {
                let v = match data {
                    ArrayRef::F32(v) => v[r * cols + c] as f64,
                    ArrayRef::F64(v) => v[r * cols + c],
                    _ => break 'outer,
                };
                if v.to_bits() == value.to_bits() || (v.is_nan() && value.is_nan()) {
                    index = r * cols + c;
                    break 'outer;
                }
            }
        }
        if !value.is_finite() {
            return Err(CodecError::NonFinite { index, value });
        }
        Err(CodecError::Unrepresentable { index, value, bound, why })
    }

    /// Writes decoded integers of a tile into `out` (row-major, `cols` columns) at `(r0, c0)`.
    /// Fails when a lossless integer falls outside the element type (only a corrupt stream does that).
    #[allow(clippy::too_many_arguments)]
    pub fn scatter(
        &self,
        plane: &[i64],
        out: &mut ArrayBuf,
        cols: usize,
        r0: usize,
        c0: usize,
        tr: usize,
        tc: usize,
    ) -> Result<(), ()> {
        match (*self, out) {
            (Quantiser::Int { step: 1, lo, hi, .. }, out) => {
                // Lossless: the values must already be in range (only a corrupt stream has others). The ranges of
                // the integer types span a power of two, so a value is in range when its offset from `lo` has no
                // bit above the span's: an OR over the plane, in shifts and ORs that vectorise even on baseline
                // x86-64 (which has no 64-bit compare), then plain conversions.
                let span = (hi - lo + 1) as u64;
                debug_assert!(span.is_power_of_two());
                let above =
                    plane.iter().fold(0u64, |acc, &q| acc | (q.wrapping_sub(lo) as u64) >> span.trailing_zeros());
                if above != 0 {
                    return Err(());
                }
                match out {
                    ArrayBuf::I16(o) => place(o, plane, cols, r0, c0, tr, tc, |q| q as i16),
                    ArrayBuf::U16(o) => place(o, plane, cols, r0, c0, tr, tc, |q| q as u16),
                    ArrayBuf::I32(o) => place(o, plane, cols, r0, c0, tr, tc, |q| q as i32),
                    _ => return Err(()),
                }
                Ok(())
            }
            (Quantiser::Int { step, lo, hi, .. }, out) => {
                // Quantised values are clamped (which only reduces error).
                let conv = |q: i64| q.wrapping_mul(step).clamp(lo, hi);
                match out {
                    ArrayBuf::I16(o) => place(o, plane, cols, r0, c0, tr, tc, |q| conv(q) as i16),
                    ArrayBuf::U16(o) => place(o, plane, cols, r0, c0, tr, tc, |q| conv(q) as u16),
                    ArrayBuf::I32(o) => place(o, plane, cols, r0, c0, tr, tc, |q| conv(q) as i32),
                    _ => return Err(()),
                }
                Ok(())
            }
            (Quantiser::Float { step, .. }, ArrayBuf::F32(o)) => {
                place(o, plane, cols, r0, c0, tr, tc, |q| (q as f64 * step) as f32);
                Ok(())
            }
            (Quantiser::Float { step, .. }, ArrayBuf::F64(o)) => {
                place(o, plane, cols, r0, c0, tr, tc, |q| q as f64 * step);
                Ok(())
            }
            _ => Err(()),
        }
    }
}

/// `v.round()` (halves away from zero) as an integer, or `None` when that is above `limit` in magnitude or `v` is
/// NaN. `limit + 0.5` must be exact and below 2^52. A truncating conversion and a comparison, because `f64::round`
/// is a library call on baseline x86-64 (it needs SSE4.1): once per element it was the largest single cost of
/// analysing and quantising floats.
#[inline(always)]
pub(crate) fn round_within(v: f64, limit: f64) -> Option<i64> {
    if v.is_nan() || v.abs() >= limit + 0.5 {
        return None;
    }
    Some(round_small(v))
}

/// `v.round()` as an integer for |v| < 2^52.
#[inline(always)]
pub(crate) fn round_small(v: f64) -> i64 {
    let t = v as i64;
    // Exact: |v| < 2^52, so its fraction is a float too.
    let f = v - t as f64;
    // Flags, not branches: for an element that is exactly k times the scale, v = x / scale lands just above or just
    // below k at random, so a branch on the fraction was mispredicted half the time (11 ns per element against 2).
    t + (f >= 0.5) as i64 - (f <= -0.5) as i64
}

/// Quantises one float so that the decoder's reconstruction `recon(q)` is within `e` of `x`.
fn quantise_float(x: f64, step: f64, e: f64, recon: impl Fn(i64) -> f64) -> Result<i64, &'static str> {
    if !x.is_finite() {
        return Err("not finite");
    }
    let Some(q) = round_within(x / step, MAX_Q as f64) else {
        return Err("the value is too large for this error bound (more than 2^31 steps)");
    };
    for cand in [q, q - 1, q + 1] {
        if cand.abs() <= MAX_Q && (x - recon(cand)).abs() <= e {
            return Ok(cand);
        }
    }
    Err("the bound is finer than the float precision of this value")
}

fn region<T: Copy>(v: &[T], cols: usize, r0: usize, c0: usize, tr: usize, tc: usize, mut f: impl FnMut(T)) {
    region_rows(v, cols, (r0, c0, tr, tc)).for_each(|row| row.iter().for_each(|&x| f(x)));
}

/// The rows of the region `(r0, c0, tr, tc)` of a row-major array `cols` wide.
fn region_rows<T>(v: &[T], cols: usize, (r0, c0, tr, tc): Region) -> impl Iterator<Item = &[T]> {
    (r0..r0 + tr).map(move |r| &v[r * cols + c0..r * cols + c0 + tc])
}

/// A region's first row, first column, rows and columns.
type Region = (usize, usize, usize, usize);

/// Appends the integers of `rows` to `out`, unchanged.
fn widen<'a, T: Copy + Into<i64> + 'a>(rows: impl Iterator<Item = &'a [T]>, out: &mut Vec<i64>) {
    for row in rows {
        out.extend(row.iter().map(|&x| x.into()));
    }
}

#[allow(clippy::too_many_arguments)]
fn place<T>(
    o: &mut [T],
    plane: &[i64],
    cols: usize,
    r0: usize,
    c0: usize,
    tr: usize,
    tc: usize,
    mut f: impl FnMut(i64) -> T,
) {
    for (i, r) in (r0..r0 + tr).enumerate() {
        let dst = &mut o[r * cols + c0..r * cols + c0 + tc];
        for (d, &q) in dst.iter_mut().zip(&plane[i * tc..(i + 1) * tc]) {
            *d = f(q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::round_within;

    /// The reference: `f64::round`, then the limit.
    fn reference(v: f64, limit: f64) -> Option<i64> {
        let r = v.round();
        (!r.is_nan() && r.abs() <= limit).then_some(r as i64)
    }

    #[test]
    fn round_within_is_f64_round_with_a_limit() {
        let limit = (1u64 << 30) as f64;
        let mut values = vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN_POSITIVE];
        for base in [0.0, 1.0, 2.0, 7.0, 1e6, limit - 1.0, limit, limit + 1.0, 4503599627370495.0] {
            for d in [0.0, 0.25, 0.5, 0.75] {
                let v = base + d;
                // The halves and their float neighbours (0.49999999999999994 rounds to 0, 0.5 to 1).
                values.extend([v, f64::from_bits(v.to_bits().wrapping_sub(1)), f64::from_bits(v.to_bits() + 1)]);
            }
        }
        let mut s = 12345u64;
        for _ in 0..100_000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            values.push(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2.0 * 1.5 * limit);
        }
        for v in values.iter().flat_map(|&v| [v, -v]) {
            assert_eq!(round_within(v, limit), reference(v, limit), "v = {v:e}");
            let q = i32::MAX as f64;
            assert_eq!(round_within(v, q), reference(v, q), "v = {v:e}, limit 2^31 - 1");
        }
    }
}
