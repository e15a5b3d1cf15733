//! The streaming decoder.

use core::fmt;

use daspack_bitio::MsbReader;

use crate::code::{self, ABSOLUTE_LEN, ESCAPE_LEN, MIN_LONG_RUN};
use crate::{Event, Item, MAX_SAMPLE, MIN_SAMPLE};

/// What is wrong with a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The data ends inside a code word, or before the announced number of items.
    Truncated,
    /// A `101 r` word with `r` in 4..=15 (unassigned in protocol v0.2).
    InvalidCode,
    /// A +1, -1 or zero-run word before any measured sample.
    NoReference,
    /// A +1 or -1 word that leaves -2048..=2047.
    OutOfRange,
    /// A zero-run word covering more items than the announced count has left.
    RunPastEnd,
    /// [`Decoder::check_end`]: the items are not all decoded yet.
    NotAtEnd,
    /// [`Decoder::check_end`]: more than the zero padding of the last byte follows the last item.
    TrailingData,
}

impl DecodeErrorKind {
    /// A stable numeric code for C callers: 10 truncated, 11 invalid code, 12 no reference,
    /// 13 out of range, 14 run past end, 15 not at end, 16 trailing data.
    pub const fn code(&self) -> i32 {
        match self {
            DecodeErrorKind::Truncated => 10,
            DecodeErrorKind::InvalidCode => 11,
            DecodeErrorKind::NoReference => 12,
            DecodeErrorKind::OutOfRange => 13,
            DecodeErrorKind::RunPastEnd => 14,
            DecodeErrorKind::NotAtEnd => 15,
            DecodeErrorKind::TrailingData => 16,
        }
    }

    fn text(&self) -> &'static str {
        match self {
            DecodeErrorKind::Truncated => "truncated code word or stream",
            DecodeErrorKind::InvalidCode => "unassigned code word 101 r (r = 4..15)",
            DecodeErrorKind::NoReference => "relative code word before any measured sample",
            DecodeErrorKind::OutOfRange => "+1/-1 leaves the 12-bit range",
            DecodeErrorKind::RunPastEnd => "zero run longer than the items left",
            DecodeErrorKind::NotAtEnd => "items left to decode",
            DecodeErrorKind::TrailingData => "data after the last item",
        }
    }
}

/// A decoding error: what, and the bit offset (from the start of the stream) of the code word
/// where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// Bit offset of the offending code word (or of the end of the stream).
    pub bit_offset: u64,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at bit {}", self.kind.text(), self.bit_offset)
    }
}

/// One decoded code word.
enum Word {
    Value(i16),
    Run(u32),
    Event(Event),
}

const K_PLUS: u8 = 0;
const K_MINUS: u8 = 1;
const K_RUN: u8 = 2;
const K_ESCAPE: u8 = 3;
const K_ABSOLUTE: u8 = 4;

/// What the first eight bits of a word say: its kind, its length and, for short runs, the run.
#[derive(Clone, Copy)]
struct Entry {
    kind: u8,
    len: u8,
    run: u8,
}

/// Every word is identified by its first eight bits (the short-run words are at most 8 bits, the
/// others are told apart by their first 3), so one lookup replaces a bit-by-bit tree walk.
static TABLE: [Entry; 256] = build_table();

const fn build_table() -> [Entry; 256] {
    let mut t = [Entry { kind: K_PLUS, len: 2, run: 0 }; 256];
    let mut b = 0usize;
    while b < 256 {
        let top3 = b >> 5;
        t[b] = if b >> 6 == 0b00 {
            Entry { kind: K_PLUS, len: 2, run: 0 }
        } else if b >> 6 == 0b01 {
            Entry { kind: K_MINUS, len: 2, run: 0 }
        } else if top3 == 0b101 {
            Entry { kind: K_ESCAPE, len: ESCAPE_LEN as u8, run: 0 }
        } else if top3 == 0b110 {
            Entry { kind: K_ABSOLUTE, len: ABSOLUTE_LEN as u8, run: 0 }
        } else {
            // 100... or 111...: the short-run words form a complete prefix code below these.
            let mut found = Entry { kind: K_PLUS, len: 0, run: 0 };
            let mut n = 0;
            while n < 16 {
                let (w, l) = code::SHORT_RUNS[n];
                if (b >> (8 - l)) as u32 == w {
                    found = Entry { kind: K_RUN, len: l as u8, run: (n + 1) as u8 };
                }
                n += 1;
            }
            found
        };
        b += 1;
    }
    t
}

/// The streaming decoder over a byte slice.
///
/// It stops after the item count given to [`Decoder::new`] or at the bit length given to
/// [`Decoder::with_bit_len`]. Use it as an [`Iterator`] of `Result<Item, DecodeError>` (after an
/// error it yields `None`) or fill `i16` slots in bulk with [`Decoder::decode_into`]; both may be
/// mixed. It never panics and never reads outside the slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    r: MsbReader<'a>,
    /// Items not yet covered by a decoded word (`u64::MAX` in bit-length mode).
    remaining: u64,
    /// `Some(bit length)` in bit-length mode.
    end_bit: Option<u64>,
    prev: i16,
    has_prev: bool,
    /// Samples of the current zero run not yet yielded.
    run_left: u32,
    items: u64,
    error: Option<DecodeError>,
    error_yielded: bool,
}

impl<'a> Decoder<'a> {
    /// A decoder for a stream of `count` items (see the crate documentation) in `data`. Bits after
    /// the last item are not read (see [`Decoder::check_end`]).
    pub fn new(data: &'a [u8], count: u64) -> Self {
        Decoder {
            r: MsbReader::new(data),
            remaining: count,
            end_bit: None,
            prev: 0,
            has_prev: false,
            run_left: 0,
            items: 0,
            error: None,
            error_yielded: false,
        }
    }

    /// A decoder for a stream that is exactly `bit_len` bits long (the encoder's
    /// [`bit_len`](crate::Encoder::bit_len), padding excluded). A `bit_len` beyond the data makes
    /// the decoder report [`DecodeErrorKind::Truncated`] where the data ends.
    pub fn with_bit_len(data: &'a [u8], bit_len: u64) -> Self {
        let mut d = Decoder::new(data, u64::MAX);
        d.r = MsbReader::with_bit_len(data, bit_len);
        d.end_bit = Some(bit_len);
        d
    }

    /// Bit offset of the next code word (the end of the last word read).
    #[inline]
    pub fn bit_pos(&self) -> u64 {
        self.r.bit_pos()
    }

    /// Items yielded so far.
    #[inline]
    pub fn items_decoded(&self) -> u64 {
        self.items
    }

    /// Items still to come in count mode; `None` in bit-length mode.
    pub fn items_left(&self) -> Option<u64> {
        match self.end_bit {
            Some(_) => None,
            None => Some(self.remaining + self.run_left as u64),
        }
    }

    /// The error met, if any (the decoder yields nothing more after it).
    pub fn error(&self) -> Option<DecodeError> {
        self.error
    }

    #[inline(always)]
    fn at_end(&self) -> bool {
        match self.end_bit {
            None => self.remaining == 0,
            Some(end) => self.r.bit_pos() >= end,
        }
    }

    #[inline(always)]
    fn fail(&self, kind: DecodeErrorKind, bit_offset: u64) -> DecodeError {
        DecodeError { kind, bit_offset }
    }

    /// Decodes the word at the current position and updates the reference sample; the caller
    /// handles the count.
    #[inline(always)]
    fn word(&mut self) -> Result<Word, DecodeError> {
        let pos = self.r.bit_pos();
        let w = self.r.peek_window();
        let e = TABLE[(w >> 56) as usize];
        // The table entry depends only on real bits when the word fits: every word is told
        // apart by a prefix no longer than itself.
        if e.len as u64 > self.r.bits_left() {
            return Err(self.fail(DecodeErrorKind::Truncated, pos));
        }
        let word = match e.kind {
            K_PLUS | K_MINUS => {
                if !self.has_prev {
                    return Err(self.fail(DecodeErrorKind::NoReference, pos));
                }
                let v = if e.kind == K_PLUS { self.prev + 1 } else { self.prev - 1 };
                if !(MIN_SAMPLE..=MAX_SAMPLE).contains(&v) {
                    return Err(self.fail(DecodeErrorKind::OutOfRange, pos));
                }
                self.prev = v;
                Word::Value(v)
            }
            K_RUN => {
                if !self.has_prev {
                    return Err(self.fail(DecodeErrorKind::NoReference, pos));
                }
                Word::Run(e.run as u32)
            }
            K_ESCAPE => {
                let r = ((w >> 53) & 0xff) as u8;
                if r as u32 >= MIN_LONG_RUN - 1 {
                    if !self.has_prev {
                        return Err(self.fail(DecodeErrorKind::NoReference, pos));
                    }
                    Word::Run(r as u32 + 1)
                } else {
                    match Event::from_code(r) {
                        Some(ev) => Word::Event(ev),
                        None => return Err(self.fail(DecodeErrorKind::InvalidCode, pos)),
                    }
                }
            }
            _ => {
                // 110 sxxxxxxxxxxx: sign-extend the 12-bit field.
                let v = (((w >> 49) as u16 & 0xfff) << 4) as i16 >> 4;
                self.prev = v;
                self.has_prev = true;
                Word::Value(v)
            }
        };
        // Cannot fail: the length was checked above.
        let _ = self.r.skip(e.len as u64);
        Ok(word)
    }

    /// Fills `out` with the next items as `i16` slots (samples as themselves, events as the
    /// `SLOT_*` sentinels) and returns how many were written: `out.len()`, or fewer at the end of
    /// the stream (0 once it has ended). When an error is met after some slots were written,
    /// those are returned first and the next call returns the error; later calls return it
    /// again.
    pub fn decode_into(&mut self, out: &mut [i16]) -> Result<usize, DecodeError> {
        if let Some(e) = self.error {
            self.error_yielded = true;
            return Err(e);
        }
        let mut i = 0;
        if self.run_left > 0 {
            let k = (self.run_left as usize).min(out.len());
            out[..k].fill(self.prev);
            self.run_left -= k as u32;
            i = k;
        }
        while i < out.len() {
            if self.at_end() {
                break;
            }
            let pos = self.r.bit_pos();
            match self.word() {
                Ok(Word::Value(v)) => {
                    out[i] = v;
                    i += 1;
                    self.remaining -= 1;
                }
                Ok(Word::Run(n)) => {
                    if n as u64 > self.remaining {
                        self.error = Some(self.fail(DecodeErrorKind::RunPastEnd, pos));
                        break;
                    }
                    self.remaining -= n as u64;
                    let k = (n as usize).min(out.len() - i);
                    if let Some(dst) = out.get_mut(i..i + k) {
                        dst.fill(self.prev);
                    }
                    i += k;
                    self.run_left = n - k as u32;
                }
                Ok(Word::Event(ev)) => {
                    out[i] = ev.slot();
                    i += 1;
                    self.remaining -= 1;
                }
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        self.items += i as u64;
        match self.error {
            Some(e) if i == 0 => {
                self.error_yielded = true;
                Err(e)
            }
            _ => Ok(i),
        }
    }

    /// After the last item: checks that the stream ends where it should. In count mode, at most
    /// seven bits may follow the last word and they must be zero (the canonical padding); in
    /// bit-length mode the last word must end exactly at the bit length. Errors with
    /// [`DecodeErrorKind::NotAtEnd`] while items remain, or returns the decoding error met.
    pub fn check_end(&self) -> Result<(), DecodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let pos = self.r.bit_pos();
        if self.run_left > 0 || !self.at_end() {
            return Err(self.fail(DecodeErrorKind::NotAtEnd, pos));
        }
        if self.end_bit.is_none() {
            let left = self.r.bits_left();
            if left >= 8 || (left > 0 && self.r.peek_window() != 0) {
                return Err(self.fail(DecodeErrorKind::TrailingData, pos));
            }
        }
        Ok(())
    }
}

impl Iterator for Decoder<'_> {
    type Item = Result<Item, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error {
            if self.error_yielded {
                return None;
            }
            self.error_yielded = true;
            return Some(Err(e));
        }
        if self.run_left > 0 {
            self.run_left -= 1;
            self.items += 1;
            return Some(Ok(Item::Sample(self.prev)));
        }
        if self.at_end() {
            return None;
        }
        let pos = self.r.bit_pos();
        let item = match self.word() {
            Ok(Word::Value(v)) => Item::Sample(v),
            Ok(Word::Event(ev)) => Item::Event(ev),
            Ok(Word::Run(n)) => {
                if n as u64 > self.remaining {
                    self.error = Some(self.fail(DecodeErrorKind::RunPastEnd, pos));
                    self.error_yielded = true;
                    return Some(Err(self.fail(DecodeErrorKind::RunPastEnd, pos)));
                }
                self.remaining -= n as u64;
                self.run_left = n - 1;
                self.items += 1;
                return Some(Ok(Item::Sample(self.prev)));
            }
            Err(e) => {
                self.error = Some(e);
                self.error_yielded = true;
                return Some(Err(e));
            }
        };
        self.remaining -= 1;
        self.items += 1;
        Some(Ok(item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.items_left() {
            // An error can only come instead of an item, so the items left bound the yields.
            Some(n) if self.error.is_none() => (0, usize::try_from(n).ok()),
            _ => (0, None),
        }
    }
}

/// Decodes a stream of `count` items from `data` into `out` as `i16` slots and returns the number
/// of slots written (`count`, or `out.len()` when `out` is shorter). Does not check what follows
/// the last item (see [`Decoder::check_end`]).
pub fn decode(data: &[u8], count: u64, out: &mut [i16]) -> Result<usize, DecodeError> {
    let mut d = Decoder::new(data, count);
    let mut n = 0;
    while n < out.len() {
        let k = d.decode_into(&mut out[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}
