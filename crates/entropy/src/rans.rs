//! Static (per block) context-modelled rANS coding of residual symbols: the fast path of the DAS codec.
//!
//! The encoder sees all residuals of a tile before coding them, so it counts the symbols of every context,
//! normalises the counts to frequencies summing to 2^10 per context (small lookup tables stay in cache), stores those tables, and codes the symbols with
//! rANS (32-bit state, 16-bit renormalisation, two interleaved states so consecutive symbols do not wait on each
//! other). The decoder needs two small table lookups (slot to symbol, then its frequency) and one multiply per
//! symbol, where the adaptive binary coder needs several dependent binary decisions; [`ResidualDecoder`] reads
//! the residual's raw bits alongside.
//!
//! Residual symbols (see [`symbol_of`]): 0 for zero, 1 for +-1, and `2k - 2 + b` for magnitudes of bit length
//! `k` in 2..=64 whose bit below the leading one is `b`. Sign and the remaining low bits go to the raw bit stream
//! exactly as in [`crate::residual`].

use crate::raw::{RawReader, RawWriter};
use crate::residual::MAX_CONTEXTS;
use crate::varint::{self, VarintError};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Number of residual symbols.
pub const NSYM: usize = 128;
const SCALE_BITS: u32 = 10;
const TOTAL: u32 = 1 << SCALE_BITS;
const RANS_L: u32 = 1 << 16;

/// Splits a residual into its symbol and writes its raw part.
#[inline(always)]
pub fn symbol_of(r: i64, raw: &mut RawWriter) -> u8 {
    let (sym, bits, n) = split(r);
    raw.put_long(bits, n);
    sym
}

/// A residual's symbol, and its raw part: the field and its width. Symbol 0 is 0; symbol 1 is +-1 (the sign is
/// raw); symbol `2k - 2 + top`, for `k >= 2` bits, is a magnitude of k bits whose bit `k - 2` is `top` (its `k - 2`
/// bits below that, then the sign, are raw).
#[inline(always)]
fn split(r: i64) -> (u8, u64, u32) {
    let m = r.unsigned_abs();
    let k = 64 - m.leading_zeros();
    let sign = (r < 0) as u64;
    match k {
        0 => (0, 0, 0),
        1 => (1, sign, 1),
        _ => {
            let top = (m >> (k - 2)) & 1;
            ((2 * k - 2 + top as u32) as u8, ((m & ((1u64 << (k - 2)) - 1)) << 1) | sign, k - 1)
        }
    }
}

/// [`symbol_of`] on each residual: the symbol, with the residual's context, appended to `symbols` and counted in
/// `counts[context]`, the raw part written to `raw`. One pass, the raw writer's state in registers throughout.
pub fn collect_symbols(
    residuals: &[i64],
    contexts: &[u8],
    raw: &mut RawWriter,
    counts: &mut [[u32; NSYM]],
    symbols: &mut Vec<(u8, u8)>,
) {
    let Ok(counts) = <&mut [[u32; NSYM]; MAX_CONTEXTS]>::try_from(&mut *counts) else {
        // (Never: the coder counts in MAX_CONTEXTS tables.)
        for (&r, &ctx) in residuals.iter().zip(contexts) {
            let sym = symbol_of(r, raw);
            counts[ctx as usize][sym as usize] += 1;
            symbols.push((ctx, sym));
        }
        return;
    };
    let n = residuals.len().min(contexts.len());
    let first = symbols.len();
    symbols.resize(first + n, (0, 0));
    // At most 64 raw bits per residual.
    raw.with_room(8 * n, |w| {
        for ((out, &r), &ctx) in symbols[first..].iter_mut().zip(residuals).zip(contexts) {
            let (sym, bits, width) = split(r);
            w.put_long(bits, width);
            // (Contexts and symbols masked to the tables' sizes, which every valid pair is within.)
            counts[ctx as usize % MAX_CONTEXTS][sym as usize % NSYM] += 1;
            *out = (ctx, sym);
        }
    });
}

/// Rebuilds a residual from its symbol and the raw stream (inverse of [`symbol_of`]). Never panics.
#[inline(always)]
pub fn residual_of(sym: u8, raw: &mut RawReader) -> i64 {
    let (k, top) = match sym {
        0 => return 0,
        1 => return if raw.get(1) == 1 { -1 } else { 1 },
        // Symbols above 127 never come out of a valid table; clamp so a corrupt one cannot shift out of range.
        s => (((s as u32 + 2) / 2).min(64), (s & 1) as u64),
    };
    let field = raw.get_long(k - 1);
    let m = (1u64 << (k - 1)) | (top << (k - 2)) | (field >> 1);
    let v = m as i64;
    if field & 1 == 1 {
        v.wrapping_neg()
    } else {
        v
    }
}

/// Per-context frequency tables (each present context's frequencies sum to 2^10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticModel {
    /// `freq[ctx][sym]`; an absent context has all zeros.
    freq: Vec<[u16; NSYM]>,
    cum: Vec<[u16; NSYM + 1]>,
    /// The contexts whose table is written as a law (stream version 5) rather than frequency by frequency.
    laws: Vec<Option<Geometric>>,
}

/// The first byte of a context's table that is a [`Geometric`] law (an explicit table starts with its first
/// symbol, at most 127).
pub const GEOMETRIC_MARKER: u8 = 255;
/// Largest exponent `e` of a [`Geometric`] law.
pub const GEOMETRIC_MAX_E: u8 = 54;

/// A context table given by a two-sided geometric law, `P(r) ~ theta^|r|`, over the symbols `0..=hi` (stream
/// version 5; docs/format.md, section 6.2): 4 bytes where its frequencies would take one or two a symbol. The
/// residuals of one context are close to Laplacian at the context's scale, so on a small tile, whose tables are a
/// large part of it, the law codes them in fewer bytes than their own counts do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometric {
    /// Last symbol with a frequency (`<= 127`); every symbol up to it has at least 1.
    pub hi: u8,
    /// `1 - theta = (256 + m) / 2^(e + 8)`, `1 <= e <= 54`.
    pub e: u8,
    pub m: u8,
}

/// The first magnitude of symbol `s` (`s <= 128`: 128 stands for the end of the last one, 2^64): 2^j as
/// `(j, false)`, 3 * 2^j as `(j, true)`, and `None` for symbol 0 (magnitude 0).
fn symbol_start(s: usize) -> Option<(u32, bool)> {
    match s {
        0 => None,
        1 => Some((0, false)),
        128 => Some((64, false)),
        _ => {
            let k = (s as u32 + 2) / 2;
            if s.is_multiple_of(2) {
                Some((k - 1, false))
            } else {
                Some((k - 2, true))
            }
        }
    }
}

impl Geometric {
    /// The law's index on a scale where one step changes `1 - theta` by at most 1/256 of itself, larger for
    /// wider laws: `256 e - m`, 1 ..= 256 * 54.
    fn index(self) -> u32 {
        256 * self.e as u32 - self.m as u32
    }

    fn from_index(hi: u8, index: u32) -> Self {
        let index = index.clamp(1, 256 * GEOMETRIC_MAX_E as u32);
        let e = index.div_ceil(256);
        Geometric { hi, e: e as u8, m: (256 * e - index) as u8 }
    }

    /// The frequencies of the law (summing to 2^10), or `None` for an invalid law. Integer arithmetic only, exactly
    /// as docs/format.md section 6.2 has it: any decoder builds the same table.
    pub fn freq(self) -> Option<[u16; NSYM]> {
        let hi = self.hi as usize;
        if hi >= NSYM || !(1..=GEOMETRIC_MAX_E).contains(&self.e) {
            return None;
        }
        const ONE: u64 = 1 << 62;
        let q = (256 + self.m as u64) << (54 - self.e as u32);
        // Masses (times (1 + theta) / 2): q / 2 for symbol 0, theta^lo - theta^end for the magnitudes lo..end of a
        // symbol. The symbols' ends run 1, 2, 3, 4, 6, 8, 12, ...: theta^(2^(j+1)) is theta^(2^j) squared, and
        // theta^(3 * 2^j) their product, each in units of 2^-62 rounded down (so the powers never increase).
        let mul = |a: u64, b: u64| ((a as u128 * b as u128) >> 62) as u64;
        let mut mass = [0u64; NSYM];
        mass[0] = q >> 1;
        let mut pow = ONE - q; // theta^(2^j)
        let mut s = 1;
        let mut start = pow; // theta^(start of symbol s)
        while s <= hi {
            let square = mul(pow, pow);
            let ends = [square, mul(pow, square)]; // theta^(2^(j+1)), theta^(3 * 2^j)
            pow = square;
            for &end in &ends {
                if s <= hi {
                    mass[s] = start.saturating_sub(end); // (never negative: see above)
                    start = end;
                    s += 1;
                }
            }
        }
        // (The masses telescope: their sum is q / 2 + theta - theta^end < 2^63, end the end of symbol hi.)
        let total = (q >> 1) + (ONE - q) - start;
        let shift = (64 - total.leading_zeros()).saturating_sub(31);
        let reciprocal = ONE / (total >> shift);
        let spare = (TOTAL as u64) - (hi as u64 + 1);
        let mut freq = [0u16; NSYM];
        let (mut sum, mut largest, mut most) = (0u32, 0usize, 0u16);
        for (s, (f, &v)) in freq.iter_mut().zip(&mass).take(hi + 1).enumerate() {
            *f = (1 + (((((v >> shift) * reciprocal) >> 31) * spare) >> 31)) as u16;
            sum += *f as u32;
            if *f > most {
                (largest, most) = (s, *f);
            }
        }
        freq[largest] += (TOTAL - sum) as u16;
        Some(freq)
    }
}

/// `-log2(f / 2^10)` in units of 2^-16 bits, for `f` in 1..=2^10 (index 0 unused): what a symbol of frequency `f`
/// costs, for choosing between tables.
static COST: [u32; TOTAL as usize + 1] = {
    let mut c = [0u32; TOTAL as usize + 1];
    let mut f = 1;
    while f <= TOTAL as usize {
        c[f] = (SCALE_BITS << 16) - log2_q16(f as u32);
        f += 1;
    }
    c
};

/// `log2(x)` in units of 2^-16, rounded down (x >= 1), by repeated squaring of the mantissa.
const fn log2_q16(x: u32) -> u32 {
    let k = 31 - x.leading_zeros();
    let mut y = ((x as u64) << 30) >> k;
    let mut frac = 0u32;
    let mut i = 0;
    while i < 16 {
        y = (y * y) >> 30;
        frac <<= 1;
        if y >= 2 << 30 {
            y >>= 1;
            frac |= 1;
        }
        i += 1;
    }
    (k << 16) | frac
}

/// Cost in units of 2^-16 bits of the symbol counts `counts` under the frequencies `freq`.
fn cost_of(counts: &[u32; NSYM], freq: &[u16; NSYM], hi: usize) -> u64 {
    counts[..=hi].iter().zip(freq).filter(|(&n, _)| n > 0).map(|(&n, &f)| n as u64 * COST[f as usize] as u64).sum()
}

/// The first and last symbol of a table with a nonzero frequency (0 and 0 for an empty one).
fn nonzero_range(f: &[u16; NSYM]) -> (usize, usize) {
    (f.iter().position(|&v| v > 0).unwrap_or(0), f.iter().rposition(|&v| v > 0).unwrap_or(0))
}

/// Bytes of an explicit table (section 6.2): its first and last symbol, then the frequencies between.
fn explicit_bytes(f: &[u16; NSYM]) -> usize {
    let (lo, hi) = nonzero_range(f);
    2 + f[lo..=hi].iter().map(|&v| if v < 128 { 1 } else { 2 }).sum::<usize>()
}

/// The law that codes `counts` (last symbol `hi`) about cheapest, its frequencies, and its cost in units of 2^-16
/// bits (`u64::MAX` if no law could be built, which a valid `hi` rules out). The search
/// starts from the law whose mean magnitude matches the counts' (biased up by [`LAW_START_BIAS`]); its law is
/// within about 4 of the best index, where `1 - theta` is within 2 % of the best and costs about 10^-4 bits a
/// symbol more (on the corpus' small tiles its laws coded 0.03 % larger than the best of all indices).
fn best_geometric(counts: &[u32; NSYM], hi: usize) -> (Geometric, [u16; NSYM], u64) {
    // Mean magnitude + 1 from the symbols' middles, then index ~ 256 log2(mean + 1) (1 - theta ~ 1 / (mean + 1)).
    let (mut n, mut sum2) = (0u128, 0u128);
    let magnitude = |s: usize| match symbol_start(s) {
        Some((j, three)) => (1u128 << j) * if three { 3 } else { 1 },
        None => 0,
    };
    for (s, &c) in counts.iter().enumerate().take(hi + 1).filter(|(_, &c)| c > 0) {
        n += c as u128;
        sum2 += c as u128 * (magnitude(s) + magnitude(s + 1).max(1) - 1);
    }
    let log2 = |v: u128| {
        let shift = (128 - v.leading_zeros()).saturating_sub(32);
        ((shift as u64) << 16) + log2_q16(((v >> shift) as u32).max(1)) as u64
    };
    let mean_index = (log2(sum2 + 2 * n.max(1)).saturating_sub(log2(2 * n.max(1))) >> 8) as u32;
    let hi8 = hi as u8;
    let eval = |index: i64| {
        let g = Geometric::from_index(hi8, index.clamp(1, LAW_LAST_INDEX) as u32);
        let f = g.freq().unwrap_or([0; NSYM]);
        let cost = if f[0] == 0 { u64::MAX } else { cost_of(counts, &f, hi) };
        (g, f, cost)
    };
    // Three laws 32 apart with the cheapest in the middle (walking while an end is cheaper: far from the start only
    // in contexts of a few residuals), then the vertex of the parabola through them, to a multiple of 4.
    const STEP: i64 = 32;
    let start = (mean_index as i64 + LAW_START_BIAS).clamp(1 + STEP, LAW_LAST_INDEX - STEP);
    if n < LAW_SEARCH_MIN {
        return eval(start);
    }
    let (mut below, mut mid, mut above) = (eval(start - STEP), eval(start), eval(start + STEP));
    loop {
        let at = mid.0.index() as i64;
        if below.2 < mid.2 && below.2 <= above.2 && at - 2 * STEP >= 1 {
            (above, mid, below) = (mid, below, eval(at - 2 * STEP));
        } else if above.2 < mid.2 && at + 2 * STEP <= LAW_LAST_INDEX {
            (below, mid, above) = (mid, above, eval(at + 2 * STEP));
        } else {
            break;
        }
    }
    let best = [below, above].into_iter().fold(mid, |b, c| if c.2 < b.2 { c } else { b });
    if best.0 != mid.0 || mid.2 == u64::MAX {
        // (At the end of the range.)
        return best;
    }
    let (l, m, h) = (below.2 as i128, mid.2 as i128, above.2 as i128);
    let curvature = l + h - 2 * m;
    if curvature <= 0 {
        return best;
    }
    let offset = (STEP as i128 * (l - h) / (2 * curvature)) as i64 / 4 * 4;
    if offset == 0 {
        return best;
    }
    let vertex = eval(mid.0.index() as i64 + offset);
    if vertex.2 < best.2 {
        vertex
    } else {
        best
    }
}

/// Where the search for a law starts, above the index of the law with the counts' mean magnitude: on the corpus'
/// one-channel tiles of 1024 samples the best law's index was 0 to 96 above that one in contexts of 64 residuals
/// or more (the mean taken from the symbols' middles errs low).
const LAW_START_BIAS: i64 = 40;
/// Contexts of fewer residuals take the law the search starts from: a search costs 3 to 5 tables, a fifth of the
/// coding time of a one-channel tile of 1024 samples, and found 0.02 % smaller tiles there.
const LAW_SEARCH_MIN: u128 = 64;
/// Bytes of a context's table that is a law.
const LAW_BYTES: usize = 4;
/// Largest index of a law (`e = 54`, `m = 0`).
const LAW_LAST_INDEX: i64 = 256 * GEOMETRIC_MAX_E as i64;

/// Errors reading a model table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    Truncated,
    Invalid,
}

impl StaticModel {
    /// Normalises symbol counts per context so that every symbol that occurred keeps a nonzero frequency.
    pub fn from_counts(counts: &[[u32; NSYM]]) -> Self {
        Self::with_freq(Self::normalised(counts))
    }

    /// The frequencies of [`StaticModel::from_counts`].
    fn normalised(counts: &[[u32; NSYM]]) -> Vec<[u16; NSYM]> {
        let mut freq = vec![[0u16; NSYM]; MAX_CONTEXTS];
        for (ctx, c) in counts.iter().enumerate().take(MAX_CONTEXTS) {
            let total: u64 = c.iter().map(|&v| v as u64).sum();
            if total == 0 {
                continue;
            }
            let f = &mut freq[ctx];
            let mut sum = 0i64;
            for s in 0..NSYM {
                if c[s] > 0 {
                    let v = ((c[s] as u64 * TOTAL as u64 + total / 2) / total).max(1);
                    f[s] = v as u16;
                    sum += v as i64;
                }
            }
            // Fix the total by moving the difference onto the largest entries, never below 1.
            while sum != TOTAL as i64 {
                let largest = (0..NSYM).max_by_key(|&s| f[s]).unwrap_or(0);
                if sum > TOTAL as i64 {
                    let room = f[largest] as i64 - 1;
                    let d = (sum - TOTAL as i64).min(room.max(0));
                    if d == 0 {
                        // Every entry is 1 and still too many symbols: impossible with NSYM < TOTAL.
                        break;
                    }
                    f[largest] -= d as u16;
                    sum -= d;
                } else {
                    f[largest] += (TOTAL as i64 - sum) as u16;
                    sum = TOTAL as i64;
                }
            }
        }
        freq
    }

    /// [`StaticModel::from_counts`], then every context whose counts a [`Geometric`] law codes in fewer bytes,
    /// table included, takes the law instead (stream version 5).
    pub fn from_counts_compact(counts: &[[u32; NSYM]]) -> Self {
        let mut freq = Self::normalised(counts);
        let mut laws = vec![None; MAX_CONTEXTS];
        for (ctx, c) in counts.iter().enumerate().take(MAX_CONTEXTS) {
            let Some(hi) = c.iter().rposition(|&v| v > 0) else { continue };
            let f = &freq[ctx];
            let table = explicit_bytes(f);
            if table <= LAW_BYTES {
                // (A law cannot be smaller.)
                continue;
            }
            let explicit = cost_of(c, f, hi) + ((table as u64) << 19);
            let (law, law_freq, cost) = best_geometric(c, hi);
            if cost.saturating_add((LAW_BYTES as u64) << 19) < explicit {
                freq[ctx] = law_freq;
                laws[ctx] = Some(law);
            }
        }
        Self { laws, ..Self::with_freq(freq) }
    }

    /// True when some context's table is a [`Geometric`] law (the stream must then be version 5 or later).
    pub fn uses_laws(&self) -> bool {
        self.laws.iter().any(Option::is_some)
    }

    /// True when `sym` is the only symbol of context `ctx`: coding it then leaves the rANS state unchanged (its
    /// step multiplies and divides by the total), so a run of it costs nothing and decodes without reading.
    pub fn is_certain(&self, ctx: usize, sym: u8) -> bool {
        self.freq.get(ctx).is_some_and(|f| f[sym as usize % NSYM] as u32 == TOTAL)
    }

    fn with_freq(freq: Vec<[u16; NSYM]>) -> Self {
        let cum = freq
            .iter()
            .map(|f| {
                // (Decoding a small tile reads a whole model: absent contexts and the zero tail of present ones,
                // most of the table, are skipped rather than summed.)
                let mut c = [0u16; NSYM + 1];
                if f.iter().fold(0, |a, &v| a | v) == 0 {
                    return c;
                }
                for s in 0..NSYM {
                    c[s + 1] = c[s] + f[s];
                    if c[s + 1] as u32 == TOTAL {
                        // Every context sums to TOTAL (`from_counts`, `read`): the rest are zeros.
                        debug_assert!(f[s + 1..].iter().all(|&v| v == 0));
                        c[s + 2..].fill(TOTAL as u16);
                        break;
                    }
                }
                c
            })
            .collect();
        StaticModel { freq, cum, laws: vec![None; MAX_CONTEXTS] }
    }

    /// Serialises the tables: a 64-bit little-endian bitmap of present contexts, then per present context the
    /// first and last symbol with a nonzero frequency (u8 each) and the frequencies in between as LEB128 varints.
    pub fn write(&self, out: &mut Vec<u8>) {
        // (A context is present when its frequencies sum to 2^10, which its last cumulative frequency says without
        // a scan of the table.)
        let present = |ctx: &usize| self.has(*ctx);
        let bitmap = (0..self.freq.len().min(64)).filter(present).fold(0u64, |b, ctx| b | 1 << ctx);
        out.extend_from_slice(&bitmap.to_le_bytes());
        for ctx in (0..self.freq.len()).filter(present) {
            let (f, law) = (&self.freq[ctx], &self.laws[ctx]);
            if let Some(g) = law {
                out.extend_from_slice(&[GEOMETRIC_MARKER, g.hi, g.e, g.m]);
                continue;
            }
            let (lo, hi) = nonzero_range(f);
            out.push(lo as u8);
            out.push(hi as u8);
            for &v in &f[lo..=hi] {
                varint::put(out, v as u64);
            }
        }
    }

    /// Reads tables written by [`StaticModel::write`]; returns the model and the bytes consumed. Every present
    /// context must sum to exactly 2^10.
    pub fn read(bytes: &[u8]) -> Result<(Self, usize), TableError> {
        let mut pos = 0usize;
        let next = |pos: &mut usize| -> Result<u8, TableError> {
            let b = *bytes.get(*pos).ok_or(TableError::Truncated)?;
            *pos += 1;
            Ok(b)
        };
        let mut bm = [0u8; 8];
        for b in bm.iter_mut() {
            *b = next(&mut pos)?;
        }
        let bitmap = u64::from_le_bytes(bm);
        let mut freq = vec![[0u16; NSYM]; MAX_CONTEXTS];
        let mut laws = vec![None; MAX_CONTEXTS];
        for (ctx, f) in freq.iter_mut().enumerate() {
            if bitmap & (1 << ctx) == 0 {
                continue;
            }
            let lo = next(&mut pos)? as usize;
            if lo == GEOMETRIC_MARKER as usize {
                let law = Geometric { hi: next(&mut pos)?, e: next(&mut pos)?, m: next(&mut pos)? };
                *f = law.freq().ok_or(TableError::Invalid)?;
                laws[ctx] = Some(law);
                continue;
            }
            let hi = next(&mut pos)? as usize;
            if lo > hi || hi >= NSYM {
                return Err(TableError::Invalid);
            }
            let mut sum = 0u32;
            for v in f[lo..=hi].iter_mut() {
                let x = varint::take(bytes, &mut pos, 3).map_err(|e| match e {
                    VarintError::Truncated => TableError::Truncated,
                    VarintError::TooLong => TableError::Invalid,
                })?;
                if x > TOTAL as u64 {
                    return Err(TableError::Invalid);
                }
                *v = x as u16;
                sum += x as u32;
            }
            if sum != TOTAL {
                return Err(TableError::Invalid);
            }
        }
        Ok((Self { laws, ..Self::with_freq(freq) }, pos))
    }

    /// True when context `ctx` has a table.
    pub fn has(&self, ctx: usize) -> bool {
        self.cum.get(ctx).is_some_and(|c| c[NSYM] as u32 == TOTAL)
    }
}

/// Codes a symbol of frequency `f` and cumulative frequency `c` into state `x`, first moving its low 16 bits to
/// `words` when the result would overflow; `reciprocal` is `f`'s (see [`RECIPROCAL`]).
#[inline(always)]
fn step(x: &mut u32, f: u32, c: u32, reciprocal: u64, words: &mut Vec<u16>) {
    if must_renormalise(*x, f) {
        words.push(*x as u16);
        *x >>= 16;
    }
    *x = code(*x, f, c, reciprocal);
}

/// Whether state `x` must shed 16 bits before coding a symbol of frequency `f`.
#[inline(always)]
fn must_renormalise(x: u32, f: u32) -> bool {
    // u64: with f = 2^10 (a context with a single symbol) the bound is 2^32.
    x as u64 >= (((RANS_L >> SCALE_BITS) << 16) as u64) * f as u64
}

/// State `x` (renormalised) after coding a symbol of frequency `f` and cumulative frequency `c`.
#[inline(always)]
fn code(x: u32, f: u32, c: u32, reciprocal: u64) -> u32 {
    code_scaled::<SCALE_BITS>(x, f, c, reciprocal)
}

/// [`code`] for a model of `2^SCALE` total frequency (the byte coder's is 2^12); `reciprocal` is
/// [`reciprocal`]`(f)`.
#[inline(always)]
pub(crate) fn code_scaled<const SCALE: u32>(x: u32, f: u32, c: u32, reciprocal: u64) -> u32 {
    let q = ((x as u128 * reciprocal as u128) >> 63) as u32;
    (q << SCALE) + (x - q * f) + c
}

/// `floor(2^63 / f) + 1`: with it, `x / f` is exact for every `x < 2^32` and `f <= 2^12` (see [`RECIPROCAL`]).
pub(crate) const fn reciprocal(f: u32) -> u64 {
    (1u64 << 63) / f as u64 + 1
}

/// Symbols [`RansEncoder::put_all`] makes room for at a time (even).
const PUT_STRETCH: usize = 1 << 14;

/// rANS encoder: symbols are pushed in reverse order of decoding.
#[derive(Debug)]
pub struct RansEncoder {
    state: [u32; 2],
    words: Vec<u16>,
}

/// `floor(2^63 / f) + 1` for every frequency `f` in 1..=TOTAL (0 for 0): `x / f` becomes one widening multiply and
/// a shift by 63 (exact for `x < 2^32`: the reciprocal's error, below `x / 2^63 < 2^-31`, cannot carry past the
/// next integer, which is at least `1/f >= 2^-10` away), where a 32-bit division was the encoder's slowest
/// instruction. Computed at compile time: made for each encoder, its 1024 divisions were paid by every tile,
/// however small.
static RECIPROCAL: [u64; TOTAL as usize + 1] = {
    let mut r = [0u64; TOTAL as usize + 1];
    let mut f = 1;
    while f <= TOTAL as usize {
        r[f] = reciprocal(f as u32);
        f += 1;
    }
    r
};

impl Default for RansEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RansEncoder {
    pub fn new() -> Self {
        RansEncoder { state: [RANS_L; 2], words: Vec::new() }
    }

    /// Codes symbol `sym` of context `ctx` as the `i`-th symbol of the sequence (the parity of `i` picks the
    /// interleaved state). Call with `i` descending. The context must have a nonzero frequency for `sym`.
    #[inline(always)]
    pub fn put(&mut self, model: &StaticModel, ctx: usize, sym: u8, i: usize) {
        let f = model.freq[ctx][sym as usize] as u32;
        let c = model.cum[ctx][sym as usize] as u32;
        debug_assert!(f > 0);
        step(&mut self.state[i & 1], f, c, RECIPROCAL[f as usize], &mut self.words);
    }

    /// Codes a whole sequence of (context, symbol) pairs: the same as [`RansEncoder::put`] on each, last first,
    /// pair `i` as the `i`-th symbol. One call keeps both states and the tables in registers (inlined into the tile
    /// coder, the per-symbol loop kept them on the stack: 40 instructions per symbol).
    #[inline(never)]
    pub fn put_all(&mut self, model: &StaticModel, symbols: &[(u8, u8)]) {
        let (Ok(freq), Ok(cum)) = (
            <&[[u16; NSYM]; MAX_CONTEXTS]>::try_from(&model.freq[..]),
            <&[[u16; NSYM + 1]; MAX_CONTEXTS]>::try_from(&model.cum[..]),
        ) else {
            // (Never: models have MAX_CONTEXTS tables.)
            for (i, &(ctx, sym)) in symbols.iter().enumerate().rev() {
                self.put(model, ctx as usize, sym, i);
            }
            return;
        };
        // Each symbol moves at most one word out: room for a stretch of them is made first, and every step writes
        // its word and keeps it only if it renormalised. No branch on the data, whose outcome (about every other
        // symbol) a branch predictor cannot guess, and no capacity check. (Room for a stretch, not for the whole
        // tile: zeroed room is memory in use, and a tile's symbols rarely need a word each.)
        let mut words = core::mem::take(&mut self.words);
        let mut len = words.len();
        // (Contexts and symbols masked to the tables' sizes, which every valid pair is within: no bounds checks.)
        let put = |words: &mut [u16], len: &mut usize, x: &mut u32, (ctx, sym): (u8, u8)| {
            let (ctx, sym) = (ctx as usize % MAX_CONTEXTS, sym as usize % NSYM);
            let (f, c) = (freq[ctx][sym] as u32, cum[ctx][sym] as u32);
            let shed = must_renormalise(*x, f);
            words[*len] = *x as u16;
            *len += shed as usize;
            *x >>= 16 * shed as u32;
            *x = code(*x, f, c, RECIPROCAL[(f as usize).min(TOTAL as usize)]);
        };
        let room = |words: &mut Vec<u16>, len: usize, n: usize| {
            if words.len() < len + n {
                words.resize(len + n, 0);
            }
        };
        let [mut even, mut odd] = self.state;
        // Pair i goes to state i % 2: an odd count leaves the last pair (an even index) alone at the end.
        let paired = symbols.len() / 2 * 2;
        if let Some(&last) = symbols.get(paired) {
            room(&mut words, len, 1);
            put(&mut words, &mut len, &mut even, last);
        }
        // (Stretches of an even length: each splits into pairs.)
        for stretch in symbols[..paired].rchunks(PUT_STRETCH) {
            room(&mut words, len, stretch.len());
            for two in stretch.rchunks_exact(2) {
                put(&mut words, &mut len, &mut odd, two[1]);
                put(&mut words, &mut len, &mut even, two[0]);
            }
        }
        words.truncate(len);
        self.words = words;
        self.state = [even, odd];
    }

    /// Flushes both states and returns the byte stream (little-endian 16-bit words, in decoding order).
    pub fn finish(mut self) -> Vec<u8> {
        for s in self.state {
            self.words.push(s as u16);
            self.words.push((s >> 16) as u16);
        }
        let mut out = vec![0u8; self.words.len() * 2];
        for (o, w) in out.chunks_exact_mut(2).zip(self.words.iter().rev()) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// Context rows of the decoder's tables: the contexts, and 6 more that repeat the last one, so that a context
/// computed from a local energy needs no clamping (see [`ResidualDecoder::get_energy`]).
const ROWS: usize = MAX_CONTEXTS + 6;
/// Codes of a symbol (see [`code_of`]).
const CODES: usize = 256;

/// The code of symbol `s`: `n | lead << 6`, with `n` the number of raw bits that follow it and `lead` the
/// magnitude's bits above them (0, 1, or `1 top`). A one-to-one relabelling of the symbols from which the decoder
/// reads both without arithmetic.
const fn code_of(s: usize) -> u8 {
    match s {
        0 => 0,
        1 => 1 | 1 << 6,
        s => ((s / 2) | (2 | (s & 1)) << 6) as u8,
    }
}

/// The symbol of code `c` (inverse of [`code_of`]).
const fn symbol_of_code(c: u8) -> u8 {
    let (n, lead) = (c & 63, c >> 6);
    if lead >= 2 {
        2 * n + (lead & 1)
    } else {
        lead
    }
}

/// The decoder's table of one context (2 KiB: the hot contexts stay in the L1 cache).
#[derive(Clone)]
struct Row {
    /// Slot -> the code of the symbol owning it; all 0 for a context without a table.
    codes: [u8; TOTAL as usize],
    /// Code -> `freq | cum << 16`; 0 (frequency 0, which flags corruption) for code 0 of a context without a
    /// table. Entries that no slot refers to are never read.
    cells: [u32; CODES],
}

/// The rows of `model`'s present contexts filled in; rows past the last context repeat it.
fn rows(model: &StaticModel) -> Box<[Row; ROWS]> {
    let empty = Row { codes: [0; TOTAL as usize], cells: [0; CODES] };
    let mut rows: Box<[Row; ROWS]> = match vec![empty; ROWS].into_boxed_slice().try_into() {
        Ok(rows) => rows,
        Err(_) => unreachable!("ROWS rows"),
    };
    for (i, row) in rows.iter_mut().enumerate() {
        let ctx = i.min(MAX_CONTEXTS - 1);
        if !model.has(ctx) {
            continue;
        }
        for s in 0..NSYM {
            let (c, f) = (model.cum[ctx][s] as usize, model.freq[ctx][s] as usize);
            if c == TOTAL as usize {
                // The symbols left all have frequency 0 (usually most of them).
                break;
            }
            if f > 0 {
                let code = code_of(s);
                row.codes[c..c + f].fill(code);
                row.cells[code as usize] = f as u32 | (c as u32) << 16;
            }
        }
    }
    rows
}

/// rANS decoder: per context a byte table from slot to symbol code and the frequency and cumulative frequency
/// of each code (2 KiB per context; only the model's contexts are filled). Reading past the input yields zero
/// words, and a context without a table marks the stream corrupt; both are reported by
/// [`RansDecoder::finish_ok`].
pub struct RansDecoder<'a> {
    /// State of the next symbol, and of the one after it (the two interleaved states take turns).
    x: u32,
    y: u32,
    buf: &'a [u8],
    pos: usize,
    rows: Box<[Row; ROWS]>,
    corrupt: bool,
    /// Parity of the index [`RansDecoder::get`] expects next (`x` is the state of that parity).
    parity: usize,
}

impl<'a> RansDecoder<'a> {
    // Inlined (the tables are built out of line) so that a decoder on the caller's stack never has its address
    // taken: its fields then live in registers in the decoding loop.
    #[inline(always)]
    pub fn new(model: &StaticModel, buf: &'a [u8]) -> Self {
        let mut d = RansDecoder { x: 0, y: 0, buf, pos: 0, rows: rows(model), corrupt: false, parity: 0 };
        let mut init = [0u32; 2];
        for i in (0..2).rev() {
            let hi = d.peek();
            d.pos += 2;
            let lo = d.peek();
            d.pos += 2;
            init[i] = (hi << 16) | lo;
        }
        (d.x, d.y) = (init[0], init[1]);
        d
    }

    /// The 16-bit word at the read position (zero past the end of the input).
    #[inline(always)]
    fn peek(&self) -> u32 {
        // (The mask, which never changes the position, tells the compiler that `pos + 2` cannot overflow: one
        // bound check instead of two.)
        let pos = self.pos & (usize::MAX >> 1);
        match self.buf.get(pos..pos + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]) as u32,
            None => 0,
        }
    }

    /// Decodes the `i`-th symbol, in context `ctx` (the parity of `i` picks the interleaved state, as in
    /// [`RansEncoder::put`]; symbols are decoded with `i` ascending).
    #[inline(always)]
    pub fn get(&mut self, _model: &StaticModel, ctx: usize, i: usize) -> u8 {
        if i & 1 != self.parity {
            (self.x, self.y) = (self.y, self.x);
        }
        self.parity = (i & 1) ^ 1;
        symbol_of_code(self.code(ctx % MAX_CONTEXTS))
    }

    /// Decodes the code of the next symbol, in table row `row` (rows past the table use the last one). The hot
    /// path of [`ResidualDecoder`], which decodes in order: it leaves `parity` alone.
    #[inline(always)]
    fn code(&mut self, row: usize) -> u8 {
        let x = self.x;
        let slot = x & (TOTAL - 1);
        let t = match self.rows.get(row) {
            Some(t) => t,
            None => last_row(&self.rows),
        };
        let c = t.codes[slot as usize];
        let cell = t.cells[c as usize];
        let f = cell & 0xFFFF;
        if f == 0 {
            // Never taken by a valid stream (a present context has a symbol of nonzero frequency in every slot).
            self.corrupt = flag_corrupt();
        }
        let x = f.wrapping_mul(x >> SCALE_BITS).wrapping_add(slot).wrapping_sub(cell >> 16);
        // Renormalise without a branch (it is taken about once in a few symbols, unpredictably): one word always
        // suffices, since `x >= 2^6` after any step from a state of at least 2^16.
        let need = (x < RANS_L) as u32;
        let w = self.peek();
        let x = (x << (16 * need)) | (w & need.wrapping_neg());
        self.pos += 2 * need as usize;
        self.x = self.y;
        self.y = x;
        c
    }

    /// True when the stream decoded cleanly: no absent context was hit, no byte was read past the input, the
    /// input was consumed exactly, and both states returned to their initial value.
    pub fn finish_ok(&self) -> bool {
        !self.corrupt && self.pos == self.buf.len() && self.x == RANS_L && self.y == RANS_L
    }
}

/// The last row (the one of contexts beyond the table), out of line: the row lookup's bound check stays a
/// never-taken branch.
#[cold]
#[inline(never)]
fn last_row(rows: &[Row; ROWS]) -> &Row {
    &rows[ROWS - 1]
}

/// `true`, out of line: keeps the corruption check of the decoding loop a never-taken branch.
#[cold]
#[inline(never)]
fn flag_corrupt() -> bool {
    true
}

/// Reads the raw bit stream written by [`RawWriter`] for the static decoder from a bit position: the next 57 or
/// more bits are one unaligned load and a shift, which depends only on the previous field's width and so runs
/// while the symbol is being looked up.
#[derive(Clone, Copy)]
struct RawBits<'a> {
    buf: &'a [u8],
    /// Bits read so far.
    pos: usize,
}

impl<'a> RawBits<'a> {
    #[inline(always)]
    fn new(buf: &'a [u8]) -> Self {
        RawBits { buf, pos: 0 }
    }

    /// The bits from the read position on (at least 57 valid; zeros past the end of the input).
    #[inline(always)]
    fn peek(&self) -> u64 {
        let byte = self.pos >> 3;
        let w = match self.buf.get(byte..byte + 8) {
            Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => load_tail(self.buf, byte),
        };
        w >> (self.pos & 7)
    }

    /// Takes `n <= 64` bits.
    fn take_long(&mut self, n: u32) -> u64 {
        let lo = self.peek() & 0xFFFF_FFFF;
        self.pos += 32.min(n as usize);
        let hi = self.peek() & ((1u64 << n.saturating_sub(32)) - 1);
        self.pos += n.saturating_sub(32) as usize;
        lo | hi << 32
    }

    /// True when more bits were read than the input held.
    fn overrun(&self) -> bool {
        self.pos as u64 > self.buf.len() as u64 * 8
    }
}

/// The bytes of `buf` from `pos` on, zero-padded to eight (a free function of values, so that the hot decoder's
/// fields stay in registers).
#[cold]
#[inline(never)]
fn load_tail(buf: &[u8], pos: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(rest) = buf.get(pos..) {
        let n = rest.len().min(8);
        b[..n].copy_from_slice(&rest[..n]);
    }
    u64::from_le_bytes(b)
}

/// The table row of the context [`context_of`](crate::residual::context_of)`(energy)`, without its clamping:
/// rows past the last context repeat it, and an energy below 2^35 (at most 8 magnitudes of 32 bits) has a row
/// below [`ROWS`]; larger ones fall back to the last row through the row lookup's bound check.
#[inline(always)]
fn row_of_energy(energy: u64) -> usize {
    if energy < 2 {
        energy as usize
    } else {
        let l = 64 - energy.leading_zeros() as usize;
        2 * l - 2 + ((energy >> (l - 2)) & 1) as usize
    }
}

/// A residual with more than 31 raw bits (magnitudes of 2^31 and above), out of line; takes and returns the bit
/// reader by value so that the hot path keeps it in registers.
#[cold]
#[inline(never)]
fn long_residual(mut raw: RawBits, code: u8) -> (i64, u32, RawBits) {
    let (n, lead) = ((code & 63) as u32, (code >> 6) as u64);
    let field = raw.take_long(n);
    // n >= 32: `lead << n` could lose bits, so the magnitude is assembled below the leading one.
    let m = (lead << (n - 1)) | (field >> 1);
    let v = m as i64;
    let r = if field & 1 == 1 { v.wrapping_neg() } else { v };
    (r, r.unsigned_abs().min(u32::MAX as u64) as u32, raw)
}

/// The static decoder of residuals: symbols from the rANS stream, their sign and low bits from the raw stream
/// (the inverse of [`RansEncoder`] with [`symbol_of`]).
pub struct ResidualDecoder<'a> {
    rans: RansDecoder<'a>,
    raw: RawBits<'a>,
}

impl<'a> ResidualDecoder<'a> {
    /// A decoder of the symbol stream `coded` (tables `model`) and the raw bit stream `raw`.
    #[inline(always)]
    pub fn new(model: &StaticModel, coded: &'a [u8], raw: &'a [u8]) -> Self {
        ResidualDecoder { rans: RansDecoder::new(model, coded), raw: RawBits::new(raw) }
    }

    /// Decodes the next residual, in context `ctx`, with its magnitude `|r|` saturated to `u32::MAX`. Never
    /// panics.
    #[inline(always)]
    pub fn get(&mut self, ctx: usize) -> (i64, u32) {
        self.residual(ctx % MAX_CONTEXTS)
    }

    /// As [`get`](Self::get) in the context [`context_of`](crate::residual::context_of)`(energy)` of a local
    /// energy, computed here without its clamping (the tables repeat the last context): one step shorter on the
    /// decoder's critical path.
    #[inline(always)]
    pub fn get_energy(&mut self, energy: u64) -> (i64, u32) {
        self.residual(row_of_energy(energy))
    }

    #[inline(always)]
    fn residual(&mut self, row: usize) -> (i64, u32) {
        let bits = self.raw.peek();
        let code = self.rans.code(row);
        let n = (code & 63) as u32;
        if n > 31 {
            let (r, m, raw) = long_residual(self.raw, code);
            self.raw = raw;
            return (r, m);
        }
        let field = bits & ((1u64 << n) - 1);
        self.raw.pos += n as usize;
        // n <= 31, so the magnitude is below 2^32.
        let m = (((code >> 6) as u64) << n | field) >> 1;
        let v = m as i64;
        let r = if field & 1 == 1 { v.wrapping_neg() } else { v };
        (r, m as u32)
    }

    /// True when the symbol stream decoded cleanly (see [`RansDecoder::finish_ok`]).
    pub fn finish_ok(&self) -> bool {
        self.rans.finish_ok()
    }

    /// True when more raw bits were read than the raw stream held (beyond the zero padding of its last byte).
    pub fn raw_overrun(&self) -> bool {
        self.raw.overrun()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::residual::context_of;

    fn residuals() -> Vec<(usize, i64)> {
        let mut s = 7u64;
        (0..20000)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let ctx = (i / 700) % 5 + (i % 3) * 20;
                let scale = 1u64 << ((ctx % 20) + 1);
                let r = ((s >> 20) % scale) as i64 - (scale / 2) as i64;
                let r = if i % 997 == 0 { i64::MIN + (i as i64) } else { r };
                (ctx, r)
            })
            .collect()
    }

    #[test]
    fn reciprocal_division_is_exact() {
        for f in 1..=TOTAL as u64 {
            let m = RECIPROCAL[f as usize] as u128;
            // Around every multiple of f near the top of the state range, and a spread of others.
            let top = u32::MAX as u64 / f * f;
            let xs =
                (0..64u64).flat_map(|k| [top - k * f, (top - k * f).saturating_sub(1), k * 0x0101_0101 % (1 << 32)]);
            for x in xs.chain([0, 1, f - 1, f, u32::MAX as u64]) {
                assert_eq!(((x as u128 * m) >> 63) as u64, x / f, "x = {x}, f = {f}");
            }
        }
    }

    #[test]
    fn symbols_round_trip_through_raw_bits() {
        let values = [0i64, 1, -1, 2, -3, 1 << 31, -(1 << 31) - 5, i64::MAX, i64::MIN, i64::MIN + 1];
        let mut raw = RawWriter::new();
        let syms: Vec<u8> = values.iter().map(|&v| symbol_of(v, &mut raw)).collect();
        let bytes = raw.finish();
        let mut rr = RawReader::new(&bytes);
        for (&v, &s) in values.iter().zip(&syms) {
            assert!((s as usize) < NSYM);
            assert_eq!(residual_of(s, &mut rr), v);
        }
    }

    #[test]
    fn symbols_and_raw_widths_of_every_bit_length() {
        // (symbol, raw bits) by the definition: 0 -> (0, 0); +-1 -> (1, 1); a k-bit magnitude, k >= 2, with bit
        // k - 2 equal to `top` -> (2k - 2 + top, k - 1).
        for k in 0..=64u32 {
            let lowest = if k == 0 { 0 } else { 1u64 << (k - 1) };
            let highest = if k == 0 { 0 } else { u64::MAX >> (64 - k) };
            for m in [lowest, highest, lowest | (highest >> 1) & 0x5555_5555_5555_5555] {
                for negative in [false, true] {
                    // (Magnitudes beyond 2^63 are no i64's; 2^63 is only i64::MIN's.)
                    if m > 1 << 63 || m == 1 << 63 && !negative || m == 0 && negative {
                        continue;
                    }
                    let r = if negative { (m as i64).wrapping_neg() } else { m as i64 };
                    let (sym, bits) = match k {
                        0 => (0, 0),
                        1 => (1, 1),
                        _ => (2 * k - 2 + ((m >> (k - 2)) & 1) as u32, k - 1),
                    };
                    let mut raw = RawWriter::new();
                    assert_eq!(symbol_of(r, &mut raw) as u32, sym, "r = {r}");
                    assert_eq!(raw.bit_len(), bits as u64, "r = {r}");
                    let bytes = raw.finish();
                    assert_eq!(residual_of(sym as u8, &mut RawReader::new(&bytes)), r);
                }
            }
        }
    }

    #[test]
    fn put_all_is_put_on_each_symbol_last_first() {
        let data = residuals();
        let mut raw = RawWriter::new();
        let syms: Vec<(u8, u8)> = data.iter().map(|&(c, r)| (c as u8, symbol_of(r, &mut raw))).collect();
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        for &(c, s) in &syms {
            counts[c as usize][s as usize] += 1;
        }
        let model = StaticModel::from_counts(&counts);
        // Odd and even counts (the last symbol alone on state 0, or paired), and none.
        for n in [0, 1, 2, 3, 1000, 1001, syms.len() - 1, syms.len()] {
            let mut one_by_one = RansEncoder::new();
            for (i, &(c, s)) in syms[..n].iter().enumerate().rev() {
                one_by_one.put(&model, c as usize, s, i);
            }
            let mut all = RansEncoder::new();
            all.put_all(&model, &syms[..n]);
            assert_eq!(all.finish(), one_by_one.finish(), "{n} symbols");
        }
    }

    #[test]
    fn rans_round_trips_and_detects_damage() {
        let data = residuals();
        let mut raw = RawWriter::new();
        let syms: Vec<(usize, u8)> = data.iter().map(|&(c, r)| (c, symbol_of(r, &mut raw))).collect();
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        for &(c, s) in &syms {
            counts[c][s as usize] += 1;
        }
        let model = StaticModel::from_counts(&counts);
        let mut table = Vec::new();
        model.write(&mut table);
        let (back, used) = StaticModel::read(&table).unwrap();
        assert_eq!((back.clone(), used), (model.clone(), table.len()));
        let mut enc = RansEncoder::new();
        for (i, &(c, s)) in syms.iter().enumerate().rev() {
            enc.put(&model, c, s, i);
        }
        let stream = enc.finish();
        let raw = raw.finish();
        let mut dec = RansDecoder::new(&back, &stream);
        let mut rr = RawReader::new(&raw);
        for (i, &(c, r)) in data.iter().enumerate() {
            let s = dec.get(&back, c, i);
            assert_eq!(residual_of(s, &mut rr), r, "symbol {i}");
        }
        assert!(dec.finish_ok() && !rr.overrun());
        // Truncation and a flipped byte are detected.
        let mut dec = RansDecoder::new(&back, &stream[..stream.len() - 2]);
        (0..data.len()).for_each(|i| {
            dec.get(&back, data[i].0, i);
        });
        assert!(!dec.finish_ok());
        for cut in 0..table.len() {
            assert!(StaticModel::read(&table[..cut]).is_err());
        }
    }

    #[test]
    fn symbol_codes_are_a_relabelling_with_the_raw_widths() {
        let mut seen = [false; 256];
        for s in 0..NSYM {
            let c = code_of(s);
            assert!(!seen[c as usize]);
            seen[c as usize] = true;
            assert_eq!(symbol_of_code(c) as usize, s);
            // The code's width is the raw field `symbol_of` writes for a (negative) residual of that symbol.
            let k = if s < 2 { s as u32 } else { (s as u32 + 2) / 2 };
            let m = match s {
                0 | 1 => s as i64,
                126 => i64::MIN,
                // Magnitudes of 2^63 + 2^62 and above are no residual: the encoder never writes symbol 127.
                127 => continue,
                _ => -((2 | (s as i64 & 1)) << (k - 2)),
            };
            let mut raw = RawWriter::new();
            assert_eq!(symbol_of(m, &mut raw) as usize, s);
            assert_eq!(raw.bit_len(), (c & 63) as u64, "symbol {s}");
        }
    }

    #[test]
    fn energy_rows_match_the_contexts() {
        let mut es: Vec<u64> = (0..5000).collect();
        for b in 2..64 {
            for d in [-2i64, -1, 0, 1, 2] {
                let e = (1u64 << b).wrapping_add(d as u64);
                es.extend([e, e | 1 << (b - 1), 3 << (b - 1)]);
            }
        }
        es.extend([u64::MAX, 6 * u32::MAX as u64, (1 << 35) - 1]);
        for e in es {
            let row = row_of_energy(e);
            assert_eq!(row.min(MAX_CONTEXTS - 1), context_of(e), "e = {e}");
            assert!(e >= 1 << 35 || row < ROWS, "e = {e}");
        }
    }

    /// Energies of the `get_energy` calls of the tests below: context `c` asks for `ENERGIES[c % 6] << (c / 2)`.
    const ENERGIES: [u64; 6] = [0, 1, 2, 3, 5, 7];

    /// The static decoder against the symbol decoder with [`residual_of`] and [`RawReader`]: the same residuals,
    /// magnitudes and verdicts, on valid streams and on garbage.
    fn assert_decoders_agree(model: &StaticModel, coded: &[u8], raw: &[u8], ctxs: &[usize]) -> bool {
        let mut a = ResidualDecoder::new(model, coded, raw);
        let mut b = RansDecoder::new(model, coded);
        let mut rr = RawReader::new(raw);
        for (i, &c) in ctxs.iter().enumerate() {
            let e = ENERGIES[c % 6] << (c / 2);
            let (r, m) = if i.is_multiple_of(2) { a.get(c) } else { a.get_energy(e) };
            let sym = b.get(model, if i.is_multiple_of(2) { c } else { context_of(e) }, i);
            if !b.corrupt {
                assert_eq!(r, residual_of(sym, &mut rr), "residual {i}");
                assert_eq!(m, r.unsigned_abs().min(u32::MAX as u64) as u32);
            }
        }
        assert_eq!(a.finish_ok(), b.finish_ok());
        if !b.corrupt {
            assert_eq!(a.raw_overrun(), rr.overrun());
        }
        a.finish_ok() && !a.raw_overrun()
    }

    #[test]
    fn residual_decoder_matches_symbols_and_raw_reader() {
        let mut data = residuals();
        // Magnitudes of every width, the largest ones included (raw fields wider than 31 bits).
        for k in 0..64 {
            for sign in [1i64, -1] {
                data.push((k % 7, sign.wrapping_mul(1i64.wrapping_shl(k as u32) | 1)));
                data.push((60 + k % 4, sign.wrapping_mul(((1u64 << k) | (1u64 << k >> 1)) as i64)));
            }
        }
        data.extend([(5, i64::MIN), (5, i64::MAX), (5, -i64::MAX), (63, 1 << 40)]);
        // Contexts as the energies of the `get_energy` calls (every other residual) give them.
        let ctx_of = |i: usize, c: usize| if i.is_multiple_of(2) { c } else { context_of(ENERGIES[c % 6] << (c / 2)) };
        let ctxs: Vec<usize> = data.iter().map(|&(c, _)| c % MAX_CONTEXTS).collect();
        let mut raw = RawWriter::new();
        let syms: Vec<(usize, u8)> =
            data.iter().enumerate().map(|(i, &(c, r))| (ctx_of(i, c % MAX_CONTEXTS), symbol_of(r, &mut raw))).collect();
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        for &(c, s) in &syms {
            counts[c][s as usize] += 1;
        }
        let model = StaticModel::from_counts(&counts);
        let mut enc = RansEncoder::new();
        for (i, &(c, s)) in syms.iter().enumerate().rev() {
            enc.put(&model, c, s, i);
        }
        let coded = enc.finish();
        let raw = raw.finish();
        let mut dec = ResidualDecoder::new(&model, &coded, &raw);
        for (i, (&c, &(_, r))) in ctxs.iter().zip(&data).enumerate() {
            let got = if i.is_multiple_of(2) { dec.get(c) } else { dec.get_energy(ENERGIES[c % 6] << (c / 2)) };
            assert_eq!(got, (r, r.unsigned_abs().min(u32::MAX as u64) as u32), "residual {i}");
        }
        assert!(dec.finish_ok() && !dec.raw_overrun());
        assert!(assert_decoders_agree(&model, &coded, &raw, &ctxs));
        // Truncated streams, flipped bytes and garbage: never a panic, the same residuals and verdicts.
        assert!(!assert_decoders_agree(&model, &coded, &raw[..raw.len() - 1], &ctxs));
        assert!(!assert_decoders_agree(&model, &coded[..coded.len() - 2], &raw, &ctxs));
        let mut s = 99u64;
        for trial in 0..200 {
            let mut next = || {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 33) as usize
            };
            let (mut c2, mut r2) = (coded.clone(), raw.clone());
            let at = next() % c2.len();
            c2[at] ^= 1 << (next() % 8);
            let at = next() % r2.len();
            r2[at] ^= 1 << (next() % 8);
            c2.truncate(c2.len() - next() % 3 * (trial % 2));
            r2.truncate(r2.len() - next() % 9 * (trial % 3 / 2));
            assert_decoders_agree(&model, &c2, &r2, &ctxs);
            let garbage: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
            assert!(!assert_decoders_agree(&model, &garbage, &garbage, &ctxs[..next() % 300]));
        }
        // A context without a table marks the stream corrupt.
        let mut only = vec![[0u32; NSYM]; MAX_CONTEXTS];
        only[0][0] = 1;
        let m0 = StaticModel::from_counts(&only);
        let mut enc = RansEncoder::new();
        for i in (0..10).rev() {
            enc.put(&m0, 0, 0, i);
        }
        let coded0 = enc.finish();
        let mut dec = ResidualDecoder::new(&m0, &coded0, &[]);
        (0..10).for_each(|_| assert_eq!(dec.get(0), (0, 0)));
        assert!(dec.finish_ok() && !dec.raw_overrun());
        let mut dec = ResidualDecoder::new(&m0, &coded0, &[]);
        (0..10).for_each(|i| {
            dec.get_energy(if i == 4 { 2 } else { 0 });
        });
        assert!(!dec.finish_ok());
    }

    #[test]
    fn a_context_with_one_symbol_round_trips() {
        // Regression: a frequency of the full scale made the encoder's renormalisation bound overflow u32.
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        counts[0][0] = 5000;
        counts[1][4] = 10;
        counts[1][7] = 3;
        let model = StaticModel::from_counts(&counts);
        let syms: Vec<(usize, u8)> =
            (0..5013).map(|i| if i % 400 == 1 { (1, if i % 3 == 0 { 7 } else { 4 }) } else { (0, 0) }).collect();
        let mut enc = RansEncoder::new();
        for (i, &(c, s)) in syms.iter().enumerate().rev() {
            enc.put(&model, c, s, i);
        }
        let stream = enc.finish();
        let mut dec = RansDecoder::new(&model, &stream);
        for (i, &(c, s)) in syms.iter().enumerate() {
            assert_eq!(dec.get(&model, c, i), s);
        }
        assert!(dec.finish_ok());
        // Indices starting at 1: the parity, not the count, picks the state.
        let mut enc = RansEncoder::new();
        for (i, &(c, s)) in syms.iter().enumerate().rev() {
            enc.put(&model, c, s, i + 1);
        }
        let stream = enc.finish();
        let mut dec = RansDecoder::new(&model, &stream);
        for (i, &(c, s)) in syms.iter().enumerate() {
            assert_eq!(dec.get(&model, c, i + 1), s);
        }
        assert!(dec.finish_ok());
    }

    #[test]
    fn normalisation_keeps_rare_symbols_and_exact_totals() {
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        counts[3] = [1; NSYM];
        counts[3][0] = 10_000_000;
        counts[9][5] = 1;
        let m = StaticModel::from_counts(&counts);
        assert!(m.freq[3].iter().all(|&f| f >= 1));
        assert_eq!(m.cum[3][NSYM] as u32, TOTAL);
        assert_eq!(m.freq[9][5] as u32, TOTAL);
        assert!(m.has(3) && m.has(9) && !m.has(4));
    }

    #[test]
    fn law_tables_by_hand() {
        // 1 - theta = 1/2: the masses (times (1 + theta) / 2) of symbols 0, 1, 2 are 1/4, theta - theta^2 = 1/4 and
        // theta^2 - theta^3 = 1/8 (in units of 2^-62: 2^60, 2^60, 2^59); the total 5/8 is shifted by 31 to
        // 1342177280, whose reciprocal 2^62 / 1342177280 is 3435973836; symbol 0 gets 1 + (858993459 * 1021 >> 31)
        // = 409, symbol 1 the same, symbol 2 1 + (429496729 * 1021 >> 31) = 205, and the one left over goes to the
        // first largest, symbol 0.
        let law = |hi, e, m| Geometric { hi, e, m }.freq().map(|f| f[..=hi as usize].to_vec());
        assert_eq!(law(2, 1, 0), Some(vec![410, 409, 205]));
        assert_eq!(law(1, 1, 0), Some(vec![512, 512]));
        assert_eq!(law(0, 54, 255), Some(vec![1024]));
        for (hi, e) in [(128, 1), (255, 1), (0, 0), (0, 55), (0, 255)] {
            assert_eq!(law(hi, e, 0), None, "hi {hi} e {e}");
        }
    }

    #[test]
    fn law_tables_are_valid_and_widen_with_their_index() {
        for hi in [0u8, 1, 2, 5, 40, 126, 127] {
            let mut peak_before = 0;
            for index in (1..=LAW_LAST_INDEX as u32).step_by(7).chain([LAW_LAST_INDEX as u32]) {
                let law = Geometric::from_index(hi, index);
                assert_eq!(law.index(), index);
                let f = law.freq().unwrap();
                assert_eq!(f.iter().map(|&v| v as u32).sum::<u32>(), TOTAL, "{law:?}");
                assert!(f[..=hi as usize].iter().all(|&v| v >= 1) && f[hi as usize + 1..].iter().all(|&v| v == 0));
                // The most likely symbol moves up (never down) as the law widens: 1 - theta halves every 256.
                let peak = (0..=hi as usize).rev().max_by_key(|&s| f[s]).unwrap();
                assert!(peak + 1 >= peak_before, "{law:?}: peak {peak} after {peak_before}");
                peak_before = peak;
            }
            // (Its symbols 1 and 2, magnitudes 1 and 2, are almost equally likely.)
            assert!(peak_before + 1 >= (hi as usize).min(100), "hi {hi}: the widest law peaks at {peak_before}");
        }
    }

    #[test]
    fn laws_replace_tables_where_smaller_and_round_trip() {
        // Two-sided geometric residuals in contexts of a few hundred (laws pay) and one large context of two distant
        // modes (its own table pays).
        let mut s = 11u64;
        let mut next = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            s >> 11
        };
        let mut data: Vec<(usize, i64)> = Vec::new();
        for ctx in 1..9 {
            // P(m) ~ theta^m with 1 - theta = 2^-(2 ctx): count trials until one in 2^(2 ctx) succeeds.
            let odds = 1u64 << (2 * ctx);
            for _ in 0..300 {
                let mut m = 0i64;
                while next() % odds != 0 {
                    m += 1;
                }
                data.push((ctx, if next() % 2 == 0 { m } else { -m }));
            }
        }
        for i in 0..20_000 {
            data.push((20, if i % 2 == 0 { 3 } else { 70_000 + (next() % 1000) as i64 }));
        }
        let mut raw = RawWriter::new();
        let syms: Vec<(usize, u8)> = data.iter().map(|&(c, r)| (c, symbol_of(r, &mut raw))).collect();
        let mut counts = vec![[0u32; NSYM]; MAX_CONTEXTS];
        syms.iter().for_each(|&(c, s)| counts[c][s as usize] += 1);
        let explicit = StaticModel::from_counts(&counts);
        let compact = StaticModel::from_counts_compact(&counts);
        assert!(compact.laws[1..9].iter().filter(|l| l.is_some()).count() >= 6, "{:?}", &compact.laws[1..9]);
        assert!(compact.laws[20].is_none() && compact.uses_laws() && !explicit.uses_laws());
        let code = |model: &StaticModel| {
            let mut table = Vec::new();
            model.write(&mut table);
            let mut enc = RansEncoder::new();
            for (i, &(c, s)) in syms.iter().enumerate().rev() {
                enc.put(model, c, s, i);
            }
            (table, enc.finish())
        };
        let (table, stream) = code(&compact);
        let (old_table, old_stream) = code(&explicit);
        assert!(table.len() + stream.len() < old_table.len() + old_stream.len());
        assert!(table.len() < old_table.len() / 2, "{} against {}", table.len(), old_table.len());
        let (back, used) = StaticModel::read(&table).unwrap();
        assert_eq!((&back, used), (&compact, table.len()));
        let raw = raw.finish();
        let mut dec = RansDecoder::new(&back, &stream);
        let mut rr = RawReader::new(&raw);
        for (i, &(c, r)) in data.iter().enumerate() {
            assert_eq!(residual_of(dec.get(&back, c, i), &mut rr), r, "symbol {i}");
        }
        assert!(dec.finish_ok() && !rr.overrun());
        for cut in 0..table.len() {
            assert!(StaticModel::read(&table[..cut]).is_err());
        }
        // A law's hi and e out of range are refused.
        let at = 8; // the first context's table (context 1)
        assert_eq!(table[at], GEOMETRIC_MARKER);
        for (offset, v) in [(1, 128u8), (1, 255), (2, 0), (2, 55), (2, 255)] {
            let mut bad = table.clone();
            bad[at + offset] = v;
            assert_eq!(StaticModel::read(&bad), Err(TableError::Invalid), "byte {offset} = {v}");
        }
    }
}
