//! Sensor codec round trips: arbitrary slot series (mostly slow walks with gaps and events, sometimes any i16)
//! encoded in one call and through a streaming encoder suspended and resumed on small buffers; both must give
//! the same bytes, refuse exactly the first invalid slot, and decode back (by count and by bit length) with a
//! clean end.
#![no_main]

use daspack_sensor::{
    decode, encode, max_encoded_len, Decoder, EncodeError, Encoder, EncoderState, Item, MIN_BUFFER_LEN,
    SLOT_CLOCK_BACKWARDS, SLOT_LONG_TERM_JITTER, SLOT_NO_MEASUREMENT, SLOT_USER_EVENT,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Step {
    /// Previous sample plus a small delta (clamped to 12 bits).
    Delta(i8),
    /// The same sample `n + 1` times.
    Repeat(u8),
    /// An absolute 12-bit sample.
    Absolute(u16),
    /// An event slot (0..=3).
    Event(u8),
    /// Any i16, valid or not.
    Any(i16),
}

#[derive(Arbitrary, Debug)]
struct Case {
    start: i16,
    steps: Vec<Step>,
    /// Extra bytes per buffer of the streaming encoder, beyond MIN_BUFFER_LEN (0 = one byte, may refuse forever).
    buffer_extra: u8,
}

fn slots(case: &Case) -> Vec<i16> {
    let mut out = Vec::new();
    let mut prev = case.start.clamp(-2048, 2047);
    for s in &case.steps {
        match *s {
            Step::Delta(d) => {
                prev = (prev as i32 + (d as i32 >> 4)).clamp(-2048, 2047) as i16;
                out.push(prev);
            }
            Step::Repeat(n) => out.extend(std::iter::repeat(prev).take(n as usize + 1)),
            Step::Absolute(v) => {
                prev = ((v & 0xfff) as i16) - 2048;
                out.push(prev);
            }
            Step::Event(e) => out.push(
                [SLOT_NO_MEASUREMENT, SLOT_CLOCK_BACKWARDS, SLOT_LONG_TERM_JITTER, SLOT_USER_EVENT][e as usize % 4],
            ),
            Step::Any(v) => out.push(v),
        }
    }
    out
}

/// Encodes through buffers of `size` bytes, suspending and resuming whenever one is full.
fn stream_encode(slots: &[i16], size: usize) -> Result<(Vec<u8>, u64, u64), (usize, EncodeError)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; size];
    let mut state = EncoderState::new();
    let mut i = 0;
    let mut stalls = 0;
    loop {
        let mut enc = Encoder::resume(&mut buf, state).map_err(|e| (i, e))?;
        let mut full = false;
        while i < slots.len() {
            match enc.push_slots(&slots[i..]) {
                Ok(()) => i = slots.len(),
                Err(e) => {
                    i += e.consumed;
                    match e.error {
                        EncodeError::BufferFull { .. } => {
                            full = true;
                            break;
                        }
                        other => return Err((i, other)),
                    }
                }
            }
        }
        if !full {
            match enc.finish() {
                Ok(n) => {
                    let (items, bits) = (enc.items(), enc.bit_len());
                    out.extend_from_slice(&buf[..n]);
                    return Ok((out, items, bits));
                }
                Err(EncodeError::BufferFull { .. }) => {}
                Err(e) => return Err((i, e)),
            }
        }
        let (n, st) = enc.suspend();
        out.extend_from_slice(&buf[..n]);
        state = st;
        stalls = if n == 0 { stalls + 1 } else { 0 };
        if stalls > 2 {
            // A buffer too small for the next write: only possible below MIN_BUFFER_LEN.
            assert!(size < MIN_BUFFER_LEN, "a {size}-byte buffer made no progress");
            return Err((i, EncodeError::BufferFull { needed_bits: 0, available_bits: 0 }));
        }
    }
}

fuzz_target!(|case: Case| {
    let slots = slots(&case);
    if slots.len() > 1 << 16 {
        return;
    }
    let first_bad = slots.iter().position(|&s| Item::from_slot(s).is_none());
    let mut buf = vec![0u8; max_encoded_len(slots.len())];
    let once = encode(&slots, &mut buf);
    let size = if case.buffer_extra == 0 { 1 } else { MIN_BUFFER_LEN + (case.buffer_extra % 16) as usize };
    let streamed = stream_encode(&slots, size);
    match (first_bad, once) {
        (Some(bad), Err(e)) => {
            assert_eq!(e.consumed, bad);
            assert!(matches!(e.error, EncodeError::OutOfRange { value } if value == slots[bad]));
            if let Err((i, err)) = streamed {
                if size >= MIN_BUFFER_LEN {
                    assert_eq!((i, err), (bad, e.error));
                }
            } else {
                panic!("streaming encoder accepted an invalid slot");
            }
        }
        (None, Ok(enc)) => {
            assert_eq!(enc.items, slots.len() as u64);
            let bytes = &buf[..enc.bytes];
            assert_eq!(enc.bytes as u64, enc.bits.div_ceil(8));
            match streamed {
                Ok((s, items, bits)) => assert_eq!((&s[..], items, bits), (bytes, enc.items, enc.bits)),
                Err(e) => assert!(size < MIN_BUFFER_LEN, "streaming encoder failed: {e:?}"),
            }
            let mut back = vec![0i16; slots.len()];
            assert_eq!(decode(bytes, enc.items, &mut back), Ok(slots.len()));
            assert_eq!(back, slots);
            let mut d = Decoder::new(bytes, enc.items);
            assert!(d.by_ref().map(|r| r.expect("clean stream").to_slot()).eq(slots.iter().copied()));
            assert_eq!(d.check_end(), Ok(()));
            let mut d = Decoder::with_bit_len(bytes, enc.bits);
            assert!(d.by_ref().map(|r| r.expect("clean stream").to_slot()).eq(slots.iter().copied()));
            assert_eq!(d.check_end(), Ok(()));
        }
        (bad, once) => panic!("first invalid slot {bad:?}, encode gave {once:?}"),
    }
});
