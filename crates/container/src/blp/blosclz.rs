//! BloscLZ: the LZ77 codec of c-blosc 1.x (Blosc codec id 0), written here from its format.
//!
//! A BloscLZ stream is a sequence of instructions; the first byte's top three bits are ignored (FastLZ used them
//! for a level marker), so the stream always starts with a literal run.
//!
//! ```text
//! ctrl = 000LLLLL                      literal run: the next L+1 bytes (1..=32) are copied
//! ctrl = NNNHHHHH  [ext...] lo         match, NNN in 1..=7:
//!     length = NNN + 2                 (3..=8) when NNN < 7,
//!     length = 9 + sum(ext)            when NNN == 7: ext bytes are read while they equal 255
//!     distance = (HHHHH << 8 | lo) + 1           (1..=8191), unless HHHHH == 31 and lo == 255:
//!     distance = (hi << 8 | lo2) + 8192          with two more bytes `hi lo2` (8192..=73727)
//! ```
//!
//! A match copies `length` bytes starting `distance` bytes back, byte by byte (it may overlap its own output). The
//! reference decoder stops as soon as the input is exhausted after reading an instruction, so a valid stream ends
//! with a literal run; the encoder here always does. Decoding is strict about bounds: every read, every distance
//! and every output byte is checked, and the result must fill the output exactly.

/// Largest near distance (`distance - 1 < NEAR_LIMIT`).
const NEAR_LIMIT: usize = 8191;
/// Largest distance the far form can express (`8192 + 65535`); the encoder stays one below.
const MAX_DISTANCE: usize = 8192 + 65535 - 1;
/// Longest literal run one instruction can hold.
const MAX_LITERAL: usize = 32;
/// Bytes left as literals at the end (the reference encoders leave a tail too; one byte would be enough).
const TAIL: usize = 4;
/// Minimum match length the encoder emits (the format allows 3).
const MIN_MATCH: usize = 4;
/// Minimum length for a far match, which costs two extra bytes.
const MIN_FAR_MATCH: usize = 6;
const HASH_LOG: u32 = 14;

/// Why a BloscLZ stream could not be decoded, with the input offset where it went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset in the compressed stream of the instruction that failed.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blosclz: {} at stream offset {}", self.reason, self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// Decodes `src` into `dst`, which must be filled exactly. Returns the number of bytes written (= `dst.len()`).
pub fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, DecodeError> {
    let err = |offset, reason| Err(DecodeError { offset, reason });
    if src.is_empty() {
        return if dst.is_empty() { Ok(0) } else { err(0, "empty stream") };
    }
    let mut ip = 1usize;
    let mut op = 0usize;
    let mut ctrl = usize::from(src[0] & 31);
    let mut at = 0usize;
    loop {
        if ctrl >= 32 {
            let mut len = (ctrl >> 5) - 1;
            let hi = ctrl & 31;
            if len == 6 {
                loop {
                    let Some(&code) = src.get(ip) else { return err(at, "truncated match length") };
                    ip += 1;
                    len += usize::from(code);
                    if code != 255 {
                        break;
                    }
                }
            }
            let Some(&lo) = src.get(ip) else { return err(at, "truncated match distance") };
            ip += 1;
            len += 3;
            let dist = if lo == 255 && hi == 31 {
                let (Some(&a), Some(&b)) = (src.get(ip), src.get(ip + 1)) else {
                    return err(at, "truncated far distance");
                };
                ip += 2;
                ((usize::from(a) << 8) | usize::from(b)) + NEAR_LIMIT + 1
            } else {
                ((hi << 8) | usize::from(lo)) + 1
            };
            if dist > op {
                return err(at, "match distance before start of output");
            }
            if len > dst.len() - op {
                return err(at, "match runs past end of output");
            }
            copy_match(dst, op, dist, len);
            op += len;
        } else {
            let n = ctrl + 1;
            if n > src.len() - ip {
                return err(at, "truncated literal run");
            }
            if n > dst.len() - op {
                return err(at, "literal run past end of output");
            }
            dst[op..op + n].copy_from_slice(&src[ip..ip + n]);
            ip += n;
            op += n;
        }
        if ip >= src.len() {
            break;
        }
        at = ip;
        ctrl = usize::from(src[ip]);
        ip += 1;
    }
    if op != dst.len() {
        return err(src.len(), "stream ends before the output is full");
    }
    Ok(op)
}

/// Copies `len` bytes from `dist` back, allowing overlap (`dist <= op`, `op + len <= dst.len()` checked by caller).
fn copy_match(dst: &mut [u8], op: usize, dist: usize, len: usize) {
    let start = op - dist;
    if dist == 1 {
        // A run of one byte: a fill is much faster than a byte loop.
        let b = dst[start];
        dst[op..op + len].fill(b);
    } else if dist >= len {
        dst.copy_within(start..start + len, op);
    } else {
        // Overlapping: copy whole periods; each copy_within moves `dist` already-valid bytes.
        let mut done = 0;
        while done < len {
            let n = dist.min(len - done);
            dst.copy_within(start + done..start + done + n, op + done);
            done += n;
        }
    }
}

/// A BloscLZ encoder; keeps its hash table between calls.
pub struct Encoder {
    table: Vec<u32>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Encoder {
        Encoder { table: vec![0; 1 << HASH_LOG] }
    }

    /// Compresses `src`, appending to `out`. Returns the number of bytes appended, or `None` when the stream
    /// would not be shorter than `max_out` bytes (then `out` is left as it was and the caller stores `src` raw).
    ///
    /// `clevel` (1..=9) trades speed for ratio: low levels skip ahead faster over data that does not match.
    pub fn compress(&mut self, src: &[u8], clevel: u8, max_out: usize, out: &mut Vec<u8>) -> Option<usize> {
        let start_len = out.len();
        let n = src.len();
        if n < MIN_MATCH + TAIL + 1 {
            return emit_all_literals(src, max_out, out, start_len);
        }
        self.table.fill(0);
        // Skip acceleration: after 2^shift misses in a row the step grows by one byte.
        let shift = match clevel {
            0..=3 => 4,
            4..=6 => 5,
            _ => 6,
        };
        let limit = n - TAIL; // matches end at or before `limit`, so the stream ends with literals
        let mut anchor = 0usize;
        let mut ip = 1usize;
        let mut misses = 0usize;
        while ip + MIN_MATCH <= limit {
            let seq = read4(src, ip);
            let h = hash(seq);
            // The table stores position + 1 so that 0 means empty.
            let cand = self.table[h] as usize;
            self.table[h] = (ip + 1) as u32;
            if cand != 0 {
                let cand = cand - 1;
                let dist = ip - cand;
                if dist <= MAX_DISTANCE && read4(src, cand) == seq {
                    let mut len = MIN_MATCH;
                    let max_len = limit - ip;
                    while len < max_len && src[cand + len] == src[ip + len] {
                        len += 1;
                    }
                    if dist <= NEAR_LIMIT || len >= MIN_FAR_MATCH {
                        emit_literals(&src[anchor..ip], out);
                        emit_match(len, dist, out);
                        if out.len() - start_len >= max_out {
                            out.truncate(start_len);
                            return None;
                        }
                        // Index two positions near the end of the match so that the next search finds them.
                        let end = ip + len;
                        for p in [end - 2, end - 1] {
                            if p + MIN_MATCH <= n {
                                self.table[hash(read4(src, p))] = (p + 1) as u32;
                            }
                        }
                        ip = end;
                        anchor = ip;
                        misses = 0;
                        continue;
                    }
                }
            }
            misses += 1;
            ip += 1 + (misses >> shift);
            if ip - anchor >= MAX_LITERAL * 64 && out.len() - start_len + (ip - anchor) >= max_out {
                // Hopeless: the literals alone would not fit.
                out.truncate(start_len);
                return None;
            }
        }
        emit_literals(&src[anchor..], out);
        let written = out.len() - start_len;
        if written >= max_out {
            out.truncate(start_len);
            return None;
        }
        Some(written)
    }
}

fn emit_all_literals(src: &[u8], max_out: usize, out: &mut Vec<u8>, start_len: usize) -> Option<usize> {
    if src.is_empty() {
        return None;
    }
    emit_literals(src, out);
    let written = out.len() - start_len;
    if written >= max_out {
        out.truncate(start_len);
        return None;
    }
    Some(written)
}

#[inline]
fn read4(src: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([src[i], src[i + 1], src[i + 2], src[i + 3]])
}

#[inline]
fn hash(seq: u32) -> usize {
    (seq.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

fn emit_literals(lits: &[u8], out: &mut Vec<u8>) {
    for run in lits.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Emits one match of `len >= 3` bytes at `dist` (1..=MAX_DISTANCE).
fn emit_match(len: usize, dist: usize, out: &mut Vec<u8>) {
    debug_assert!(len >= 3 && (1..=MAX_DISTANCE).contains(&dist));
    let dd = dist - 1;
    let far = dd >= NEAR_LIMIT;
    let hi = if far { 31 } else { (dd >> 8) as u8 };
    let l = len - 2;
    if l < 7 {
        out.push(((l as u8) << 5) | hi);
    } else {
        out.push((7 << 5) | hi);
        let mut rest = l - 7;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
    if far {
        let o = dd - NEAR_LIMIT;
        out.push(255);
        out.push((o >> 8) as u8);
        out.push(o as u8);
    } else {
        out.push(dd as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(src: &[u8]) -> Option<usize> {
        let mut enc = Encoder::new();
        let mut out = Vec::new();
        let r = enc.compress(src, 9, usize::MAX, &mut out);
        if r.is_some() {
            let mut back = vec![0u8; src.len()];
            decompress(&out, &mut back).unwrap();
            assert_eq!(back, src);
        }
        r
    }

    #[test]
    fn hand_made_streams() {
        // literal "ab", then a match of length 6 at distance 2, then literal "c".
        let s = [1, b'a', b'b', (4 << 5), 1, 0, b'c'];
        let mut out = [0u8; 9];
        decompress(&s, &mut out).unwrap();
        assert_eq!(&out, b"abababab\x63");
        // long run: literal 'x', match len 9+255+3=267 at distance 1, literal 'y'.
        let s = [0, b'x', 7 << 5, 255, 3, 0, 0, b'y'];
        let mut out = vec![0u8; 1 + 267 + 1];
        decompress(&s, &mut out).unwrap();
        assert!(out[..268].iter().all(|&b| b == b'x'));
        assert_eq!(out[268], b'y');
    }

    #[test]
    fn far_matches() {
        let mut src: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let copy = src[100..5000].to_vec();
        src.extend_from_slice(&copy); // distance ~19_900: a far match
        src.extend_from_slice(b"tail");
        assert!(round_trip(&src).is_some());
    }

    #[test]
    fn misc_round_trips() {
        assert!(round_trip(&[7u8; 100_000]).unwrap() < 2000);
        let ramp: Vec<u8> = (0..100_000u32).map(|i| (i / 7) as u8).collect();
        assert!(round_trip(&ramp).is_some());
        let noise: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let _ = round_trip(&noise);
        for n in 0..40 {
            let v: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
            let _ = round_trip(&v);
        }
    }

    #[test]
    fn hostile_streams_do_not_panic() {
        let mut out = [0u8; 64];
        for s in
            [&[][..], &[0], &[31, 1, 2], &[0, 1, 0xff], &[0, 1, 0xe0, 255, 255], &[0, 1, 0x3f, 255, 1], &[0, 1, 32, 5]]
        {
            assert!(decompress(s, &mut out).is_err(), "{s:?}");
        }
    }
}
