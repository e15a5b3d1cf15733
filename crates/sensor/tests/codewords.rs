//! One test per code word of the protocol v0.2 table (encode and decode, exact bits), the events,
//! the zero-run boundaries 16/17/256/257 and the absolute extremes.

mod common;

use common::*;
use daspack_sensor::{
    code, DecodeErrorKind, Decoder, EncodeError, Encoder, Event, Item, SLOT_CLOCK_BACKWARDS, SLOT_LONG_TERM_JITTER,
    SLOT_NO_MEASUREMENT, SLOT_USER_EVENT,
};

const ABS5: &str = "110 000000000101";

/// Encodes `items`, checks the exact bits, decodes them back by count and by bit length.
fn check(items: &[Item], expected: &str) {
    let expected = b(expected);
    let (bytes, bits, n) = encode_items(items);
    assert_eq!(bits_of(&bytes, bits), expected, "items {items:?}");
    assert_eq!(bits as usize, expected.len());
    assert_eq!(bytes.len(), expected.len().div_ceil(8));
    assert_eq!(n, items.len() as u64);
    assert_eq!(reference_bits(items), expected, "reference encoder disagrees");
    // padding is zero
    let pad = bytes.len() * 8 - expected.len();
    if pad > 0 {
        assert_eq!(bytes[bytes.len() - 1] & ((1u8 << pad) - 1), 0);
    }
    let d = Decoder::new(&bytes, n);
    let got: Vec<Item> = d.collect::<Result<_, _>>().unwrap();
    assert_eq!(got, items);
    let got: Vec<Item> = Decoder::with_bit_len(&bytes, bits).collect::<Result<_, _>>().unwrap();
    assert_eq!(got, items);
    // and from the spec's bits packed by hand
    let got = decode_all(&bytes_of(&expected), n).unwrap();
    assert_eq!(got, items);
    let mut d = Decoder::new(&bytes, n);
    let mut slots = vec![0i16; items.len() + 3];
    assert_eq!(d.decode_into(&mut slots).unwrap(), items.len());
    let want: Vec<i16> = items.iter().map(|i| i.to_slot()).collect();
    assert_eq!(&slots[..items.len()], &want[..]);
    d.check_end().unwrap();
}

#[test]
fn word_00_plus_one() {
    check(&[s(5), s(6)], &format!("{ABS5} 00"));
}

#[test]
fn word_01_minus_one() {
    check(&[s(5), s(4)], &format!("{ABS5} 01"));
}

fn check_run(n: usize, word: &str) {
    let mut items = vec![s(5)];
    items.extend(rep(5, n));
    check(&items, &format!("{ABS5} {word}"));
}

#[test]
fn word_10000_run_1() {
    check_run(1, "100 00");
}
#[test]
fn word_10001_run_2() {
    check_run(2, "100 01");
}
#[test]
fn word_11100_run_3() {
    check_run(3, "111 00");
}
#[test]
fn word_11101_run_4() {
    check_run(4, "111 01");
}
#[test]
fn word_100110_run_5() {
    check_run(5, "100 110");
}
#[test]
fn word_100100_run_6() {
    check_run(6, "100 100");
}
#[test]
fn word_100101_run_7() {
    check_run(7, "100 101");
}
#[test]
fn word_100111_run_8() {
    check_run(8, "100 111");
}
#[test]
fn word_111100_run_9() {
    check_run(9, "111 100");
}
#[test]
fn word_111101_run_10() {
    check_run(10, "111 101");
}
#[test]
fn word_1111100_run_11() {
    check_run(11, "111 1100");
}
#[test]
fn word_1111101_run_12() {
    check_run(12, "111 1101");
}
#[test]
fn word_11111100_run_13() {
    check_run(13, "111 11100");
}
#[test]
fn word_11111101_run_14() {
    check_run(14, "111 11101");
}
#[test]
fn word_11111111_run_15() {
    check_run(15, "111 11111");
}
#[test]
fn word_11111110_run_16() {
    check_run(16, "111 11110");
}

#[test]
fn word_101_r_long_runs() {
    check_run(17, "101 00010000");
    check_run(18, "101 00010001");
    check_run(100, "101 01100011");
    check_run(255, "101 11111110");
    check_run(256, "101 11111111");
}

#[test]
fn run_boundaries_16_17_256_257() {
    check_run(16, "111 11110");
    check_run(17, "101 00010000");
    check_run(256, "101 11111111");
    check_run(257, "101 11111111 100 00");
    check_run(258, "101 11111111 100 01");
    check_run(272, "101 11111111 111 11110");
    check_run(273, "101 11111111 101 00010000");
    check_run(512, "101 11111111 101 11111111");
    check_run(513, "101 11111111 101 11111111 100 00");
    // a run ended by a change, not by the end of the stream
    let mut items = vec![s(5)];
    items.extend(rep(5, 257));
    items.push(s(6));
    check(&items, &format!("{ABS5} 101 11111111 100 00 00"));
}

#[test]
fn events_each_word() {
    check(&[NA], "101 00000010");
    check(&[Item::Event(Event::ClockBackwards)], "101 00000000");
    check(&[Item::Event(Event::LongTermJitter)], "101 00000001");
    check(&[Item::Event(Event::User)], "101 00000011");
}

#[test]
fn no_measurement_keeps_the_reference() {
    // 6 after a gap is coded against 5, the last measured sample
    check(&[s(5), NA, s(6)], &format!("{ABS5} 101 00000010 00"));
    check(&[s(5), NA, NA, s(5)], &format!("{ABS5} 101 00000010 101 00000010 100 00"));
    // a pending run is written before the event word
    check(&[s(5), s(5), s(5), NA, s(5)], &format!("{ABS5} 100 01 101 00000010 100 00"));
    // reserved events behave the same way
    check(&[s(5), s(5), Item::Event(Event::User), s(4)], &format!("{ABS5} 100 00 101 00000011 01"));
}

#[test]
fn gap_before_the_first_sample() {
    // no sample measured yet: the first one is absolute
    check(&[NA, NA, s(5), s(5)], &format!("101 00000010 101 00000010 {ABS5} 100 00"));
}

#[test]
fn absolute_extremes() {
    check(&[s(2047)], "110 011111111111");
    check(&[s(-2048)], "110 100000000000");
    check(&[s(0)], "110 000000000000");
    check(&[s(-1)], "110 111111111111");
    // no wrap-around: 2047 -> -2048 is a change of -4095, hence absolute
    check(&[s(2047), s(-2048)], "110 011111111111 110 100000000000");
    check(&[s(-2048), s(2047)], "110 100000000000 110 011111111111");
    // steps of one at the edges
    check(&[s(2046), s(2047)], "110 011111111110 00");
    check(&[s(-2047), s(-2048)], "110 100000000001 01");
    // any other change is absolute
    check(&[s(5), s(7)], &format!("{ABS5} 110 000000000111"));
    check(&[s(5), s(3)], &format!("{ABS5} 110 000000000011"));
}

#[test]
fn out_of_range_samples_are_rejected_not_truncated() {
    let mut buf = [0u8; 16];
    let mut enc = Encoder::new(&mut buf);
    enc.push_sample(5).unwrap();
    for v in [2048, -2049, i16::MAX, i16::MIN, 4095] {
        assert_eq!(enc.push_sample(v), Err(EncodeError::OutOfRange { value: v }));
    }
    assert_eq!(enc.items(), 1);
    assert_eq!(enc.bit_len(), 15);
    enc.push_sample(6).unwrap();
    let len = enc.finish().unwrap();
    assert_eq!(bits_of(&buf[..len], 17), b(&format!("{ABS5} 00")));
    // in the bulk path too: slots that are neither samples nor event sentinels
    let mut buf = [0u8; 16];
    let mut enc = Encoder::new(&mut buf);
    let err = enc.push_slots(&[1, 2, 3000, 4]).unwrap_err();
    assert_eq!(err.consumed, 2);
    assert_eq!(err.error, EncodeError::OutOfRange { value: 3000 });
    assert_eq!(enc.items(), 2);
    let err = enc.push_slots(&[i16::MIN + 4]).unwrap_err();
    assert_eq!(err.consumed, 0);
}

#[test]
fn slots_map_events_to_sentinels() {
    let slots = [SLOT_NO_MEASUREMENT, 7, SLOT_CLOCK_BACKWARDS, SLOT_LONG_TERM_JITTER, SLOT_USER_EVENT, 8];
    let mut buf = [0u8; 32];
    let enc = daspack_sensor::encode(&slots, &mut buf).unwrap();
    assert_eq!(enc.items, 6);
    let items = decode_all(&buf[..enc.bytes], enc.items).unwrap();
    assert_eq!(
        items,
        vec![
            NA,
            s(7),
            Item::Event(Event::ClockBackwards),
            Item::Event(Event::LongTermJitter),
            Item::Event(Event::User),
            s(8)
        ]
    );
    let mut out = [0i16; 6];
    assert_eq!(daspack_sensor::decode(&buf[..enc.bytes], 6, &mut out), Ok(6));
    assert_eq!(out, slots);
    for slot in slots {
        assert_eq!(Item::from_slot(slot).unwrap().to_slot(), slot);
    }
    assert_eq!(Item::from_slot(2048), None);
    assert_eq!(Item::from_slot(i16::MIN + 4), None);
}

#[test]
fn unassigned_escape_words_are_invalid() {
    for r in 4u32..16 {
        // after a sample, at bit 15
        let bits = format!("{ABS5} 101 {r:08b}");
        let bytes = bytes_of(&bits);
        let err = decode_all(&bytes, 2).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::InvalidCode, "r = {r}");
        assert_eq!(err.bit_offset, 15);
        // as the first word
        let err = decode_all(&bytes_of(&format!("101 {r:08b}")), 1).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::InvalidCode);
        assert_eq!(err.bit_offset, 0);
    }
}

#[test]
fn code_constants_match_the_table() {
    for n in 1..=16u32 {
        let (w, l) = code::run_word(n);
        assert_eq!(format!("{:0width$b}", w, width = l as usize), b(RUN_WORDS[n as usize - 1]));
    }
    assert_eq!(code::run_word(0), (0, 0));
    assert_eq!(code::run_word(257), (0, 0));
    assert_eq!(code::run_word(17), (0b101_0001_0000, 11));
}
