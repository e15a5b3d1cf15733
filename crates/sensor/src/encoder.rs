//! The streaming encoder.

use core::fmt;

use daspack_bitio::{Carry, MsbSliceWriter};

use crate::code::{self, MAX_RUN};
use crate::{Event, Item, MAX_SAMPLE, MIN_SAMPLE};

/// Why a push was refused. A refused push changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer has room for `available_bits` more bits, and the push needs
    /// `needed_bits` (the pending zero run and the item's word, written together or not at all).
    /// Drain the buffer ([`Encoder::suspend`], [`Encoder::resume`]) and push the item again.
    BufferFull {
        /// Bits the push had to write.
        needed_bits: u32,
        /// Room left in the buffer, in bits.
        available_bits: u64,
    },
    /// A sample outside -2048..=2047, or (bulk paths) a slot that is neither a sample nor an event
    /// sentinel. Samples are never truncated to 12 bits.
    OutOfRange {
        /// The value refused.
        value: i16,
    },
    /// The encoder was finished; no more items can be pushed.
    Finished,
}

impl EncodeError {
    /// A stable numeric code for C callers: 1 buffer full, 2 out of range, 3 finished.
    pub const fn code(&self) -> i32 {
        match self {
            EncodeError::BufferFull { .. } => 1,
            EncodeError::OutOfRange { .. } => 2,
            EncodeError::Finished => 3,
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferFull { needed_bits, available_bits } => {
                write!(f, "output buffer full: {needed_bits} bits to write, room for {available_bits}")
            }
            EncodeError::OutOfRange { value } => {
                write!(f, "value {value} is not a 12-bit sample (-2048..=2047) nor an event slot")
            }
            EncodeError::Finished => f.write_str("encoder already finished"),
        }
    }
}

/// A bulk push stopped early: the first `consumed` slots were encoded, slot `consumed` was refused
/// with `error`, and the encoder is exactly as if only the first `consumed` slots had been pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchError {
    /// Slots encoded before the error.
    pub consumed: usize,
    /// Why slot `consumed` was refused.
    pub error: EncodeError,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "item {}: {}", self.consumed, self.error)
    }
}

/// Everything an encoder carries between buffers: plain data, no borrow, so it can live in a C
/// handle. Obtained from [`Encoder::suspend`], turned back into an encoder by
/// [`Encoder::resume`]; [`EncoderState::new`] is the state of a fresh stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderState {
    prev: i16,
    has_prev: bool,
    finished: bool,
    run: u32,
    items: u64,
    bits: u64,
    carry: Carry,
}

impl EncoderState {
    /// The state of an encoder that has written nothing.
    pub const fn new() -> Self {
        EncoderState { prev: 0, has_prev: false, finished: false, run: 0, items: 0, bits: 0, carry: Carry::EMPTY }
    }

    /// Items pushed so far (the count a decoder needs).
    pub const fn items(&self) -> u64 {
        self.items
    }

    /// Bits of code words written so far, padding excluded (the bit length a decoder may use
    /// instead of the count once the encoder is finished).
    pub const fn bit_len(&self) -> u64 {
        self.bits
    }

    /// Samples of the pending zero run, not written yet (0..=256).
    pub const fn pending_run(&self) -> u32 {
        self.run
    }

    /// True once [`Encoder::finish`] succeeded.
    pub const fn is_finished(&self) -> bool {
        self.finished
    }
}

impl Default for EncoderState {
    fn default() -> Self {
        Self::new()
    }
}

/// The streaming encoder: items in, canonical code words out into a caller-provided buffer.
///
/// Zero runs are held back until they end (or reach 256 samples), so the bits of a stream do not
/// depend on how it was cut into buffers. See the crate documentation for the item count.
#[derive(Debug)]
pub struct Encoder<'a> {
    w: MsbSliceWriter<'a>,
    prev: i16,
    has_prev: bool,
    finished: bool,
    run: u32,
    items: u64,
    bits: u64,
}

impl<'a> Encoder<'a> {
    /// A new stream written from the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Encoder { w: MsbSliceWriter::new(buf), prev: 0, has_prev: false, finished: false, run: 0, items: 0, bits: 0 }
    }

    /// Continues a suspended stream at the start of `buf`. The bits of the last partial byte of the
    /// previous buffer (kept in the state) are written first, so `buf` must not be empty when
    /// there are any (else [`EncodeError::BufferFull`]).
    pub fn resume(buf: &'a mut [u8], state: EncoderState) -> Result<Self, EncodeError> {
        let w = MsbSliceWriter::resume(buf, state.carry)
            .map_err(|_| EncodeError::BufferFull { needed_bits: state.carry.len(), available_bits: 0 })?;
        Ok(Encoder {
            w,
            prev: state.prev,
            has_prev: state.has_prev,
            finished: state.finished,
            run: state.run,
            items: state.items,
            bits: state.bits,
        })
    }

    /// Stops writing into this buffer. Returns the number of whole bytes written to it (hand them
    /// on) and the state to [`Encoder::resume`] with on the next buffer. The pending zero run and
    /// the bits of a last partial byte stay in the state.
    pub fn suspend(self) -> (usize, EncoderState) {
        let (bytes, carry) = self.w.suspend();
        let state = EncoderState {
            prev: self.prev,
            has_prev: self.has_prev,
            finished: self.finished,
            run: self.run,
            items: self.items,
            bits: self.bits,
            carry,
        };
        (bytes, state)
    }

    /// Items pushed so far: the count to give the decoder.
    #[inline]
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Bits of code words written so far over all buffers, padding and the pending run excluded.
    #[inline]
    pub fn bit_len(&self) -> u64 {
        self.bits
    }

    /// Room left in the current buffer, in bits.
    #[inline]
    pub fn remaining_bits(&self) -> u64 {
        self.w.remaining_bits()
    }

    /// Writes `word` (`len` bits) or nothing.
    #[inline(always)]
    fn put(&mut self, word: u64, len: u32) -> Result<(), EncodeError> {
        match self.w.write_bits(word, len) {
            Ok(()) => {
                self.bits += len as u64;
                Ok(())
            }
            Err(_) => Err(EncodeError::BufferFull { needed_bits: len, available_bits: self.w.remaining_bits() }),
        }
    }

    /// Pushes a measured sample (-2048..=2047).
    #[inline]
    pub fn push_sample(&mut self, sample: i16) -> Result<(), EncodeError> {
        if !(MIN_SAMPLE..=MAX_SAMPLE).contains(&sample) {
            return Err(EncodeError::OutOfRange { value: sample });
        }
        if self.finished {
            return Err(EncodeError::Finished);
        }
        if self.has_prev && sample == self.prev {
            if self.run == MAX_RUN {
                // A run word holds 256 samples at most: write it, the new sample starts a new run.
                let (w, l) = code::run_word(MAX_RUN);
                self.put(w as u64, l)?;
                self.run = 0;
            }
            self.run += 1;
            self.items += 1;
            return Ok(());
        }
        let (sw, sl) = if !self.has_prev {
            code::absolute_word(sample)
        } else {
            match sample as i32 - self.prev as i32 {
                1 => code::PLUS_ONE,
                -1 => code::MINUS_ONE,
                _ => code::absolute_word(sample),
            }
        };
        // The pending run and the sample's word in one all-or-nothing write (at most 26 bits).
        let (rw, rl) = code::run_word(self.run);
        self.put(((rw as u64) << sl) | sw as u64, rl + sl)?;
        self.run = 0;
        self.prev = sample;
        self.has_prev = true;
        self.items += 1;
        Ok(())
    }

    /// Pushes an event. A no-measurement event keeps the previous sample as the reference of the
    /// next one; the pending zero run is written before the event word.
    #[inline]
    pub fn push_event(&mut self, event: Event) -> Result<(), EncodeError> {
        if self.finished {
            return Err(EncodeError::Finished);
        }
        let (ew, el) = code::event_word(event.code());
        let (rw, rl) = code::run_word(self.run);
        self.put(((rw as u64) << el) | ew as u64, rl + el)?;
        self.run = 0;
        self.items += 1;
        Ok(())
    }

    /// Pushes a no-measurement event (same as `push_event(Event::NoMeasurement)`).
    #[inline]
    pub fn push_no_measurement(&mut self) -> Result<(), EncodeError> {
        self.push_event(Event::NoMeasurement)
    }

    /// Pushes one item.
    #[inline]
    pub fn push(&mut self, item: Item) -> Result<(), EncodeError> {
        match item {
            Item::Sample(v) => self.push_sample(v),
            Item::Event(e) => self.push_event(e),
        }
    }

    /// Pushes `i16` slots (samples, or event sentinels such as
    /// [`SLOT_NO_MEASUREMENT`](crate::SLOT_NO_MEASUREMENT)). On error the slots before the
    /// refused one are pushed and the rest are not; [`BatchError::consumed`] says how many.
    pub fn push_slots(&mut self, slots: &[i16]) -> Result<(), BatchError> {
        for (i, &slot) in slots.iter().enumerate() {
            let r = if (MIN_SAMPLE..=MAX_SAMPLE).contains(&slot) {
                self.push_sample(slot)
            } else {
                match Item::from_slot(slot) {
                    Some(Item::Event(e)) => self.push_event(e),
                    _ => Err(EncodeError::OutOfRange { value: slot }),
                }
            };
            if let Err(error) = r {
                return Err(BatchError { consumed: i, error });
            }
        }
        Ok(())
    }

    /// Writes the pending zero run now. The stream stays valid and open, but a run cut by a flush
    /// is coded as two words, so the bits differ from the canonical coding of the same items:
    /// call it only when the items pushed so far must reach the buffer. Returns the bits of code
    /// words written so far ([`Encoder::bit_len`]).
    pub fn flush(&mut self) -> Result<u64, EncodeError> {
        if self.run > 0 {
            let (rw, rl) = code::run_word(self.run);
            self.put(rw as u64, rl)?;
            self.run = 0;
        }
        Ok(self.bits)
    }

    /// Ends the stream: writes the pending zero run, pads the last byte with zero bits and
    /// returns the number of bytes of the current buffer that hold the stream. On
    /// [`EncodeError::BufferFull`] nothing changed: drain the buffer and finish again. Once
    /// finished, pushes fail with [`EncodeError::Finished`]; finishing again returns the same
    /// length.
    pub fn finish(&mut self) -> Result<usize, EncodeError> {
        if !self.finished {
            self.flush()?;
            self.finished = true;
        }
        Ok(self.w.pad_to_byte())
    }
}

/// The result of [`encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    /// Bytes of the output buffer that hold the stream (zero-padded to a whole byte).
    pub bytes: usize,
    /// Bits of code words, padding excluded.
    pub bits: u64,
    /// Items encoded: the count the decoder needs.
    pub items: u64,
}

/// A buffer of this many bytes always accepts the next push after [`Encoder::resume`]: the largest
/// single write is 26 bits (an 11-bit run word and a 15-bit absolute sample) after at most 7 bits
/// carried over from the previous buffer. Smaller buffers work but may refuse an item forever.
pub const MIN_BUFFER_LEN: usize = 5;

/// Bytes that always suffice to encode `items` items: no item costs more than 15 bits (an
/// absolute sample; a zero run's word covers at least one item and is at most 11 bits, an event
/// word is 11 bits).
pub const fn max_encoded_len(items: usize) -> usize {
    items.saturating_mul(code::MAX_WORD_LEN as usize).div_ceil(8)
}

/// Encodes a whole series of `i16` slots into `out` (see the crate documentation for slots).
/// `out` of [`max_encoded_len`]`(slots.len())` bytes is always enough.
pub fn encode(slots: &[i16], out: &mut [u8]) -> Result<Encoded, BatchError> {
    let mut enc = Encoder::new(out);
    enc.push_slots(slots)?;
    let bytes = enc.finish().map_err(|error| BatchError { consumed: slots.len(), error })?;
    Ok(Encoded { bytes, bits: enc.bit_len(), items: enc.items() })
}
