//! Decoder errors (each names the bit offset of the word), the count and bit-length conventions,
//! and the encoder's buffer-full behaviour.

mod common;

use common::*;
use daspack_sensor::{
    max_encoded_len, DecodeError, DecodeErrorKind, Decoder, EncodeError, Encoder, EncoderState, Item, MIN_BUFFER_LEN,
};

const ABS5: &str = "110 000000000101";

fn err(kind: DecodeErrorKind, bit_offset: u64) -> DecodeError {
    DecodeError { kind, bit_offset }
}

#[test]
fn relative_words_need_a_reference() {
    for first in ["00", "01", "100 00", "111 11110", "101 00010000"] {
        let e = decode_all(&bytes_of(first), 1).unwrap_err();
        assert_eq!(e, err(DecodeErrorKind::NoReference, 0), "{first}");
    }
    // events do not provide a reference
    let e = decode_all(&bytes_of("101 00000010 00"), 2).unwrap_err();
    assert_eq!(e, err(DecodeErrorKind::NoReference, 11));
}

#[test]
fn steps_out_of_range_are_errors() {
    let e = decode_all(&bytes_of("110 011111111111 00"), 2).unwrap_err();
    assert_eq!(e, err(DecodeErrorKind::OutOfRange, 15));
    let e = decode_all(&bytes_of("110 100000000000 01"), 2).unwrap_err();
    assert_eq!(e, err(DecodeErrorKind::OutOfRange, 15));
}

#[test]
fn truncated_words_name_their_offset() {
    let items: Vec<Item> = [s(5), s(5), s(6), NA, s(-700), s(-700), s(-700)].to_vec();
    let (bytes, bits, n) = encode_items(&items);
    // every cut of the data inside the stream, with the full count
    for cut in 0..bytes.len() {
        let e = decode_all(&bytes[..cut], n).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::Truncated, "cut {cut}");
        assert!(e.bit_offset <= cut as u64 * 8);
    }
    // every bit length shorter than the stream
    let word_starts = [0u64, 15, 20, 22, 33, 48];
    for len in 0..bits {
        let r: Result<Vec<Item>, _> = Decoder::with_bit_len(&bytes, len).collect();
        if word_starts.contains(&len) {
            // the stream simply ends at a word boundary
            assert!(r.is_ok(), "len {len}");
        } else {
            let e = r.unwrap_err();
            assert_eq!(e.kind, DecodeErrorKind::Truncated, "len {len}");
            let start = word_starts.iter().rev().find(|&&w| w < len).copied().unwrap();
            assert_eq!(e.bit_offset, start);
        }
    }
    // a bit length beyond the data
    let e = Decoder::with_bit_len(&bytes, bits + 20).collect::<Result<Vec<_>, _>>().unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::Truncated);
}

#[test]
fn count_versus_bit_length() {
    // [5] is 15 bits, padded with one zero bit; "0" alone is no word, "00" would be +1.
    let (bytes, bits, n) = encode_items(&[s(5)]);
    assert_eq!((bytes.len(), bits, n), (2, 15, 1));
    assert_eq!(decode_all(&bytes, 1).unwrap(), vec![s(5)]);
    let e = Decoder::with_bit_len(&bytes, 16).collect::<Result<Vec<_>, _>>().unwrap_err();
    assert_eq!(e, err(DecodeErrorKind::Truncated, 15));
    // asking for more items than were coded reads the padding as words
    let e = decode_all(&bytes, 2).unwrap_err();
    assert_eq!(e, err(DecodeErrorKind::Truncated, 15));
    // a count of zero yields nothing
    assert_eq!(decode_all(&bytes, 0).unwrap(), vec![]);
}

#[test]
fn run_past_the_count_is_an_error() {
    let mut items = vec![s(5)];
    items.extend(rep(5, 20));
    let (bytes, _, n) = encode_items(&items);
    assert_eq!(n, 21);
    for count in 2..21 {
        let e = decode_all(&bytes, count).unwrap_err();
        assert_eq!(e, err(DecodeErrorKind::RunPastEnd, 15));
        let mut out = vec![0i16; 30];
        let mut d = Decoder::new(&bytes, count);
        // the absolute sample comes first, then the error
        assert_eq!(d.decode_into(&mut out), Ok(1));
        assert_eq!(d.decode_into(&mut out), Err(err(DecodeErrorKind::RunPastEnd, 15)));
        assert_eq!(d.decode_into(&mut out), Err(err(DecodeErrorKind::RunPastEnd, 15)));
    }
}

#[test]
fn check_end_wants_only_zero_padding() {
    let (mut bytes, _, n) = encode_items(&[s(5), s(6), s(6)]);
    // 15 + 2 + 5 = 22 bits, 2 bits of padding
    let mut d = Decoder::new(&bytes, n);
    assert_eq!(d.check_end(), Err(err(DecodeErrorKind::NotAtEnd, 0)));
    assert_eq!(d.by_ref().count(), 3);
    d.check_end().unwrap();
    // non-zero padding
    *bytes.last_mut().unwrap() |= 1;
    let mut d = Decoder::new(&bytes, n);
    assert_eq!(d.by_ref().count(), 3);
    assert_eq!(d.check_end(), Err(err(DecodeErrorKind::TrailingData, 22)));
    // an extra byte
    bytes.pop();
    let (mut bytes, _, _) = encode_items(&[s(5), s(6), s(6)]);
    bytes.push(0);
    let mut d = Decoder::new(&bytes, n);
    assert_eq!(d.by_ref().count(), 3);
    assert_eq!(d.check_end(), Err(err(DecodeErrorKind::TrailingData, 22)));
}

#[test]
fn decoder_stops_after_an_error() {
    let bytes = bytes_of("00 00 00");
    let mut d = Decoder::new(&bytes, 3);
    assert_eq!(d.next(), Some(Err(err(DecodeErrorKind::NoReference, 0))));
    assert_eq!(d.next(), None);
    assert_eq!(d.error(), Some(err(DecodeErrorKind::NoReference, 0)));
    assert_eq!(d.check_end(), Err(err(DecodeErrorKind::NoReference, 0)));
}

#[test]
fn iterator_and_bulk_can_be_mixed() {
    let mut items = vec![s(100)];
    items.extend(rep(100, 40));
    items.extend([s(101), NA, s(99)]);
    let (bytes, _, n) = encode_items(&items);
    let mut d = Decoder::new(&bytes, n);
    assert_eq!(d.next(), Some(Ok(s(100))));
    assert_eq!(d.next(), Some(Ok(s(100))));
    let mut out = [0i16; 5];
    assert_eq!(d.decode_into(&mut out), Ok(5));
    assert_eq!(out, [100; 5]);
    assert_eq!(d.items_left(), Some(n - 7));
    let rest: Vec<Item> = d.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rest, items[7..]);
    assert_eq!(d.items_decoded(), n);
    assert_eq!(d.decode_into(&mut out), Ok(0));
}

/// Encodes through buffers of `size` bytes, draining each when a push is refused.
fn encode_chunked(items: &[Item], size: usize) -> (Vec<u8>, u64, u64) {
    let mut out = Vec::new();
    let mut buf = vec![0xEEu8; size];
    let mut state = EncoderState::new();
    let mut i = 0;
    // every round takes at least one item, or finishes
    for _round in 0..=items.len() + 1 {
        let mut enc = Encoder::resume(&mut buf, state).unwrap();
        let start = i;
        let mut full = false;
        while i < items.len() {
            match enc.push(items[i]) {
                Ok(()) => i += 1,
                Err(EncodeError::BufferFull { needed_bits, available_bits }) => {
                    assert!(available_bits < needed_bits as u64);
                    full = true;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        if !full {
            match enc.finish() {
                Ok(len) => {
                    let (bits, n) = (enc.bit_len(), enc.items());
                    out.extend_from_slice(&buf[..len]);
                    return (out, bits, n);
                }
                Err(EncodeError::BufferFull { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(i > start || !full, "a fresh buffer of {size} bytes took no item");
        let (len, st) = enc.suspend();
        out.extend_from_slice(&buf[..len]);
        state = st;
    }
    panic!("no progress with buffers of {size} bytes");
}

#[test]
fn buffer_full_loses_nothing() {
    let mut items = vec![s(0), s(1), s(2), NA, s(2)];
    items.extend(rep(2, 300));
    items.extend([s(-2048), s(2047), s(2046), Item::Event(daspack_sensor::Event::User)]);
    items.extend(rep(2046, 17));
    let one = encode_items(&items);
    for size in MIN_BUFFER_LEN..16 {
        assert_eq!(encode_chunked(&items, size), one, "buffer of {size} bytes");
    }
}

#[test]
fn refused_push_leaves_the_encoder_unchanged() {
    let mut buf = [0u8; 2];
    let mut enc = Encoder::new(&mut buf);
    enc.push_sample(5).unwrap(); // 15 bits
    enc.push_sample(5).unwrap(); // pending
    assert_eq!(enc.push_sample(9), Err(EncodeError::BufferFull { needed_bits: 20, available_bits: 1 }));
    assert_eq!(enc.push_no_measurement(), Err(EncodeError::BufferFull { needed_bits: 16, available_bits: 1 }));
    assert_eq!(enc.finish(), Err(EncodeError::BufferFull { needed_bits: 5, available_bits: 1 }));
    assert_eq!((enc.items(), enc.bit_len()), (2, 15));
    let (len, state) = enc.suspend();
    assert_eq!(len, 1);
    assert_eq!(state.pending_run(), 1);
    assert_eq!(state.items(), 2);
    let mut buf2 = [0u8; 8];
    let mut enc = Encoder::resume(&mut buf2, state).unwrap();
    enc.push_sample(9).unwrap();
    let len2 = enc.finish().unwrap();
    // finished: further pushes are refused, finishing again is harmless
    assert_eq!(enc.push_sample(1), Err(EncodeError::Finished));
    assert_eq!(enc.push_no_measurement(), Err(EncodeError::Finished));
    assert_eq!(enc.finish(), Ok(len2));
    assert!(enc.suspend().1.is_finished());
    let mut joined = buf[..len].to_vec();
    joined.extend_from_slice(&buf2[..len2]);
    assert_eq!(bits_of(&joined, 15 + 5 + 15), b(&format!("{ABS5} 100 00 110 000000001001")));
}

#[test]
fn resume_needs_room_for_the_carry() {
    let mut buf = [0u8; 4];
    let mut enc = Encoder::new(&mut buf);
    enc.push_sample(5).unwrap();
    let (_, state) = enc.suspend();
    let mut empty = [0u8; 0];
    assert!(matches!(Encoder::resume(&mut empty, state), Err(EncodeError::BufferFull { .. })));
}

#[test]
fn flush_writes_the_pending_run() {
    let mut buf = [0u8; 8];
    let mut enc = Encoder::new(&mut buf);
    enc.push_slots(&[5, 5, 5]).unwrap();
    assert_eq!(enc.bit_len(), 15);
    assert_eq!(enc.flush(), Ok(20));
    enc.push_sample(5).unwrap();
    let len = enc.finish().unwrap();
    // a flushed run is cut in two words: still decodable, though not canonical
    assert_eq!(bits_of(&buf[..len], 25), b(&format!("{ABS5} 100 01 100 00")));
    assert_eq!(decode_all(&buf[..len], 4).unwrap(), rep(5, 4));
}

#[test]
fn worst_case_length_suffices() {
    // alternating extremes: every sample absolute, 15 bits each
    let items: Vec<Item> = (0..100).map(|i| s(if i % 2 == 0 { 2047 } else { -2048 })).collect();
    let (bytes, bits, _) = encode_items(&items);
    assert_eq!(bits, 1500);
    assert_eq!(bytes.len(), max_encoded_len(100));
}
