//! Static (per block) context-modelled rANS coding of residual symbols: the fast path of the DAS codec.
//!
//! The encoder sees all residuals of a tile before coding them, so it counts the symbols of every context,
//! normalises the counts to frequencies summing to 2^10 per context (small lookup tables stay in cache), stores those tables, and codes the symbols with
//! rANS (32-bit state, 16-bit renormalisation, two interleaved states so consecutive symbols do not wait on each
//! other). The decoder needs one table lookup and one multiply per symbol, where the adaptive binary coder needs
//! several dependent binary decisions.
//!
//! Residual symbols (see [`symbol_of`]): 0 for zero, 1 for +-1, and `2k - 2 + b` for magnitudes of bit length
//! `k` in 2..=64 whose bit below the leading one is `b`. Sign and the remaining low bits go to the raw bit stream
//! exactly as in [`crate::residual`].

use crate::raw::{RawReader, RawWriter};
use crate::residual::MAX_CONTEXTS;
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
    let m = r.unsigned_abs();
    let k = 64 - m.leading_zeros();
    let sign = (r < 0) as u64;
    match k {
        0 => 0,
        1 => {
            raw.put(sign as u32, 1);
            1
        }
        _ => {
            let top = (m >> (k - 2)) & 1;
            raw.put_long(((m & ((1u64 << (k - 2)) - 1)) << 1) | sign, k - 1);
            (2 * k - 2 + top as u32) as u8
        }
    }
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
}

/// Errors reading a model table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    Truncated,
    Invalid,
}

impl StaticModel {
    /// Normalises symbol counts per context so that every symbol that occurred keeps a nonzero frequency.
    pub fn from_counts(counts: &[[u32; NSYM]]) -> Self {
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
        Self::with_freq(freq)
    }

    fn with_freq(freq: Vec<[u16; NSYM]>) -> Self {
        let cum = freq
            .iter()
            .map(|f| {
                let mut c = [0u16; NSYM + 1];
                for s in 0..NSYM {
                    c[s + 1] = c[s] + f[s];
                }
                c
            })
            .collect();
        StaticModel { freq, cum }
    }

    /// Serialises the tables: a 64-bit little-endian bitmap of present contexts, then per present context the
    /// first and last symbol with a nonzero frequency (u8 each) and the frequencies in between as LEB128 varints.
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut bitmap = 0u64;
        for (ctx, f) in self.freq.iter().enumerate() {
            if f.iter().any(|&v| v > 0) {
                bitmap |= 1 << ctx;
            }
        }
        out.extend_from_slice(&bitmap.to_le_bytes());
        for f in self.freq.iter().filter(|f| f.iter().any(|&v| v > 0)) {
            let lo = f.iter().position(|&v| v > 0).unwrap_or(0);
            let hi = f.iter().rposition(|&v| v > 0).unwrap_or(0);
            out.push(lo as u8);
            out.push(hi as u8);
            for &v in &f[lo..=hi] {
                let mut v = v as u32;
                while v >= 0x80 {
                    out.push((v as u8) | 0x80);
                    v >>= 7;
                }
                out.push(v as u8);
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
        for (ctx, f) in freq.iter_mut().enumerate() {
            if bitmap & (1 << ctx) == 0 {
                continue;
            }
            let lo = next(&mut pos)? as usize;
            let hi = next(&mut pos)? as usize;
            if lo > hi || hi >= NSYM {
                return Err(TableError::Invalid);
            }
            let mut sum = 0u32;
            for v in f[lo..=hi].iter_mut() {
                let mut x = 0u32;
                for i in 0..3 {
                    let b = next(&mut pos)?;
                    x |= ((b & 0x7F) as u32) << (7 * i);
                    if b & 0x80 == 0 {
                        break;
                    }
                    if i == 2 {
                        return Err(TableError::Invalid);
                    }
                }
                if x > TOTAL {
                    return Err(TableError::Invalid);
                }
                *v = x as u16;
                sum += x;
            }
            if sum != TOTAL {
                return Err(TableError::Invalid);
            }
        }
        Ok((Self::with_freq(freq), pos))
    }

    /// True when context `ctx` has a table.
    pub fn has(&self, ctx: usize) -> bool {
        self.cum.get(ctx).is_some_and(|c| c[NSYM] as u32 == TOTAL)
    }
}

/// rANS encoder: symbols are pushed in reverse order of decoding.
#[derive(Debug)]
pub struct RansEncoder {
    state: [u32; 2],
    words: Vec<u16>,
    /// `floor(2^63 / f) + 1` for every frequency `f` in 1..=TOTAL: `x / f` becomes one widening multiply and a
    /// shift by 63 (exact for `x < 2^32`: the reciprocal's error, below `x / 2^63 < 2^-31`, cannot carry past the
    /// next integer, which is at least `1/f >= 2^-10` away), where a 32-bit division was the encoder's slowest
    /// instruction.
    reciprocal: Vec<u64>,
}

impl Default for RansEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RansEncoder {
    pub fn new() -> Self {
        let reciprocal = (0..=TOTAL as u64).map(|f| if f == 0 { 0 } else { (1u64 << 63) / f + 1 }).collect();
        RansEncoder { state: [RANS_L; 2], words: Vec::new(), reciprocal }
    }

    /// Codes symbol `sym` of context `ctx` as the `i`-th symbol of the sequence (the parity of `i` picks the
    /// interleaved state). Call with `i` descending. The context must have a nonzero frequency for `sym`.
    #[inline(always)]
    pub fn put(&mut self, model: &StaticModel, ctx: usize, sym: u8, i: usize) {
        let f = model.freq[ctx][sym as usize] as u32;
        let c = model.cum[ctx][sym as usize] as u32;
        debug_assert!(f > 0);
        let x = &mut self.state[i & 1];
        // u64: with f = 2^10 (a context with a single symbol) the bound is 2^32.
        let x_max = (((RANS_L >> SCALE_BITS) << 16) as u64) * f as u64;
        if *x as u64 >= x_max {
            self.words.push(*x as u16);
            *x >>= 16;
        }
        let q = ((*x as u128 * self.reciprocal[f as usize] as u128) >> 63) as u32;
        *x = (q << SCALE_BITS) + (*x - q * f) + c;
    }

    /// Flushes both states and returns the byte stream (little-endian 16-bit words, in decoding order).
    pub fn finish(mut self) -> Vec<u8> {
        for s in self.state {
            self.words.push(s as u16);
            self.words.push((s >> 16) as u16);
        }
        let mut out = Vec::with_capacity(self.words.len() * 2);
        for w in self.words.iter().rev() {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// rANS decoder with a slot-to-symbol lookup table per context. Reading past the input yields zero words and is
/// reported by [`RansDecoder::finish_ok`]; an absent context decodes symbol 0 and marks the stream corrupt.
pub struct RansDecoder<'a> {
    state: [u32; 2],
    buf: &'a [u8],
    pos: usize,
    /// Per context and slot, the symbol owning the slot packed with what the state update needs:
    /// `sym | freq << 8 | (slot - cum) << 20` (0 for contexts without a table: frequency 0 flags corruption).
    /// One load per symbol instead of three dependent ones.
    lookup: Vec<u32>,
    corrupt: bool,
}

impl<'a> RansDecoder<'a> {
    pub fn new(model: &StaticModel, buf: &'a [u8]) -> Self {
        let mut lookup = vec![0u32; MAX_CONTEXTS * TOTAL as usize];
        for ctx in 0..MAX_CONTEXTS {
            if !model.has(ctx) {
                continue;
            }
            let table = &mut lookup[ctx * TOTAL as usize..(ctx + 1) * TOTAL as usize];
            for s in 0..NSYM {
                let (c, f) = (model.cum[ctx][s] as usize, model.freq[ctx][s] as usize);
                for (k, e) in table[c..c + f].iter_mut().enumerate() {
                    *e = s as u32 | (f as u32) << 8 | (k as u32) << 20;
                }
            }
        }
        let mut d = RansDecoder { state: [0; 2], buf, pos: 0, lookup, corrupt: false };
        for i in (0..2).rev() {
            let hi = d.word() as u32;
            let lo = d.word() as u32;
            d.state[i] = (hi << 16) | lo;
        }
        d
    }

    #[inline(always)]
    fn word(&mut self) -> u16 {
        let w = match self.buf.get(self.pos..self.pos + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => 0,
        };
        self.pos += 2;
        w
    }

    /// Decodes the `i`-th symbol, in context `ctx`.
    #[inline(always)]
    pub fn get(&mut self, _model: &StaticModel, ctx: usize, i: usize) -> u8 {
        let x = self.state[i & 1];
        let slot = x & (TOTAL - 1);
        let e = self.lookup[(ctx % MAX_CONTEXTS) * TOTAL as usize + slot as usize];
        let f = (e >> 8) & 0xFFF;
        if f == 0 {
            self.corrupt = true;
            return 0;
        }
        let mut x = f.wrapping_mul(x >> SCALE_BITS).wrapping_add(e >> 20);
        if x < RANS_L {
            x = (x << 16) | self.word() as u32;
        }
        self.state[i & 1] = x;
        e as u8
    }

    /// True when the stream decoded cleanly: no absent context was hit, no byte was read past the input, the
    /// input was consumed exactly, and both states returned to their initial value.
    pub fn finish_ok(&self) -> bool {
        !self.corrupt && self.pos == self.buf.len() && self.state == [RANS_L; 2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let enc = RansEncoder::new();
        for f in 1..=TOTAL as u64 {
            let m = enc.reciprocal[f as usize] as u128;
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
}
