//! Property tests: decode(encode(x)) == x for random walks with gaps, the crate's bits equal the
//! reference encoder's (canonical coding), the bits do not depend on how the output is cut into
//! buffers, and the decoder never panics on arbitrary bytes.

mod common;

use common::*;
use daspack_sensor::{
    max_encoded_len, DecodeErrorKind, Decoder, EncodeError, Encoder, EncoderState, Event, Item, MIN_BUFFER_LEN,
};
use proptest::prelude::*;

/// A random walk with gaps: segments of repeats (often longer than 256), single steps of one,
/// jumps, no-measurement gaps and the odd reserved event, clamped to the 12-bit range.
fn walk() -> impl Strategy<Value = Vec<Item>> {
    let seg = (0u8..100, 1usize..600, -2048i16..=2047);
    proptest::collection::vec(seg, 0..40).prop_map(|segs| {
        let mut out = Vec::new();
        let mut prev: i16 = 0;
        for (kind, len, v) in segs {
            match kind {
                0..=29 => out.resize(out.len() + len % 300, Item::Sample(prev)),
                30..=59 => {
                    for k in 0..len % 40 {
                        let up = (v as i32 + k as i32).rem_euclid(3) != 0;
                        prev = if up { prev.saturating_add(1).min(2047) } else { prev.saturating_sub(1).max(-2048) };
                        out.push(Item::Sample(prev));
                        if k % 5 == 4 {
                            out.resize(out.len() + v.unsigned_abs() as usize % 20, Item::Sample(prev));
                        }
                    }
                }
                60..=74 => {
                    prev = if kind % 2 == 0 { v } else { [2047, -2048, 0][len % 3] };
                    out.push(Item::Sample(prev));
                }
                75..=89 => out.resize(out.len() + len % 7 + 1, NA),
                90..=93 => out.push(Item::Event(Event::ClockBackwards)),
                94..=96 => out.push(Item::Event(Event::LongTermJitter)),
                _ => out.push(Item::Event(Event::User)),
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn round_trip_and_canonical(items in walk(), chunk in 1usize..700) {
        let (bytes, bits, n) = encode_items(&items);
        prop_assert_eq!(n, items.len() as u64);
        prop_assert_eq!(bytes.len() as u64, bits.div_ceil(8));
        prop_assert!(bytes.len() <= max_encoded_len(items.len()));
        // canonical: same bits as the reference encoder written from the protocol text
        prop_assert_eq!(bits_of(&bytes, bits), reference_bits(&items));

        // iterator, by count and by bit length
        let got = decode_all(&bytes, n).unwrap();
        prop_assert_eq!(&got, &items);
        let got: Vec<Item> = Decoder::with_bit_len(&bytes, bits).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&got, &items);

        // bulk, in chunks of random size
        let mut d = Decoder::new(&bytes, n);
        let mut slots = Vec::new();
        let mut buf = vec![0i16; chunk];
        loop {
            let k = d.decode_into(&mut buf).unwrap();
            if k == 0 { break; }
            slots.extend_from_slice(&buf[..k]);
        }
        d.check_end().unwrap();
        let want: Vec<i16> = items.iter().map(|i| i.to_slot()).collect();
        prop_assert_eq!(&slots, &want);

        // the slot API encodes the same bits
        let mut out = vec![0u8; max_encoded_len(want.len())];
        let e = daspack_sensor::encode(&want, &mut out).unwrap();
        prop_assert_eq!(&out[..e.bytes], &bytes[..]);
        prop_assert_eq!((e.bits, e.items), (bits, n));
    }

    #[test]
    fn bits_do_not_depend_on_buffer_size(items in walk(), size in MIN_BUFFER_LEN..40) {
        let (one, bits, n) = encode_items(&items);
        let mut out = Vec::new();
        let mut buf = vec![0u8; size];
        let mut state = EncoderState::new();
        let mut i = 0;
        let mut done = false;
        for _round in 0..=items.len() + 1 {
            let mut enc = Encoder::resume(&mut buf, state).unwrap();
            while i < items.len() {
                match enc.push(items[i]) {
                    Ok(()) => i += 1,
                    Err(EncodeError::BufferFull { .. }) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            if i == items.len() {
                if let Ok(len) = enc.finish() {
                    prop_assert_eq!((enc.bit_len(), enc.items()), (bits, n));
                    out.extend_from_slice(&buf[..len]);
                    done = true;
                    break;
                }
            }
            let (len, st) = enc.suspend();
            out.extend_from_slice(&buf[..len]);
            state = st;
        }
        prop_assert!(done);
        prop_assert_eq!(out, one);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..64),
        count in 0u64..2000,
        chunk in 1usize..50,
    ) {
        let limit = data.len() as u64 * 8;
        for r in Decoder::new(&data, count) {
            if let Err(e) = r {
                prop_assert!(e.bit_offset <= limit);
            }
        }
        let mut d = Decoder::new(&data, count);
        let mut buf = vec![0i16; chunk];
        let mut total = 0u64;
        loop {
            match d.decode_into(&mut buf) {
                Ok(0) => break,
                Ok(k) => total += k as u64,
                Err(e) => {
                    prop_assert!(e.bit_offset <= limit);
                    prop_assert_ne!(e.kind, DecodeErrorKind::NotAtEnd);
                    break;
                }
            }
        }
        prop_assert!(total <= count);
        let _ = d.check_end();
        let bit_len = count % (limit + 9);
        let _ = Decoder::with_bit_len(&data, bit_len).count();
    }

    #[test]
    fn decoding_after_random_bit_flips_never_panics(items in walk(), flips in proptest::collection::vec(any::<usize>(), 1..4)) {
        let (mut bytes, _, n) = encode_items(&items);
        if bytes.is_empty() { return Ok(()); }
        for f in flips {
            let bit = f % (bytes.len() * 8);
            bytes[bit / 8] ^= 0x80 >> (bit % 8);
        }
        let _ = Decoder::new(&bytes, n).count();
        let mut out = vec![0i16; items.len()];
        let _ = daspack_sensor::decode(&bytes, n, &mut out);
    }
}
