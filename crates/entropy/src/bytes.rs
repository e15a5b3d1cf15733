//! Order-0 static rANS coding of byte sequences: the byte planes of floats whose mantissas are close to noise.
//!
//! Such planes are not uniform (a low byte with a bias towards trailing zeros, an exponent byte with a few values),
//! but they have no context worth modelling either. zstd codes them with Huffman codes, which lose a large part of
//! the gain on skewed planes; a 12-bit frequency table and rANS keeps nearly all of it.
//!
//! A coded sequence of `n` bytes (`n` is known to the caller) is one of:
//! - `0x00, b`: every byte is `b`;
//! - `0x01`, then `n` bytes stored as they are;
//! - `0x02`, a 32-byte bitmap of present symbols (symbol `s` is bit `s % 8` of byte `s / 8`), the frequency of
//!   every present symbol in increasing symbol order as a LEB128 varint in `1..=4095` (they sum to exactly 4096),
//!   a LEB128 varint `len` (even), and `len` bytes of rANS stream: 16-bit little-endian words in decoding order.
//!   The stream codes symbol `i` with state `i % 2` of two interleaved 32-bit states, renormalised 16 bits at a
//!   time below 2^16, each initialised from two words (high then low, state 1 first) and ending at 2^16.
//!
//! The encoder picks the shortest of the three.

use crate::rans;
use crate::varint::{self, VarintError};
use alloc::vec;
use alloc::vec::Vec;

const SCALE_BITS: u32 = 12;
const TOTAL: u32 = 1 << SCALE_BITS;
const RANS_L: u32 = 1 << 16;
const CONSTANT: u8 = 0;
const STORED: u8 = 1;
const RANS: u8 = 2;

/// Why a coded byte sequence could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesError {
    /// The input ends inside the sequence.
    Truncated,
    /// The sequence is malformed (unknown form, bad table, a stream that does not decode cleanly).
    Invalid,
}

/// Frequencies summing to [`TOTAL`], every occurring symbol keeping at least 1.
fn normalise(counts: &[u64; 256], n: u64) -> [u32; 256] {
    let mut freq = [0u32; 256];
    let mut sum = 0i64;
    for s in 0..256 {
        if counts[s] > 0 {
            freq[s] = ((counts[s] * TOTAL as u64 + n / 2) / n).max(1) as u32;
            sum += freq[s] as i64;
        }
    }
    // Move the rounding error onto the most frequent symbols, never below 1 (256 symbols < 4096 slots, so the
    // loop ends).
    while sum != TOTAL as i64 {
        let top = (0..256).max_by_key(|&s| freq[s]).unwrap_or(0);
        if sum < TOTAL as i64 {
            freq[top] += (TOTAL as i64 - sum) as u32;
            sum = TOTAL as i64;
        } else {
            let d = (sum - TOTAL as i64).min(freq[top] as i64 - 1);
            freq[top] -= d as u32;
            sum -= d;
        }
    }
    freq
}

/// Appends the coding of `data` to `out`.
pub fn encode(data: &[u8], out: &mut Vec<u8>) {
    let mut counts = [0u64; 256];
    data.iter().for_each(|&b| counts[b as usize] += 1);
    let present = counts.iter().filter(|&&c| c > 0).count();
    if present <= 1 {
        out.extend_from_slice(&[CONSTANT, data.first().copied().unwrap_or(0)]);
        return;
    }
    let freq = normalise(&counts, data.len() as u64);
    let mut cum = [0u32; 256];
    for s in 1..256 {
        cum[s] = cum[s - 1] + freq[s - 1];
    }
    let start = out.len();
    out.push(RANS);
    let mut bitmap = [0u8; 32];
    (0..256).filter(|&s| freq[s] > 0).for_each(|s| bitmap[s / 8] |= 1 << (s % 8));
    out.extend_from_slice(&bitmap);
    (0..256).filter(|&s| freq[s] > 0).for_each(|s| varint::put(out, freq[s] as u64));
    // Per byte value: its frequency, cumulative frequency, and the frequency's reciprocal (a multiply instead of a
    // 32-bit division per byte).
    let mut table = [(0u32, 0u32, 0u64); 256];
    for (s, t) in table.iter_mut().enumerate().filter(|&(s, _)| freq[s] > 0) {
        *t = (freq[s], cum[s], rans::reciprocal(freq[s]));
    }
    // Symbols are pushed last to first; words come out in reverse decoding order. Each symbol sheds at most one
    // word, so room for one per byte is made first, and every step writes its word and keeps it only if the state
    // renormalised: no branch on the data, which went either way at random (a third of the float coder's
    // mispredicted branches on terra15_v5).
    let mut words = vec![0u16; data.len() + 4];
    let mut len = 0usize;
    let (mut even, mut odd) = (RANS_L, RANS_L);
    let mut put = |x: &mut u32, b: u8| {
        let (f, c, reciprocal) = table[b as usize];
        // u64: the bound reaches 2^32 for f = 4096 (never used: a single symbol takes the constant form).
        let shed = *x as u64 >= (((RANS_L >> SCALE_BITS) as u64) << 16) * f as u64;
        words[len] = *x as u16;
        len += shed as usize;
        *x >>= 16 * shed as u32;
        *x = rans::code_scaled::<SCALE_BITS>(*x, f, c, reciprocal);
    };
    // Byte i goes to state i % 2.
    let paired = data.len() / 2 * 2;
    if let Some(&last) = data.get(paired) {
        put(&mut even, last);
    }
    for two in data[..paired].rchunks_exact(2) {
        put(&mut odd, two[1]);
        put(&mut even, two[0]);
    }
    words.truncate(len);
    for s in [even, odd] {
        words.push(s as u16);
        words.push((s >> 16) as u16);
    }
    varint::put(out, words.len() as u64 * 2);
    words.iter().rev().for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
    if out.len() - start > 1 + data.len() {
        out.truncate(start);
        out.push(STORED);
        out.extend_from_slice(data);
    }
}

/// Reads a sequence of `n` bytes coded by [`encode`] from the start of `input` into `out` (cleared first);
/// returns the input bytes consumed. Never panics; allocates only `n` bytes, after checking that the input can
/// hold them (stored form) or that the table is valid.
pub fn decode(input: &[u8], n: usize, out: &mut Vec<u8>) -> Result<usize, BytesError> {
    out.clear();
    let mut pos = 0usize;
    let next = |pos: &mut usize| -> Result<u8, BytesError> {
        let b = *input.get(*pos).ok_or(BytesError::Truncated)?;
        *pos += 1;
        Ok(b)
    };
    match next(&mut pos)? {
        CONSTANT => {
            let b = next(&mut pos)?;
            out.resize(n, b);
            Ok(pos)
        }
        STORED => {
            let body = input.get(1..).filter(|b| b.len() >= n).ok_or(BytesError::Truncated)?;
            out.extend_from_slice(&body[..n]);
            Ok(1 + n)
        }
        RANS => {
            let bitmap = input.get(1..33).ok_or(BytesError::Truncated)?;
            pos = 33;
            let mut freq = [0u32; 256];
            let mut sum = 0u32;
            for s in (0..256).filter(|&s| bitmap[s / 8] >> (s % 8) & 1 == 1) {
                let v = varint::take(input, &mut pos, 2).map_err(varint_error)?;
                if v == 0 || v >= TOTAL as u64 {
                    return Err(BytesError::Invalid);
                }
                freq[s] = v as u32;
                sum += v as u32;
            }
            if sum != TOTAL {
                return Err(BytesError::Invalid);
            }
            let len = varint::take(input, &mut pos, 10).map_err(varint_error)?;
            let len = usize::try_from(len).map_err(|_| BytesError::Invalid)?;
            let stream = input.get(pos..).filter(|s| s.len() >= len).ok_or(BytesError::Truncated)?;
            let stream = &stream[..len];
            if len % 2 != 0 || len < 8 {
                return Err(BytesError::Invalid);
            }
            // Each word of the stream carries at most 16 bits, and each symbol at least -log2(4095/4096) of them:
            // a count far beyond what the stream can hold is rejected before allocating.
            if n as u64 > (len as u64 + 64) * 8 * 2840 {
                return Err(BytesError::Invalid);
            }
            decode_rans(stream, &freq, n, out)?;
            Ok(pos + len)
        }
        _ => Err(BytesError::Invalid),
    }
}

fn varint_error(e: VarintError) -> BytesError {
    match e {
        VarintError::Truncated => BytesError::Truncated,
        VarintError::TooLong => BytesError::Invalid,
    }
}

fn decode_rans(stream: &[u8], freq: &[u32; 256], n: usize, out: &mut Vec<u8>) -> Result<(), BytesError> {
    // Per slot: symbol | freq << 8 | (slot - cum) << 20.
    let mut lookup = vec![0u32; TOTAL as usize];
    let mut c = 0usize;
    for (s, &f) in freq.iter().enumerate() {
        for (k, e) in lookup[c..c + f as usize].iter_mut().enumerate() {
            *e = s as u32 | f << 8 | (k as u32) << 20;
        }
        c += f as usize;
    }
    let mut words = stream.chunks_exact(2).map(|w| u16::from_le_bytes([w[0], w[1]]) as u32);
    let mut word = move || words.next();
    let mut state = [0u32; 2];
    for i in (0..2).rev() {
        let hi = word().ok_or(BytesError::Invalid)?;
        let lo = word().ok_or(BytesError::Invalid)?;
        state[i] = hi << 16 | lo;
    }
    out.reserve_exact(n);
    for i in 0..n {
        let x = state[i & 1];
        let e = lookup[(x & (TOTAL - 1)) as usize];
        let mut x = (e >> 8 & 0xFFF).wrapping_mul(x >> SCALE_BITS).wrapping_add(e >> 20);
        if x < RANS_L {
            x = x << 16 | word().ok_or(BytesError::Truncated)?;
        }
        state[i & 1] = x;
        out.push(e as u8);
    }
    if word().is_some() || state != [RANS_L; 2] {
        return Err(BytesError::Invalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64, n: usize) -> Vec<u64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                s >> 11
            })
            .collect()
    }

    /// Bytes with a skewed distribution (trailing-zero bias, like the low byte of computed floats).
    fn skewed(seed: u64, n: usize) -> Vec<u8> {
        lcg(seed, n).iter().map(|&r| ((r as u8) << ((r >> 40) % 4)) & (r >> 30) as u8).collect()
    }

    fn round_trip(data: &[u8]) -> Vec<u8> {
        let mut coded = vec![0xAB];
        encode(data, &mut coded);
        let mut back = Vec::new();
        assert_eq!(decode(&coded[1..], data.len(), &mut back), Ok(coded.len() - 1));
        assert_eq!(back, data);
        coded.split_off(1)
    }

    /// The rANS words of `data` as the plain per-byte loop makes them: a division and a branch on every byte.
    fn reference_words(data: &[u8], freq: &[u32; 256]) -> Vec<u16> {
        let mut cum = [0u32; 256];
        for s in 1..256 {
            cum[s] = cum[s - 1] + freq[s - 1];
        }
        let (mut state, mut words) = ([RANS_L; 2], Vec::new());
        for (i, &b) in data.iter().enumerate().rev() {
            let (f, c, x) = (freq[b as usize], cum[b as usize], &mut state[i & 1]);
            if *x as u64 >= (((RANS_L >> SCALE_BITS) as u64) << 16) * f as u64 {
                words.push(*x as u16);
                *x >>= 16;
            }
            *x = ((*x / f) << SCALE_BITS) + (*x % f) + c;
        }
        for s in state {
            words.extend([s as u16, (s >> 16) as u16]);
        }
        words
    }

    /// The branch-free encoder with reciprocals writes the plain loop's stream, on even and odd lengths and on
    /// tables from nearly uniform to one symbol at 4095/4096 (where every step renormalises or none does).
    #[test]
    fn rans_stream_is_the_plain_loops() {
        let mut cases: Vec<Vec<u8>> = (0..9).map(|n| skewed(n as u64, n)).collect();
        cases.push(skewed(1, 100_001));
        cases.push(lcg(2, 4097).iter().map(|&r| (r % 200) as u8).collect());
        let mut rare = vec![0u8; 30_000];
        rare[17] = 1;
        rare[29_998] = 255;
        cases.push(rare);
        for data in cases.iter().filter(|d| d.iter().any(|&b| b != d[0])) {
            let mut coded = Vec::new();
            encode(data, &mut coded);
            if coded[0] != RANS {
                continue;
            }
            let mut counts = [0u64; 256];
            data.iter().for_each(|&b| counts[b as usize] += 1);
            let freq = normalise(&counts, data.len() as u64);
            let mut pos = 33;
            (0..256).filter(|&s| freq[s] > 0).for_each(|_| {
                varint::take(&coded, &mut pos, 2).unwrap();
            });
            let len = varint::take(&coded, &mut pos, 10).unwrap() as usize;
            let mut expected: Vec<u8> = Vec::new();
            reference_words(data, &freq).iter().rev().for_each(|w| expected.extend_from_slice(&w.to_le_bytes()));
            assert_eq!(&coded[pos..pos + len], &expected[..], "{} bytes", data.len());
        }
    }

    #[test]
    fn forms_round_trip() {
        assert_eq!(round_trip(&[]), [CONSTANT, 0]);
        assert_eq!(round_trip(&[7; 1000]), [CONSTANT, 7]);
        let uniform: Vec<u8> = lcg(3, 5000).iter().map(|&r| r as u8).collect();
        assert_eq!(round_trip(&uniform)[0], STORED);
        let s = skewed(5, 100_000);
        let coded = round_trip(&s);
        assert_eq!(coded[0], RANS);
        // Within 1 % of the order-0 entropy plus the table.
        let mut counts = [0f64; 256];
        s.iter().for_each(|&b| counts[b as usize] += 1.0);
        let n = s.len() as f64;
        let bits: f64 = counts.iter().filter(|&&c| c > 0.0).map(|&c| -c * libm_log2(c / n)).sum();
        assert!((coded.len() as f64) < bits / 8.0 * 1.01 + 300.0, "{} vs {}", coded.len(), bits / 8.0);
        round_trip(&[1, 2]);
        round_trip(&[0, 255, 0]);
    }

    /// log2 without std (the crate is no_std): good to 1e-6 relative, enough for a size bound.
    fn libm_log2(x: f64) -> f64 {
        let bits = x.to_bits();
        let e = ((bits >> 52) & 0x7FF) as i64 - 1023;
        let m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
        // ln(m) for m in [1, 2) by the series of atanh.
        let y = (m - 1.0) / (m + 1.0);
        let (mut term, mut sum) = (y, 0.0);
        for k in 0..40 {
            sum += term / (2 * k + 1) as f64;
            term *= y * y;
        }
        e as f64 + 2.0 * sum / core::f64::consts::LN_2
    }

    #[test]
    fn hostile_input_is_rejected_without_panic() {
        let s = skewed(9, 3000);
        let mut coded = Vec::new();
        encode(&s, &mut coded);
        assert_eq!(coded[0], RANS);
        let mut out = Vec::new();
        for cut in 0..coded.len() {
            assert!(decode(&coded[..cut], s.len(), &mut out).is_err(), "cut {cut}");
        }
        // A wrong count is detected by the final states or the stream length.
        assert!(decode(&coded, s.len() + 1, &mut out).is_err());
        assert!(decode(&coded, s.len() - 1, &mut out).is_err());
        for (i, r) in lcg(11, 2000).iter().enumerate() {
            let mut bad = coded.clone();
            let at = (*r as usize) % bad.len();
            bad[at] ^= 1 << (i % 8);
            let _ = decode(&bad, s.len(), &mut out);
        }
        // A huge count with a tiny stream is refused before allocating.
        let tiny =
            [RANS, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut table = tiny.to_vec();
        table.extend_from_slice(&[0x80, 0x10, 0x80, 0x10, 8, 0, 0, 1, 0, 0, 0, 1, 0]);
        assert_eq!(decode(&table, usize::MAX / 2, &mut out), Err(BytesError::Invalid));
        assert!(out.capacity() < 1 << 20);
        // Frequencies that do not sum to 4096, a zero frequency, an unknown form.
        let mut t = tiny.to_vec();
        t.extend_from_slice(&[0x80, 0x10, 0xFF, 0x0F, 8]);
        assert_eq!(decode(&t, 10, &mut out), Err(BytesError::Invalid));
        let mut t = tiny.to_vec();
        t.extend_from_slice(&[0, 0x80, 0x20]);
        assert_eq!(decode(&t, 10, &mut out), Err(BytesError::Invalid));
        assert_eq!(decode(&[9], 0, &mut out), Err(BytesError::Invalid));
        assert_eq!(decode(&[STORED, 1, 2], 3, &mut out), Err(BytesError::Truncated));
    }
}
