//! Prefix-code codec (protocol v0.2) for slow 12-bit sensors; no_std, no allocation.
//!
//! Slow sensors (temperature at a few hertz, say) produce 12-bit samples that rarely move by more
//! than one count between readings. Protocol v0.2 codes such a series as a bit stream of prefix
//! code words, most significant bit first: `00` (+1), `01` (-1), zero-run words (1 to 256
//! unchanged samples), four event words (one of them "no measurement this sample") and a 15-bit
//! absolute sample. The full table, the canonical encoding rules and the exact decoder behaviour
//! are in `docs/sensor.md` of the repository; [`code`] holds the table as constants.
//!
//! The crate is `#![no_std]`, never allocates and never panics on any input:
//!
//! - [`Encoder`] streams items (samples and events) into a caller-provided byte buffer. When the
//!   buffer is full the push returns [`EncodeError::BufferFull`] and the encoder is unchanged, so
//!   the caller drains the buffer ([`Encoder::suspend`] / [`Encoder::resume`]) and pushes again;
//!   no item is ever lost. [`Encoder::finish`] writes the pending zero run and pads the last byte.
//! - [`Decoder`] yields items from a byte slice, either one at a time (it is an [`Iterator`] of
//!   `Result<Item, DecodeError>`) or in bulk with [`Decoder::decode_into`] into an `i16` slice.
//!   Invalid or truncated code words are errors carrying the bit offset of the word.
//!
//! # The item count
//!
//! A stream does not say where it ends (`00` is a valid word, so padding is ambiguous); the
//! decoder is told either the **item count** or the exact **bit length**, both reported by the
//! encoder ([`Encoder::items`], [`Encoder::bit_len`]). An *item* is one sample slot of the
//! series: every measured sample is one item, every event word (no measurement, and the three
//! reserved events) is one item. For a series of readings with gaps, the item count is simply the
//! length of the series, gaps included.
//!
//! # Slots: items as `i16`
//!
//! The bulk paths ([`Encoder::push_slots`], [`Decoder::decode_into`], [`encode`], [`decode`])
//! store one item per `i16`: a sample as itself (-2048..=2047) and an event as a sentinel outside
//! the 12-bit range: [`SLOT_NO_MEASUREMENT`] (`i16::MIN`, -32768) and the reserved events
//! [`SLOT_CLOCK_BACKWARDS`], [`SLOT_LONG_TERM_JITTER`], [`SLOT_USER_EVENT`] (-32767..=-32765).
//!
//! # Example
//!
//! ```
//! use daspack_sensor::{decode, encode, max_encoded_len, SLOT_NO_MEASUREMENT as NA};
//!
//! let series = [412, 412, 412, 413, 413, NA, 413, 412, 300];
//! let mut buf = [0u8; max_encoded_len(9)];
//! let enc = encode(&series, &mut buf).unwrap();
//! assert_eq!(enc.items, 9);
//! assert_eq!(enc.bits, 15 + 5 + 2 + 5 + 11 + 5 + 2 + 15);
//!
//! let mut out = [0i16; 9];
//! let n = decode(&buf[..enc.bytes], enc.items, &mut out).unwrap();
//! assert_eq!(&out[..n], &series);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod code;
mod decoder;
mod encoder;

pub use decoder::{decode, DecodeError, DecodeErrorKind, Decoder};
pub use encoder::{encode, max_encoded_len, BatchError, EncodeError, Encoded, Encoder, EncoderState, MIN_BUFFER_LEN};

/// The smallest sample value (12-bit two's complement).
pub const MIN_SAMPLE: i16 = -2048;
/// The largest sample value (12-bit two's complement).
pub const MAX_SAMPLE: i16 = 2047;

/// Slot value of a no-measurement event in the bulk paths (`i16::MIN`).
pub const SLOT_NO_MEASUREMENT: i16 = i16::MIN;
/// Slot value of the reserved event "clock went backwards".
pub const SLOT_CLOCK_BACKWARDS: i16 = i16::MIN + 1;
/// Slot value of the reserved event "long-term jitter error".
pub const SLOT_LONG_TERM_JITTER: i16 = i16::MIN + 2;
/// Slot value of the reserved event "user event".
pub const SLOT_USER_EVENT: i16 = i16::MIN + 3;

/// An event word of the protocol (`101 r` with `r` = 0..=3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Event {
    /// `101 00000000`: the clock went backwards (reserved).
    ClockBackwards = 0,
    /// `101 00000001`: long-term jitter error (reserved).
    LongTermJitter = 1,
    /// `101 00000010`: no measurement this sample.
    NoMeasurement = 2,
    /// `101 00000011`: user event (reserved).
    User = 3,
}

impl Event {
    /// The `r` field of the event word.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The event whose word has this `r` field, if any.
    pub const fn from_code(r: u8) -> Option<Event> {
        match r {
            0 => Some(Event::ClockBackwards),
            1 => Some(Event::LongTermJitter),
            2 => Some(Event::NoMeasurement),
            3 => Some(Event::User),
            _ => None,
        }
    }

    /// The sentinel that stands for this event in an `i16` slot.
    pub const fn slot(self) -> i16 {
        match self {
            Event::NoMeasurement => SLOT_NO_MEASUREMENT,
            Event::ClockBackwards => SLOT_CLOCK_BACKWARDS,
            Event::LongTermJitter => SLOT_LONG_TERM_JITTER,
            Event::User => SLOT_USER_EVENT,
        }
    }
}

/// One item of a stream: a measured sample or an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    /// A measured sample, -2048..=2047.
    Sample(i16),
    /// An event (no measurement, or a reserved event).
    Event(Event),
}

impl Item {
    /// The no-measurement item.
    pub const NO_MEASUREMENT: Item = Item::Event(Event::NoMeasurement);

    /// The item as an `i16` slot (see the crate documentation).
    pub const fn to_slot(self) -> i16 {
        match self {
            Item::Sample(v) => v,
            Item::Event(e) => e.slot(),
        }
    }

    /// The item an `i16` slot stands for; `None` for values that are neither a 12-bit sample
    /// nor an event sentinel.
    pub const fn from_slot(slot: i16) -> Option<Item> {
        if slot >= MIN_SAMPLE && slot <= MAX_SAMPLE {
            return Some(Item::Sample(slot));
        }
        match slot {
            SLOT_NO_MEASUREMENT => Some(Item::Event(Event::NoMeasurement)),
            SLOT_CLOCK_BACKWARDS => Some(Item::Event(Event::ClockBackwards)),
            SLOT_LONG_TERM_JITTER => Some(Item::Event(Event::LongTermJitter)),
            SLOT_USER_EVENT => Some(Item::Event(Event::User)),
            _ => None,
        }
    }
}
