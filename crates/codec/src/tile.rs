//! Coding of one tile: an integer plane (rows = time, columns = channels) after quantisation.
//!
//! Method 0 stores the integers raw; method 1 applies the optional wavelet, then codes every subband with its own
//! fitted predictor, interleaving prediction with the context-modelled residual coder (the decoder needs each
//! reconstructed sample before it can predict the next). See `docs/format.md`.

use crate::bytes::{put_svarint, put_varint, svarint_len, Cursor};
use crate::CodecError;
use daspack_entropy::rans::{self, RansEncoder, ResidualDecoder, StaticModel, NSYM};
use daspack_entropy::residual::context_of;
use daspack_entropy::{RangeDecoder, RangeEncoder, RawReader, RawWriter, ResidualModel, MAX_CONTEXTS};
use daspack_transform::lpc::{self, Gram, Predictor, Tap, MAX_COEF, MAX_TAPS};
use daspack_transform::{mean, wavelet};
use std::borrow::Cow;
use std::ops::Range;

pub(crate) const METHOD_RAW: u8 = 0;
/// Prediction, residuals coded by the adaptive binary range coder.
pub(crate) const METHOD_PREDICTIVE: u8 = 1;
/// Prediction, residuals coded by static per-tile context tables with rANS.
pub(crate) const METHOD_PREDICTIVE_STATIC: u8 = 2;
/// As [`METHOD_PREDICTIVE_STATIC`], with every column a subband of its own (no wavelet): each channel gets its own
/// predictor along time and one-channel contexts, while the tile's channels share one set of tables (stream
/// version 3).
pub(crate) const METHOD_COLUMNS_STATIC: u8 = 3;
/// As [`METHOD_COLUMNS_STATIC`], with each column's residuals predicted from those of the columns before it at the
/// same time sample, bare-coefficient predictors and leaky-sum contexts (stream version 4; the encoder writes it in
/// place of method 3).
pub(crate) const METHOD_COLUMNS_CROSS: u8 = 4;
/// Largest wavelet depth a stream may ask for.
pub(crate) const MAX_LEVELS: u8 = 16;
/// Samples used to fit one predictor.
const FIT_SAMPLES: usize = 1 << 15;
/// Samples used to fit a 2-D predictor in a trial coding (`TileConfig::by_energy`), whose size only has to rank it
/// against the columns'. (The corpus' three arrays that reach the trial took the same decisions with 2^12 as with
/// 2^15 samples; optodas, whose 2-D fit in the trial was 0.76 of its 1.2 ms, compressed 125 -> 135 MB/s.)
const TRIAL_FIT_SAMPLES: usize = 1 << 12;
/// Samples used to fit the predictor of a column band (method 3). Bytes with 2^15, 2^13, 2^12 and 2^11 samples:
/// sentek 578104, 578296, 578516, 578897; f32int 129133, 129154, 129129, 129193; optodas 271556, 271556, 271550,
/// 272942. One thread, compress MB/s at 2^15 and 2^12: sentek 132 -> 149, f32int 146 -> 158. (Method 4, before its
/// initial context sums, with 2^13, 2^12 and 2^11: optodas 261158, 261223, 265454; f32int 127083, 127094, 127158.)
const COLUMN_FIT_SAMPLES: usize = 1 << 12;
/// Samples used to compare candidate predictors.
const ESTIMATE_SAMPLES: usize = 1 << 14;
/// Consecutive samples per run when a long single channel's estimate is sampled.
const ESTIMATE_RUN: usize = 1024;
/// Fractional bits of the quantised predictor coefficients.
const COEF_SHIFT: u8 = 14;
/// Fewest fractional bits a method-4 column predictor is tried with (from [`COEF_SHIFT`] down).
const MIN_COLUMN_SHIFT: u8 = 8;
/// Most columns before it a method-4 column weighs (the format allows 64). optodas, whose later columns take 40 or
/// more when allowed, codes in 260873 bytes with 64, 261223 with 32 and 263282 with 16 (fitted on 4096 rows).
const CROSS_MAX_COLUMNS: usize = 32;
/// Rows the cross-channel weights of a method-4 tile are fitted on, at most. Bytes with 4096, 2048 and 1024 rows
/// (weighing up to 64 columns):
/// optodas 260873, 260941, 261203; f32int 127094, 127104, 127097; sentek 566773, 567039, 567472 (2048: 0.3 ms less
/// of optodas's 7 ms).
const CROSS_FIT_ROWS: usize = 2048;
/// Method 4's context sum loses `1 / 2^LEAK_SHIFT` of itself per sample (it averages the magnitudes over about 32
/// samples, against the 8 of methods 2 and 3's one-channel contexts); its context is that of `sum >> LEAK_SCALE`.
/// Bytes with leak shifts 3, 4, 5 and 6 (scale 3; 4, 5 and 6 with scale 4): optodas 261068, 260937, 260852 (260826),
/// 260848 (260820); f32int 127367, 127221, 127201 (127201), 127318; sentek 568129, 567233, 566918 (566911),
/// 566720 (566711).
const LEAK_SHIFT: u32 = 5;
const LEAK_SCALE: u32 = 4;
/// The first residuals of a method-4 column whose mean magnitude sets its initial context sum.
const LEAK_WARMUP: usize = 32;
/// Bound of a method-4 initial context sum in a stream (the sum of residual magnitudes below 2^32 stays below 2^37).
const MAX_LEAK0: u64 = 1 << 40;
/// Bits a cross-channel weight is reckoned to cost when choosing how many columns to weigh (mostly one varint byte).
const CROSS_COEF_BITS: f64 = 9.0;

/// How raw tiles store one integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawKind {
    I16,
    U16,
    I32,
    I64,
}

impl RawKind {
    fn size(self) -> usize {
        match self {
            RawKind::I16 | RawKind::U16 => 2,
            RawKind::I32 => 4,
            RawKind::I64 => 8,
        }
    }
}

/// Predictor shape for a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Time taps of the same channel.
    pub time: u8,
    /// Channel taps of the same time sample (2-D planes only).
    pub space: u8,
    /// Previous time samples with cross taps on both sides.
    pub cross: u8,
}

/// Which entropy coder codes the residuals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entropy {
    /// Static per-tile context tables with rANS: the default, faster and (measured on the corpus) smaller.
    Static,
    /// The adaptive binary range coder.
    Adaptive,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct TileConfig {
    pub entropy: Entropy,
    pub lt: u8,
    pub lx: u8,
    pub shape: Shape,
    /// Try a few predictor shapes per tile and keep the cheapest.
    pub auto: bool,
    /// Rows per predictor segment (0 = one per subband).
    pub segment_rows: usize,
    pub raw: RawKind,
    /// Code a tile of several columns by [`METHOD_COLUMNS_CROSS`] (static tables and no wavelet only; a constant
    /// tile keeps the single band that codes it for free).
    pub columns: bool,
    /// A trial coding (the codec's column trial, the float variants' trial): choose among candidate predictors by
    /// the residual energy the normal equations give, not by a prediction pass per candidate (column bands always
    /// do), and fit 2-D predictors on [`TRIAL_FIT_SAMPLES`] samples.
    pub by_energy: bool,
}

/// The subbands of [`METHOD_COLUMNS_STATIC`]: the tile's columns, first to last.
fn column_bands(rows: usize, cols: usize) -> Vec<wavelet::Band> {
    // (Empty subbands are omitted, as from the wavelet's.)
    let cols = if rows == 0 { 0 } else { cols };
    (0..cols).map(|c| wavelet::Band { row0: 0, col0: c, rows, cols: 1 }).collect()
}

/// Buffers the tile coder reuses from one tile to the next on a worker: allocated (and page-faulted in) afresh for
/// every tile, they cost about 7 % of the compression time of a large array.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Residual magnitudes of the rows being coded, after those of the rows before them that the contexts read
    /// (see [`encode_rows`]).
    mags: Vec<u32>,
    /// Predictions of a block of rows.
    pred: Vec<i64>,
    /// (context, symbol) pairs of the tile, for the static tables.
    symbols: Vec<(u8, u8)>,
    /// Predictions while candidate predictors are compared.
    estimate: Vec<i64>,
    /// The band being coded as i32, when its values fit (see [`Values`]).
    narrow_copy: Vec<i32>,
    /// Residuals and contexts of a block of rows, computed before the block is coded.
    residuals: Vec<i64>,
    contexts: Vec<u8>,
    /// Method 4: the columns' residuals from their own predictions, column-major.
    column_residuals: Vec<i64>,
    /// Method 4: the tile, column-major.
    column: Vec<i64>,
    /// Method 4: the columns' residuals as i32 (when they fit), and the cross predictions' i32 sums.
    column_residuals32: Vec<i32>,
    cross_sums: Vec<i32>,
    /// Bytes of the tiles coded with this scratch (since the caller last set it to 0) that do not grow with the
    /// number of samples: method, predictors, entropy tables. The channel trial scales the rest of a band's coding
    /// to the whole tile row (see `choose_channel_tiles`).
    pub fixed_bytes: usize,
    /// Whether a tile coded with this scratch (since the caller last set it to false) kept a table that is a law:
    /// its stream must be version 5.
    pub table_laws: bool,
}

impl Scratch {
    /// [`Scratch::table_laws`], which becomes false: callers that code candidates and keep one take it before
    /// and after each, and keep the kept one's.
    pub(crate) fn take_laws(&mut self) -> bool {
        std::mem::take(&mut self.table_laws)
    }
}

crate::simd::avx2_dispatch! {
    /// Encodes a tile. `x` holds the quantised integers (all within the range of `cfg.raw`); it is used as scratch.
    /// Built with LZCNT and BMI1/2 as well as AVX2, like the decoder: the leading-zero counts of every symbol,
    /// magnitude and cost estimate are then one instruction instead of a bit scan and a zero test (one-channel
    /// tiles of 10^4 samples: 20 % fewer instructions).
    fn encode_tile(x: &mut [i64], rows: usize, cols: usize, cfg: &TileConfig, scratch: &mut Scratch) -> Vec<u8>
        => encode_tile_impl with "bmi1", "bmi2", "lzcnt"
}

#[inline(always)]
fn encode_tile_impl(x: &mut [i64], rows: usize, cols: usize, cfg: &TileConfig, scratch: &mut Scratch) -> Vec<u8> {
    let raw_len = 1 + x.len() * cfg.raw.size();
    let mut out = Vec::with_capacity(raw_len / 2);
    if let Some((fixed, laws)) = encode_predictive(x, rows, cols, cfg, &mut out, scratch) {
        if out.len() < raw_len {
            scratch.fixed_bytes += fixed;
            scratch.table_laws |= laws;
            return out;
        }
    }
    scratch.fixed_bytes += 1;
    out.clear();
    out.push(METHOD_RAW);
    for &v in x.iter() {
        match cfg.raw {
            RawKind::I16 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            RawKind::U16 => out.extend_from_slice(&(v as u16).to_le_bytes()),
            RawKind::I32 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            RawKind::I64 => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

fn offsets_for(shape: Shape, rows: usize, cols: usize) -> Vec<(u16, i16)> {
    let time = (shape.time as usize).min(rows.saturating_sub(1));
    if cols == 1 {
        lpc::time_offsets(time)
    } else {
        lpc::neighbourhood_offsets(time, shape.space as usize, shape.cross as usize, cols)
    }
}

/// Cheap cost estimate of a predictor on a band: sum of residual bit lengths over a sample of rows (for one channel,
/// runs of consecutive samples), predicted by the same vectorised [`predictions`] the coder uses. `scratch` holds
/// the predictions.
#[inline(always)]
fn estimate_cost(
    v: &Values,
    rows: usize,
    cols: usize,
    p: &Predictor,
    range: Range<usize>,
    scratch: &mut Vec<i64>,
) -> u64 {
    let x = v.x;
    let int = p.interior(cols);
    let first = int.row0.max(range.start);
    let rows = range.end.min(rows);
    if int.is_empty(rows) || first >= rows {
        return u64::MAX;
    }
    let width = int.col1 - int.col0;
    // Row ranges to estimate on. (A loop over them, not a closure: a closure would not be compiled for AVX2.)
    let mut spans: Vec<(usize, usize)> = Vec::new();
    if cols == 1 {
        let total = rows - first;
        if total <= ESTIMATE_SAMPLES {
            spans.extend((first..rows).step_by(PREDICT_BLOCK).map(|t0| (t0, (t0 + PREDICT_BLOCK).min(rows))));
        } else {
            let runs = ESTIMATE_SAMPLES / ESTIMATE_RUN;
            spans.extend((0..runs).map(|r| first + r * (total / runs)).map(|t0| (t0, (t0 + ESTIMATE_RUN).min(rows))));
        }
    } else {
        let want_rows = (ESTIMATE_SAMPLES / width).max(1);
        let step = (rows - first).div_ceil(want_rows).max(1);
        if step == 1 {
            // Every row: blocks of rows, not one call per row.
            let block = (PREDICT_BLOCK / cols).max(1);
            spans.extend((first..rows).step_by(block).map(|t0| (t0, (t0 + block).min(rows))));
        } else {
            spans.extend((first..rows).step_by(step).map(|t| (t, t + 1)));
        }
    }
    let (mut cost, mut n) = (0u64, 0u64);
    for (t0, t1) in spans {
        scratch.resize((t1 - t0) * cols, 0);
        predictions(v, rows, cols, p, t0..t1, scratch);
        if width == cols {
            // Full-width interior (always for one channel): the span's samples are contiguous, one pass.
            for (&v, &q) in x[t0 * cols..t1 * cols].iter().zip(scratch.iter()) {
                cost += 64 - v.wrapping_sub(q).unsigned_abs().leading_zeros() as u64;
            }
            n += ((t1 - t0) * width) as u64;
            continue;
        }
        for t in t0..t1 {
            let values = &x[t * cols + int.col0..][..width];
            let predicted = &scratch[(t - t0) * cols + int.col0..][..width];
            for (&v, &q) in values.iter().zip(predicted) {
                cost += 64 - v.wrapping_sub(q).unsigned_abs().leading_zeros() as u64;
            }
        }
        n += ((t1 - t0) * width) as u64;
    }
    // Per-sample cost in 1/1024 bits plus the coefficients' share.
    (cost * 1024 / n.max(1)) * ((rows - range.start) * cols) as u64 / 1024 + 24 * p.taps.len() as u64
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn choose_predictor(
    v: &Values,
    rows: usize,
    cols: usize,
    cfg: &TileConfig,
    range: Range<usize>,
    scratch: &mut Vec<i64>,
    by_energy: bool,
    compact: bool,
) -> Predictor {
    let x = v.x;
    // A constant band (the all-zero correction plane of exactly scaled floats, a flat-lined channel) is predicted
    // exactly by its mean: fitting taps to it cost as much as fitting a real band and could only add coefficients.
    let band = &x[range.start * cols..(range.end * cols).min(x.len())];
    if band.first().is_some_and(|&v0| band.iter().all(|&v| v == v0)) {
        return Predictor::zero();
    }
    let s = cfg.shape;
    let mut candidates = vec![s];
    if cfg.auto {
        let fixed: &[Shape] = if cols == 1 {
            &[Shape { time: 2, ..s }, Shape { time: 8, ..s }, Shape { time: 16, ..s }, Shape { time: 32, ..s }]
        } else {
            &[
                Shape { time: 1, space: 1, cross: 1 },
                Shape { time: 2, space: 2, cross: 1 },
                Shape { time: 4, space: 3, cross: 2 },
                Shape { time: 8, space: 2, cross: 1 },
            ]
        };
        // The configured shape may be one of the fixed ones (the default is): each shape is tried once.
        for &shape in fixed {
            if !candidates.contains(&shape) {
                candidates.push(shape);
            }
        }
    }
    let sets: Vec<Vec<(u16, i16)>> = candidates.iter().map(|&c| offsets_for(c, rows, cols)).collect();
    // One accumulation over the union of all candidates' taps; each candidate solves its own sub-system.
    let mut union: Vec<(u16, i16)> = Vec::new();
    for o in sets.iter().flatten() {
        if !union.contains(o) {
            union.push(*o);
        }
    }
    // (When the union reaches outside a narrow plane, each candidate is fitted on its own.)
    let fit_samples = match (cols, by_energy, cfg.by_energy) {
        (1, true, _) => COLUMN_FIT_SAMPLES,
        (2.., _, true) => TRIAL_FIT_SAMPLES,
        _ => FIT_SAMPLES,
    };
    let gram = Gram::accumulate(x, rows, cols, &union, fit_samples, range.clone());
    let fit = |set: &[(u16, i16)]| match &gram {
        Some(g) => g.solve(set, COEF_SHIFT),
        None => Predictor::fit_rows(x, rows, cols, set, COEF_SHIFT, fit_samples, range.clone()),
    };
    if sets.len() == 1 {
        return fit(&sets[0]);
    }
    if let (true, Some(g)) = (by_energy, &gram) {
        // The residual energy each candidate leaves on the fitted samples, from the normal equations: no prediction
        // pass per candidate. Bits as for Gaussian residuals, `n / 2 log2(energy)` over the band's `n` samples, plus
        // the coefficients'.
        let n = ((range.end.min(rows) - range.start) * cols) as f64;
        // Candidates that are leading runs of the accumulated offsets (a channel's lags 1..p, as for column bands)
        // share one factorisation.
        let prefixes = sets.iter().all(|set| g.offsets().get(..set.len()) == Some(&set[..]));
        let fitted: Vec<Predictor> = if prefixes {
            g.solve_prefixes(&sets.iter().map(Vec::len).collect::<Vec<_>>(), COEF_SHIFT)
        } else {
            sets.iter().map(|set| fit(set)).collect()
        };
        // Method 4 writes bare coefficients, each worth its varint's bytes; the older methods write each tap with
        // its offsets.
        let cost_of = |p: &Predictor| {
            let e = g.residual_energy(p)?;
            let coef_bits = if compact {
                8.0 * p.taps.iter().map(|t| svarint_len(t.coef as i64)).sum::<usize>() as f64
            } else {
                24.0 * p.taps.len() as f64
            };
            Some(n / 2.0 * e.max(0.25).log2() + coef_bits)
        };
        let mut best = (f64::INFINITY, Predictor::zero());
        for p in fitted {
            if let Some(cost) = cost_of(&p) {
                if cost < best.0 {
                    best = (cost, p);
                }
            }
        }
        if compact && !best.1.taps.is_empty() {
            // Then the precision of the chosen order that costs least: coarser coefficients are shorter but
            // predict worse.
            for shift in (MIN_COLUMN_SHIFT..COEF_SHIFT).rev() {
                let p = requantise(&best.1, shift);
                if let Some(cost) = cost_of(&p) {
                    if cost < best.0 {
                        best = (cost, p);
                    }
                }
            }
        }
        return best.1;
    }
    let mut best = (u64::MAX, Predictor::zero());
    for set in &sets {
        let p = fit(set);
        let cost = estimate_cost(v, rows, cols, &p, range.clone(), scratch);
        if cost < best.0 {
            best = (cost, p);
        }
    }
    best.1
}

/// Writes method 1 or 2 (or, for a tile coded by columns, method 4) into `out` and returns the length of its part
/// that does not grow with the samples (all but the entropy-coded and raw bits), and whether one of its tables is a
/// law; `None` when the tile cannot use it (never, today, but kept for future limits).
#[inline(always)]
fn encode_predictive(
    x: &[i64],
    rows: usize,
    cols: usize,
    cfg: &TileConfig,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) -> Option<(usize, bool)> {
    let columns = cfg.columns
        && cfg.entropy == Entropy::Static
        && cfg.lt == 0
        && cfg.lx == 0
        && cols > 1
        && x.first().is_some_and(|&v0| x.iter().any(|&v| v != v0));
    if columns {
        return encode_columns(x, rows, cols, cfg, out, scratch);
    }
    let Scratch { mags, pred, symbols, estimate, narrow_copy, residuals, contexts, .. } = scratch;
    out.push(match cfg.entropy {
        Entropy::Adaptive => METHOD_PREDICTIVE,
        Entropy::Static => METHOD_PREDICTIVE_STATIC,
    });
    out.push(cfg.lt);
    out.push(cfg.lx);
    // Only a wavelet needs a working copy of the tile.
    let transformed;
    let x = if cfg.lt > 0 || cfg.lx > 0 {
        let mut w = x.to_vec();
        wavelet::forward_2d(&mut w, rows, cols, cfg.lt as u32, cfg.lx as u32);
        transformed = w;
        &transformed[..]
    } else {
        x
    };
    let bands = wavelet::bands(rows, cols, cfg.lt as u32, cfg.lx as u32);
    let mut sink = match cfg.entropy {
        Entropy::Adaptive => Sink::Adaptive(ResidualModel::new(), RangeEncoder::with_capacity(x.len())),
        Entropy::Static => {
            symbols.clear();
            Sink::Static(symbols, vec![[0u32; NSYM]; MAX_CONTEXTS])
        }
    };
    let mut raw = RawWriter::new();
    for band in &bands {
        // Without a wavelet the only band is the tile itself: no copy.
        let mut band_buf: Cow<[i64]> = if band.rows == rows && band.cols == cols {
            Cow::Borrowed(x)
        } else {
            let mut copy = Vec::with_capacity(band.rows * band.cols);
            extract(x, cols, band, &mut copy);
            Cow::Owned(copy)
        };
        let (br, bc) = (band.rows, band.cols);
        let seg = segment_rows(br, cfg.segment_rows);
        let segments: Vec<Range<usize>> = (0..br).step_by(seg.max(1)).map(|s0| s0..(s0 + seg).min(br)).collect();
        let values = Values::of(&band_buf, narrow_copy);
        let max_abs = values.max_abs;
        // (A loop, not a closure: a closure would not be compiled for AVX2.)
        let mut preds: Vec<Predictor> = Vec::with_capacity(segments.len());
        for r in &segments {
            preds.push(choose_predictor(&values, br, bc, cfg, r.clone(), estimate, cfg.by_energy, false));
        }
        // Mean removal only matters when nothing is predicted (order 0 everywhere).
        let m = if preds.iter().all(|p| p.taps.is_empty()) { mean::mean(&band_buf) } else { 0 };
        if m != 0 {
            mean::subtract(band_buf.to_mut(), m);
            preds.iter_mut().for_each(|p| *p = Predictor::zero());
        }
        put_svarint(out, m);
        put_varint(out, seg as u64);
        for p in &preds {
            out.push(p.taps.len() as u8);
            out.push(p.shift);
            for t in &p.taps {
                put_varint(out, t.dt as u64);
                put_svarint(out, t.dc as i64);
                put_svarint(out, t.coef as i64);
            }
        }
        if let Sink::Static(_, counts) = &mut sink {
            if bands.len() == 1 && preds.iter().all(|p| p.taps.is_empty()) && band_buf.iter().all(|&v| v == 0) {
                // A constant tile (the correction plane of exactly scaled floats, a flat-lined record): every
                // residual is 0, symbol 0 in context 0, the only symbol of that context, so each rANS step would
                // leave the state as it is. Counting them is the whole coding; the stream is the same.
                counts[context_of(0)][0] += (br * bc) as u32;
                continue;
            }
        }
        // Predictions are made and coded a few rows at a time: the block stays in cache, and no tile-sized buffer
        // is allocated (and page-faulted in) for every tile.
        // (The band changed only if its mean was removed: otherwise its copy and largest magnitude still hold.)
        let values = if m != 0 {
            Values::of(&band_buf, narrow_copy)
        } else {
            Values { x: &band_buf, x32: narrow_copy, max_abs }
        };
        let block_rows = (PREDICT_BLOCK / bc.max(1)).max(1);
        pred.resize(block_rows * bc, 0);
        for (p, r) in preds.iter().zip(&segments) {
            let mut t0 = r.start;
            while t0 < r.end {
                let t1 = (t0 + block_rows).min(r.end);
                let block = &mut pred[..(t1 - t0) * bc];
                predictions(&values, br, bc, p, t0..t1, block);
                encode_rows(&band_buf, block, t0..t1, bc, &mut sink, &mut raw, mags, residuals, contexts);
                t0 = t1;
            }
        }
    }
    let (coded, laws) = match sink {
        Sink::Adaptive(_, rc) => (rc.finish(), false),
        Sink::Static(symbols, counts) => write_tables_and_code(out, &counts, symbols),
    };
    let fixed = out.len();
    write_streams(out, &coded, raw);
    Some((fixed, laws))
}

/// Writes method 4 (a tile of `cols > 1` columns, not constant) into `out`; returns the length of its fixed part and
/// whether a table is a law, as [`encode_predictive`].
#[inline(always)]
fn encode_columns(
    x: &[i64],
    rows: usize,
    cols: usize,
    cfg: &TileConfig,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) -> Option<(usize, bool)> {
    let Scratch {
        pred,
        symbols,
        estimate,
        narrow_copy,
        contexts,
        column_residuals,
        column,
        column_residuals32: u32s,
        cross_sums: acc32,
        ..
    } = scratch;
    out.extend_from_slice(&[METHOD_COLUMNS_CROSS, 0, 0]);
    let seg = segment_rows(rows, cfg.segment_rows);
    let segments: Vec<Range<usize>> = (0..rows).step_by(seg.max(1)).map(|s0| s0..(s0 + seg).min(rows)).collect();
    // Each column's residuals from its own predictions, column after column.
    let u = column_residuals;
    u.clear();
    u.resize(rows * cols, 0);
    // The tile column-major, in one pass (a strided pass over the whole tile per column cost 2 % of the time).
    let by_column = column;
    transpose(x, rows, cols, by_column);
    for c in 0..cols {
        let column = &by_column[c * rows..(c + 1) * rows];
        let values = Values::of(column, narrow_copy);
        let mut preds: Vec<Predictor> = Vec::with_capacity(segments.len());
        for r in &segments {
            preds.push(choose_predictor(&values, rows, 1, cfg, r.clone(), estimate, true, true));
        }
        // Mean removal only matters when nothing is predicted (order 0 everywhere).
        let m = if preds.iter().all(|p| p.taps.is_empty()) { mean::mean(column) } else { 0 };
        put_svarint(out, m);
        put_varint(out, seg as u64);
        for p in &preds {
            write_column_predictor(out, p);
        }
        let col_u = &mut u[c * rows..(c + 1) * rows];
        if m != 0 || preds.iter().all(|p| p.taps.is_empty()) {
            // Predicted by nothing: the residuals are the values less their mean.
            for (o, &v) in col_u.iter_mut().zip(column.iter()) {
                *o = v.wrapping_sub(m);
            }
            continue;
        }
        for (p, r) in preds.iter().zip(&segments) {
            let mut t0 = r.start;
            while t0 < r.end {
                let t1 = (t0 + PREDICT_BLOCK).min(r.end);
                pred.resize(t1 - t0, 0);
                predictions(&values, rows, 1, p, t0..t1, pred);
                for ((o, &v), &q) in col_u[t0..t1].iter_mut().zip(&column[t0..t1]).zip(pred.iter()) {
                    *o = v.wrapping_sub(q);
                }
                t0 = t1;
            }
        }
    }
    // Cross-channel weights, then each column's coded residuals: its residuals less their prediction from the
    // columns before it (from the last column back, so that the columns a prediction reads are still unchanged).
    let cross = lpc::cross_predictors(u, rows, cols, CROSS_MAX_COLUMNS, CROSS_FIT_ROWS, CROSS_COEF_BITS);
    for w in cross.iter().skip(1) {
        out.push(w.weights.len() as u8);
        if !w.weights.is_empty() {
            out.push(w.shift);
            for &q in &w.weights {
                put_svarint(out, q as i64);
            }
        }
    }
    let largest: Vec<u64> = u.chunks_exact(rows).map(max_abs).collect();
    u32s.clear();
    if largest.iter().all(|&m| m <= i32::MAX as u64) {
        u32s.extend(u.iter().map(|&v| v as i32));
    }
    for c in (1..cols).rev() {
        let w = &cross[c];
        if w.weights.is_empty() {
            continue;
        }
        let (before, this) = u.split_at_mut(c * rows);
        cross_predictions(before, u32s, &largest, rows, c, w, pred, acc32, true);
        let this = &mut this[..rows];
        match pred.is_empty() {
            // (The i32 sums, still in `acc32`.)
            true => this.iter_mut().zip(acc32.iter()).for_each(|(o, &a)| *o = o.wrapping_sub((a >> w.shift) as i64)),
            false => this.iter_mut().zip(pred.iter()).for_each(|(o, &q)| *o = o.wrapping_sub(q)),
        }
    }
    // Each column's context sum starts where its first residuals would take it.
    let leak0: Vec<u64> = u.chunks_exact(rows).map(initial_leak).collect();
    for &s0 in &leak0 {
        put_varint(out, s0);
    }
    symbols.clear();
    let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
    let mut raw = RawWriter::new();
    contexts.clear();
    contexts.resize(rows * cols, 0);
    leaky_contexts(u, rows, &leak0, contexts);
    rans::collect_symbols(u, contexts, &mut raw, &mut counts, symbols);
    let (coded, laws) = write_tables_and_code(out, &counts, symbols);
    let fixed = out.len();
    write_streams(out, &coded, raw);
    Some((fixed, laws))
}

/// Writes the static tables of the symbol counts `counts` (section 6.2) and returns the rANS coding of `symbols`,
/// and whether a table is a law (stream version 5).
fn write_tables_and_code(out: &mut Vec<u8>, counts: &[[u32; NSYM]], symbols: &[(u8, u8)]) -> (Vec<u8>, bool) {
    let model = StaticModel::from_counts_compact(counts);
    model.write(out);
    let mut enc = RansEncoder::new();
    enc.put_all(&model, symbols);
    (enc.finish(), model.uses_laws())
}

/// Writes the coder stream, with its length, then the raw bit stream: the end of every predictive tile.
fn write_streams(out: &mut Vec<u8>, coded: &[u8], raw: RawWriter) {
    put_varint(out, coded.len() as u64);
    out.extend_from_slice(coded);
    out.extend_from_slice(&raw.finish());
}

/// `x` (`rows x cols`, row-major) column-major into `out`, a few rows at a time (each block's columns stay in
/// cache while they are written).
fn transpose(x: &[i64], rows: usize, cols: usize, out: &mut Vec<i64>) {
    out.clear();
    out.resize(rows * cols, 0);
    const BLOCK: usize = 64;
    for t0 in (0..rows).step_by(BLOCK) {
        let t1 = (t0 + BLOCK).min(rows);
        for c in 0..cols {
            let dst = &mut out[c * rows + t0..c * rows + t1];
            for (d, row) in dst.iter_mut().zip(x[t0 * cols..t1 * cols].chunks_exact(cols)) {
                *d = row[c];
            }
        }
    }
}

/// Writes a method-4 column predictor: its order (the largest lag), then the shift and the coefficient of every lag
/// from 1 (lags without a tap weigh 0).
fn write_column_predictor(out: &mut Vec<u8>, p: &Predictor) {
    let order = p.taps.iter().map(|t| t.dt as usize).max().unwrap_or(0);
    out.push(order as u8);
    if order == 0 {
        return;
    }
    out.push(p.shift);
    let mut dense = vec![0i64; order];
    for t in &p.taps {
        dense[t.dt as usize - 1] += t.coef as i64;
    }
    for &a in &dense {
        put_svarint(out, a);
    }
}

/// The prediction of column `c`'s residuals (rows `0..rows`) from the `w.weights.len()` columns before it, whose
/// residuals are `before` (column-major, `c` columns; `before32` the same as i32 when all fit, else shorter) and
/// their largest magnitudes `max_abs`, into `q`; `acc32` is scratch. With `leave_i32`, predictions made in i32
/// (when every sum fits) are left unshifted in `acc32` and `q` is left empty.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn cross_predictions(
    before: &[i64],
    before32: &[i32],
    max_abs: &[u64],
    rows: usize,
    c: usize,
    w: &lpc::Cross,
    q: &mut Vec<i64>,
    acc32: &mut Vec<i32>,
    leave_i32: bool,
) {
    let round = lpc::rounding(w.shift);
    let column = |j: usize| &before[(c - 1 - j) * rows..(c - j) * rows];
    // The bound of every sum: when it fits in i32, so does every partial sum, and wrapping i32 arithmetic (eight
    // lanes to a vector, against four for 64-bit products) gives the exact sums.
    let bound = w.weights.iter().enumerate().try_fold(round as u64, |b, (j, &coef)| {
        (coef.unsigned_abs() as u64).checked_mul(max_abs[c - 1 - j]).and_then(|p| p.checked_add(b))
    });
    q.clear();
    if before32.len() >= c * rows && bound.is_some_and(|b| b <= i32::MAX as u64) {
        acc32.clear();
        acc32.resize(rows, round as i32);
        let src = |j: usize| &before32[(c - 1 - j) * rows..(c - j) * rows];
        // Four columns per pass over the sums: one load and store of each sum per four products.
        let mut j = 0;
        while j + 4 <= w.weights.len() {
            let k = &w.weights[j..j + 4];
            let (s0, s1, s2, s3) = (src(j), src(j + 1), src(j + 2), src(j + 3));
            let (k0, k1, k2, k3) = (k[0], k[1], k[2], k[3]);
            for ((((a, &v0), &v1), &v2), &v3) in acc32.iter_mut().zip(s0).zip(s1).zip(s2).zip(s3) {
                let sum = k0.wrapping_mul(v0).wrapping_add(k1.wrapping_mul(v1));
                *a = a.wrapping_add(sum.wrapping_add(k2.wrapping_mul(v2)).wrapping_add(k3.wrapping_mul(v3)));
            }
            j += 4;
        }
        for (jj, &coef) in w.weights.iter().enumerate().skip(j) {
            for (a, &v) in acc32.iter_mut().zip(src(jj)) {
                *a = a.wrapping_add(coef.wrapping_mul(v));
            }
        }
        if !leave_i32 {
            q.extend(acc32.iter().map(|&a| (a >> w.shift) as i64));
        }
        return;
    }
    q.resize(rows, round);
    for (j, &coef) in w.weights.iter().enumerate() {
        axpy(q, column(j), coef as i64, max_abs[c - 1 - j] <= i32::MAX as u64);
    }
    q.iter_mut().for_each(|a| *a >>= w.shift);
}

/// The largest magnitude in `x`.
#[inline(always)]
fn max_abs(x: &[i64]) -> u64 {
    x.iter().fold(0u64, |m, &v| m.max(v.unsigned_abs()))
}

/// The initial context sum of a method-4 column whose residuals are `r`: the sum's level for the mean magnitude
/// of its first [`LEAK_WARMUP`] residuals (a sum started at 0 would take tens of samples to reach it, in contexts
/// of its own: in 1024-row tiles of f32int, 1 % of the bytes).
fn initial_leak(r: &[i64]) -> u64 {
    let first = &r[..r.len().min(LEAK_WARMUP)];
    let sum: u64 = first.iter().map(|&v| magnitude(v) as u64).sum();
    (sum << LEAK_SHIFT) / first.len().max(1) as u64
}

/// Method 4's contexts of the residuals `r` of columns of `rows` each (column-major), into `out`: from a sum of each
/// column's magnitudes that leaks 1/32 per sample, starting from `leak0` (docs/format.md, method 4). Four columns at
/// a time: each sum is a chain of dependent steps, and four chains side by side keep the core busy.
#[inline(always)]
fn leaky_contexts(r: &[i64], rows: usize, leak0: &[u64], out: &mut [u8]) {
    let step = |s: &mut u64, v: i64| {
        let ctx = context_of(*s >> LEAK_SCALE) as u8;
        *s = *s - (*s >> LEAK_SHIFT) + magnitude(v) as u64;
        ctx
    };
    let rows = rows.max(1);
    let mut quads = r.chunks_exact(4 * rows);
    let mut outs = out.chunks_exact_mut(4 * rows);
    let mut starts = leak0.chunks_exact(4);
    for ((q, o), s0) in (&mut quads).zip(&mut outs).zip(&mut starts) {
        let (r0, rest) = q.split_at(rows);
        let (r1, rest) = rest.split_at(rows);
        let (r2, r3) = rest.split_at(rows);
        let (o0, rest) = o.split_at_mut(rows);
        let (o1, rest) = rest.split_at_mut(rows);
        let (o2, o3) = rest.split_at_mut(rows);
        let mut s = [s0[0], s0[1], s0[2], s0[3]];
        for t in 0..rows {
            o0[t] = step(&mut s[0], r0[t]);
            o1[t] = step(&mut s[1], r1[t]);
            o2[t] = step(&mut s[2], r2[t]);
            o3[t] = step(&mut s[3], r3[t]);
        }
    }
    let rest = quads.remainder().chunks_exact(rows).zip(outs.into_remainder().chunks_exact_mut(rows));
    for ((col, o), &s0) in rest.zip(starts.remainder()) {
        let mut s = s0;
        for (o, &v) in o.iter_mut().zip(col) {
            *o = step(&mut s, v);
        }
    }
}

/// Where the encoder sends residuals: straight into the adaptive coder, or collected as (context, symbol) pairs
/// for the static tables (their raw bits go to the raw stream at once in both cases).
enum Sink<'a> {
    Adaptive(ResidualModel, RangeEncoder),
    Static(&'a mut Vec<(u8, u8)>, Vec<[u32; NSYM]>),
}

/// Where the decoder takes residuals (and their raw bits) from.
trait Source {
    /// The next residual `r`, in context `ctx`, with [`magnitude`]`(r)`.
    fn get(&mut self, ctx: usize) -> (i64, u32);

    /// As [`Source::get`] in the context of local energy `e` (at most 6 magnitudes: below 2^35).
    #[inline(always)]
    fn get_energy(&mut self, e: u64) -> (i64, u32) {
        self.get(context_of(e))
    }
}

struct AdaptiveSource<'a> {
    model: ResidualModel,
    rc: RangeDecoder<'a>,
    raw: RawReader<'a>,
}

impl Source for AdaptiveSource<'_> {
    #[inline(always)]
    fn get(&mut self, ctx: usize) -> (i64, u32) {
        let r = self.model.decode(&mut self.rc, &mut self.raw, ctx);
        (r, magnitude(r))
    }
}

impl Source for ResidualDecoder<'_> {
    #[inline(always)]
    fn get(&mut self, ctx: usize) -> (i64, u32) {
        ResidualDecoder::get(self, ctx)
    }

    #[inline(always)]
    fn get_energy(&mut self, e: u64) -> (i64, u32) {
        ResidualDecoder::get_energy(self, e)
    }
}

fn extract(x: &[i64], cols: usize, b: &wavelet::Band, out: &mut Vec<i64>) {
    out.clear();
    for r in b.row0..b.row0 + b.rows {
        let start = r * cols + b.col0;
        out.extend_from_slice(&x[start..start + b.cols]);
    }
}

fn insert(x: &mut [i64], cols: usize, b: &wavelet::Band, src: &[i64]) {
    for (i, r) in (b.row0..b.row0 + b.rows).enumerate() {
        let start = r * cols + b.col0;
        x[start..start + b.cols].copy_from_slice(&src[i * b.cols..(i + 1) * b.cols]);
    }
}

crate::simd::avx2_dispatch! {
    /// Decodes a tile into `rows * cols` integers. With BMI1/2 and LZCNT as well as AVX2 (Intel and AMD brought
    /// them in with or before AVX2; a CPU without them runs the baseline build): the entropy decoder's variable
    /// shifts, bit-field masks and context (a leading-zero count) are then single instructions that need no
    /// shift-count register (7% fewer instructions, about 8% faster decoding on a Zen 3). The results are the same
    /// on every path (integer arithmetic only). `x` receives the integers; `mags` is scratch. Both keep their
    /// capacity for the next tile.
    fn decode_tile_into(
        bytes: &[u8],
        base: usize,
        rows: usize,
        cols: usize,
        kind: RawKind,
        x: &mut Vec<i64>,
        mags: &mut Vec<u32>,
    ) -> Result<(), CodecError>
        => decode_tile_impl with "bmi1", "bmi2", "lzcnt"
}

/// Decodes a tile into `rows * cols` integers (see [`decode_tile_into`]).
pub(crate) fn decode_tile(
    bytes: &[u8],
    base: usize,
    rows: usize,
    cols: usize,
    kind: RawKind,
) -> Result<Vec<i64>, CodecError> {
    let mut x = Vec::new();
    decode_tile_into(bytes, base, rows, cols, kind, &mut x, &mut Vec::new())?;
    Ok(x)
}

#[inline(always)]
fn decode_tile_impl(
    bytes: &[u8],
    base: usize,
    rows: usize,
    cols: usize,
    kind: RawKind,
    x: &mut Vec<i64>,
    mags: &mut Vec<u32>,
) -> Result<(), CodecError> {
    let n = rows * cols;
    let mut cur = Cursor::new(bytes, base);
    match cur.u8("tile method")? {
        METHOD_RAW => {
            let body = cur.take(n * kind.size(), "raw tile")?;
            x.clear();
            match kind {
                RawKind::I16 => x.extend(body.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as i64)),
                RawKind::U16 => x.extend(body.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as i64)),
                RawKind::I32 => {
                    x.extend(body.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64))
                }
                RawKind::I64 => x.extend(
                    body.chunks_exact(8).map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
                ),
            }
            Ok(())
        }
        m @ (METHOD_PREDICTIVE | METHOD_PREDICTIVE_STATIC | METHOD_COLUMNS_STATIC) => {
            decode_predictive(&mut cur, base, rows, cols, m, x, mags, true)
        }
        METHOD_COLUMNS_CROSS => decode_columns(&mut cur, base, rows, cols, x),
        _ => Err(CodecError::Corrupt { what: "unknown tile method", offset: base }),
    }
}

/// Decodes method 1, 2 or 3; `constant_shortcut` is false only in the test that checks the shortcut against the
/// per-sample decoder.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn decode_predictive(
    cur: &mut Cursor,
    base: usize,
    rows: usize,
    cols: usize,
    method: u8,
    x: &mut Vec<i64>,
    mags: &mut Vec<u32>,
    constant_shortcut: bool,
) -> Result<(), CodecError> {
    let lt = cur.u8("wavelet levels")?;
    let lx = cur.u8("wavelet levels")?;
    if lt > MAX_LEVELS || lx > MAX_LEVELS {
        return Err(CodecError::Corrupt { what: "wavelet levels", offset: base + 1 });
    }
    let bands = if method == METHOD_COLUMNS_STATIC {
        if lt != 0 || lx != 0 {
            return Err(CodecError::Corrupt { what: "wavelet levels of a column-band tile", offset: base + 1 });
        }
        // Each column's header takes at least 4 bytes (mean, segment rows, and a predictor's two): a tile claiming
        // more columns than its bytes can describe is refused before a band list is allocated for them.
        if rows > 0 && cols > bytes_left(cur) / 4 {
            return Err(CodecError::Truncated { what: "column-band headers", offset: base + cur.pos() });
        }
        column_bands(rows, cols)
    } else {
        wavelet::bands(rows, cols, lt as u32, lx as u32)
    };
    let mut headers = Vec::with_capacity(bands.len());
    for band in &bands {
        let m = cur.svarint("band mean")?;
        let seg = cur.varint("segment rows")?;
        if seg == 0 && band.rows > 0 || seg > u32::MAX as u64 {
            return Err(CodecError::Corrupt { what: "segment rows", offset: base + cur.pos() });
        }
        let nseg = if band.rows == 0 { 0 } else { band.rows.div_ceil(seg as usize) };
        let mut preds = Vec::with_capacity(nseg.min(bytes_left(cur)));
        for _ in 0..nseg {
            preds.push(read_predictor(cur, base)?);
        }
        headers.push((m, seg as usize, preds));
    }
    let table = if method != METHOD_PREDICTIVE { Some(read_tables(cur, base)?) } else { None };
    let rc_bytes = read_coder_stream(cur, base)?;
    let raw = cur.rest();
    match table {
        Some(model) => {
            let mut src = ResidualDecoder::new(&model, rc_bytes, raw);
            if constant_shortcut && is_constant_tile(&bands, &headers, &model) && src.finish_ok() {
                // Every residual is 0 (see the encoder): decoding them would read nothing and leave the states,
                // already at their final value, as they are.
                x.clear();
                x.resize(rows * cols, headers[0].0);
                return Ok(());
            }
            decode_bands(&bands, &headers, rows, cols, &mut src, x, mags);
            if !src.finish_ok() {
                return Err(CodecError::Corrupt { what: "tile entropy data", offset: base });
            }
            if src.raw_overrun() {
                return Err(CodecError::Truncated { what: "tile raw bits", offset: base });
            }
        }
        None => {
            let mut src = AdaptiveSource {
                model: ResidualModel::new(),
                rc: RangeDecoder::new(rc_bytes),
                raw: RawReader::new(raw),
            };
            decode_bands(&bands, &headers, rows, cols, &mut src, x, mags);
            if src.rc.overrun() {
                return Err(CodecError::Truncated { what: "tile entropy data", offset: base });
            }
            if src.raw.overrun() {
                return Err(CodecError::Truncated { what: "tile raw bits", offset: base });
            }
        }
    }
    wavelet::inverse_2d(x, rows, cols, lt as u32, lx as u32);
    Ok(())
}

/// Decodes method 4.
#[inline(always)]
fn decode_columns(cur: &mut Cursor, base: usize, rows: usize, cols: usize, x: &mut Vec<i64>) -> Result<(), CodecError> {
    if cur.u8("wavelet levels")? != 0 || cur.u8("wavelet levels")? != 0 {
        return Err(CodecError::Corrupt { what: "wavelet levels of a column tile", offset: base + 1 });
    }
    let ncols = if rows == 0 { 0 } else { cols };
    // Each column's header takes at least 3 bytes (mean, segment rows, an order): a tile claiming more columns than
    // its bytes can describe is refused before anything is allocated for them.
    if ncols > bytes_left(cur) / 3 {
        return Err(CodecError::Truncated { what: "column headers", offset: base + cur.pos() });
    }
    let mut headers: Vec<BandHeader> = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let m = cur.svarint("column mean")?;
        let seg = cur.varint("segment rows")?;
        if seg == 0 || seg > u32::MAX as u64 {
            return Err(CodecError::Corrupt { what: "segment rows", offset: base + cur.pos() });
        }
        let nseg = rows.div_ceil(seg as usize);
        let mut preds = Vec::with_capacity(nseg.min(bytes_left(cur)));
        for _ in 0..nseg {
            preds.push(read_column_predictor(cur, base)?);
        }
        headers.push((m, seg as usize, preds));
    }
    let mut cross = vec![lpc::Cross::default(); ncols];
    for (c, w) in cross.iter_mut().enumerate().skip(1) {
        let at = base + cur.pos();
        let k = cur.u8("cross-channel weights")? as usize;
        if k > c.min(lpc::MAX_CROSS) {
            return Err(CodecError::Corrupt { what: "cross-channel weight count", offset: at });
        }
        if k == 0 {
            continue;
        }
        w.shift = cur.u8("cross-channel shift")?;
        if w.shift > 30 {
            return Err(CodecError::Corrupt { what: "cross-channel shift", offset: at });
        }
        for _ in 0..k {
            let q = cur.svarint("cross-channel weight")?;
            if q.unsigned_abs() > MAX_COEF as u64 {
                return Err(CodecError::Corrupt { what: "cross-channel weight", offset: at });
            }
            w.weights.push(q as i32);
        }
    }
    let mut leak0 = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let s0 = cur.varint("initial context sum")?;
        if s0 >= MAX_LEAK0 {
            return Err(CodecError::Corrupt { what: "initial context sum", offset: base + cur.pos() });
        }
        leak0.push(s0);
    }
    let model = read_tables(cur, base)?;
    let rc_bytes = read_coder_stream(cur, base)?;
    let mut src = ResidualDecoder::new(&model, rc_bytes, cur.rest());
    // The columns' residuals from their own predictions (column-major).
    let mut u = vec![0i64; rows * ncols];
    // The columns' values, column-major (placed in `x`, row-major, at the end).
    let mut by_column = vec![0i64; rows * ncols];
    let (mut q, mut acc32) = (Vec::with_capacity(rows), Vec::new());
    let mut largest = Vec::with_capacity(ncols);
    // The columns' residuals as i32 while all so far fit (the cross predictions' fast path).
    let mut u32s: Vec<i32> = Vec::new();
    for (c, (((m, seg, preds), w), &s0)) in headers.iter().zip(&cross).zip(&leak0).enumerate() {
        let (before, this) = u.split_at_mut(c * rows);
        let this = &mut this[..rows];
        if w.weights.is_empty() {
            this.fill(0);
        } else {
            cross_predictions(before, &u32s, &largest, rows, c, w, &mut q, &mut acc32, false);
            this.copy_from_slice(&q);
        }
        let mut leak = s0;
        let column = &mut by_column[c * rows..(c + 1) * rows];
        for (i, p) in preds.iter().enumerate() {
            let range = i * seg..((i + 1) * seg).min(rows);
            leak = decode_column(column, p, range, this, leak, &mut src);
        }
        if *m != 0 {
            column.iter_mut().for_each(|v| *v = v.wrapping_add(*m));
        }
        let m_abs = max_abs(this);
        largest.push(m_abs);
        if m_abs <= i32::MAX as u64 && u32s.len() == c * rows {
            u32s.extend(this.iter().map(|&v| v as i32));
        }
    }
    transpose(&by_column, cols, rows, x);
    if !src.finish_ok() {
        return Err(CodecError::Corrupt { what: "tile entropy data", offset: base });
    }
    if src.raw_overrun() {
        return Err(CodecError::Truncated { what: "tile raw bits", offset: base });
    }
    Ok(())
}

/// Decodes the rows `range` of one method-4 column into `x` (the column's values before its mean is added): `u`
/// holds each row's cross-channel prediction and receives its residual from the column's own prediction. `leak` is
/// the contexts' leaky sum before the range; the sum after it is returned.
#[inline(always)]
fn decode_column<S: Source>(
    x: &mut [i64],
    p: &Predictor,
    range: Range<usize>,
    u: &mut [i64],
    mut leak: u64,
    src: &mut S,
) -> u64 {
    let order = p.taps.len();
    let (round, shift) = (lpc::rounding(p.shift), p.shift);
    // Coefficients by position in the window x[t - order..t]: the tap of lag i (p.taps[i - 1]) weighs its end.
    let dense: Vec<i64> = p.taps.iter().rev().map(|t| t.coef as i64).collect();
    let dense32: Vec<i32> = dense.iter().map(|&c| c as i32).collect();
    // While every sample so far fits in i32, the products are exact 32 x 32 -> 64-bit ones (as in `axpy`).
    let mut narrow = fits_i32(&x[..range.start]);
    for t in range {
        let pred = if order == 0 {
            0
        } else if t >= order {
            let window = &x[t - order..t];
            let dot = if narrow {
                window.iter().zip(&dense32).fold(round, |a, (&v, &c)| a.wrapping_add(v as i32 as i64 * c as i64))
            } else {
                window.iter().zip(&dense).fold(round, |a, (&v, &c)| a.wrapping_add(v.wrapping_mul(c)))
            };
            dot >> shift
        } else if t > 0 {
            x[t - 1]
        } else {
            0
        };
        let (r, m) = src.get_energy(leak >> LEAK_SCALE);
        leak = leak - (leak >> LEAK_SHIFT) + m as u64;
        let residual = u[t].wrapping_add(r);
        u[t] = residual;
        let v = pred.wrapping_add(residual);
        x[t] = v;
        narrow &= v == v as i32 as i64;
    }
    leak
}

/// Reads a method-4 column predictor (order, then shift and coefficients when the order is not 0) as the taps of
/// lags 1 to the order.
fn read_column_predictor(cur: &mut Cursor, base: usize) -> Result<Predictor, CodecError> {
    let at = base + cur.pos();
    let order = cur.u8("predictor order")? as usize;
    if order > MAX_TAPS {
        return Err(CodecError::Corrupt { what: "predictor order", offset: at });
    }
    if order == 0 {
        return Ok(Predictor::zero());
    }
    let shift = cur.u8("coefficient shift")?;
    if shift > 30 {
        return Err(CodecError::Corrupt { what: "coefficient shift", offset: at });
    }
    let mut taps = Vec::with_capacity(order);
    for lag in 1..=order {
        let coef = cur.svarint("predictor coefficient")?;
        if coef.unsigned_abs() > MAX_COEF as u64 {
            return Err(CodecError::Corrupt { what: "predictor coefficient", offset: at });
        }
        taps.push(Tap { dt: lag as u16, dc: 0, coef: coef as i32 });
    }
    Ok(Predictor { taps, shift })
}

/// Reads a tile's static tables (section 6.2).
fn read_tables(cur: &mut Cursor, base: usize) -> Result<StaticModel, CodecError> {
    let at = base + cur.pos();
    let (model, used) = StaticModel::read(cur.rest()).map_err(|e| match e {
        rans::TableError::Truncated => CodecError::Truncated { what: "entropy tables", offset: at },
        rans::TableError::Invalid => CodecError::Corrupt { what: "entropy tables", offset: at },
    })?;
    cur.take(used, "entropy tables")?;
    Ok(model)
}

/// Reads a tile's coder stream (its length, then its bytes); the raw bit stream is the rest of the tile.
fn read_coder_stream<'a>(cur: &mut Cursor<'a>, base: usize) -> Result<&'a [u8], CodecError> {
    let len = cur.varint("entropy stream length")?;
    let len = usize::try_from(len).map_err(|_| CodecError::Corrupt { what: "entropy stream length", offset: base })?;
    cur.take(len, "entropy stream")
}

type BandHeader = (i64, usize, Vec<Predictor>);

#[inline(always)]
/// True when a tile's residuals must all be 0 whatever its entropy stream: one band, predicted by nothing, and
/// symbol 0 the only symbol of context 0 (every sample's context is then 0, since its neighbours' magnitudes are).
fn is_constant_tile(bands: &[wavelet::Band], headers: &[BandHeader], model: &StaticModel) -> bool {
    bands.len() == 1
        && headers.first().is_some_and(|(_, _, preds)| preds.iter().all(|p| p.taps.is_empty()))
        && model.is_certain(context_of(0), 0)
}

// (Inlined, like every function of the decoding loop, so that it is compiled into the AVX2 build.)
#[inline(always)]
fn decode_bands<S: Source>(
    bands: &[wavelet::Band],
    headers: &[BandHeader],
    rows: usize,
    cols: usize,
    src: &mut S,
    x: &mut Vec<i64>,
    mags: &mut Vec<u32>,
) {
    // Not cleared between tiles: the bands cover the tile, and every sample of a band is decoded.
    x.resize(rows * cols, 0);
    let mut band_buf = Vec::new();
    for (band, (m, seg, preds)) in bands.iter().zip(headers) {
        let n = band.rows * band.cols;
        // Without a wavelet the only band is the tile: decoded in place, no copy.
        let whole = band.rows == rows && band.cols == cols;
        if !whole {
            band_buf.clear();
            band_buf.resize(n, 0);
        }
        let target: &mut [i64] = if whole { x } else { &mut band_buf };
        // Not cleared between tiles: every magnitude the contexts read was written earlier in the band.
        if mags.len() < n {
            mags.resize(n, 0u32);
        }
        for (i, p) in preds.iter().enumerate() {
            let range = i * seg..((i + 1) * seg).min(band.rows);
            decode_band(target, band.rows, band.cols, p, range, src, mags);
        }
        if *m != 0 {
            mean::add(target, *m);
        }
        if !whole {
            insert(x, cols, band, &band_buf);
        }
    }
}

/// Local residual energy of a 2-D plane at `(t, c)`: `2|W| + 2|N| + |NW| + |NE|`, with missing neighbours replaced
/// by present ones (see `docs/format.md`).
#[inline(always)]
fn energy_2d(m: &[u32], t: usize, c: usize, cols: usize) -> u64 {
    let idx = t * cols + c;
    let w = if c > 0 {
        m[idx - 1]
    } else if t > 0 {
        m[idx - cols]
    } else {
        0
    } as u64;
    if t == 0 {
        return 4 * w;
    }
    let n = m[idx - cols] as u64;
    let nw = if c > 0 { m[idx - cols - 1] as u64 } else { n };
    let ne = if c + 1 < cols { m[idx - cols + 1] as u64 } else { n };
    weigh_2d(w, n, nw, ne)
}

/// The 2-D context energy from the west, north, north-west and north-east magnitudes (one definition for the edge
/// path above and the decoder's branch-free interior).
#[inline(always)]
fn weigh_2d(w: u64, n: u64, nw: u64, ne: u64) -> u64 {
    2 * w + 2 * n + nw + ne
}

/// Local residual energy of a 1-D sequence at `t`: `(4|r[t-1]| + 3|r[t-2]| + 2|r[t-3]| + 2|r[t-4]| + |r[t-5]| + ...
/// + |r[t-8]|) / 2`.
#[inline(always)]
fn energy_1d(m: &[u32], t: usize) -> u64 {
    let g = |k: usize| if t >= k { m[t - k] as u64 } else { 0 };
    (4 * g(1) + 3 * g(2) + 2 * g(3) + 2 * g(4) + g(5) + g(6) + g(7) + g(8)) / 2
}

#[inline(always)]
fn energy(m: &[u32], t: usize, c: usize, cols: usize) -> u64 {
    if cols == 1 {
        energy_1d(m, t)
    } else {
        energy_2d(m, t, c, cols)
    }
}

#[inline(always)]
fn magnitude(r: i64) -> u32 {
    r.unsigned_abs().min(u32::MAX as u64) as u32
}

/// Adds `coef * src[i]` to `acc[i]` (wrapping). A separate function so the loop vectorises.
#[inline(always)]
fn axpy(acc: &mut [i64], src: &[i64], coef: i64, narrow: bool) {
    if narrow {
        // Every value fits in i32 (checked by the caller), so the product of a sign-extended i32 and a coefficient
        // (|coef| <= 2^20) is the same number, and a 32 x 32 -> 64 multiply vectorises far better than 64 x 64.
        let c = coef as i32 as i64;
        for (a, &v) in acc.iter_mut().zip(src) {
            *a = a.wrapping_add(c * (v as i32 as i64));
        }
    } else {
        for (a, &v) in acc.iter_mut().zip(src) {
            *a = a.wrapping_add(coef.wrapping_mul(v));
        }
    }
}

/// True when every value fits in i32, so [`axpy`] may use its narrow form.
#[inline(always)]
fn fits_i32(x: &[i64]) -> bool {
    x.iter().fold(true, |ok, &v| ok & (v == v as i32 as i64))
}

/// Elements of the prediction accumulator processed per block: the block and the rows its taps read stay in the
/// L1/L2 caches while every tap passes over it (one pass per tap over a whole tile was memory-bound).
const PREDICT_BLOCK: usize = 4096;

/// A band as the encoder's predictions read it.
struct Values<'a> {
    x: &'a [i64],
    /// `x` as i32 when its values are small enough for some predictor's sums to fit in i32 (see
    /// [`Values::fits_i32_sums`]), else empty.
    x32: &'a [i32],
    /// The largest magnitude in `x`.
    max_abs: u64,
}

/// Largest magnitude for which [`Values::of`] makes the i32 copy: a predictor whose coefficients sum to 1 in
/// magnitude, `2^COEF_SHIFT`, keeps its sums within i32 up to it. (Genuine floats' integers are far larger: their
/// copy would never be read.)
const I32_SUMS_MAX_ABS: u64 = 1 << (31 - COEF_SHIFT);

impl<'a> Values<'a> {
    /// `x`, with its i32 copy made in `copy` when its values are small enough.
    #[inline(always)]
    fn of(x: &'a [i64], copy: &'a mut Vec<i32>) -> Self {
        let max_abs = max_abs(x);
        copy.clear();
        if max_abs <= I32_SUMS_MAX_ABS {
            copy.extend(x.iter().map(|&v| v as i32));
        }
        Values { x, x32: copy, max_abs }
    }

    /// Every value fits in i32 (see [`axpy`]).
    fn narrow(&self) -> bool {
        self.max_abs <= i32::MAX as u64
    }

    /// Whether `p`'s sums (rounding term included) provably stay within i32 on these values: then
    /// [`predict_runs_i32`] computes them in i32 lanes, twice as many per instruction as [`axpy`]'s.
    fn fits_i32_sums(&self, p: &Predictor) -> bool {
        let coefs: u64 = p.taps.iter().map(|t| t.coef.unsigned_abs() as u64).sum();
        let round = lpc::rounding(p.shift) as u64;
        self.x32.len() == self.x.len()
            && coefs.checked_mul(self.max_abs).and_then(|s| s.checked_add(round)).is_some_and(|s| s <= i32::MAX as u64)
    }
}

/// Shortest row of an interior that [`predictions`] computes in i32 lanes.
const MIN_I32_RUN: usize = 32;

/// Elements of [`predict_runs_i32`]'s accumulator.
const RUN_BLOCK: usize = 1024;

/// Predictions of runs of consecutive samples of a plane `cols` wide, each run `(start, out)` the linear index of
/// its first sample and where its `out.len()` (at most `longest`) predictions go, every tap of every sample lying
/// inside the plane: as [`predictions`] makes them, but in i32 arithmetic. Exact when [`Values::fits_i32_sums`]
/// holds: every sum `round + sum coef * x` is then at most `2^31 - 1` in magnitude, and wrapping i32 arithmetic,
/// exact modulo `2^32`, gives that very number.
#[inline(always)]
fn predict_runs_i32<'o>(
    x32: &[i32],
    cols: usize,
    p: &Predictor,
    longest: usize,
    runs: impl Iterator<Item = (usize, &'o mut [i64])>,
) {
    let round = lpc::rounding(p.shift) as i32;
    // (On the heap, as long as needed: a stack array would be zeroed first, which cost more than the sums on short
    // runs.)
    let mut acc: Vec<i32> = Vec::with_capacity(longest.min(RUN_BLOCK));
    for (start, out) in runs {
        for (k, chunk) in out.chunks_mut(RUN_BLOCK).enumerate() {
            let s = start + k * RUN_BLOCK;
            acc.clear();
            acc.resize(chunk.len(), round);
            for tap in &p.taps {
                let from = (s as isize - (tap.dt as usize * cols) as isize + tap.dc as isize) as usize;
                let c = tap.coef;
                for (a, &v) in acc.iter_mut().zip(&x32[from..from + chunk.len()]) {
                    *a = a.wrapping_add(c.wrapping_mul(v));
                }
            }
            for (o, &a) in chunk.iter_mut().zip(acc.iter()) {
                *o = (a >> p.shift) as i64;
            }
        }
    }
}

/// Predictions of the rows `range` of a plane from the original values, into `pred` (row `range.start` first):
/// the encoder knows every value in advance, so each tap is one pass over contiguous memory instead of a
/// dependent chain per sample.
#[inline(always)]
fn predictions(v: &Values, rows: usize, cols: usize, p: &Predictor, range: Range<usize>, pred: &mut [i64]) {
    let (x, narrow) = (v.x, v.narrow());
    let int = p.interior(cols);
    let base = range.start * cols;
    if !int.is_empty(rows) {
        let round = lpc::rounding(p.shift);
        let (c0, c1) = (int.col0, int.col1);
        let first = int.row0.max(range.start);
        let full_width = c0 == 0 && c1 == cols;
        // (Short runs, a narrow interior's rows or a few rows of a narrow plane, are left to axpy: there the i32
        // form's setup cost more than it saved, e.g. +24 % instructions compressing a 3-channel file.)
        let run = if full_width { range.end.saturating_sub(first) * cols } else { c1 - c0 };
        if first < range.end && run >= MIN_I32_RUN && v.fits_i32_sums(p) {
            // In i32 lanes: the interior's rows, one run when they are full width.
            let rows_out = &mut pred[first * cols - base..range.end * cols - base];
            if full_width {
                predict_runs_i32(v.x32, cols, p, run, std::iter::once((first * cols, rows_out)));
            } else {
                let runs = rows_out.chunks_mut(cols).zip(first..).map(|(row, t)| (t * cols + c0, &mut row[c0..c1]));
                predict_runs_i32(v.x32, cols, p, run, runs);
            }
        } else if full_width {
            // Full-width interior (always for one channel): the rows are contiguous, so each tap is an axpy over
            // one long run, taken a cache-sized block at a time.
            let (start, end) = (first * cols, range.end.max(first) * cols);
            let mut b0 = start;
            while b0 < end {
                let b1 = (b0 + PREDICT_BLOCK).min(end);
                let acc = &mut pred[b0 - base..b1 - base];
                acc.fill(round);
                for tap in &p.taps {
                    let back = tap.dt as usize * cols;
                    axpy(acc, &x[b0 - back..b1 - back], tap.coef as i64, narrow);
                }
                acc.iter_mut().for_each(|a| *a >>= p.shift);
                b0 = b1;
            }
        } else {
            for t in first..range.end {
                let acc = &mut pred[t * cols + c0 - base..t * cols + c1 - base];
                acc.fill(round);
                for tap in &p.taps {
                    let src = (t - tap.dt as usize) * cols;
                    let from = (c0 as isize + tap.dc as isize) as usize;
                    axpy(acc, &x[src + from..src + from + (c1 - c0)], tap.coef as i64, narrow);
                }
                acc.iter_mut().for_each(|a| *a >>= p.shift);
            }
        }
    }
    // Outside the interior (rows above it, columns beside it): the fallback prediction.
    let below = if int.col0 < int.col1 { int.row0.clamp(range.start, range.end) } else { range.end };
    for t in range.start..below {
        for c in 0..cols {
            pred[t * cols + c - base] = Predictor::fallback(x, t, c, cols);
        }
    }
    if int.col0 > 0 || int.col1 < cols {
        for t in below..range.end {
            for c in (0..int.col0).chain(int.col1..cols) {
                pred[t * cols + c - base] = Predictor::fallback(x, t, c, cols);
            }
        }
    }
}

/// Codes the rows `range` of one subband (encoder side), whose predictions are `pred` (row `range.start` first).
/// The encoder knows every residual in advance, so the block's residuals, magnitudes and contexts are computed
/// first, each in a pass with no edge branches over most of the block (`residuals` and `contexts` hold them), and
/// only the coding itself goes sample by sample.
///
/// Called on consecutive ranges of a band, from row 0. `mags` holds the magnitudes the contexts read from before
/// the range (the row above in a plane, the 8 samples before in one channel), and is left holding those the next
/// range needs: a block's worth, not the band's (a band-sized array, 4 bytes a sample, was written and read back
/// through memory; two threads shared its bandwidth).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn encode_rows(
    x: &[i64],
    pred: &[i64],
    range: Range<usize>,
    cols: usize,
    sink: &mut Sink<'_>,
    raw: &mut RawWriter,
    mags: &mut Vec<u32>,
    residuals: &mut Vec<i64>,
    contexts: &mut Vec<u8>,
) {
    let (base, end) = (range.start * cols, range.end * cols);
    residuals.clear();
    residuals.extend(x[base..end].iter().zip(&pred[..end - base]).map(|(&v, &p)| v.wrapping_sub(p)));
    // The magnitudes before the range, then the range's: the range starts at `before` in `mags` (row `above` in a
    // plane).
    let (before, above) = match (range.start, cols) {
        (0, _) => (0, 0),
        (t, 1) => (t.min(8), 0),
        _ => (cols, 1),
    };
    mags.truncate(before);
    mags.extend(residuals.iter().map(|&r| magnitude(r)));
    contexts.clear();
    contexts.resize(end - base, 0);
    if cols == 1 {
        // (Positions within `mags`: the first `before` samples of the channel's history, then the range.)
        contexts_1d(mags, before..before + (end - base), contexts);
    } else {
        for (t, out) in (above..).zip(contexts.chunks_exact_mut(cols)) {
            contexts_2d(mags, t, cols, out);
        }
    }
    // Keep what the next range reads.
    let keep = if cols == 1 { mags.len().min(8) } else { cols.min(mags.len()) };
    mags.drain(..mags.len() - keep);
    match sink {
        Sink::Adaptive(model, rc) => {
            for (&r, &ctx) in residuals.iter().zip(contexts.iter()) {
                model.encode(rc, raw, ctx as usize, r);
            }
        }
        Sink::Static(symbols, counts) => {
            rans::collect_symbols(residuals, contexts, raw, counts, symbols);
        }
    }
}

/// The context of each sample in `range` of one channel whose magnitudes are in `mags` (see [`energy_1d`]).
#[inline(always)]
fn contexts_1d(mags: &[u32], range: Range<usize>, out: &mut [u8]) {
    // The first 8 samples of the channel lack part of their history; the others read a full window.
    let full = range.start.max(8).min(range.end);
    for (t, o) in (range.start..full).zip(out.iter_mut()) {
        *o = context_of(energy_1d(mags, t)) as u8;
    }
    for (o, w) in out[full - range.start..].iter_mut().zip(mags[full.saturating_sub(8)..range.end].windows(9)) {
        // w[8] is the sample itself, w[7] the one before it.
        let e = 4 * w[7] as u64 + 3 * w[6] as u64 + 2 * w[5] as u64 + 2 * w[4] as u64;
        *o = context_of((e + w[3] as u64 + w[2] as u64 + w[1] as u64 + w[0] as u64) / 2) as u8;
    }
}

/// The context of each sample of row `t` of a plane of `cols > 1` columns whose magnitudes (of this row and the
/// one above) are in `mags` (see [`energy_2d`]).
#[inline(always)]
fn contexts_2d(mags: &[u32], t: usize, cols: usize, out: &mut [u8]) {
    if t == 0 || cols < 3 {
        for (c, o) in out.iter_mut().enumerate() {
            *o = context_of(energy_2d(mags, t, c, cols)) as u8;
        }
        return;
    }
    let row = t * cols;
    out[0] = context_of(energy_2d(mags, t, 0, cols)) as u8;
    out[cols - 1] = context_of(energy_2d(mags, t, cols - 1, cols)) as u8;
    let (above, cur) = (&mags[row - cols..row], &mags[row..row + cols]);
    // Column c (1 <= c < cols - 1) reads its west neighbour cur[c - 1] and above[c - 1..=c + 1].
    for ((o, up), &w) in out[1..cols - 1].iter_mut().zip(above.windows(3)).zip(cur) {
        *o = context_of(weigh_2d(w as u64, up[1] as u64, up[0] as u64, up[2] as u64)) as u8;
    }
}

/// Decodes one subband into `x` (decoder side). Mirrors [`encode_rows`]: each sample's prediction needs the
/// samples decoded before it, so only the part that reads earlier rows is computed ahead, a row at a time.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn decode_band<S: Source>(
    x: &mut [i64],
    rows: usize,
    cols: usize,
    p: &Predictor,
    range: Range<usize>,
    src: &mut S,
    mags: &mut [u32],
) {
    let int = p.interior(cols);
    let round = lpc::rounding(p.shift);
    let shift = p.shift;
    if cols == 1 && !int.is_empty(rows) && !p.taps.is_empty() {
        // A single channel: dense coefficients by lag, so the prediction is one dot product over a window.
        let order = int.row0;
        let mut dense = vec![0i64; order];
        for tap in &p.taps {
            let k = order - tap.dt as usize;
            dense[k] = dense[k].wrapping_add(tap.coef as i64);
        }
        // The last 8 magnitudes (0 before the start), carried in registers: `energy_1d` without reloading the
        // ones just written.
        let g = |k: usize| if range.start >= k { mags[range.start - k] as u64 } else { 0 };
        let (mut m1, mut m2, mut m3, mut m4, mut m5, mut m6, mut m7, mut m8) =
            (g(1), g(2), g(3), g(4), g(5), g(6), g(7), g(8));
        // While every sample so far (and every coefficient) fits in i32, the products are exact 32 x 32 -> 64-bit
        // ones, which vectorise far better than 64 x 64 (as in `axpy`); the wrapping sum is the same number.
        let dense32: Vec<i32> = dense.iter().map(|&c| c as i32).collect();
        let mut narrow = dense.iter().all(|&c| c == c as i32 as i64) && fits_i32(&x[..range.start]);
        for t in range {
            let pred = if t >= order {
                let window = &x[t - order..t];
                let dot = if narrow {
                    window.iter().zip(&dense32).fold(round, |a, (&v, &c)| a.wrapping_add(v as i32 as i64 * c as i64))
                } else {
                    window.iter().zip(&dense).fold(round, |a, (&v, &c)| a.wrapping_add(v.wrapping_mul(c)))
                };
                dot >> shift
            } else {
                Predictor::fallback(x, t, 0, 1)
            };
            let e = (4 * m1 + 3 * m2 + 2 * m3 + 2 * m4 + m5 + m6 + m7 + m8) / 2;
            debug_assert_eq!(e, energy_1d(mags, t));
            let (r, m) = src.get_energy(e);
            let v = pred.wrapping_add(r);
            x[t] = v;
            narrow &= v == v as i32 as i64;
            mags[t] = m;
            (m8, m7, m6, m5, m4, m3, m2, m1) = (m7, m6, m5, m4, m3, m2, m1, m as u64);
        }
        return;
    }
    let same_row: Vec<(usize, i64)> =
        p.taps.iter().filter(|t| t.dt == 0).map(|t| ((-(t.dc as isize)) as usize, t.coef as i64)).collect();
    let dense = Dense::of(&same_row);
    let mut acc = vec![0i64; cols];
    let mut north = vec![0u64; cols];
    // Whether every row decoded so far fits in i32: then the row-ahead axpy may use its narrow form.
    let mut narrow = fits_i32(&x[..range.start * cols]);
    for t in range {
        let interior_row = t >= int.row0 && !int.is_empty(rows);
        if interior_row {
            let (c0, c1) = (int.col0, int.col1);
            let a = &mut acc[c0..c1];
            a.fill(round);
            for tap in p.taps.iter().filter(|t| t.dt > 0) {
                let src = (t - tap.dt as usize) * cols;
                let from = (c0 as isize + tap.dc as isize) as usize;
                axpy(a, &x[src + from..src + from + (c1 - c0)], tap.coef as i64, narrow);
            }
        }
        // Columns where both the prediction and the context need no edge handling take the branch-free path.
        let (lo, hi) = if interior_row && t > 0 {
            let lo = int.col0.max(1);
            (lo, int.col1.min(cols - 1).max(lo))
        } else {
            (cols, cols)
        };
        let row = t * cols;
        // Edge columns: fallback predictions outside the predictor's interior, neighbours replaced in the context.
        macro_rules! edge_sample {
            ($c:expr) => {{
                let (c, idx) = ($c, row + $c);
                let pred = if interior_row && c >= int.col0 && c < int.col1 {
                    let mut a = acc[c];
                    for &(back, coef) in &same_row {
                        a = a.wrapping_add(coef.wrapping_mul(x[idx - back]));
                    }
                    a >> shift
                } else {
                    Predictor::fallback(x, t, c, cols)
                };
                let (r, m) = src.get_energy(energy(mags, t, c, cols));
                x[idx] = pred.wrapping_add(r);
                mags[idx] = m;
            }};
        }
        for c in 0..lo {
            edge_sample!(c);
        }
        if lo < hi {
            let run = Run { row, lo, hi, cols, shift };
            match dense {
                Some(Dense::C0(k)) => run.decode(x, mags, &acc, &mut north, k, src),
                Some(Dense::C1(k)) => run.decode(x, mags, &acc, &mut north, k, src),
                Some(Dense::C2(k)) => run.decode(x, mags, &acc, &mut north, k, src),
                Some(Dense::C3(k)) => run.decode(x, mags, &acc, &mut north, k, src),
                Some(Dense::C4(k)) => run.decode(x, mags, &acc, &mut north, k, src),
                None => {
                    for idx in row + lo..row + hi {
                        let mut a = acc[idx - row];
                        for &(back, coef) in &same_row {
                            a = a.wrapping_add(coef.wrapping_mul(x[idx - back]));
                        }
                        let above = &mags[idx - cols - 1..idx - cols + 2];
                        let e = weigh_2d(mags[idx - 1] as u64, above[1] as u64, above[0] as u64, above[2] as u64);
                        let (r, m) = src.get_energy(e);
                        x[idx] = (a >> shift).wrapping_add(r);
                        mags[idx] = m;
                    }
                }
            }
        }
        for c in hi..cols {
            edge_sample!(c);
        }
        narrow = narrow && fits_i32(&x[t * cols..(t + 1) * cols]);
    }
}

/// The same-row taps of a predictor as dense coefficients by distance (`k[j]` weighs the sample `j + 1` columns
/// back), when they reach at most 4 columns back: the decoder then keeps those samples in registers.
enum Dense {
    C0([i64; 0]),
    C1([i64; 1]),
    C2([i64; 2]),
    C3([i64; 3]),
    C4([i64; 4]),
}

impl Dense {
    fn of(same_row: &[(usize, i64)]) -> Option<Dense> {
        let mut k = [0i64; 4];
        let mut reach = 0;
        for &(back, coef) in same_row {
            if !(1..=4).contains(&back) {
                return None;
            }
            // Wrapping sums of the products equal the product of the wrapping sum: repeated taps merge.
            k[back - 1] = k[back - 1].wrapping_add(coef);
            reach = reach.max(back);
        }
        Some(match reach {
            0 => Dense::C0([]),
            1 => Dense::C1([k[0]]),
            2 => Dense::C2([k[0], k[1]]),
            3 => Dense::C3([k[0], k[1], k[2]]),
            _ => Dense::C4(k),
        })
    }
}

/// The branch-free interior columns `lo..hi` of row `row` (`t > 0`, `1 <= lo`, `hi < cols`).
struct Run {
    row: usize,
    lo: usize,
    hi: usize,
    cols: usize,
    shift: u8,
}

impl Run {
    /// Decodes the run: `acc` holds the part of each prediction from earlier rows, `k` the same-row coefficients.
    /// The previous magnitude and the last `Q` samples are carried in registers rather than reloaded from the
    /// arrays just written (the context of each sample waits on the one before it).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn decode<S: Source, const Q: usize>(
        &self,
        x: &mut [i64],
        mags: &mut [u32],
        acc: &[i64],
        north: &mut [u64],
        k: [i64; Q],
        src: &mut S,
    ) {
        let Run { row, lo, hi, cols, shift } = *self;
        let (prev, cur) = mags.split_at_mut(row);
        // The context energy's part from the row above, for the whole run at once (it vectorises).
        let north = &mut north[lo..hi];
        let above = &prev[row - cols + lo - 1..row - cols + hi + 1];
        for (e, up) in north.iter_mut().zip(above.windows(3)) {
            *e = weigh_2d(0, up[1] as u64, up[0] as u64, up[2] as u64);
        }
        let mut w = cur[lo - 1];
        let cur = &mut cur[lo..hi];
        // h[j] is the sample j + 1 columns back (scalars, not an array: shifting an array becomes a memmove).
        let back = |j: usize| if j < Q { x[row + lo - 1 - j] } else { 0 };
        let (mut h1, mut h2, mut h3, mut h4) = (back(0), back(1), back(2), back(3));
        let kj = |j: usize| if j < Q { k[j] } else { 0 };
        let (k1, k2, k3, k4) = (kj(0), kj(1), kj(2), kj(3));
        let out = &mut x[row + lo..row + hi];
        let accs = &acc[lo..hi];
        for (((o, m_out), &a0), &en) in out.iter_mut().zip(cur.iter_mut()).zip(accs).zip(north.iter()) {
            // (Terms beyond Q have zero coefficients and are compiled out.)
            let mut a = a0;
            if Q >= 1 {
                a = a.wrapping_add(k1.wrapping_mul(h1));
            }
            if Q >= 2 {
                a = a.wrapping_add(k2.wrapping_mul(h2));
            }
            if Q >= 3 {
                a = a.wrapping_add(k3.wrapping_mul(h3));
            }
            if Q >= 4 {
                a = a.wrapping_add(k4.wrapping_mul(h4));
            }
            let (r, m) = src.get_energy(2 * w as u64 + en);
            let v = (a >> shift).wrapping_add(r);
            *o = v;
            *m_out = m;
            w = m;
            (h4, h3, h2, h1) = (h3, h2, h1, v);
        }
    }
}

/// Rows per predictor segment of a subband of `rows` rows: each segment gets its own fitted coefficients, while the
/// adaptive entropy model carries on across segments. 0 asks for one segment (measured best on the corpus).
fn segment_rows(rows: usize, requested: usize) -> usize {
    if requested == 0 {
        rows.max(1)
    } else {
        requested.min(rows.max(1))
    }
}

/// `p` with its coefficients rounded to `shift` fractional bits (no change unless `shift < p.shift`).
fn requantise(p: &Predictor, shift: u8) -> Predictor {
    if shift >= p.shift {
        return p.clone();
    }
    let d = p.shift - shift;
    let taps = p.taps.iter().map(|t| Tap { coef: (t.coef + (1 << (d - 1))) >> d, ..*t }).collect();
    Predictor { taps, shift }
}

fn bytes_left(cur: &Cursor) -> usize {
    cur.rest().len()
}

/// Reads one predictor (tap count, shift, taps) and validates it.
fn read_predictor(cur: &mut Cursor, base: usize) -> Result<Predictor, CodecError> {
    let at = base + cur.pos();
    let ntaps = cur.u8("tap count")? as usize;
    let shift = cur.u8("coefficient shift")?;
    if ntaps > MAX_TAPS {
        return Err(CodecError::Corrupt { what: "too many predictor taps", offset: at });
    }
    let mut taps = Vec::with_capacity(ntaps);
    for _ in 0..ntaps {
        let dt = cur.varint("tap")?;
        let dc = cur.svarint("tap")?;
        let coef = cur.svarint("tap")?;
        if dt > u16::MAX as u64 || dc < i16::MIN as i64 || dc > i16::MAX as i64 || coef.unsigned_abs() > MAX_COEF as u64
        {
            return Err(CodecError::Corrupt { what: "predictor tap", offset: at });
        }
        taps.push(Tap { dt: dt as u16, dc: dc as i16, coef: coef as i32 });
    }
    let p = Predictor { taps, shift };
    if !p.is_valid() {
        return Err(CodecError::Corrupt { what: "predictor", offset: at });
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The i32 predictions are the i64 ones: random values and coefficients, one channel and 2-D planes (edges,
    /// interior, a range starting mid-plane), and constant planes whose sums sit exactly at the i32 bound (the
    /// largest magnitude [`Values::fits_i32_sums`] accepts) and one step beyond it.
    #[test]
    fn i32_predictions_are_the_i64_predictions() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let (mut narrow_sums, mut wide_sums) = (0, 0);
        for (rows, cols) in [(3000usize, 1usize), (200, 7), (40, 300)] {
            for shape in [Shape { time: 8, space: 0, cross: 0 }, Shape { time: 4, space: 3, cross: 2 }] {
                let offsets = offsets_for(shape, rows, cols);
                let mut check = |x: &[i64], p: &Predictor| {
                    let mut copy = Vec::new();
                    let narrow = Values::of(x, &mut copy);
                    let wide = Values { x, x32: &[], max_abs: narrow.max_abs };
                    if narrow.fits_i32_sums(p) {
                        narrow_sums += 1;
                    } else {
                        wide_sums += 1;
                    }
                    for range in [0..rows, rows / 3..rows / 2 + 1] {
                        let (mut a, mut b) = (vec![0; range.len() * cols], vec![0; range.len() * cols]);
                        predictions(&narrow, rows, cols, p, range.clone(), &mut a);
                        predictions(&wide, rows, cols, p, range.clone(), &mut b);
                        assert_eq!(a, b, "{rows} x {cols}, {p:?}, rows {range:?}");
                    }
                };
                for amp in [1000u64, 1 << 15, 1 << 30] {
                    let x: Vec<i64> = (0..rows * cols).map(|_| (next() % (2 * amp + 1)) as i64 - amp as i64).collect();
                    let taps = offsets
                        .iter()
                        .map(|&(dt, dc)| Tap { dt, dc, coef: (next() % 40_001) as i32 - 20_000 })
                        .collect();
                    check(&x, &Predictor { taps, shift: COEF_SHIFT });
                }
                // All coefficients positive on a constant plane: the sum is coefs * value, the bound itself.
                let taps: Vec<Tap> =
                    offsets.iter().map(|&(dt, dc)| Tap { dt, dc, coef: 1 + (next() % 20_000) as i32 }).collect();
                let coefs: i64 = taps.iter().map(|t| t.coef as i64).sum();
                let p = Predictor { taps, shift: COEF_SHIFT };
                let at_bound = (i32::MAX as i64 - (1 << (COEF_SHIFT - 1))) / coefs;
                for v in [at_bound, -at_bound, at_bound + 1, -at_bound - 1] {
                    check(&vec![v; rows * cols], &p);
                }
            }
        }
        // Both forms were compared: 6 planes x 2 predictors x (at the bound or under it, beyond it).
        assert!(narrow_sums >= 12 && wide_sums >= 12, "{narrow_sums} {wide_sums}");
    }

    /// The encoder's block-wise contexts are the decoder's sample-by-sample ones (`energy` at each sample), for
    /// every width (edges, two columns, one channel) and for blocks starting anywhere, including inside the first
    /// 8 samples of a channel.
    #[test]
    fn block_contexts_are_the_per_sample_contexts() {
        let mut s = 12345u64;
        let mut next = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Mostly small magnitudes, some huge (up to u32::MAX: energies beyond 32 bits).
            let v = (s >> 33) as u32;
            if v.is_multiple_of(17) {
                u32::MAX - v % 5
            } else {
                v % 300
            }
        };
        for cols in [1usize, 2, 3, 4, 7, 64] {
            let rows = if cols == 1 { 300 } else { 20 };
            let mags: Vec<u32> = (0..rows * cols).map(|_| next()).collect();
            for start in [0usize, 1, 3, 7, 8, 9, 13] {
                for end in [start, start + 1, start + 5, rows] {
                    let end = end.min(rows);
                    let mut got = vec![0u8; (end - start) * cols];
                    if cols == 1 {
                        contexts_1d(&mags, start..end, &mut got);
                    } else {
                        for (t, out) in (start..end).zip(got.chunks_exact_mut(cols)) {
                            contexts_2d(&mags, t, cols, out);
                        }
                    }
                    let want: Vec<u8> = (start..end)
                        .flat_map(|t| (0..cols).map(move |c| (t, c)))
                        .map(|(t, c)| context_of(energy(&mags, t, c, cols)) as u8)
                        .collect();
                    assert_eq!(got, want, "cols {cols}, rows {start}..{end}");
                }
            }
        }
    }

    fn static_config() -> TileConfig {
        TileConfig {
            entropy: Entropy::Static,
            lt: 0,
            lx: 0,
            shape: Shape { time: 2, space: 2, cross: 1 },
            auto: true,
            segment_rows: 0,
            raw: RawKind::I32,
            columns: false,
            by_energy: false,
        }
    }

    /// Channels of their own: AR(2)-like series with amplitudes from 1 to 10^5, a constant channel and one of
    /// extreme values, so that columns need different predictors and a shared table serves all of them.
    fn channels_apart(rows: usize, cols: usize, seed: u64) -> Vec<i64> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as i64 - (1 << 30)
        };
        let mut x = vec![0i64; rows * cols];
        for c in 0..cols {
            let amp = 10i64.pow((c % 6) as u32);
            let (mut a, mut b) = (0i64, 0i64);
            for t in 0..rows {
                let e = next() % (amp + 1);
                let v = match c % 8 {
                    3 => 77,
                    5 => [i32::MIN as i64, i32::MAX as i64][(next() & 1) as usize],
                    _ => (3 * a - 2 * b) / 2 + e,
                };
                (b, a) = (a, v.clamp(i32::MIN as i64, i32::MAX as i64));
                x[t * cols + c] = a;
            }
        }
        x
    }

    /// Method 4 round trips: every column predicted apart (its own predictor, segments if asked), then from the
    /// columns before it, one table; a constant plane keeps method 2's free coding; the adaptive coder and the
    /// wavelet ignore `columns`.
    #[test]
    fn column_tiles_round_trip() {
        let columns = TileConfig { columns: true, ..static_config() };
        // (Tiles of a row or two code smaller raw: method 0.)
        let m4 = METHOD_COLUMNS_CROSS;
        for (rows, cols, method) in [(500usize, 9usize, m4), (1, 7, 0), (2, 2, 0), (333, 16, m4), (4000, 3, m4)] {
            let x = channels_apart(rows, cols, (rows * cols) as u64);
            for cfg in [columns, TileConfig { segment_rows: 100, ..columns }] {
                let got = encode_tile(&mut x.clone(), rows, cols, &cfg, &mut Scratch::default());
                assert_eq!(got[0], method, "{rows} x {cols}");
                assert_eq!(decode_tile(&got, 0, rows, cols, RawKind::I32).unwrap(), x, "{rows} x {cols}");
            }
        }
        let x = channels_apart(300, 10, 1);
        for (cfg, method) in [
            (TileConfig { entropy: Entropy::Adaptive, ..columns }, METHOD_PREDICTIVE),
            (TileConfig { lt: 1, ..columns }, METHOD_PREDICTIVE_STATIC),
        ] {
            let got = encode_tile(&mut x.clone(), 300, 10, &cfg, &mut Scratch::default());
            assert_eq!(got[0], method);
            assert_eq!(decode_tile(&got, 0, 300, 10, RawKind::I32).unwrap(), x);
        }
        let mut flat = vec![-5i64; 600];
        assert_eq!(encode_tile(&mut flat, 60, 10, &columns, &mut Scratch::default())[0], METHOD_PREDICTIVE_STATIC);
    }

    /// Channels of their own code at least 3 % smaller as columns than as a 2-D plane.
    #[test]
    fn channels_apart_code_smaller_as_columns() {
        let (rows, cols) = (3000, 12);
        let x = channels_apart(rows, cols, 7);
        let size = |cfg: TileConfig| encode_tile(&mut x.clone(), rows, cols, &cfg, &mut Scratch::default()).len();
        let plane = size(static_config());
        let columns = size(TileConfig { columns: true, ..static_config() });
        assert!(columns * 100 < plane * 97, "columns {columns} against 2-D {plane}");
    }

    /// A method-3 tile with wavelet levels, or with fewer bytes than its columns' headers need, is refused; so is
    /// every truncation of a valid one.
    #[test]
    fn hostile_law_tables_are_refused() {
        // One channel of two-sided geometric noise: its tile's tables are laws (method 2, one band, order 0 since
        // nothing predicts noise).
        let rows = 3000;
        let mut s = 5u64;
        let x: Vec<i64> = (0..rows)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let m = ((s >> 40) % 97) as i64 * ((s >> 20) % 7) as i64;
                if s >> 63 == 1 {
                    m
                } else {
                    -m
                }
            })
            .collect();
        let mut scratch = Scratch::default();
        let good = encode_tile(&mut x.clone(), rows, 1, &static_config(), &mut scratch);
        assert!(scratch.table_laws);
        assert_eq!(decode_tile(&good, 0, rows, 1, RawKind::I32).unwrap(), x);
        // The tables follow the method, the wavelet levels and the band's header: find them as the decoder does.
        assert_eq!(good[0], METHOD_PREDICTIVE_STATIC);
        let mut cur = Cursor::new(&good, 0);
        cur.take(3, "").unwrap();
        cur.svarint("").unwrap();
        let seg = cur.varint("").unwrap() as usize;
        for _ in 0..rows.div_ceil(seg) {
            read_predictor(&mut cur, 0).unwrap();
        }
        let tables = cur.pos();
        // The first table that is a law: skip explicit ones (lo, hi, then hi - lo + 1 varints).
        let mut first = tables + 8;
        while good[first] != rans::GEOMETRIC_MARKER {
            let mut at = first + 2;
            for _ in good[first]..=good[first + 1] {
                while good[at] & 0x80 != 0 {
                    at += 1;
                }
                at += 1;
            }
            first = at;
        }
        for (at, v) in [(1usize, 128u8), (2, 0), (2, 55)] {
            let mut bad = good.clone();
            bad[first + at] = v;
            assert!(
                matches!(
                    decode_tile(&bad, 0, rows, 1, RawKind::I32),
                    Err(CodecError::Corrupt { what: "entropy tables", .. })
                ),
                "byte {at} of the law = {v}"
            );
        }
        // A narrower or wider law than the one the symbols were coded with: the rANS stream no longer ends where it
        // must, or a decoded symbol lies beyond the law's last one (no table row): an error, never a panic.
        for (at, v) in [(1usize, 0u8), (2, 1), (2, 54), (3, good[first + 3] ^ 0x80)] {
            let mut bad = good.clone();
            bad[first + at] = v;
            assert!(decode_tile(&bad, 0, rows, 1, RawKind::I32).is_err(), "byte {at} of the law = {v}");
        }
        for n in 0..good.len() {
            assert!(decode_tile(&good[..n], 0, rows, 1, RawKind::I32).is_err(), "{n} of {} bytes", good.len());
        }
    }

    #[test]
    fn hostile_column_tiles_are_refused() {
        let (rows, cols) = (200, 9);
        let x = channels_apart(rows, cols, 3);
        let cfg = TileConfig { columns: true, ..static_config() };
        let good = encode_tile(&mut x.clone(), rows, cols, &cfg, &mut Scratch::default());
        for (i, v) in [(1usize, 1u8), (2, 1), (1, 16)] {
            let mut bad = good.clone();
            bad[i] = v;
            assert!(matches!(decode_tile(&bad, 0, rows, cols, RawKind::I32), Err(CodecError::Corrupt { .. })));
        }
        // Two columns' worth of header bytes for a million columns: refused before a band list is made.
        assert!(matches!(
            decode_tile(&[METHOD_COLUMNS_STATIC, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], 0, 1, 1 << 20, RawKind::I32),
            Err(CodecError::Truncated { .. })
        ));
        for n in 0..good.len() {
            assert!(decode_tile(&good[..n], 0, rows, cols, RawKind::I32).is_err(), "{n} of {} bytes", good.len());
        }
    }

    /// Channels that share noise (common-mode pickup at different gains, and neighbours that difference the same
    /// phase noise): what the cross-channel weights of method 4 are for.
    fn shared_noise(rows: usize, cols: usize, seed: u64) -> Vec<i64> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as i64 % 2001 - 1000) as f64
        };
        let common: Vec<f64> = (0..rows).map(|_| next()).collect();
        let points: Vec<f64> = (0..rows * (cols + 1)).map(|_| next() * 0.5).collect();
        let mut x = vec![0i64; rows * cols];
        for c in 0..cols {
            let gain = 0.3 + 0.1 * (c % 7) as f64;
            let mut own = 0f64;
            for t in 0..rows {
                own = 0.6 * own + next() * 0.2;
                let phase = points[t * (cols + 1) + c + 1] - points[t * (cols + 1) + c];
                x[t * cols + c] = (gain * common[t] + phase + own).round() as i64;
            }
        }
        x
    }

    /// On channels that share noise, at least half the columns take cross-channel weights (a nonzero count in the
    /// cross section); the streams round-trip, with one and two segments.
    #[test]
    fn shared_noise_takes_cross_weights() {
        let (rows, cols) = (2000, 12);
        let x = shared_noise(rows, cols, 11);
        let cfg = TileConfig { columns: true, ..static_config() };
        for cfg in [cfg, TileConfig { segment_rows: 1500, ..cfg }] {
            let got = encode_tile(&mut x.clone(), rows, cols, &cfg, &mut Scratch::default());
            assert_eq!(got[0], METHOD_COLUMNS_CROSS);
            assert_eq!(decode_tile(&got, 0, rows, cols, RawKind::I32).unwrap(), x);
            // Past the column headers: the counts of columns 1..cols.
            let mut cur = Cursor::new(&got, 0);
            cur.take(3, "").unwrap();
            for _ in 0..cols {
                cur.svarint("").unwrap();
                let seg = cur.varint("").unwrap() as usize;
                for _ in 0..rows.div_ceil(seg) {
                    read_column_predictor(&mut cur, 0).unwrap();
                }
            }
            let mut weighed = 0;
            for c in 1..cols {
                let k = cur.u8("").unwrap() as usize;
                assert!(k <= c);
                if k > 0 {
                    weighed += 1;
                    cur.u8("").unwrap();
                    for _ in 0..k {
                        cur.svarint("").unwrap();
                    }
                }
            }
            assert!(weighed >= cols / 2, "{weighed} of {} columns weigh others", cols - 1);
        }
    }

    /// Method-4 tiles with a field out of its range (wavelet levels, order, shifts, coefficient and weight
    /// magnitudes, a weight count beyond the columns before, an initial context sum), with far more columns than
    /// bytes, or cut anywhere, are refused.
    #[test]
    fn hostile_method4_tiles_are_refused() {
        let (rows, cols) = (3, 3);
        // Column headers: mean 0, seg 3, order 1 with shift 0 and coefficient 1 (lag 1); then k = 1 for columns 1
        // and 2, shift 0, weight 1.
        let column = [0u8, 3, 1, 0, 2];
        let mut good = vec![METHOD_COLUMNS_CROSS, 0, 0];
        for _ in 0..cols {
            good.extend_from_slice(&column);
        }
        let cross_at = good.len();
        good.extend_from_slice(&[1, 0, 2, 1, 0, 2]);
        // Initial context sums 0, 1 and 2^40 - 1 (the largest allowed).
        let leak_at = good.len();
        good.extend_from_slice(&[0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]);
        // Every residual 0: symbol 0, the only symbol of each table, in the contexts the sums pass through.
        let mut contexts = vec![0u8; rows * cols];
        leaky_contexts(&vec![0; rows * cols], rows, &[0, 1, (1 << 40) - 1], &mut contexts);
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        contexts.iter().for_each(|&c| counts[c as usize][0] += 1);
        let symbols: Vec<(u8, u8)> = contexts.iter().map(|&c| (c, 0)).collect();
        let (coded, _) = write_tables_and_code(&mut good, &counts, &symbols);
        write_streams(&mut good, &coded, RawWriter::new());
        assert_eq!(decode_tile(&good, 0, rows, cols, RawKind::I32).unwrap(), vec![0; 9]);
        let corrupt = |at: usize, v: &[u8]| {
            let mut bad = good.clone();
            bad.splice(at..at + 1, v.iter().copied());
            decode_tile(&bad, 0, rows, cols, RawKind::I32)
        };
        // 2^20 + 1 as an svarint (zigzag 2^21 + 2).
        let beyond = [0x82u8, 0x80, 0x80, 0x01];
        for (at, v) in [
            (1, &[1u8][..]),         // lt
            (2, &[1]),               // lx
            (5, &[65]),              // order
            (6, &[31]),              // predictor shift
            (7, &beyond),            // coefficient
            (cross_at, &[2]),        // column 1 weighs two columns
            (cross_at + 1, &[31]),   // cross shift
            (cross_at + 2, &beyond), // weight
            (leak_at + 7, &[0x20]),  // initial context sum 2^40
        ] {
            assert!(matches!(corrupt(at, v), Err(CodecError::Corrupt { .. })), "field at {at}");
        }
        // A million columns over a few bytes: refused before anything is allocated for them.
        assert!(matches!(decode_tile(&good, 0, 1, 1 << 20, RawKind::I32), Err(CodecError::Truncated { .. })));
        for n in 0..good.len() {
            assert!(decode_tile(&good[..n], 0, rows, cols, RawKind::I32).is_err(), "{n} of {} bytes", good.len());
        }
    }

    /// Constant tiles skip the per-sample coding (encoder) and decoding (decoder). The streams must be the ones
    /// the per-sample coder wrote (bytes recorded from the encoder before the shortcut, at 4303d86).
    #[test]
    fn constant_tiles_code_as_before() {
        let golden: [(usize, usize, i64, &[u8]); 4] = [
            (40, 1, 0, &[2, 0, 0, 0, 40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 8, 8, 1, 0, 0, 0, 1, 0, 0, 0]),
            (6, 5, -3, &[2, 0, 0, 5, 6, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 8, 8, 1, 0, 0, 0, 1, 0, 0, 0]),
            (
                3,
                4,
                1 << 30,
                &[
                    2, 0, 0, 128, 128, 128, 128, 8, 3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 8, 8, 1, 0, 0, 0, 1, 0,
                    0, 0,
                ],
            ),
            (9, 2, 0, &[2, 0, 0, 0, 9, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 8, 8, 1, 0, 0, 0, 1, 0, 0, 0]),
        ];
        for (rows, cols, v, want) in golden {
            let mut x = vec![v; rows * cols];
            let got = encode_tile(&mut x, rows, cols, &static_config(), &mut Scratch::default());
            assert_eq!(got, want, "{rows} x {cols} of {v}");
            assert_eq!(decode_tile(&got, 0, rows, cols, RawKind::I32).unwrap(), vec![v; rows * cols]);
        }
    }

    /// The decoder's shortcut for constant tiles never changes the outcome: on every one-byte change of a constant
    /// tile's stream (tables, entropy states, lengths), the result (values or error) is the per-sample decoder's.
    #[test]
    fn constant_tile_shortcut_decodes_as_the_per_sample_decoder() {
        let decode = |bytes: &[u8], rows: usize, cols: usize, shortcut: bool| {
            let mut cur = Cursor::new(bytes, 0);
            let method = cur.u8("tile method").unwrap();
            let (mut x, mut mags) = (Vec::new(), Vec::new());
            decode_predictive(&mut cur, 0, rows, cols, method, &mut x, &mut mags, shortcut).map(|()| x)
        };
        let (mut taken, mut other) = (0, 0);
        for (rows, cols, v) in [(40usize, 1usize, 0i64), (6, 5, -3), (7, 3, 1 << 30)] {
            let mut x = vec![v; rows * cols];
            let stream = encode_tile(&mut x, rows, cols, &static_config(), &mut Scratch::default());
            for i in 1..stream.len() {
                for new in [0u8, 1, 2, 0x80, 0xFF, stream[i] ^ 1, stream[i].wrapping_add(1)] {
                    let mut s = stream.clone();
                    s[i] = new;
                    let fast = decode(&s, rows, cols, true);
                    assert_eq!(fast, decode(&s, rows, cols, false), "byte {i} = {new} of {rows} x {cols} of {v}");
                    if fast.is_ok() {
                        taken += 1;
                    } else {
                        other += 1;
                    }
                }
            }
        }
        // Both outcomes occur (the test exercises the shortcut and its refusals).
        assert!(taken > 0 && other > 0, "{taken} decoded, {other} refused");
    }
}
