//! Context model for prediction residuals.
//!
//! A residual `r` is split into its magnitude class `k` (bit length of `|r|`, 0 for zero), its sign and its
//! mantissa (the `k - 1` bits below the leading one):
//! - `k` is coded with a 5-level binary tree of adaptive probabilities chosen by the context (the caller's estimate
//!   of the local residual energy, quantised by [`context_of`]); classes 31 and above share symbol 31, followed by
//!   `k - 31` in 6 raw bits;
//! - for `k >= 2` the mantissa bit just below the leading one is coded adaptively, indexed by `k` and the coarse
//!   context (`ctx / 4`): within a class small values are more likely than large ones;
//! - the sign and the remaining `k - 2` mantissa bits go to the raw bit stream (sign first, then the mantissa, in one
//!   little-endian field), since they are close to uniform.

use crate::raw::{RawReader, RawWriter};
use crate::rc::{Prob, RangeDecoder, RangeEncoder};
use alloc::vec;
use alloc::vec::Vec;

/// Number of energy contexts.
pub const MAX_CONTEXTS: usize = 64;
const TREE_BITS: u32 = 5;
const ESCAPE: u32 = (1 << TREE_BITS) - 1;
const COARSE: usize = MAX_CONTEXTS / 4;

/// Quantises a local energy estimate (a weighted sum of neighbouring residual magnitudes) to a context index:
/// two contexts per octave, `0` for zero energy, saturating at `MAX_CONTEXTS - 1`.
#[inline(always)]
pub fn context_of(energy: u64) -> usize {
    if energy < 2 {
        return energy as usize;
    }
    let l = 64 - energy.leading_zeros() as usize; // >= 2
    let half = ((energy >> (l - 2)) & 1) as usize;
    (2 * l - 2 + half).min(MAX_CONTEXTS - 1)
}

/// Adaptive state of the residual model. Encoder and decoder start from [`ResidualModel::new`] and update it
/// identically.
#[derive(Clone, Debug)]
pub struct ResidualModel {
    classes: Vec<[Prob; 1 << TREE_BITS]>,
    mantissa: Vec<[Prob; 65]>,
}

impl Default for ResidualModel {
    fn default() -> Self {
        Self::new()
    }
}

impl ResidualModel {
    pub fn new() -> Self {
        ResidualModel {
            classes: vec![[Prob::new(); 1 << TREE_BITS]; MAX_CONTEXTS],
            mantissa: vec![[Prob::new(); 65]; COARSE],
        }
    }

    /// Codes residual `r` in context `ctx` (`< MAX_CONTEXTS`).
    #[inline(always)]
    pub fn encode(&mut self, rc: &mut RangeEncoder, raw: &mut RawWriter, ctx: usize, r: i64) {
        let m = r.unsigned_abs();
        let k = 64 - m.leading_zeros();
        let ctx = ctx.min(MAX_CONTEXTS - 1);
        rc.encode_tree(&mut self.classes[ctx], TREE_BITS, k.min(ESCAPE));
        if k >= ESCAPE {
            raw.put(k - ESCAPE, 6);
        }
        if k == 0 {
            return;
        }
        let sign = (r < 0) as u64;
        if k == 1 {
            raw.put(sign as u32, 1);
            return;
        }
        let top = ((m >> (k - 2)) & 1) as u32;
        rc.encode(&mut self.mantissa[ctx / 4][k as usize], top);
        let rest = m & ((1u64 << (k - 2)) - 1);
        raw.put_long((rest << 1) | sign, k - 1);
    }

    /// Decodes a residual coded by [`ResidualModel::encode`] in context `ctx`. Never panics; a corrupt stream gives
    /// some value, and the caller detects corruption through the coders' overrun flags and its checksums.
    #[inline(always)]
    pub fn decode(&mut self, rc: &mut RangeDecoder, raw: &mut RawReader, ctx: usize) -> i64 {
        let ctx = ctx.min(MAX_CONTEXTS - 1);
        let mut k = rc.decode_tree(&mut self.classes[ctx], TREE_BITS);
        if k == ESCAPE {
            k = (ESCAPE + raw.get(6)).min(64);
        }
        if k == 0 {
            return 0;
        }
        if k == 1 {
            let sign = raw.get(1);
            return if sign == 1 { -1 } else { 1 };
        }
        let top = rc.decode(&mut self.mantissa[ctx / 4][k as usize]) as u64;
        let field = raw.get_long(k - 1);
        let sign = field & 1;
        let m = (1u64 << (k - 1)) | (top << (k - 2)) | (field >> 1);
        let v = m as i64;
        if sign == 1 {
            v.wrapping_neg()
        } else {
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_monotone_and_bounded() {
        let mut last = 0;
        for e in 0..100_000u64 {
            let c = context_of(e);
            assert!(c >= last && c < MAX_CONTEXTS);
            last = c;
        }
        assert_eq!(context_of(u64::MAX), MAX_CONTEXTS - 1);
    }

    #[test]
    fn extreme_residuals_round_trip() {
        let values = [
            0i64,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            1 << 30,
            -(1 << 30),
            i32::MAX as i64,
            i32::MIN as i64,
            1 << 40,
            i64::MAX,
            i64::MIN + 1,
            i64::MIN,
        ];
        let mut model = ResidualModel::new();
        let mut rc = RangeEncoder::new();
        let mut raw = RawWriter::new();
        for (i, &v) in values.iter().enumerate() {
            model.encode(&mut rc, &mut raw, i * 5, v);
        }
        let (a, b) = (rc.finish(), raw.finish());
        let mut model = ResidualModel::new();
        let mut rc = RangeDecoder::new(&a);
        let mut raw = RawReader::new(&b);
        for (i, &v) in values.iter().enumerate() {
            assert_eq!(model.decode(&mut rc, &mut raw, i * 5), v);
        }
        assert!(!rc.overrun() && !raw.overrun());
    }
}
