//! Linear prediction from a causal neighbourhood of a row-major plane (rows = time samples, columns = channels).
//!
//! A [`Tap`] names a neighbour by its offset `(dt, dc)`: `dt` rows back in time (`dt >= 0`) and `dc` channels to the
//! side; a tap on the current row (`dt == 0`) must look left (`dc < 0`) so the decoder already has it. The
//! prediction of sample `(t, c)` is
//!
//! `p = (sum_i coef_i * x[t - dt_i][c + dc_i] + 2^(shift-1)) >> shift`
//!
//! in wrapping `i64` arithmetic (arithmetic shift), evaluated only where every tap is inside the plane (the
//! *interior*). Elsewhere the fallback predicts the left neighbour, else the one above, else 0. Coefficients are
//! fitted by least squares in `f64` on (a sample of) the interior, then rounded to integers; only the integers
//! travel in the stream, so encoder and decoder compute identical predictions.

use alloc::vec;
use alloc::vec::Vec;

/// Largest accepted `|coef|`: keeps `sum coef * x` inside `i64` for `|x| < 2^36` and up to 64 taps.
pub const MAX_COEF: i32 = 1 << 20;
/// Largest number of taps.
pub const MAX_TAPS: usize = 64;

/// One neighbour of the prediction and its integer weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tap {
    pub dt: u16,
    pub dc: i16,
    pub coef: i32,
}

/// An integer linear predictor over a causal neighbourhood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predictor {
    pub taps: Vec<Tap>,
    pub shift: u8,
}

/// Where every tap of a predictor lies inside a `rows x cols` plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interior {
    pub row0: usize,
    pub col0: usize,
    pub col1: usize,
}

impl Interior {
    pub fn is_empty(&self, rows: usize) -> bool {
        self.row0 >= rows || self.col0 >= self.col1
    }
}

impl Predictor {
    /// The predictor that predicts nothing (residual = value).
    pub fn zero() -> Self {
        Predictor { taps: Vec::new(), shift: 0 }
    }

    /// True when the taps are causal, within limits, and the shift is at most 30.
    pub fn is_valid(&self) -> bool {
        self.taps.len() <= MAX_TAPS
            && self.shift <= 30
            && self.taps.iter().all(|t| (t.dt > 0 || t.dc < 0) && t.coef.unsigned_abs() <= MAX_COEF as u32)
    }

    /// The interior region of a `rows x cols` plane for these taps.
    pub fn interior(&self, cols: usize) -> Interior {
        let row0 = self.taps.iter().map(|t| t.dt as usize).max().unwrap_or(0);
        let col0 = self.taps.iter().map(|t| (-(t.dc as i64)).max(0) as usize).max().unwrap_or(0);
        let right = self.taps.iter().map(|t| (t.dc as i64).max(0) as usize).max().unwrap_or(0);
        Interior { row0, col0, col1: cols.saturating_sub(right) }
    }

    /// Linear index offsets (`idx - delta` is the neighbour) and coefficients, for the inner loop.
    pub fn deltas(&self, cols: usize) -> (Vec<isize>, Vec<i64>) {
        let d = self.taps.iter().map(|t| t.dt as isize * cols as isize - t.dc as isize).collect();
        let c = self.taps.iter().map(|t| t.coef as i64).collect();
        (d, c)
    }

    /// Fits coefficients for the tap offsets `offsets` on the plane `x` by least squares on at most `max_samples`
    /// interior samples (whole rows, evenly spread), and quantises them with `shift` fractional bits.
    /// Returns the zero predictor when the interior is empty.
    pub fn fit(x: &[i64], rows: usize, cols: usize, offsets: &[(u16, i16)], shift: u8, max_samples: usize) -> Self {
        Self::fit_rows(x, rows, cols, offsets, shift, max_samples, 0..rows)
    }

    /// As [`Predictor::fit`], fitting only on the rows in `range` (earlier rows still serve as history).
    pub fn fit_rows(
        x: &[i64],
        rows: usize,
        cols: usize,
        offsets: &[(u16, i16)],
        shift: u8,
        max_samples: usize,
        range: core::ops::Range<usize>,
    ) -> Self {
        match Gram::accumulate(x, rows, cols, offsets, max_samples, range) {
            Some(g) => g.solve(offsets, shift),
            None => Predictor::zero(),
        }
    }

    /// Prediction of the interior sample at linear index `idx` (caller guarantees `idx - delta` is in range).
    #[inline(always)]
    pub fn predict(x: &[i64], idx: usize, deltas: &[isize], coefs: &[i64], shift: u8) -> i64 {
        let mut acc = rounding(shift);
        for (&d, &c) in deltas.iter().zip(coefs) {
            acc = acc.wrapping_add(c.wrapping_mul(x[idx.wrapping_sub(d as usize)]));
        }
        acc >> shift
    }

    /// Fallback prediction outside the interior: left neighbour, else the one above, else 0.
    #[inline(always)]
    pub fn fallback(x: &[i64], t: usize, c: usize, cols: usize) -> i64 {
        if c > 0 {
            x[t * cols + c - 1]
        } else if t > 0 {
            x[(t - 1) * cols + c]
        } else {
            0
        }
    }

    /// Replaces the plane by its prediction residuals (a standalone form of what the codec interleaves with
    /// entropy coding). Processes samples in reverse order so every prediction reads original values.
    pub fn residuals(&self, x: &mut [i64], rows: usize, cols: usize) {
        let int = self.interior(cols);
        let (deltas, coefs) = self.deltas(cols);
        for t in (0..rows).rev() {
            for c in (0..cols).rev() {
                let idx = t * cols + c;
                let p = if t >= int.row0 && c >= int.col0 && c < int.col1 {
                    Self::predict(x, idx, &deltas, &coefs, self.shift)
                } else {
                    Self::fallback(x, t, c, cols)
                };
                x[idx] = x[idx].wrapping_sub(p);
            }
        }
    }

    /// Inverse of [`Predictor::residuals`].
    pub fn reconstruct(&self, x: &mut [i64], rows: usize, cols: usize) {
        let int = self.interior(cols);
        let (deltas, coefs) = self.deltas(cols);
        for t in 0..rows {
            for c in 0..cols {
                let idx = t * cols + c;
                let p = if t >= int.row0 && c >= int.col0 && c < int.col1 {
                    Self::predict(x, idx, &deltas, &coefs, self.shift)
                } else {
                    Self::fallback(x, t, c, cols)
                };
                x[idx] = x[idx].wrapping_add(p);
            }
        }
    }
}

/// The term added to a prediction's sum before the shift by `shift`, so that the shift rounds to nearest: half of
/// `2^shift`, 0 for no shift.
#[inline(always)]
pub fn rounding(shift: u8) -> i64 {
    if shift > 0 {
        1 << (shift - 1)
    } else {
        0
    }
}

/// Normal equations of least-squares prediction over a set of tap offsets: `ata[i][j] = sum x_i x_j`,
/// `atb[i] = sum x_i y`. Accumulated once over the union of several candidate neighbourhoods, they fit every
/// candidate by solving its sub-system.
#[derive(Clone, Debug)]
pub struct Gram {
    offsets: Vec<(u16, i16)>,
    ata: Vec<f64>,
    atb: Vec<f64>,
    /// `sum y^2` and the number of samples, for [`Gram::residual_energy`].
    yy: f64,
    n: usize,
}

impl Gram {
    /// Accumulates over at most `max_samples` interior samples of the rows in `range` (whole rows evenly spread, or
    /// for one channel runs of consecutive samples evenly spread).
    /// `None` when no sample has every offset inside the plane.
    #[inline(always)] // so that the codec's AVX2-compiled tile coder gets an AVX2 copy of the loop
    pub fn accumulate(
        x: &[i64],
        rows: usize,
        cols: usize,
        offsets: &[(u16, i16)],
        max_samples: usize,
        range: core::ops::Range<usize>,
    ) -> Option<Self> {
        let k = offsets.len().min(MAX_TAPS);
        let offsets = &offsets[..k];
        let probe = Predictor { taps: offsets.iter().map(|&(dt, dc)| Tap { dt, dc, coef: 0 }).collect(), shift: 0 };
        let int = probe.interior(cols);
        let first = int.row0.max(range.start);
        let rows = range.end.min(rows);
        if k == 0 || int.is_empty(rows) || first >= rows {
            return None;
        }
        let (deltas, _) = probe.deltas(cols);
        let width = int.col1 - int.col0;
        let mut ata = vec![0f64; k * k];
        let mut atb = vec![0f64; k];
        // (sum y^2, samples)
        let mut yy = (0f64, 0usize);
        // Samples come in runs of consecutive linear indices (the interior of a row, or a stretch of one channel),
        // so every tap's values over a run are one contiguous slice and each sum is a dot product of two slices.
        let mut run = Run::new(&deltas);
        if cols == 1 {
            // One channel: runs of RUN samples spread evenly over the range.
            const RUN: usize = 1024;
            let n = rows - first;
            let runs = n.min(max_samples).div_ceil(RUN).max(1);
            let len = (n / runs).clamp(1, RUN);
            for r in 0..runs {
                let start = first + r * (n / runs);
                run.accumulate(x, start, len.min(rows - start), &mut ata, &mut atb, &mut yy);
            }
        } else {
            // Whole rows when the budget covers MIN_FIT_ROWS of them; otherwise MIN_FIT_ROWS rows (when there are
            // that many: rows of a DAS record differ, with common-mode noise and glitches), each then a part of
            // the interior, its start moving from row to row. (Measured: parts of 512 rows fitted prodml 1.2 %
            // smaller than 32 whole rows, but irpinia at E = std/100 1.7 % larger than 280 whole rows.)
            let want_rows = (max_samples / width).max(MIN_FIT_ROWS.min(max_samples / GATHER_BELOW_WIDTH)).max(1);
            let step = (rows - first).div_ceil(want_rows).max(1);
            let sampled = (first..rows).step_by(step);
            if width >= GATHER_BELOW_WIDTH {
                // (Part rows a multiple of 16 long: the dot product's vector width, no scalar tail.)
                let len = width.min((max_samples / (rows - first).div_ceil(step)).max(GATHER_BELOW_WIDTH) / 16 * 16);
                for (i, t) in sampled.enumerate() {
                    // A golden-ratio sequence spreads the runs' starts evenly over the interior.
                    let slack = width - len;
                    let c = if slack == 0 { 0 } else { (i * 40503) % 65536 * (slack + 1) / 65536 };
                    run.accumulate(x, t * cols + int.col0 + c, len, &mut ata, &mut atb, &mut yy);
                }
            } else {
                // A narrow interior makes runs of a few samples, each paying for the conversion of its whole
                // neighbourhood (several rows) and for k^2 / 2 short dot products: gather the taps' values of
                // many rows into columns first.
                let mut columns = vec![0f64; (k + 1) * GATHER_BLOCK];
                let mut block = Vec::with_capacity(GATHER_BLOCK);
                let mut flush = |block: &mut Vec<usize>| {
                    // Column by column, so each column is written contiguously.
                    for i in 0..=k {
                        let d = if i == k { 0 } else { deltas[i] };
                        let column = &mut columns[i * GATHER_BLOCK..][..block.len()];
                        for (v, &idx) in column.iter_mut().zip(block.iter()) {
                            *v = x[(idx as isize - d) as usize] as f64;
                        }
                    }
                    add_products(k, |i| &columns[i * GATHER_BLOCK..][..block.len()], &mut ata, &mut atb, &mut yy);
                    block.clear();
                };
                for t in sampled {
                    for idx in t * cols + int.col0..t * cols + int.col1 {
                        block.push(idx);
                        if block.len() == GATHER_BLOCK {
                            flush(&mut block);
                        }
                    }
                }
                flush(&mut block);
            }
        }
        for i in 0..k {
            for j in 0..i {
                ata[j * k + i] = ata[i * k + j];
            }
        }
        Some(Gram { offsets: offsets.to_vec(), ata, atb, yy: yy.0, n: yy.1 })
    }

    /// The mean squared residual of `p` (its quantised coefficients as they are) over the accumulated samples:
    /// `(yy - 2 w.b + w'Aw) / n`. `None` when a tap is not among the accumulated offsets, or without samples.
    pub fn residual_energy(&self, p: &Predictor) -> Option<f64> {
        let k = self.offsets.len();
        let scale = 1.0 / (1u64 << p.shift) as f64;
        // (Taps that are the leading offsets in order, as the fitted prefixes' are, need no search.)
        let leading = p.taps.iter().zip(&self.offsets).all(|(t, &o)| (t.dt, t.dc) == o) && p.taps.len() <= k;
        let taps: Vec<(usize, f64)> = if leading {
            p.taps.iter().enumerate().map(|(i, t)| (i, t.coef as f64 * scale)).collect()
        } else {
            p.taps
                .iter()
                .map(|t| self.offsets.iter().position(|&o| o == (t.dt, t.dc)).map(|i| (i, t.coef as f64 * scale)))
                .collect::<Option<_>>()?
        };
        let mut e = self.yy;
        for &(i, wi) in &taps {
            e -= 2.0 * wi * self.atb[i];
            for &(j, wj) in &taps {
                e += wi * wj * self.ata[i * k + j];
            }
        }
        (self.n > 0).then(|| e.max(0.0) / self.n as f64)
    }

    /// The quantised least-squares predictors over the first `m` accumulated offsets, for every `m` in `lens`, from
    /// one factorisation: the Cholesky factor of a leading block of a matrix is the leading block of its factor,
    /// so each prefix costs two triangular solves. (The ridge is the whole matrix's, so a prefix's coefficients can
    /// differ in their last bits from [`Gram::solve`]'s.) A prefix the factorisation cannot reach (a singular
    /// block) gets zero coefficients, as in [`Gram::solve`].
    pub fn solve_prefixes(&self, lens: &[usize], shift: u8) -> Vec<Predictor> {
        let k = self.offsets.len();
        let mut l = self.ata.clone();
        let ridge = ridge_of(&l, k);
        let good = cholesky(&mut l, k, ridge);
        lens.iter()
            .map(|&m| {
                let m = m.min(k);
                let mut w = self.atb[..m].to_vec();
                if m > good || !substitute(&l, k, &mut w) {
                    w.iter_mut().for_each(|v| *v = 0.0);
                }
                let taps = self.offsets[..m]
                    .iter()
                    .zip(&w)
                    .map(|(&(dt, dc), &wi)| Tap { dt, dc, coef: quantise(wi, shift) })
                    .collect();
                Predictor { taps, shift }
            })
            .collect()
    }

    /// The accumulated offsets, in their order.
    pub fn offsets(&self) -> &[(u16, i16)] {
        &self.offsets
    }

    /// The quantised least-squares predictor over `subset` (offsets that must all be in the accumulated set;
    /// others are ignored).
    pub fn solve(&self, subset: &[(u16, i16)], shift: u8) -> Predictor {
        let idx: Vec<usize> = subset.iter().filter_map(|o| self.offsets.iter().position(|p| p == o)).collect();
        let k = idx.len();
        if k == 0 {
            return Predictor::zero();
        }
        let n = self.offsets.len();
        let mut a = vec![0f64; k * k];
        let mut b = vec![0f64; k];
        for (i, &ii) in idx.iter().enumerate() {
            b[i] = self.atb[ii];
            for (j, &jj) in idx.iter().enumerate() {
                a[i * k + j] = self.ata[ii * n + jj];
            }
        }
        let w = solve_spd(&mut a, &mut b, k).unwrap_or_else(|| vec![0.0; k]);
        let taps = idx
            .iter()
            .zip(&w)
            .map(|(&i, &wi)| {
                let (dt, dc) = self.offsets[i];
                Tap { dt, dc, coef: quantise(wi, shift) }
            })
            .collect();
        Predictor { taps, shift }
    }
}

/// Most columns a cross-channel predictor may weigh (the count's limit in the stream).
pub const MAX_CROSS: usize = 64;

/// The integer weights of one column's cross-channel predictor: `weights[j]` weighs the column `j + 1` before it,
/// in units of `2^-shift`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cross {
    pub shift: u8,
    pub weights: Vec<i32>,
}

/// Cross-channel predictors of the columns of a plane of residuals, `u` column-major (`cols` columns of `rows`):
/// column `c`'s residual at row `t` is predicted from the residuals of the columns before it at the same row,
/// nearest first, by least squares over at most `max_rows` rows evenly spread. Each column weighs the number of
/// columns (0 to `min(c, max_k)`, `max_k` at most [`MAX_CROSS`]) that minimises the residuals' Gaussian cost, `rows / 2 log2(energy)`, plus
/// `coef_bits` per weight and 8 bits for the shift. Entry `c` of the result is column `c`'s (column 0's is
/// empty).
///
/// From one Cholesky factor per column: the least-squares energy of every leading run of the ordered columns is
/// the column's energy less the squares of the forward-substituted right-hand side (the factor of a leading block
/// is the leading block of the factor), so all counts are compared for one factorisation.
pub fn cross_predictors(
    u: &[i64],
    rows: usize,
    cols: usize,
    max_k: usize,
    max_rows: usize,
    coef_bits: f64,
) -> Vec<Cross> {
    let max_k = max_k.min(MAX_CROSS);
    let mut out = vec![Cross::default(); cols];
    if cols < 2 || rows == 0 || u.len() < rows * cols {
        return out;
    }
    let step = rows.div_ceil(max_rows.max(1)).max(1);
    let n = rows.div_ceil(step);
    let sampled: Vec<Vec<f64>> =
        (0..cols).map(|c| u[c * rows..(c + 1) * rows].iter().step_by(step).map(|&v| v as f64).collect()).collect();
    // The columns' products, of the pairs a predictor can weigh together (at most `max_k` columns apart), as a
    // band: row i holds the products of column i with columns i, i - 1, ..., i - max_k.
    let w = max_k + 1;
    let mut band = vec![0f64; cols * w];
    for i in 0..cols {
        for d in 0..w.min(i + 1) {
            band[i * w + d] = dot(&sampled[i], &sampled[i - d]);
        }
    }
    let s = |i: usize, j: usize| if i >= j { band[i * w + (i - j)] } else { band[j * w + (j - i)] };
    for (c, cross) in out.iter_mut().enumerate().skip(1) {
        let k = c.min(max_k);
        let yy = s(c, c);
        if !(yy > 0.0 && yy.is_finite()) {
            continue;
        }
        // Ordered columns: a = 0 is column c - 1.
        let mut a = vec![0f64; k * k];
        let mut b = vec![0f64; k];
        for i in 0..k {
            b[i] = s(c - 1 - i, c);
            for j in 0..k {
                a[i * k + j] = s(c - 1 - i, c - 1 - j);
            }
        }
        let ridge = ridge_of(&a, k);
        let good = cholesky(&mut a, k, ridge);
        // Forward substitution over the factorised block: z = L^-1 b.
        let mut z = b;
        forward_substitute(&a, k, &mut z[..good]);
        let bits = |energy: f64| rows as f64 / 2.0 * libm::log2((energy / n as f64).max(0.25));
        let (mut best, mut best_cost, mut e) = (0, bits(yy), yy);
        for (m, zi) in z.iter().enumerate().take(good) {
            e -= zi * zi;
            let cost = bits(e.max(0.0)) + coef_bits * (m + 1) as f64 + 8.0;
            if cost < best_cost {
                (best, best_cost) = (m + 1, cost);
            }
        }
        if best == 0 {
            continue;
        }
        let mut w = z[..best].to_vec();
        // Back substitution over the leading block: L' w = z.
        if !back_substitute(&a, k, &mut w) {
            continue;
        }
        // The largest weight gets 6 significant bits (its coefficient below 64 in magnitude: one varint byte).
        let largest = w.iter().fold(0f64, |m, v| m.max(v.abs()));
        let mut shift = if largest > 0.0 { (5.0 - libm::floor(libm::log2(largest))).clamp(0.0, 30.0) as u8 } else { 0 };
        // (A weight just below a power of two can round up to 64.)
        if shift > 0 && libm::round(largest * (1u64 << shift) as f64) >= 64.0 {
            shift -= 1;
        }
        let weights: Vec<i32> = w.iter().map(|&v| quantise(v, shift)).collect();
        if weights.iter().any(|&q| q != 0) {
            *cross = Cross { shift, weights };
        }
    }
    out
}

/// Adds runs of samples (consecutive linear indices) to the normal equations: each entry is a dot product of two
/// contiguous slices of the run's neighbourhood, converted to f64 once into `span`.
struct Run<'a> {
    deltas: &'a [isize],
    /// The columns' values: the linear ranges the columns cover, overlapping ones merged, converted to f64.
    span: Vec<f64>,
    /// Where column `i` (tap `i`, or the samples for `i = k`) starts in `span`.
    at: Vec<usize>,
    /// Columns in increasing order of their first linear index.
    order: Vec<usize>,
    /// Per tap, the column one sample nearer (a tap, or k for the samples themselves), if there is one: the tap's
    /// column is then that column shifted by one sample, and their products differ only at the ends of the run.
    shifted: Vec<Option<usize>>,
    /// The run's own products (lower triangle, `(k + 1) x (k + 1)`, the samples last).
    local: Vec<f64>,
}

impl<'a> Run<'a> {
    fn new(deltas: &'a [isize]) -> Self {
        let k = deltas.len();
        // (Delta 0 is the samples themselves, column k.)
        let shifted =
            deltas.iter().map(|&d| if d == 1 { Some(k) } else { deltas.iter().position(|&e| e == d - 1) }).collect();
        let delta = |i: usize| if i == k { 0 } else { deltas[i] };
        let mut order: Vec<usize> = (0..=k).collect();
        order.sort_by_key(|&i| core::cmp::Reverse(delta(i)));
        Run { deltas, span: Vec::new(), at: vec![0; k + 1], order, shifted, local: vec![0f64; (k + 1) * (k + 1)] }
    }

    /// Adds the run of linear indices `start..start + len`; `yy` gains the run's `sum y^2` and its length.
    #[inline(always)]
    fn accumulate(
        &mut self,
        x: &[i64],
        start: usize,
        len: usize,
        ata: &mut [f64],
        atb: &mut [f64],
        yy: &mut (f64, usize),
    ) {
        let k = self.deltas.len();
        // Column i covers x[start - delta_i..][..len]. A 2-D neighbourhood spans several rows but reads only a few
        // samples around the run in each: convert those stretches, not every sample in between.
        self.span.clear();
        let mut segment: Option<(usize, usize)> = None;
        for &i in &self.order {
            let lo = (start as isize - if i == k { 0 } else { self.deltas[i] }) as usize;
            segment = match segment {
                Some((s0, s1)) if lo <= s1 => Some((s0, s1.max(lo + len))),
                previous => {
                    if let Some((s0, s1)) = previous {
                        self.span.extend(x[s0..s1].iter().map(|&v| v as f64));
                    }
                    Some((lo, lo + len))
                }
            };
            let s0 = segment.map_or(lo, |(s0, _)| s0);
            self.at[i] = self.span.len() + (lo - s0);
        }
        if let Some((s0, s1)) = segment {
            self.span.extend(x[s0..s1].iter().map(|&v| v as f64));
        }
        let (span, local, at) = (&self.span, &mut self.local, &self.at);
        // Column k is the predicted samples themselves.
        let column = |i: usize| &span[at[i]..][..len];
        let y = column(k);
        yy.0 += dot(y, y);
        yy.1 += len;
        // The run's products are kept in `local` as (k + 1) x (k + 1), the samples being column k.
        let kk = k + 1;
        for i in 0..k {
            let v = dot(column(i), y);
            local[k * kk + i] = v;
            atb[i] += v;
        }
        for i in 0..k {
            let a = column(i);
            for j in 0..=i {
                // Lag recursion (exact but for rounding): when taps i and j are columns p and q one sample further
                // back, sum a_i b_j over the run = sum a_p b_q - (their last products) + (the new first products).
                // Most of a lag tap set's k^2 / 2 dot products become O(1) each; the taps one sample behind the
                // samples themselves (one channel's lag 1, a plane's left neighbour) recur from the products with
                // the samples, computed first. (Only from products this run has already computed: those with the
                // samples, rows before i, or row i before j.)
                let earlier = match (self.shifted[i], self.shifted[j]) {
                    (Some(p), Some(q)) if len > 0 => {
                        let (hi, lo) = if p >= q { (p, q) } else { (q, p) };
                        let ready = if hi == k { lo < k } else { hi < i || hi == i && lo < j };
                        ready.then_some((p, q, hi * kk + lo))
                    }
                    _ => None,
                };
                let v = match earlier {
                    Some((p, q, at)) => {
                        let (cp, cq) = (column(p), column(q));
                        local[at] - cp[len - 1] * cq[len - 1] + a[0] * column(j)[0]
                    }
                    None => dot(a, column(j)),
                };
                local[i * kk + j] = v;
                ata[i * k + j] += v;
            }
        }
    }
}

/// Fewest rows the 2-D least-squares fit samples (when the plane has them), however wide the rows.
const MIN_FIT_ROWS: usize = 256;
/// Interiors narrower than this are gathered into columns by [`Gram::accumulate`] instead of read as runs.
const GATHER_BELOW_WIDTH: usize = 64;
/// Samples per gathered block.
const GATHER_BLOCK: usize = 512;

/// Adds the products of `k + 1` equally long columns (the taps' values, then the samples) to the lower triangle
/// of `ata` (`k x k`) and to `atb`.
#[inline(always)]
fn add_products<'a>(
    k: usize,
    column: impl Fn(usize) -> &'a [f64],
    ata: &mut [f64],
    atb: &mut [f64],
    yy: &mut (f64, usize),
) {
    let y = column(k);
    yy.0 += dot(y, y);
    yy.1 += y.len();
    for i in 0..k {
        let a = column(i);
        atb[i] += dot(a, y);
        for j in 0..=i {
            ata[i * k + j] += dot(a, column(j));
        }
    }
}

/// Dot product of two equally long slices, on AVX2 when the CPU has it (the same sums in the same order either way,
/// so the fitted coefficients, and the streams, do not depend on the CPU).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    crate::simd::dot(a, b)
}

/// Solves `A w = b` for a symmetric positive semi-definite `A` (row-major `k x k`) by Cholesky with a small ridge
/// that keeps rank-deficient systems (constant channels, repeated samples) solvable. `None` if it still fails.
fn solve_spd(a: &mut [f64], b: &mut [f64], k: usize) -> Option<Vec<f64>> {
    let ridge = ridge_of(a, k);
    (cholesky(a, k, ridge) == k && substitute(a, k, b)).then(|| b.to_vec())
}

/// The ridge added to the diagonal of a `k x k` normal matrix: a billionth of its mean diagonal, plus 1e-9.
fn ridge_of(a: &[f64], k: usize) -> f64 {
    let trace: f64 = (0..k).map(|i| a[i * k + i]).sum();
    (trace / k.max(1) as f64) * 1e-9 + 1e-9
}

/// Cholesky factorisation in place of the symmetric `k x k` matrix `a` plus `ridge` on its diagonal: the lower
/// triangle becomes `L`. Returns how many columns were factorised before a pivot was not positive (`k` when all
/// were); the leading block of that many columns is then the factor of the matrix's leading block.
fn cholesky(a: &mut [f64], k: usize, ridge: f64) -> usize {
    for j in 0..k {
        a[j * k + j] += ridge;
        let mut d = a[j * k + j];
        for p in 0..j {
            d -= a[j * k + p] * a[j * k + p];
        }
        if d <= 0.0 || !d.is_finite() {
            return j;
        }
        let d = libm::sqrt(d);
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = s / d;
        }
    }
    k
}

/// Solves `L L' w = b` in place for the leading `b.len()` block of the factor `l` (row stride `k`) by forward then
/// backward substitution; false when a result is not finite.
fn substitute(l: &[f64], k: usize, b: &mut [f64]) -> bool {
    forward_substitute(l, k, b);
    back_substitute(l, k, b)
}

/// Solves `L z = b` in place for the leading `b.len()` block of the factor `l` (row stride `k`).
fn forward_substitute(l: &[f64], k: usize, b: &mut [f64]) {
    for i in 0..b.len() {
        let mut s = b[i];
        for p in 0..i {
            s -= l[i * k + p] * b[p];
        }
        b[i] = s / l[i * k + i];
    }
}

/// Solves `L' w = z` in place for the leading `z.len()` block of the factor `l` (row stride `k`); false when a
/// result is not finite.
fn back_substitute(l: &[f64], k: usize, z: &mut [f64]) -> bool {
    let m = z.len();
    for i in (0..m).rev() {
        let mut s = z[i];
        for p in i + 1..m {
            s -= l[p * k + i] * z[p];
        }
        z[i] = s / l[i * k + i];
    }
    z.iter().all(|v| v.is_finite())
}

/// A least-squares weight as a coefficient of `2^shift` (clamped to [`MAX_COEF`]; 0 if not finite).
fn quantise(w: f64, shift: u8) -> i32 {
    let q = libm::round(w * (1u64 << shift) as f64);
    if q.is_finite() {
        q.clamp(-(MAX_COEF as f64), MAX_COEF as f64) as i32
    } else {
        0
    }
}

/// Tap offsets of a pure time predictor of order `p` (the previous `p` samples of the same channel).
pub fn time_offsets(p: usize) -> Vec<(u16, i16)> {
    (1..=p.min(MAX_TAPS)).map(|dt| (dt as u16, 0)).collect()
}

/// Tap offsets of a 2-D predictor: `p` time lags of the same channel, `q` channel lags of the same time sample,
/// and the cross terms of the previous `r` time samples over `q` channels on each side.
pub fn neighbourhood_offsets(p: usize, q: usize, r: usize, cols: usize) -> Vec<(u16, i16)> {
    let q = q.min(cols.saturating_sub(1));
    let mut out = Vec::new();
    for dc in 1..=q {
        out.push((0u16, -(dc as i16)));
    }
    for dt in 1..=p {
        out.push((dt as u16, 0));
    }
    for dt in 1..=r {
        for dc in 1..=q {
            out.push((dt as u16, -(dc as i16)));
            out.push((dt as u16, dc as i16));
        }
    }
    out.truncate(MAX_TAPS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(rows: usize, cols: usize) -> Vec<i64> {
        let mut x = vec![0i64; rows * cols];
        let mut s = 1u64;
        for t in 0..rows {
            for c in 0..cols {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = ((s >> 33) % 9) as i64 - 4;
                let wave = ((t as f64 * 0.05 - c as f64 * 0.03).sin() * 1000.0) as i64;
                x[t * cols + c] = wave + noise;
            }
        }
        x
    }

    #[test]
    fn fitted_2d_predictor_round_trips_and_shrinks_residuals() {
        let (rows, cols) = (200, 50);
        let orig = plane(rows, cols);
        let p = Predictor::fit(&orig, rows, cols, &neighbourhood_offsets(2, 2, 1, cols), 14, 1 << 16);
        assert!(p.is_valid());
        let mut x = orig.clone();
        p.residuals(&mut x, rows, cols);
        let mean_abs = x.iter().map(|v| v.unsigned_abs()).sum::<u64>() as f64 / x.len() as f64;
        assert!(mean_abs < 20.0, "mean |residual| = {mean_abs}");
        p.reconstruct(&mut x, rows, cols);
        assert_eq!(x, orig);
    }

    #[test]
    fn degenerate_planes_round_trip() {
        for &(rows, cols) in &[(0, 0), (1, 1), (1, 7), (7, 1), (2, 2), (40, 1)] {
            let orig = plane(rows, cols);
            for offs in [time_offsets(32), neighbourhood_offsets(3, 3, 2, cols)] {
                let p = Predictor::fit(&orig, rows, cols, &offs, 12, 1000);
                let mut x = orig.clone();
                p.residuals(&mut x, rows, cols);
                p.reconstruct(&mut x, rows, cols);
                assert_eq!(x, orig, "{rows}x{cols}");
            }
        }
    }

    /// Column-major noise columns from a seeded generator, uniform in [-1000, 1000].
    fn noise_columns(rows: usize, cols: usize, seed: u64) -> Vec<i64> {
        let mut s = seed;
        (0..rows * cols)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) % 2001) as i64 - 1000
            })
            .collect()
    }

    /// A column that is half the one before plus a quarter of the one before that (and a little noise of its own)
    /// gets those two weights, to their quantisation; independent columns get none; the largest weight has 6
    /// significant bits.
    #[test]
    fn cross_predictors_find_the_mixing_weights() {
        let (rows, cols) = (3000, 4);
        // (Column 4, not passed on, is column 2's own noise.)
        let mut u = noise_columns(rows, cols + 1, 5);
        for t in 0..rows {
            let own = u[4 * rows + t] / 50;
            u[2 * rows + t] = (u[rows + t] + u[t] / 2) / 2 + own;
        }
        let u = &u[..rows * cols];
        let cross = cross_predictors(u, rows, cols, MAX_CROSS, 2048, 9.0);
        assert!(cross[0].weights.is_empty() && cross[1].weights.is_empty() && cross[3].weights.is_empty(), "{cross:?}");
        let w = &cross[2];
        assert_eq!(w.weights.len(), 2);
        let scale = (1u64 << w.shift) as f64;
        assert!((w.weights[0] as f64 / scale - 0.5).abs() < 0.02, "{w:?}");
        assert!((w.weights[1] as f64 / scale - 0.25).abs() < 0.02, "{w:?}");
        assert!((32..64).contains(&w.weights[0]), "{w:?}");
        // Constant, empty or single columns: nothing to weigh, and no panic.
        assert!(cross_predictors(&vec![0; 400], 100, 4, MAX_CROSS, 2048, 9.0).iter().all(|w| w.weights.is_empty()));
        assert!(cross_predictors(&[], 0, 4, MAX_CROSS, 2048, 9.0).iter().all(|w| w.weights.is_empty()));
        assert_eq!(cross_predictors(&u[..rows], rows, 1, MAX_CROSS, 2048, 9.0), vec![Cross::default()]);
    }

    #[test]
    fn constant_plane_fits_without_nan() {
        let orig = vec![7i64; 100];
        let p = Predictor::fit(&orig, 10, 10, &neighbourhood_offsets(1, 1, 1, 10), 14, 1000);
        assert!(p.is_valid());
    }
}
#[cfg(test)]
mod gram_tests {
    use super::*;

    /// The blocked accumulation (dot products over runs) gives the naive per-sample sums exactly on integers this
    /// small, for a 2-D neighbourhood and for one channel.
    fn check(rows: usize, cols: usize, offs: &[(u16, i16)]) {
        let mut s = 1u64;
        let x: Vec<i64> = (0..rows * cols)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) % 1000) as i64 - 500
            })
            .collect();
        let g = Gram::accumulate(&x, rows, cols, offs, 1 << 20, 0..rows).unwrap();
        let k = offs.len();
        let probe = Predictor { taps: offs.iter().map(|&(dt, dc)| Tap { dt, dc, coef: 0 }).collect(), shift: 0 };
        let int = probe.interior(cols);
        let (d, _) = probe.deltas(cols);
        let (mut ata, mut atb, mut yy, mut n) = (vec![0f64; k * k], vec![0f64; k], 0f64, 0usize);
        // A predictor with coefficients of both signs, and its squared residuals computed sample by sample.
        let p = Predictor {
            taps: offs
                .iter()
                .enumerate()
                .map(|(i, &(dt, dc))| Tap { dt, dc, coef: (i as i32 * 37) % 200 - 100 })
                .collect(),
            shift: 6,
        };
        let mut squares = 0f64;
        for t in int.row0..rows {
            for c in int.col0..int.col1 {
                let idx = t * cols + c;
                let v = |i: usize| x[(idx as isize - d[i]) as usize];
                for i in 0..k {
                    atb[i] += (v(i) * x[idx]) as f64;
                    for j in 0..k {
                        ata[i * k + j] += (v(i) * v(j)) as f64;
                    }
                }
                yy += (x[idx] * x[idx]) as f64;
                n += 1;
                let predicted: f64 = (0..k).map(|i| p.taps[i].coef as f64 / 64.0 * v(i) as f64).sum();
                squares += (x[idx] as f64 - predicted).powi(2);
            }
        }
        assert_eq!(g.ata, ata);
        assert_eq!(g.atb, atb);
        assert_eq!((g.yy, g.n), (yy, n));
        let e = g.residual_energy(&p).unwrap();
        assert!((e - squares / n as f64).abs() <= 1e-9 * e, "{e} against {}", squares / n as f64);
        // A tap outside the accumulated offsets has no energy to report.
        let outside = Predictor { taps: vec![Tap { dt: 999, dc: 0, coef: 1 }], shift: 0 };
        assert_eq!(g.residual_energy(&outside), None);
    }

    /// Prefix solves from one factorisation give `solve`'s coefficients on every prefix (to within one step of
    /// quantisation: the ridge differs in its last bits), and zeros past a singular block.
    #[test]
    fn prefix_solves_are_the_subset_solves() {
        let mut s = 7u64;
        let mut x = vec![0i64; 5000];
        for t in 2..x.len() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x[t] = (3 * x[t - 1] - 2 * x[t - 2]) / 2 + ((s >> 40) % 2001) as i64 - 1000;
        }
        let offs = time_offsets(32);
        let g = Gram::accumulate(&x, x.len(), 1, &offs, 1 << 15, 0..x.len()).unwrap();
        let lens = [0, 1, 2, 8, 16, 32];
        let (mut equal, mut taps) = (0, 0);
        for (p, &m) in g.solve_prefixes(&lens, 14).iter().zip(&lens) {
            let q = g.solve(&offs[..m], 14);
            assert_eq!(p.taps.len(), m);
            for (a, b) in p.taps.iter().zip(&q.taps) {
                assert_eq!((a.dt, a.dc), (b.dt, b.dc));
                assert!((a.coef - b.coef).abs() <= 1, "lag {}: {} against {}", a.dt, a.coef, b.coef);
                equal += (a.coef == b.coef) as usize;
                taps += 1;
            }
        }
        assert!(equal * 10 >= taps * 9, "{equal} of {taps} equal");
        // An all-zero channel: the ridge keeps every block solvable, and every coefficient is 0.
        let zeros = vec![0i64; 3000];
        let g = Gram::accumulate(&zeros, zeros.len(), 1, &offs, 1 << 15, 0..zeros.len()).unwrap();
        for p in g.solve_prefixes(&lens, 14) {
            assert!(p.taps.iter().all(|t| t.coef == 0));
        }
    }

    #[test]
    fn blocked_gram_equals_the_naive_sums() {
        check(40, 30, &neighbourhood_offsets(3, 2, 1, 30));
        check(2048 + 8, 1, &time_offsets(8));
    }
}
