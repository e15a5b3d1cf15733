//! Lossless float arrays (stream modes 2 and 3).
//!
//! Many DAS files store floats that are really integer counts, or counts times one scale factor. Mode 2 finds that
//! scale `s` and codes `k = round(x / s)` with the integer codec; the decoder computes `float(k) * float(s)` in the
//! element type, and the elements for which that is not bit-exact (other rounding paths, -0.0, NaN, infinities)
//! travel as exceptions with their exact bits. Mode 3 codes genuine floats, per tile, in the smallest of five
//! variants: the order-preserving integer map of their bits as integer planes (float32: one i32 plane; float64:
//! the high and low 32-bit halves, since only the high half is predictable), a float-domain prediction, the byte
//! planes through zstd or through an order-0 rANS coder, and the prediction of all but the low byte with the low
//! bytes order-0 coded. Both modes reproduce every bit.

use crate::bytes::{put_varint, Cursor};
use crate::quant::{round_small, round_within};
use crate::tile::{self, RawKind, TileConfig};
use crate::{ArrayBuf, ArrayRef, CodecError, DType};
use daspack_entropy::bytes::{self as byte_coder, BytesError};
use std::ops::Range;

/// Largest |k| coded as an integer in mode 2; larger ones are exceptions.
const MAX_K: f64 = (1u64 << 30) as f64;
/// Largest correction (in units in the last place) kept in the correction plane.
const MAX_ULP: i64 = 1 << 20;
/// Elements examined when looking for the scale.
const ANALYSIS_SAMPLES: usize = 1 << 16;
/// Elements each candidate scale is tried on before the finalists are counted on all examined elements.
const PRE_SAMPLES: usize = 2048;
/// Candidate scales counted on all examined elements.
const FINALISTS: usize = 3;
/// Elements whose scale intervals locate a float32 array's double-precision scale.
const REFINE_SAMPLES: usize = 8192;
/// A float32 finalist scale is refined to a double-precision one only when it fits at least this fraction.
const F64_SEARCH_MIN_FIT: f64 = 0.2;
/// A scale found from the common divisor of the smallest magnitudes must fit at least this fraction.
const CLEAN_FIT: f64 = 0.99;
/// Mode 2 is chosen when at least this fraction of the examined elements fits the scale bit-exactly.
const MIN_FIT: f64 = 0.5;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum FloatExact {
    /// Mode 2: `x = float(k) * scale` (for float32 the scale is a float32 value).
    Scaled { scale: f64 },
    /// Mode 3: order-preserving integer map of the bits.
    Bits,
}

fn values(data: ArrayRef<'_>) -> Vec<f64> {
    let n = data.len();
    let step = n.div_ceil(ANALYSIS_SAMPLES).max(1);
    match data {
        ArrayRef::F32(v) => v.iter().step_by(step).map(|&x| x as f64).collect(),
        ArrayRef::F64(v) => v.iter().step_by(step).copied().collect(),
        _ => Vec::new(),
    }
}

/// `float(k) * scale` as the decoder computes it: in the element type, except for float32 elements with a scale
/// that is no float32 value, whose product is computed in f64 and then rounded to float32 (data converted to
/// float32 after a double-precision calibration, like sentek's, fits no float32 scale).
#[inline(always)]
fn recon(dtype: DType, k: i64, scale: f64) -> f64 {
    match dtype {
        DType::F32 if (scale as f32) as f64 == scale => ((k as f32) * (scale as f32)) as f64,
        DType::F32 => ((k as f64) * scale) as f32 as f64,
        _ => (k as f64) * scale,
    }
}

#[inline(always)]
fn fits(dtype: DType, x: f64, scale: f64) -> Option<i64> {
    // Without branches on the element (they went either way at random while candidate scales were counted): `v` out
    // of range (or NaN) is replaced by 0 for the arithmetic and fails `in_range`.
    let v = x / scale;
    let in_range = v.abs() < MAX_K + 0.5;
    let k = round_small(if in_range { v } else { 0.0 });
    let r = recon(dtype, k, scale);
    // Bit equality: -0.0 and NaN never fit, so they become exceptions.
    let exact = (r.to_bits() == x.to_bits()) & (dtype == DType::F64 || (r as f32).to_bits() == (x as f32).to_bits());
    (in_range & exact).then_some(k)
}

/// For float32 elements `x` (given as f64) that are `float32(k * s)` with `k` an integer and `s` a double near
/// `approx`: the scale that the most elements allow. Each element allows the interval of scales whose product with
/// its `k = round(x / approx)` rounds to `x`; the answer is the middle of the stretch covered by the most intervals.
/// `None` when no element constrains the scale or the scale found is a float32 value (the float32 product serves it).
fn f64_scale_near(sample: &[f64], approx: f64) -> Option<f64> {
    let mut ends: Vec<(f64, i32)> = Vec::with_capacity(2 * sample.len());
    for &x in sample {
        let k = match round_within(x / approx, MAX_K) {
            Some(k) if x.is_finite() && k != 0 => k as f64,
            _ => continue,
        };
        let f = x as f32;
        let (down, up) = (f32::from_bits(f.to_bits().wrapping_sub(1)), f32::from_bits(f.to_bits() + 1));
        if !down.is_finite() || !up.is_finite() || f == 0.0 {
            continue;
        }
        // The rounding interval of x, halfway to its neighbours, divided by k.
        let (a, b) = ((x + down as f64) / 2.0 / k, (x + up as f64) / 2.0 / k);
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        ends.push((a, 1));
        ends.push((b, -1));
    }
    // Ends before starts at equal positions: intervals that only touch do not overlap.
    ends.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
    let (mut depth, mut best) = (0i32, (0i32, None));
    for w in ends.windows(2) {
        depth += w[0].1;
        if depth > best.0 && w[1].0 > w[0].0 {
            best = (depth, Some(w[0].0 + (w[1].0 - w[0].0) / 2.0));
        }
    }
    best.1.filter(|&s| s.is_finite() && s > 0.0 && (s as f32) as f64 != s)
}

/// Candidates for the exact double-precision scale `s` of float64 elements `x = k * s` near an approximate `approx`:
/// for the elements of largest `|k| = |round(x / approx)|` among the first 256 (the quotient's rounding error is
/// then smallest relative to `s`), `x / k` and the two doubles on either side of it.
fn f64_quotients_near(sample: &[f64], approx: f64) -> Vec<f64> {
    let mut pairs: Vec<(f64, f64)> = sample
        .iter()
        .take(256)
        .filter_map(|&x| round_within(x / approx, MAX_K).filter(|&k| k != 0 && x.is_finite()).map(|k| (x, k as f64)))
        .collect();
    pairs.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let mut out = Vec::new();
    for &(x, k) in pairs.iter().take(4) {
        let q = x / k;
        if !(q.is_finite() && q > 0.0) {
            continue;
        }
        for d in -2i64..=2 {
            let c = f64::from_bits((q.to_bits() as i64 + d) as u64);
            if c.is_finite() && c > 0.0 && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// `ordered(x) - ordered(r)` when both are finite and it is at most [`MAX_ULP`] in magnitude.
#[inline(always)]
fn ulp_offset(dtype: DType, x_bits: u64, r: f64) -> Option<i64> {
    let d = match dtype {
        DType::F32 => {
            let x = f32::from_bits(x_bits as u32);
            let r = r as f32;
            if !x.is_finite() || !r.is_finite() {
                return None;
            }
            ordered32(x.to_bits()) as i64 - ordered32(r.to_bits()) as i64
        }
        _ => {
            let x = f64::from_bits(x_bits);
            if !x.is_finite() || !r.is_finite() {
                return None;
            }
            let d = ordered64(x_bits) as i128 - ordered64(r.to_bits()) as i128;
            if d.abs() > MAX_ULP as i128 {
                return None;
            }
            d as i64
        }
    };
    (d.abs() <= MAX_ULP).then_some(d)
}

/// The `n` smallest distinct finite non-zero magnitudes of `values`, in increasing order (one pass: sorting every
/// magnitude to find a few cost more than the rest of the analysis).
fn smallest_magnitudes(values: &[f64], n: usize) -> Vec<f64> {
    let mut smallest: Vec<f64> = Vec::with_capacity(n + 1);
    for m in values.iter().map(|x| x.abs()) {
        if !(m.is_finite() && m > 0.0) || smallest.len() == n && m >= smallest[n - 1] {
            continue;
        }
        if let Err(at) = smallest.binary_search_by(|p| p.total_cmp(&m)) {
            smallest.insert(at, m);
            smallest.truncate(n);
        }
    }
    smallest
}

/// The largest `g` of which every one of `mags` (positive, ascending) is an integer multiple to within float
/// rounding, when the smallest is at most [`MAX_DIVISOR_MULTIPLE`] times `g`: the first `k` for which every
/// `m / (mags[0] / k)` is within 0.01 of an integer. (Euclid's algorithm on floats amplifies the rounding errors of
/// the values by its quotients at every step.) Seven unrelated values all pass for a wrong `k` with a chance of
/// 0.02^7; the products' relative rounding error (2^-24 for float32) stays under 0.01 up to multiples of 10^4.
/// Then `g = sum(m) / sum(round(m / g))`, which averages the rounding errors away.
fn common_divisor(mags: &[f64]) -> Option<f64> {
    let m0 = *mags.first()?;
    let k = (1..=MAX_DIVISOR_MULTIPLE).find(|&k| {
        let g = m0 / k as f64;
        mags.iter().all(|&m| ((m / g) - (m / g).round()).abs() <= 0.01)
    })?;
    let g = m0 / k as f64;
    let g = mags.iter().sum::<f64>() / mags.iter().map(|&m| (m / g).round()).sum::<f64>();
    (g.is_finite() && g > 0.0).then_some(g)
}

/// The largest multiple of the common divisor that [`common_divisor`] looks for in the smallest magnitude.
const MAX_DIVISOR_MULTIPLE: u32 = 4096;

/// True for powers of two and values within float rounding of one: every binary float in a range of 2^30 of its
/// ulp is an integer multiple of one, so such a scale says nothing about the data.
fn near_power_of_two(v: f64) -> bool {
    let l = v.log2();
    (l - l.round()).abs() < 1e-9
}

impl FloatExact {
    /// Chooses the mode for a float array: the scale (1.0 first, then candidates from the smallest magnitudes) that
    /// fits most elements bit-exactly, if it fits enough of them; otherwise the bit map.
    pub fn analyse(data: ArrayRef<'_>) -> Self {
        let dtype = data.dtype();
        let sample = values(data);
        // Integers are common, and 1 is the first candidate: when it fits every sampled element the search below
        // ranks it first (none can fit more, and the earlier wins ties) and counts no other on the whole sample.
        if !sample.is_empty() && sample.iter().all(|&x| fits(dtype, x, 1.0).is_some()) {
            return FloatExact::Scaled { scale: 1.0 };
        }
        let mags = smallest_magnitudes(&sample, 8);
        if mags.is_empty() {
            return if sample.iter().all(|&x| x == 0.0 && x.to_bits() == 0) {
                FloatExact::Scaled { scale: 1.0 }
            } else {
                FloatExact::Bits
            };
        }
        let mut candidates = vec![1.0f64];
        for &m in &mags {
            for j in 1..=3 {
                let s = m / j as f64;
                let s = if dtype == DType::F32 { s as f32 as f64 } else { s };
                if s > 0.0 && s.is_finite() && !candidates.contains(&s) {
                    candidates.push(s);
                }
            }
        }
        // Every candidate is tried on a sub-sample first; only the best few are counted on the whole sample (each
        // count is a division per element, and up to 25 candidates made the analysis cost more than the coding of
        // small files).
        let count = |s: f64, step: usize| sample.iter().step_by(step).filter(|&&x| fits(dtype, x, s).is_some()).count();
        let pre_step = (sample.len() / PRE_SAMPLES).max(1);
        let mut ranked: Vec<(usize, f64)> = candidates.iter().map(|&s| (count(s, pre_step), s)).collect();
        // Most fits first; the sort is stable, so among equals the earlier candidate stays first.
        ranked.sort_by_key(|&(fits, _)| std::cmp::Reverse(fits));
        // A finalist that fits under half of F64_SEARCH_MIN_FIT of the sub-sample can neither be chosen (MIN_FIT)
        // nor refined: it is not counted on the whole sample (genuine floats: a tenth of their compression time).
        let pre_len = sample.len().div_ceil(pre_step) as f64;
        let hopeless = |pre: usize| (pre as f64) < F64_SEARCH_MIN_FIT / 2.0 * pre_len;
        // Once a finalist fits every element no later one can replace it (a later one must fit more), and neither
        // the refinements below nor their counts are needed: the rest are not counted.
        let mut best = (0usize, 1.0);
        let mut finalists: Vec<(usize, f64)> = Vec::with_capacity(FINALISTS);
        for &(pre, s) in ranked.iter().take(FINALISTS) {
            let n = if hopeless(pre) || best.0 == sample.len() { 0 } else { count(s, 1) };
            if n > best.0 {
                best = (n, s);
            }
            finalists.push((n, s));
        }
        if dtype == DType::F32 && best.0 < sample.len() {
            // Float32 data scaled in double precision fits no float32 scale exactly; look for the f64 scale near
            // each finalist (on a sub-sample: the scale is pinned down long before 2^16 intervals). The float32
            // scale nearest a double one still fits a good part of such data (74 % of sentek's, at least a third for
            // any scale: the products differ by at most about half an ulp). Finalists under 20 % are not refined:
            // genuine floats fit small scales only through their small elements (terra15_treble 13 %), and the
            // search (a sort of 16384 interval ends) was a tenth of their analysis and coding.
            let sub: Vec<f64> = sample.iter().step_by((sample.len() / REFINE_SAMPLES).max(1)).copied().collect();
            let promising = finalists.iter().filter(|&&(n, _)| n as f64 >= F64_SEARCH_MIN_FIT * sample.len() as f64);
            for s in promising.filter_map(|&(_, s)| f64_scale_near(&sub, s)) {
                let n = count(s, 1);
                if n > best.0 {
                    best = (n, s);
                }
            }
        }
        if (best.0 as f64) < CLEAN_FIT * sample.len() as f64 {
            // Integers without small ones (wide-ranging counts: no |k| <= 3 among the smallest magnitudes) have no
            // candidate above; their common divisor approximates the scale, and the exact scale lies next to it:
            // the float32 nearest, the double-precision scale the intervals of float32 elements share, or for
            // float64 a quotient `x / k`. A double-precision scale found approximately (a magnitude divided by 2 or
            // 3) is made exact likewise. Held to a stricter standard (nearly every element fits, and not a power of
            // two, of which every binary float with a narrow enough range is a multiple): a scale that fits only
            // part of genuine floats codes them larger than their bits do (irpinia: 1.08 instead of 1.21).
            let divisor = common_divisor(&mags);
            let approximate: Vec<f64> = match dtype {
                DType::F64 => finalists.iter().map(|&(_, s)| s).chain(divisor).collect(),
                _ => divisor.into_iter().collect(),
            };
            let sub: Vec<f64> = sample.iter().step_by((sample.len() / REFINE_SAMPLES).max(1)).copied().collect();
            for a in approximate.into_iter().filter(|&a| !near_power_of_two(a)) {
                let near: Vec<f64> = match dtype {
                    DType::F64 => f64_quotients_near(&sub, a),
                    _ => [a as f32 as f64].into_iter().chain(f64_scale_near(&sub, a)).collect(),
                };
                let Some((pre, s)) = near.iter().map(|&c| (count(c, pre_step), c)).max_by_key(|&(n, _)| n) else {
                    continue;
                };
                // On the sub-sample, twice the misfits the whole may have (a sample's share varies).
                if (pre as f64) < (1.0 - 2.0 * (1.0 - CLEAN_FIT)) * pre_len || near_power_of_two(s) {
                    continue;
                }
                let n = count(s, 1);
                if n > best.0 && n as f64 >= CLEAN_FIT * sample.len() as f64 {
                    best = (n, s);
                }
            }
        }
        if best.0 as f64 >= MIN_FIT * sample.len() as f64 {
            FloatExact::Scaled { scale: best.1 }
        } else {
            FloatExact::Bits
        }
    }

    /// Encodes the tile `(r0, c0, tr, tc)` of a float array with `cols` columns.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_tile(
        &self,
        data: ArrayRef<'_>,
        cols: usize,
        r0: usize,
        c0: usize,
        tr: usize,
        tc: usize,
        cfg: &TileConfig,
        scratch: &mut tile::Scratch,
    ) -> Vec<u8> {
        let dtype = data.dtype();
        // The tile's bits in tile order, gathered once: every variant reads them several times.
        let mut bits: Vec<u64> = Vec::with_capacity(tr * tc);
        for r in r0..r0 + tr {
            let row = r * cols + c0..r * cols + c0 + tc;
            match data {
                ArrayRef::F32(v) => bits.extend(v[row].iter().map(|x| x.to_bits() as u64)),
                ArrayRef::F64(v) => bits.extend(v[row].iter().map(|x| x.to_bits())),
                _ => bits.resize(bits.len() + tc, 0),
            }
        }
        let n = tr * tc;
        let cfg = TileConfig { raw: RawKind::I32, ..*cfg };
        let mut out = Vec::new();
        // (Only the kept coding's tables count for the stream's version.)
        let before = scratch.take_laws();
        match *self {
            FloatExact::Scaled { scale } => {
                let mut scaled = Vec::new();
                let mut plane = Vec::with_capacity(n);
                let mut corr = Vec::with_capacity(n);
                let mut exceptions = Vec::new();
                match dtype {
                    DType::F32 => split_scaled(DType::F32, &bits, scale, &mut plane, &mut corr, &mut exceptions),
                    _ => split_scaled(DType::F64, &bits, scale, &mut plane, &mut corr, &mut exceptions),
                }
                put_varint(&mut scaled, exceptions.len() as u64);
                let mut prev = 0usize;
                for &i in &exceptions {
                    put_varint(&mut scaled, (i - prev) as u64);
                    prev = i + 1;
                    scaled.extend_from_slice(&bits[i].to_le_bytes()[..dtype.size()]);
                }
                let k_tile = tile::encode_tile(&mut plane, tr, tc, &cfg, scratch);
                put_varint(&mut scaled, k_tile.len() as u64);
                scaled.extend_from_slice(&k_tile);
                scaled.extend_from_slice(&tile::encode_tile(&mut corr, tr, tc, &cfg, scratch));
                // A tile the scale does not serve (many exceptions) must not grow: it takes the bit forms instead,
                // whose plane form is never more than the raw bytes plus a few.
                if scaled.len() <= n * dtype.size() {
                    out.push(SCALED_TILE);
                    out.extend_from_slice(&scaled);
                } else {
                    scratch.take_laws();
                    out.push(BITS_TILE);
                    encode_bits_tile(dtype, tr, tc, &bits, &cfg, &mut out, scratch);
                }
            }
            FloatExact::Bits => encode_bits_tile(dtype, tr, tc, &bits, &cfg, &mut out, scratch),
        }
        scratch.table_laws |= before;
        out
    }

    /// Decodes a tile of `tr x tc` elements.
    pub fn decode_tile(
        &self,
        bytes: &[u8],
        base: usize,
        dtype: DType,
        tr: usize,
        tc: usize,
    ) -> Result<ArrayBuf, CodecError> {
        let n = tr * tc;
        let mut cur = Cursor::new(bytes, base);
        let mut out_bits: Vec<u64> = match *self {
            FloatExact::Scaled { scale } => match cur.u8("scaled tile form")? {
                BITS_TILE => decode_bits_tile(&mut cur, base, dtype, tr, tc)?,
                SCALED_TILE => decode_scaled(&mut cur, base, dtype, scale, n, tr, tc)?,
                _ => return Err(CodecError::Corrupt { what: "scaled tile form", offset: base }),
            },
            FloatExact::Bits => decode_bits_tile(&mut cur, base, dtype, tr, tc)?,
        };
        out_bits.truncate(n);
        Ok(match dtype {
            DType::F32 => ArrayBuf::F32(out_bits.iter().map(|&b| f32::from_bits(b as u32)).collect()),
            _ => ArrayBuf::F64(out_bits.iter().map(|&b| f64::from_bits(b)).collect()),
        })
    }
}

/// Splits a tile's elements (`bits`) into the integer plane `k`, the plane of corrections in units in the last
/// place, and the indices of the exceptions, whose corrections are 0. Called with `dtype` a constant, so that the
/// loop is compiled once per element type.
#[inline(always)]
fn split_scaled(
    dtype: DType,
    bits: &[u64],
    scale: f64,
    plane: &mut Vec<i64>,
    corr: &mut Vec<i64>,
    exceptions: &mut Vec<usize>,
) {
    let mut last = 0i64;
    for (i, &b) in bits.iter().enumerate() {
        let x = value_of(dtype, b);
        let k = round_within(x / scale, MAX_K).unwrap_or(last);
        last = k;
        plane.push(k);
        let r = recon(dtype, k, scale);
        // Most elements are reproduced exactly: their correction is 0 without the ordered-integer distance.
        let exact = match dtype {
            DType::F32 => (r as f32).to_bits() == b as u32 && (r as f32).is_finite(),
            _ => r.to_bits() == b && r.is_finite(),
        };
        if exact {
            corr.push(0);
            continue;
        }
        // Elements off by a few ulps (another rounding path) keep the integer and a small correction; anything else
        // (NaN, infinities, far-off values) travels as exact bits.
        match ulp_offset(dtype, b, r) {
            Some(d) => corr.push(d),
            None => {
                corr.push(0);
                exceptions.push(i);
            }
        }
    }
}

/// The scaled-integer form of a mode-2 tile: exceptions, then the k and d planes.
#[allow(clippy::too_many_arguments)]
fn decode_scaled(
    cur: &mut Cursor,
    base: usize,
    dtype: DType,
    scale: f64,
    n: usize,
    tr: usize,
    tc: usize,
) -> Result<Vec<u64>, CodecError> {
    let nexc = cur.varint("exception count")?;
    if nexc > n as u64 {
        return Err(CodecError::Corrupt { what: "exception count", offset: base });
    }
    // Reserve only what the bytes can hold (an exception takes at least 1 + element size bytes).
    let mut exceptions = Vec::with_capacity((nexc as usize).min(cur.rest().len() / (1 + dtype.size())));
    let mut next = 0u64;
    for _ in 0..nexc {
        let i = next.checked_add(cur.varint("exception index")?).filter(|&i| i < n as u64);
        let i = i.ok_or(CodecError::Corrupt { what: "exception index", offset: base + cur.pos() })?;
        let b = cur.take(dtype.size(), "exception value")?;
        let mut v = [0u8; 8];
        v[..b.len()].copy_from_slice(b);
        exceptions.push((i as usize, u64::from_le_bytes(v)));
        next = i + 1;
    }
    let k_len = cur.varint("integer plane length")?;
    let k_len =
        usize::try_from(k_len).map_err(|_| CodecError::Corrupt { what: "integer plane length", offset: base })?;
    let at = base + cur.pos();
    let plane = tile::decode_tile(cur.take(k_len, "integer plane")?, at, tr, tc, RawKind::I32)?;
    let at = base + cur.pos();
    let corr = tile::decode_tile(cur.rest(), at, tr, tc, RawKind::I32)?;
    let mut out: Vec<u64> = plane
        .iter()
        .zip(&corr)
        .map(|(&k, &d)| {
            let d = d.clamp(-MAX_ULP, MAX_ULP);
            match dtype {
                DType::F32 => {
                    let r = (recon(dtype, k, scale) as f32).to_bits();
                    unordered32((ordered32(r) as i64).wrapping_add(d) as i32) as u64
                }
                _ => unordered64(ordered64(((k as f64) * scale).to_bits()).wrapping_add(d)),
            }
        })
        .collect();
    for (i, b) in exceptions {
        out[i] = b;
    }
    Ok(out)
}

/// Mode 2 tiles start with one of these: scaled integers, or the mode-3 forms.
const SCALED_TILE: u8 = 0;
const BITS_TILE: u8 = 1;

/// The mode-3 tile: a variant byte, then the smallest coding of the bits among the variants.
///
/// Coding every variant in full cost about five times one coding. On a tile much taller than [`TRIAL_ELEMENTS`],
/// every variant is first coded on a band of rows from the middle of the tile, and only the (at most
/// [`MAX_FINALISTS`]) variants within [`FINALIST_MARGIN`] of the smallest trial are coded in full, variants 1 and 4
/// counting as one of which only one is coded in full (see [`HIGH_MARGIN`]).
fn encode_bits_tile(
    dtype: DType,
    tr: usize,
    tc: usize,
    bits: &[u64],
    cfg: &TileConfig,
    out: &mut Vec<u8>,
    scratch: &mut tile::Scratch,
) {
    let before = scratch.take_laws();
    let mut finalists = VARIANTS.to_vec();
    let trial_rows = TRIAL_ELEMENTS.div_ceil(tc.max(1)).max(TRIAL_MIN_ROWS);
    if trial_rows * 2 <= tr {
        let r0 = (tr - trial_rows) / 2;
        let band = &bits[r0 * tc..(r0 + trial_rows) * tc];
        // The trial codes its bit planes as a trial (predictors chosen by residual energy, fitted on fewer
        // samples): the same finalists on every corpus tile, and variant 0's trial took 0.21 ms instead of 0.35-0.44
        // on terra15_v5.
        let trial_cfg = TileConfig { by_energy: true, ..*cfg };
        let mut trial = Variants::new(dtype, trial_rows, tc, band, &trial_cfg, scratch);
        let sizes: Vec<usize> = VARIANTS.iter().map(|&v| trial.encode(v).map_or(usize::MAX, |b| b.0.len())).collect();
        let smallest = sizes.iter().copied().min().unwrap_or(0) as f64;
        let trial_of = |v: u8| sizes[v as usize] as f64;
        // Of the two predicted variants only one is coded in full (see HIGH_MARGIN).
        let predicted_left_out =
            if trial_of(VARIANT_PREDICTED_HIGH) <= trial_of(VARIANT_PREDICTED) * (1.0 + HIGH_MARGIN) {
                VARIANT_PREDICTED
            } else {
                VARIANT_PREDICTED_HIGH
            };
        let mut ranked: Vec<(usize, u8)> = sizes.into_iter().zip(VARIANTS).collect();
        ranked.sort();
        // Variants 1 and 4 share their prediction, so the second of them costs little: they count as one.
        let family = |v: u8| if v == VARIANT_PREDICTED_HIGH { VARIANT_PREDICTED } else { v };
        let mut families: Vec<u8> = Vec::new();
        for (size, v) in ranked {
            if size as f64 <= smallest * (1.0 + FINALIST_MARGIN)
                && !families.contains(&family(v))
                && families.len() < MAX_FINALISTS
            {
                families.push(family(v));
            }
        }
        if families.len() > 1 {
            // The bit planes are the costliest variant to code (the integer coder's choice among five predictors,
            // fitted on a 23-tap neighbourhood): beside another finalist they are left out. On terra15_v5 they came
            // within 0.2 % of the float prediction in the trial and lost to it by 0.6 % on the tile, at 30 % of the
            // compression time.
            families.retain(|&f| f != VARIANT_PLANES);
        }
        finalists =
            VARIANTS.iter().copied().filter(|&v| families.contains(&family(v)) && v != predicted_left_out).collect();
    }
    let mut full = Variants::new(dtype, tr, tc, bits, cfg, scratch);
    let best =
        finalists.into_iter().filter_map(|v| full.encode(v).map(|body| (v, body))).min_by_key(|(_, b)| b.0.len());
    // The finalists may all be predicted variants that the whole tile cannot use (a NaN prediction outside the
    // trial band); the bit planes always can.
    let (variant, (body, laws)) = match best {
        Some(best) => best,
        None => {
            scratch.take_laws();
            let planes = encode_bit_planes(dtype, tr, tc, bits, cfg, scratch);
            (VARIANT_PLANES, (planes, scratch.take_laws()))
        }
    };
    scratch.table_laws = before | laws;
    out.push(variant);
    out.extend_from_slice(&body);
}

/// Elements of the trial band of [`encode_bits_tile`] (rounded up to whole rows, at least [`TRIAL_MIN_ROWS`]).
/// (2^13 until 87d0e03: 2^12 chose the same variants on every corpus tile, and compressed terra15_v5 at 131 MB/s
/// instead of 116; 2^11 coded it 0.6 % larger.)
const TRIAL_ELEMENTS: usize = 1 << 12;
const TRIAL_MIN_ROWS: usize = 16;
/// A variant whose trial is at most this much larger than the smallest is also coded in full (the trial band is
/// a sample, and variants that differ by less than this swap places from band to band).
const FINALIST_MARGIN: f64 = 0.005;
/// At most this many variants are coded in full (the smallest trials first; variants 1 and 4 count as one).
const MAX_FINALISTS: usize = 2;
/// Variant 4 is coded in full instead of variant 1 unless its trial is larger by more than this share. They share
/// their prediction and differ in the low byte: variant 4 codes it apart, paying for its table, which weighs more in
/// a trial band than in the tile. Coding both in full cost 0.6 ms of terra15_v5's 2.7; coding only this one changed
/// the corpus by +31 bytes (terra15_v5, 0.01 %), where the smaller trial alone would have chosen variant 1 on
/// treble and porotomo f64, 0.14 % and 0.2 % larger.
const HIGH_MARGIN: f64 = 0.005;

/// The codings of one tile's bits; the float prediction shared by variants 1 and 4 is computed once.
struct Variants<'a> {
    dtype: DType,
    tr: usize,
    tc: usize,
    bits: &'a [u64],
    cfg: &'a TileConfig,
    prediction: Option<Prediction>,
    scratch: &'a mut tile::Scratch,
}

impl<'a> Variants<'a> {
    fn new(
        dtype: DType,
        tr: usize,
        tc: usize,
        bits: &'a [u64],
        cfg: &'a TileConfig,
        scratch: &'a mut tile::Scratch,
    ) -> Self {
        Variants { dtype, tr, tc, bits, cfg, prediction: None, scratch }
    }

    /// The body of `variant`, and whether one of its tables is a law; `None` for the predicted variants when a
    /// prediction is NaN (see [`Prediction::portable`]).
    fn encode(&mut self, variant: u8) -> Option<(Vec<u8>, bool)> {
        let (dtype, tr, tc, bits, cfg) = (self.dtype, self.tr, self.tc, self.bits, self.cfg);
        self.scratch.take_laws();
        let body = match variant {
            VARIANT_PLANES => encode_bit_planes(dtype, tr, tc, bits, cfg, self.scratch),
            VARIANT_SHUFFLED_ZSTD => encode_shuffled(dtype, bits),
            VARIANT_BYTE_PLANES => encode_byte_planes(dtype, bits),
            _ => {
                let p = self.prediction.get_or_insert_with(|| new_prediction(dtype, tc, bits));
                if !p.portable {
                    return None;
                }
                p.encode(tr, tc, bits, cfg, variant == VARIANT_PREDICTED_HIGH, self.scratch)
            }
        };
        Some((body, self.scratch.take_laws()))
    }
}

fn decode_bits_tile(cur: &mut Cursor, base: usize, dtype: DType, tr: usize, tc: usize) -> Result<Vec<u64>, CodecError> {
    match cur.u8("float variant")? {
        VARIANT_PLANES => decode_bit_planes(cur, base, dtype, tr, tc),
        VARIANT_PREDICTED => decode_predicted(cur, base, dtype, tr, tc, false),
        VARIANT_SHUFFLED_ZSTD => decode_shuffled(cur.rest(), base, dtype, tr * tc),
        VARIANT_BYTE_PLANES => decode_byte_planes(cur, base, dtype, tr * tc),
        VARIANT_PREDICTED_HIGH => decode_predicted(cur, base, dtype, tr, tc, true),
        _ => Err(CodecError::Corrupt { what: "float variant", offset: base }),
    }
}

/// Mode 3 tile variants.
const VARIANT_PLANES: u8 = 0;
const VARIANT_PREDICTED: u8 = 1;
const VARIANT_SHUFFLED_ZSTD: u8 = 2;
const VARIANT_BYTE_PLANES: u8 = 3;
const VARIANT_PREDICTED_HIGH: u8 = 4;
/// In the order of preference between codings of equal size.
const VARIANTS: [u8; 5] =
    [VARIANT_PLANES, VARIANT_PREDICTED, VARIANT_SHUFFLED_ZSTD, VARIANT_BYTE_PLANES, VARIANT_PREDICTED_HIGH];
/// zstd level of the byte-plane variant (noise-like floats: higher levels gain little and cost much time).
const ZSTD_LEVEL: i32 = 9;

/// Variant 2: the element bytes split into planes (byte 0 of every element, then byte 1, ...), then zstd. For
/// floats whose mantissas are noise this beats modelling them as numbers.
fn encode_shuffled(dtype: DType, bits: &[u64]) -> Vec<u8> {
    let (size, n) = (dtype.size(), bits.len());
    let mut planes = vec![0u8; n * size];
    for (i, b) in bits.iter().enumerate() {
        let b = b.to_le_bytes();
        for j in 0..size {
            planes[j * n + i] = b[j];
        }
    }
    zstd::bulk::compress(&planes, ZSTD_LEVEL).unwrap_or_else(|_| vec![0xFF; n * size + 64])
}

fn decode_shuffled(body: &[u8], base: usize, dtype: DType, n: usize) -> Result<Vec<u64>, CodecError> {
    let size = dtype.size();
    // The frame must hold exactly n * size bytes; zstd refuses to write past that capacity.
    let planes = zstd::bulk::decompress(body, n * size)
        .ok()
        .filter(|p| p.len() == n * size)
        .ok_or(CodecError::Corrupt { what: "zstd byte planes", offset: base })?;
    Ok((0..n)
        .map(|i| {
            let mut b = [0u8; 8];
            for j in 0..size {
                b[j] = planes[j * n + i];
            }
            u64::from_le_bytes(b)
        })
        .collect())
}

/// Variant 3: the element bytes split into planes as in variant 2, each plane coded on its own by the order-0
/// byte coder ([`byte_coder`]).
fn encode_byte_planes(dtype: DType, bits: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut plane = Vec::with_capacity(bits.len());
    for j in 0..dtype.size() {
        plane.clear();
        plane.extend(bits.iter().map(|&w| (w >> (8 * j)) as u8));
        byte_coder::encode(&plane, &mut out);
    }
    out
}

/// Reads one byte plane of `n` bytes coded by [`byte_coder::encode`].
fn read_byte_plane(cur: &mut Cursor, base: usize, n: usize, plane: &mut Vec<u8>) -> Result<(), CodecError> {
    let at = base + cur.pos();
    let used = byte_coder::decode(cur.rest(), n, plane).map_err(|e| match e {
        BytesError::Truncated => CodecError::Truncated { what: "byte plane", offset: at },
        BytesError::Invalid => CodecError::Corrupt { what: "byte plane", offset: at },
    })?;
    cur.take(used, "byte plane")?;
    Ok(())
}

fn decode_byte_planes(cur: &mut Cursor, base: usize, dtype: DType, n: usize) -> Result<Vec<u64>, CodecError> {
    let mut plane = Vec::new();
    read_byte_plane(cur, base, n, &mut plane)?;
    let mut words: Vec<u64> = plane.iter().map(|&b| b as u64).collect();
    for j in 1..dtype.size() {
        read_byte_plane(cur, base, n, &mut plane)?;
        words.iter_mut().zip(&plane).for_each(|(w, &b)| *w |= (b as u64) << (8 * j));
    }
    if !cur.rest().is_empty() {
        return Err(CodecError::Corrupt { what: "bytes after the byte planes", offset: base + cur.pos() });
    }
    Ok(words)
}

fn encode_bit_planes(
    dtype: DType,
    tr: usize,
    tc: usize,
    bits: &[u64],
    cfg: &TileConfig,
    scratch: &mut tile::Scratch,
) -> Vec<u8> {
    let mut out = Vec::new();
    if dtype == DType::F32 {
        let mut plane: Vec<i64> = bits.iter().map(|&b| ordered32(b as u32) as i64).collect();
        out.extend_from_slice(&tile::encode_tile(&mut plane, tr, tc, cfg, scratch));
    } else {
        let ord: Vec<i64> = bits.iter().map(|&b| ordered64(b)).collect();
        let mut hi: Vec<i64> = ord.iter().map(|&o| o >> 32).collect();
        let mut lo: Vec<i64> = ord.iter().map(|&o| o as u32 as i32 as i64).collect();
        let hi = tile::encode_tile(&mut hi, tr, tc, cfg, scratch);
        put_varint(&mut out, hi.len() as u64);
        out.extend_from_slice(&hi);
        out.extend_from_slice(&tile::encode_tile(&mut lo, tr, tc, cfg, scratch));
    }
    out
}

fn decode_bit_planes(
    cur: &mut Cursor,
    base: usize,
    dtype: DType,
    tr: usize,
    tc: usize,
) -> Result<Vec<u64>, CodecError> {
    if dtype == DType::F32 {
        let at = base + cur.pos();
        let plane = tile::decode_tile(cur.rest(), at, tr, tc, RawKind::I32)?;
        return Ok(plane.iter().map(|&v| unordered32(v as i32) as u64).collect());
    }
    let hi_len = cur.varint("high plane length")?;
    let hi_len =
        usize::try_from(hi_len).map_err(|_| CodecError::Corrupt { what: "high plane length", offset: base })?;
    let at = base + cur.pos();
    let hi = tile::decode_tile(cur.take(hi_len, "high plane")?, at, tr, tc, RawKind::I32)?;
    let at = base + cur.pos();
    let lo = tile::decode_tile(cur.rest(), at, tr, tc, RawKind::I32)?;
    Ok(hi.iter().zip(&lo).map(|(&h, &l)| unordered64((h << 32) | (l as u32 as i64))).collect())
}

/// Float-domain predictors of sample `(t, c)` from already known samples (as f64 values of the element type).
/// 0 N: previous time sample; 1 W: previous channel; 2 Lorenzo: N + W - NW; 3 Linear: 2N - NN; 4 Fitted:
/// `sum w_i v_i` over (N, W, NW, NE, NN, WW) with least-squares weights stored in the tile, summed in that order,
/// where the neighbourhood is complete. Elsewhere: W on the first row, N in the first column (and for 4 at the
/// other edges), 0 for the first sample.
const PREDICTORS: u8 = 5;
const FITTED: u8 = 4;
const FIT_TAPS: usize = 6;

#[inline(always)]
fn fitted_taps(x: &[f64], t: usize, c: usize, cols: usize) -> [f64; FIT_TAPS] {
    let at = |t: usize, c: usize| x[t * cols + c];
    [at(t - 1, c), at(t, c - 1), at(t - 1, c - 1), at(t - 1, c + 1), at(t - 2, c), at(t, c - 2)]
}

#[inline(always)]
fn float_prediction(which: u8, w: &[f64; FIT_TAPS], x: &[f64], t: usize, c: usize, cols: usize, dtype: DType) -> u64 {
    let at = |t: usize, c: usize| x[t * cols + c];
    let p = if t == 0 {
        if c == 0 {
            0.0
        } else {
            at(0, c - 1)
        }
    } else if c == 0 && which != 3 || which == 0 {
        at(t - 1, c)
    } else {
        match which {
            1 => at(t, c - 1),
            2 => (at(t - 1, c) + at(t, c - 1)) - at(t - 1, c - 1),
            3 if t >= 2 => 2.0 * at(t - 1, c) - at(t - 2, c),
            FITTED if t >= 2 && c >= 2 && c + 1 < cols => {
                let v = fitted_taps(x, t, c, cols);
                let mut acc = 0.0;
                for i in 0..FIT_TAPS {
                    acc += w[i] * v[i];
                }
                acc
            }
            _ => at(t - 1, c),
        }
    };
    ordered_prediction(p, dtype) as u64
}

/// The columns of row `t` where [`float_prediction`] takes its full formula (no edge), which
/// [`interior_prediction`] then computes without the edge tests.
fn interior_columns(which: u8, t: usize, cols: usize) -> Range<usize> {
    match which {
        0 if t >= 1 => 0..cols,
        1 | 2 if t >= 1 => 1..cols,
        3 if t >= 2 => 0..cols,
        FITTED if t >= 2 && cols >= 4 => 2..cols - 1,
        _ => 0..0,
    }
}

/// [`float_prediction`] of the element at linear index `i` inside [`interior_columns`], before the conversion to
/// an ordered integer: the same operations in the same order, so the same bits.
#[inline(always)]
fn interior_prediction<const WHICH: u8>(w: &[f64; FIT_TAPS], x: &[f64], i: usize, cols: usize) -> f64 {
    match WHICH {
        0 => x[i - cols],
        1 => x[i - 1],
        2 => (x[i - cols] + x[i - 1]) - x[i - cols - 1],
        3 => 2.0 * x[i - cols] - x[i - 2 * cols],
        _ => {
            let v = [x[i - cols], x[i - 1], x[i - cols - 1], x[i - cols + 1], x[i - 2 * cols], x[i - 2]];
            let mut acc = 0.0;
            for k in 0..FIT_TAPS {
                acc += w[k] * v[k];
            }
            acc
        }
    }
}

/// A float prediction as an ordered integer of the element type.
#[inline(always)]
fn ordered_prediction(p: f64, dtype: DType) -> i64 {
    match dtype {
        DType::F32 => ordered32((p as f32).to_bits()) as i64,
        _ => ordered64(p.to_bits()),
    }
}

/// [`float_prediction`] at `(t, c)`, whose row's [`interior_columns`] are `inner`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn prediction_at<const WHICH: u8>(
    w: &[f64; FIT_TAPS],
    x: &[f64],
    t: usize,
    c: usize,
    cols: usize,
    inner: &Range<usize>,
    dtype: DType,
) -> i64 {
    if inner.contains(&c) {
        ordered_prediction(interior_prediction::<WHICH>(w, x, t * cols + c, cols), dtype)
    } else {
        float_prediction(WHICH, w, x, t, c, cols, dtype) as i64
    }
}

/// Calls `$f::<W>(args)` with the float predictor `which` as the constant `W`: each predictor gets a loop of its
/// own, with no per-element test of which one it is.
macro_rules! by_predictor {
    ($which:expr, $f:ident($($arg:expr),*)) => {
        match $which {
            0 => $f::<0>($($arg),*),
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            _ => $f::<FITTED>($($arg),*),
        }
    };
}

/// The sum of the residual bit lengths of every `step`-th element (from the first) predicted by `WHICH` (called
/// through [`by_predictor`]).
#[inline(always)]
fn predictor_cost<const WHICH: u8>(
    w: &[f64; FIT_TAPS],
    x: &[f64],
    ords: &[i64],
    cols: usize,
    step: usize,
    dtype: DType,
) -> u64 {
    let (mut cost, mut t, mut c) = (0u64, 0usize, 0usize);
    let mut inner = interior_columns(WHICH, 0, cols);
    for &o in ords.iter().step_by(step) {
        // (t, c) follows i without a division per element.
        while c >= cols {
            c -= cols;
            t += 1;
            inner = interior_columns(WHICH, t, cols);
        }
        let p = prediction_at::<WHICH>(w, x, t, c, cols, &inner, dtype);
        cost += 64 - o.wrapping_sub(p).unsigned_abs().leading_zeros() as u64;
        c += step;
    }
    cost
}

/// Every element's [`float_prediction`] by `which`, row by row (`x` holds all `rows * cols` values).
#[inline(always)]
fn predict_all(which: u8, w: &[f64; FIT_TAPS], x: &[f64], rows: usize, cols: usize, dtype: DType) -> Vec<i64> {
    by_predictor!(which, predict_all_by(w, x, rows, cols, dtype))
}

#[inline(always)]
fn predict_all_by<const WHICH: u8>(w: &[f64; FIT_TAPS], x: &[f64], rows: usize, cols: usize, dtype: DType) -> Vec<i64> {
    let mut preds = Vec::with_capacity(rows * cols);
    for t in 0..rows {
        let inner = interior_columns(WHICH, t, cols);
        preds.extend((0..cols).map(|c| prediction_at::<WHICH>(w, x, t, c, cols, &inner, dtype)));
    }
    preds
}

#[inline(always)]
fn value_of(dtype: DType, b: u64) -> f64 {
    match dtype {
        DType::F32 => f32::from_bits(b as u32) as f64,
        _ => f64::from_bits(b),
    }
}

#[inline(always)]
fn ordered_of(dtype: DType, b: u64) -> i64 {
    match dtype {
        DType::F32 => ordered32(b as u32) as i64,
        _ => ordered64(b),
    }
}

/// The float-domain prediction of a tile for variants 1 and 4: the predictor chosen, its weights, and every
/// element's prediction as an ordered integer.
pub(crate) struct Prediction {
    which: u8,
    w: [f64; FIT_TAPS],
    ords: Vec<i64>,
    preds: Vec<i64>,
    /// No prediction is NaN. IEEE 754 leaves open which NaN an operation on NaNs (or `inf - inf`) returns, and
    /// processors and compilers differ (x86 propagates an operand's, AArch64 may return the default NaN): a decoder
    /// could predict other bits than the encoder did, so such a tile takes a variant without float arithmetic.
    portable: bool,
}

crate::simd::avx2_dispatch! {
    /// [`Prediction::new`], on AVX2 when the CPU has it. (Floating-point results do not change: the compiler keeps
    /// every operation and its order, and contracts no multiply-add into a fused one.)
    fn new_prediction(dtype: DType, tc: usize, bits: &[u64]) -> Prediction => prediction_of
}

#[inline(always)]
fn prediction_of(dtype: DType, tc: usize, bits: &[u64]) -> Prediction {
    Prediction::new(dtype, tc, bits)
}

impl Prediction {
    #[inline(always)]
    fn new(dtype: DType, tc: usize, bits: &[u64]) -> Self {
        let n = bits.len();
        let tr = n / tc.max(1);
        let vals: Vec<f64> = bits.iter().map(|&b| value_of(dtype, b)).collect();
        let ords: Vec<i64> = bits.iter().map(|&b| ordered_of(dtype, b)).collect();
        let w = fit_weights(&vals, tr, tc);
        // The predictor with the smallest sum of residual bit lengths over (a sample of) the elements.
        let step = n.div_ceil(PREDICTOR_SAMPLES).max(1);
        let mut best = (u64::MAX, 0u8);
        for which in 0..PREDICTORS {
            if which == FITTED && w.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let cost = by_predictor!(which, predictor_cost(&w, &vals, &ords, tc, step, dtype));
            if cost < best.0 {
                best = (cost, which);
            }
        }
        let which = best.1;
        let preds = predict_all(which, &w, &vals, tr, tc, dtype);
        let portable = !preds.iter().any(|&o| match dtype {
            DType::F32 => f32::from_bits(unordered32(o as i32)).is_nan(),
            _ => f64::from_bits(unordered64(o)).is_nan(),
        });
        Prediction { which, w, ords, preds, portable }
    }

    /// Variant 1 codes `order(x) - order(pred)`; variant 4 (`high`) codes the residual of `order(x) >> 8` against
    /// the rounded `order(pred) >> 8`, and the low bytes of the bits with the order-0 byte coder: those bits are
    /// below the noise of any prediction, but they are not uniform (computed floats end in zero bits more often
    /// than not), and subtracting a prediction would mix that structure away.
    fn encode(
        &self,
        tr: usize,
        tc: usize,
        bits: &[u64],
        cfg: &TileConfig,
        high: bool,
        scratch: &mut tile::Scratch,
    ) -> Vec<u8> {
        let mut resid: Vec<i64> = if high {
            self.ords.iter().zip(&self.preds).map(|(&o, &p)| (o >> 8).wrapping_sub(p.wrapping_add(128) >> 8)).collect()
        } else {
            self.ords.iter().zip(&self.preds).map(|(&o, &p)| o.wrapping_sub(p)).collect()
        };
        // The residuals are already decorrelated: code them with contexts only (no further prediction).
        let cfg = TileConfig {
            raw: RawKind::I64,
            auto: false,
            lt: 0,
            lx: 0,
            shape: tile::Shape { time: 0, space: 0, cross: 0 },
            ..*cfg
        };
        let mut out = vec![self.which];
        if self.which == FITTED {
            self.w.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
        let plane = tile::encode_tile(&mut resid, tr, tc, &cfg, scratch);
        if high {
            put_varint(&mut out, plane.len() as u64);
            out.extend_from_slice(&plane);
            let low: Vec<u8> = bits.iter().map(|&b| b as u8).collect();
            byte_coder::encode(&low, &mut out);
        } else {
            out.extend_from_slice(&plane);
        }
        out
    }
}

/// Elements on which the float predictors are compared. (2^16 until 5d0eefe; 2^14 chose the same predictors on
/// every tile of the corpus, and compressed terra15_v5 at 103 MB/s instead of 99, one thread.)
const PREDICTOR_SAMPLES: usize = 1 << 14;
/// Interior elements the fitted float predictor's weights are fitted on. (2^16 until 5d0eefe. With 2^14:
/// porotomo_daspy_example_f64 16823595 -> 16783291 bytes, terra15_v5 247980 -> 248065, the others unchanged;
/// terra15_v5 compressed at 113 MB/s instead of 103.)
const FIT_WEIGHT_SAMPLES: usize = 1 << 14;

/// Least-squares weights of the fitted float predictor on (a sample of) the tile; NaN when there is nothing to fit.
// Row operations on two rows of one matrix read clearest with indices.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn fit_weights(x: &[f64], tr: usize, tc: usize) -> [f64; FIT_TAPS] {
    let mut a = [[0f64; FIT_TAPS]; FIT_TAPS];
    let mut b = [0f64; FIT_TAPS];
    let mut n = 0usize;
    if tr > 2 && tc > 3 {
        let step = ((tr - 2) * (tc - 3)).div_ceil(FIT_WEIGHT_SAMPLES).max(1);
        // Every step-th position (the k-th for k a multiple of step, counting from 1), by a countdown: a remainder
        // per position was most of the fit's time.
        let mut countdown = step;
        for t in 2..tr {
            for c in 2..tc - 1 {
                countdown -= 1;
                if countdown != 0 {
                    continue;
                }
                countdown = step;
                let v = fitted_taps(x, t, c, tc);
                let y = x[t * tc + c];
                if !y.is_finite() || v.iter().any(|e| !e.is_finite()) {
                    continue;
                }
                for i in 0..FIT_TAPS {
                    b[i] += v[i] * y;
                    for j in 0..FIT_TAPS {
                        a[i][j] += v[i] * v[j];
                    }
                }
                n += 1;
            }
        }
    }
    if n < 4 * FIT_TAPS {
        return [f64::NAN; FIT_TAPS];
    }
    // Gaussian elimination with partial pivoting and a tiny ridge.
    let trace: f64 = (0..FIT_TAPS).map(|i| a[i][i]).sum();
    for (i, row) in a.iter_mut().enumerate() {
        row[i] += trace * 1e-12 + f64::MIN_POSITIVE;
    }
    for col in 0..FIT_TAPS {
        let piv = (col..FIT_TAPS).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs())).unwrap_or(col);
        a.swap(col, piv);
        b.swap(col, piv);
        if a[col][col] == 0.0 {
            return [f64::NAN; FIT_TAPS];
        }
        for r in col + 1..FIT_TAPS {
            let f = a[r][col] / a[col][col];
            for k in col..FIT_TAPS {
                a[r][k] -= f * a[col][k];
            }
            b[r] -= f * b[col];
        }
    }
    let mut w = [0f64; FIT_TAPS];
    for i in (0..FIT_TAPS).rev() {
        let s: f64 = (i + 1..FIT_TAPS).map(|k| a[i][k] * w[k]).sum();
        w[i] = (b[i] - s) / a[i][i];
    }
    w
}

fn decode_predicted(
    cur: &mut Cursor,
    base: usize,
    dtype: DType,
    tr: usize,
    tc: usize,
    high: bool,
) -> Result<Vec<u64>, CodecError> {
    let which = cur.u8("float predictor")?;
    if which >= PREDICTORS {
        return Err(CodecError::Corrupt { what: "float predictor", offset: base + cur.pos() });
    }
    let mut w = [0f64; FIT_TAPS];
    if which == FITTED {
        for v in w.iter_mut() {
            let b = cur.take(8, "predictor weight")?;
            *v = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        }
    }
    let n = tr * tc;
    let (resid, low) = if high {
        let len = cur.varint("residual plane length")?;
        let len = usize::try_from(len)
            .map_err(|_| CodecError::Corrupt { what: "residual plane length", offset: base + cur.pos() })?;
        let at = base + cur.pos();
        let resid = tile::decode_tile(cur.take(len, "residual plane")?, at, tr, tc, RawKind::I64)?;
        let mut low = Vec::new();
        read_byte_plane(cur, base, n, &mut low)?;
        if !cur.rest().is_empty() {
            return Err(CodecError::Corrupt { what: "bytes after the low byte plane", offset: base + cur.pos() });
        }
        (resid, low)
    } else {
        let at = base + cur.pos();
        (tile::decode_tile(cur.rest(), at, tr, tc, RawKind::I64)?, Vec::new())
    };
    Ok(reconstruct(which, &Residuals { resid: &resid, low: &low, high }, &w, tr, tc, dtype))
}

/// The decoded residual planes of a predicted tile (`low`: variant 4's low bytes).
struct Residuals<'a> {
    resid: &'a [i64],
    low: &'a [u8],
    high: bool,
}

/// Rebuilds the bits of a predicted tile element by element (each prediction reads elements rebuilt before it),
/// with the predictor `which` compiled in.
fn reconstruct(which: u8, r: &Residuals, w: &[f64; FIT_TAPS], tr: usize, tc: usize, dtype: DType) -> Vec<u64> {
    by_predictor!(which, reconstruct_by(r, w, tr, tc, dtype))
}

fn reconstruct_by<const WHICH: u8>(r: &Residuals, w: &[f64; FIT_TAPS], tr: usize, tc: usize, dtype: DType) -> Vec<u64> {
    let n = tr * tc;
    let mut vals = vec![0f64; n];
    let mut out = vec![0u64; n];
    for t in 0..tr {
        let inner = interior_columns(WHICH, t, tc);
        for c in 0..tc {
            let i = t * tc + c;
            let pred = prediction_at::<WHICH>(w, &vals, t, c, tc, &inner, dtype);
            let o = if r.high {
                // The low byte of `order(x)` is that of the bits, complemented for negative x.
                let hi = (pred.wrapping_add(128) >> 8).wrapping_add(r.resid[i]);
                let flip = if hi < 0 { 0xFF } else { 0 };
                hi.wrapping_shl(8) | (r.low[i] ^ flip) as i64
            } else {
                pred.wrapping_add(r.resid[i])
            };
            let b = match dtype {
                DType::F32 => unordered32(o as i32) as u64,
                _ => unordered64(o),
            };
            vals[i] = value_of(dtype, b);
            out[i] = b;
        }
    }
    out
}

/// Maps float32 bits to an i32 whose order is the float order (negative floats reversed); a bijection.
#[inline(always)]
fn ordered32(b: u32) -> i32 {
    let i = b as i32;
    if i < 0 {
        i ^ 0x7FFF_FFFF
    } else {
        i
    }
}

#[inline(always)]
fn unordered32(o: i32) -> u32 {
    (if o < 0 { o ^ 0x7FFF_FFFF } else { o }) as u32
}

#[inline(always)]
fn ordered64(b: u64) -> i64 {
    let i = b as i64;
    if i < 0 {
        i ^ 0x7FFF_FFFF_FFFF_FFFF
    } else {
        i
    }
}

#[inline(always)]
fn unordered64(o: i64) -> u64 {
    (if o < 0 { o ^ 0x7FFF_FFFF_FFFF_FFFF } else { o }) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row-wise predictions (encoder) and the per-predictor reconstruction (decoder) give exactly the bits of
    /// `float_prediction` at every element, for every predictor, on shapes with and without an interior, with
    /// specials (NaN, infinities, -0.0) among the values.
    #[test]
    fn interior_predictions_are_the_float_predictions() {
        let mut s = 99u64;
        let mut next = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            s >> 11
        };
        let w = [0.9, 0.4, -0.3, 0.05, -0.1, 0.02];
        for dtype in [DType::F32, DType::F64] {
            for (rows, cols) in [(1usize, 1usize), (1, 7), (5, 1), (2, 3), (3, 4), (6, 9), (9, 5)] {
                let vals: Vec<f64> = (0..rows * cols)
                    .map(|i| match next() % 40 {
                        0 if i % 7 == 3 => f64::NAN,
                        1 => f64::INFINITY,
                        2 => -0.0,
                        r => (r as f64 - 20.0) * 1.37 + (next() % 1000) as f64 * 1e-3,
                    })
                    .map(|v| if dtype == DType::F32 { v as f32 as f64 } else { v })
                    .collect();
                for which in 0..PREDICTORS {
                    let want: Vec<i64> = (0..rows * cols)
                        .map(|i| float_prediction(which, &w, &vals, i / cols, i % cols, cols, dtype) as i64)
                        .collect();
                    let got = predict_all(which, &w, &vals, rows, cols, dtype);
                    assert_eq!(got, want, "{dtype:?} {rows} x {cols}, predictor {which}");
                    let ords: Vec<i64> = vals.iter().map(|&v| ordered_prediction(v, dtype)).collect();
                    for step in [1usize, 2, 3, 7, 16] {
                        let want_cost: u64 = (0..rows * cols)
                            .step_by(step)
                            .map(|i| 64 - ords[i].wrapping_sub(want[i]).unsigned_abs().leading_zeros() as u64)
                            .sum();
                        let got_cost = by_predictor!(which, predictor_cost(&w, &vals, &ords, cols, step, dtype));
                        assert_eq!(got_cost, want_cost, "{dtype:?} {rows} x {cols}, predictor {which}, step {step}");
                    }
                    // Residuals against these predictions rebuild the values' bits.
                    let bits: Vec<u64> = vals
                        .iter()
                        .map(|&v| if dtype == DType::F32 { (v as f32).to_bits() as u64 } else { v.to_bits() })
                        .collect();
                    let resid: Vec<i64> =
                        bits.iter().zip(&want).map(|(&b, &p)| ordered_of(dtype, b).wrapping_sub(p)).collect();
                    let r = Residuals { resid: &resid, low: &[], high: false };
                    let rebuilt = reconstruct(which, &r, &w, rows, cols, dtype);
                    assert_eq!(rebuilt, bits, "{dtype:?} {rows} x {cols}, predictor {which}");
                }
            }
        }
    }

    #[test]
    fn bit_maps_are_bijective_and_monotone() {
        for b in [0u32, 1, 0x8000_0000, 0x8000_0001, 0x7F80_0000, 0xFF80_0000, 0x7FC0_1234, u32::MAX] {
            assert_eq!(unordered32(ordered32(b)), b);
        }
        let xs = [-1e30f32, -1.0, -1e-30, -0.0, 0.0, 1e-30, 1.0, 1e30];
        for w in xs.windows(2) {
            assert!(ordered32(w[0].to_bits()) < ordered32(w[1].to_bits()));
        }
        for b in [0u64, 1 << 63, u64::MAX, 0x7FF8_0000_0000_0001] {
            assert_eq!(unordered64(ordered64(b)), b);
        }
    }

    #[test]
    fn analysis_finds_integers_and_scales() {
        let ints: Vec<f32> = (0..1000).map(|i| ((i * 37) % 201 - 100) as f32).collect();
        assert_eq!(FloatExact::analyse(ArrayRef::F32(&ints)), FloatExact::Scaled { scale: 1.0 });
        let s = 2.005_387e-9_f32;
        let scaled: Vec<f32> = (0..1000).map(|i| (((i * 37) % 201 - 100) as f32) * s).collect();
        assert_eq!(FloatExact::analyse(ArrayRef::F32(&scaled)), FloatExact::Scaled { scale: s as f64 });
        // Calibrated in double precision, then stored as float32 (like sentek): no float32 scale fits, an f64 one does.
        let s64 = 0.556_884_954_772_f64;
        let calibrated: Vec<f32> = (0..5000).map(|i| (((i * 37) % 2001 - 1000) as f64 * s64) as f32).collect();
        match FloatExact::analyse(ArrayRef::F32(&calibrated)) {
            FloatExact::Scaled { scale } => {
                assert_ne!((scale as f32) as f64, scale);
                assert!(calibrated.iter().all(|&x| fits(DType::F32, x as f64, scale).is_some()));
            }
            other => panic!("{other:?}"),
        }
        let params = crate::Params { threads: 1, ..Default::default() };
        let stream = crate::compress(ArrayRef::F32(&calibrated), 100, 50, &params).unwrap();
        assert_eq!(crate::float_exceptions(&stream), Ok(Some(0)));
        let (h, back) = crate::decompress(&stream, 1).unwrap();
        // (Version 2 has lossless floats; this small tile's tables are laws, which need version 5.)
        assert_eq!(h.version, 5);
        assert_eq!(back, ArrayBuf::F32(calibrated.clone()));
        // A version 1 stream may not use a double-precision scale for float32.
        let mut v1 = stream.clone();
        v1[4] = 1;
        assert!(matches!(crate::read_header(&v1), Err(CodecError::Corrupt { what: "float scale", .. })));
        let noise: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.731).sin() * 1e-3).collect();
        assert_eq!(FloatExact::analyse(ArrayRef::F64(&noise)), FloatExact::Bits);
    }

    #[test]
    fn analysis_finds_double_precision_scales_of_any_magnitude() {
        // Scales from 1e-10 to 1e3 and integers up to 10^3, 3 * 10^4 and 10^6: the float32 scale nearest each fits
        // only 33-76 % of the elements, and the search for the double one must still run and find it.
        let mut s = 99u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        for (i, range) in [1000.0, 30000.0, 1e6].iter().flat_map(|&r| [r; 8]).enumerate() {
            let s64 = 10f64.powf(-10.0 + 13.0 * next());
            let ks: Vec<f64> = (0..4000).map(|_| ((next() - 0.5) * 2.0 * range).round()).collect();
            // In double precision then rounded to float32, in float32 throughout, and in double precision.
            let x32: Vec<f32> = ks.iter().map(|&k| (k * s64) as f32).collect();
            let y32: Vec<f32> = ks.iter().map(|&k| (k as f32) * (s64 as f32)).collect();
            let x64: Vec<f64> = ks.iter().map(|&k| k * s64).collect();
            for (dtype, x) in [
                (DType::F32, x32.iter().map(|&v| v as f64).collect::<Vec<f64>>()),
                (DType::F32, y32.iter().map(|&v| v as f64).collect()),
                (DType::F64, x64.clone()),
            ] {
                let analysis = match dtype {
                    DType::F32 => FloatExact::analyse(ArrayRef::F32(&x.iter().map(|&v| v as f32).collect::<Vec<_>>())),
                    _ => FloatExact::analyse(ArrayRef::F64(&x)),
                };
                match analysis {
                    FloatExact::Scaled { scale } => {
                        let fit = x.iter().filter(|&&v| fits(dtype, v, scale).is_some()).count();
                        assert!(
                            fit * 100 >= x.len() * 99,
                            "case {i} {dtype:?}: scale {scale:e} for {s64:e} fits {fit}"
                        );
                    }
                    other => panic!("case {i} {dtype:?}: {other:?} for the scale {s64:e}"),
                }
            }
        }
    }

    /// Floats computed in f64 and rounded, with a trend across channels and a few specials.
    fn computed_floats(dtype: DType, rows: usize, cols: usize) -> Vec<u64> {
        let mut s = 17u64;
        (0..rows * cols)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let (t, c) = ((i / cols) as f64, (i % cols) as f64);
                let x = (t * 0.05 + c * 0.3).sin() * 100.0 + ((s >> 40) as f64 / (1u64 << 24) as f64 - 0.5) / 3.0;
                let special = [f64::NAN, -0.0, f64::INFINITY, 1e-310];
                let x = if i % 97 == 5 { special[(i / 97) % 4] } else { x };
                match dtype {
                    DType::F32 => (x as f32).to_bits() as u64,
                    _ => x.to_bits(),
                }
            })
            .collect()
    }

    #[test]
    fn every_variant_round_trips_and_rejects_damage() {
        let cfg = TileConfig {
            entropy: tile::Entropy::Static,
            lt: 0,
            lx: 0,
            shape: tile::Shape { time: 2, space: 1, cross: 1 },
            auto: true,
            segment_rows: 0,
            raw: RawKind::I32,
            columns: false,
            by_energy: false,
        };
        for dtype in [DType::F32, DType::F64] {
            let (tr, tc) = (37, 11);
            let with_nan = computed_floats(dtype, tr, tc);
            // The predicted variants refuse tiles whose predictions include a NaN: they get the NaNs as +0.0.
            let nan_free: Vec<u64> =
                with_nan.iter().map(|&b| if value_of(dtype, b).is_nan() { 0 } else { b }).collect();
            for v in VARIANTS {
                let predicted = v == VARIANT_PREDICTED || v == VARIANT_PREDICTED_HIGH;
                let mut scratch = tile::Scratch::default();
                let mut variants = Variants::new(dtype, tr, tc, &with_nan, &cfg, &mut scratch);
                assert_eq!(variants.encode(v).is_none(), predicted, "{dtype:?} variant {v}");
                let bits = if predicted { &nan_free } else { &with_nan };
                let mut variants = Variants::new(dtype, tr, tc, bits, &cfg, &mut scratch);
                let mut payload = vec![v];
                payload.extend_from_slice(&variants.encode(v).expect("a NaN-free tile").0);
                let decoded = decode_bits_tile(&mut Cursor::new(&payload, 0), 0, dtype, tr, tc);
                assert_eq!(decoded.as_ref(), Ok(bits), "{dtype:?} variant {v}");
                // Every truncation is an error (the zstd variant: its frame must produce every byte).
                for cut in 0..payload.len() {
                    let r = decode_bits_tile(&mut Cursor::new(&payload[..cut], 0), 0, dtype, tr, tc);
                    assert!(r.is_err(), "{dtype:?} variant {v} cut at {cut}");
                }
                // Flipped bytes never panic; a trailing byte is refused by the variants that own their end.
                for i in 0..payload.len() {
                    let mut bad = payload.clone();
                    bad[i] ^= 0x5A;
                    let _ = decode_bits_tile(&mut Cursor::new(&bad, 0), 0, dtype, tr, tc);
                }
                if v == VARIANT_BYTE_PLANES || v == VARIANT_PREDICTED_HIGH {
                    payload.push(0);
                    assert!(decode_bits_tile(&mut Cursor::new(&payload, 0), 0, dtype, tr, tc).is_err());
                }
            }
        }
    }

    #[test]
    fn nans_with_different_payloads_round_trip_bit_exactly() {
        // A smooth field (the fitted float predictor's favourite) with a 2 x 2 block of quiet NaNs of different
        // payloads: which payload a sum of NaNs returns is not portable, and the encoder's and decoder's differed.
        let (rows, cols) = (400, 48);
        for dtype in [DType::F32, DType::F64] {
            let mut bits: Vec<u64> = (0..rows * cols)
                .map(|i| {
                    let (t, c) = ((i / cols) as f64, (i % cols) as f64);
                    let x = (t * 0.03 + c * 0.2).sin() * 50.0 + (t * 0.011 - c * 0.07).cos() * 20.0;
                    match dtype {
                        DType::F32 => (x as f32).to_bits() as u64,
                        _ => x.to_bits(),
                    }
                })
                .collect();
            for (j, &(t, c)) in [(200, 20), (200, 21), (201, 20), (201, 21)].iter().enumerate() {
                bits[t * cols + c] = match dtype {
                    DType::F32 => 0x7FC0_0000 + 1 + 331 * j as u64,
                    _ => 0x7FF8_0000_0000_0000 + 1 + 331 * j as u64,
                };
            }
            let params = crate::Params { threads: 1, ..Default::default() };
            let back = match dtype {
                DType::F32 => {
                    let x: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b as u32)).collect();
                    let stream = crate::compress(ArrayRef::F32(&x), rows, cols, &params).unwrap();
                    match crate::decompress(&stream, 1).unwrap().1 {
                        ArrayBuf::F32(v) => v.iter().map(|x| x.to_bits() as u64).collect::<Vec<u64>>(),
                        other => panic!("{other:?}"),
                    }
                }
                _ => {
                    let x: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
                    let stream = crate::compress(ArrayRef::F64(&x), rows, cols, &params).unwrap();
                    match crate::decompress(&stream, 1).unwrap().1 {
                        ArrayBuf::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
                        other => panic!("{other:?}"),
                    }
                }
            };
            let wrong = back.iter().zip(&bits).filter(|(a, b)| a != b).count();
            assert_eq!(wrong, 0, "{dtype:?}: {wrong} elements differ");
        }
    }

    #[test]
    fn low_bytes_with_structure_take_the_split_prediction() {
        // f64 results of a computation: the last mantissa bits are mostly zero, which only variant 4 can use.
        let (tr, tc) = (400, 40);
        // (Without the specials: a NaN makes the predicted variants refuse the tile.)
        let bits: Vec<u64> = computed_floats(DType::F64, tr, tc)
            .iter()
            .enumerate()
            .map(|(i, &b)| if i % 97 == 5 { 0.5f64.to_bits() } else { b & !0x3 })
            .collect();
        let cfg = TileConfig {
            entropy: tile::Entropy::Static,
            lt: 0,
            lx: 0,
            shape: tile::Shape { time: 2, space: 1, cross: 1 },
            auto: true,
            segment_rows: 0,
            raw: RawKind::I32,
            columns: false,
            by_energy: false,
        };
        let mut scratch = tile::Scratch::default();
        let mut variants = Variants::new(DType::F64, tr, tc, &bits, &cfg, &mut scratch);
        let plain = variants.encode(VARIANT_PREDICTED).expect("no NaN").0.len();
        let high = variants.encode(VARIANT_PREDICTED_HIGH).expect("no NaN").0.len();
        // Two known-zero bits per element are worth 2 bits each.
        assert!((high as f64) < plain as f64 - 0.2 * (tr * tc) as f64, "{high} vs {plain}");
        // The tile's coding is the smallest variant (on this data variant 4 and the zstd byte planes are close).
        let mut out = Vec::new();
        encode_bits_tile(DType::F64, tr, tc, &bits, &cfg, &mut out, &mut scratch);
        assert!(out.len() <= 1 + high, "{} vs {high}", out.len());
    }
}
