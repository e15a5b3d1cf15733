//! The sensor decoder (protocol v0.2) on hostile bytes. Input: item count (u32 LE), a chunk size byte, then the
//! stream. The iterator, `decode_into` in chunks and `decode` must agree item for item and on the error; the
//! bit-length mode must not panic; whatever decodes re-encodes and decodes back to the same slots.
#![no_main]

use daspack_fuzz::Bytes;
use daspack_sensor::{decode, encode, max_encoded_len, Decoder};
use libfuzzer_sys::fuzz_target;

/// Items decoded at most per input (a zero-run word of 11 bits covers 256 items).
const MAX_ITEMS: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let count = b.u32() as u64;
    let chunk = (b.u8() % 17) as usize + 1;
    let stream = b.rest();

    // One item at a time.
    let mut it = Decoder::new(stream, count);
    let mut items = Vec::new();
    let mut it_error = None;
    for r in it.by_ref().take(MAX_ITEMS) {
        match r {
            Ok(item) => items.push(item.to_slot()),
            Err(e) => {
                it_error = Some(e);
                break;
            }
        }
    }
    assert!(items.len() as u64 <= count);
    let truncated_by_us = items.len() == MAX_ITEMS;
    if it_error.is_none() && !truncated_by_us {
        assert_eq!(it.items_left(), Some(0));
        assert_eq!(it.items_decoded(), count);
        let _ = it.check_end();
    }

    // In chunks.
    let mut d = Decoder::new(stream, count);
    let mut slots = Vec::new();
    let mut buf = vec![0i16; chunk];
    let mut bulk_error = None;
    while slots.len() < items.len() + 1 && slots.len() < MAX_ITEMS {
        match d.decode_into(&mut buf) {
            Ok(0) => break,
            Ok(n) => slots.extend_from_slice(&buf[..n]),
            Err(e) => {
                bulk_error = Some(e);
                break;
            }
        }
    }
    if !truncated_by_us {
        assert_eq!(slots, items, "decode_into and the iterator disagree");
        assert_eq!(bulk_error, it_error, "decode_into and the iterator report different errors");
        assert_eq!(d.check_end(), it.check_end());
        // The one-call form.
        let mut out = vec![0i16; items.len()];
        match decode(stream, count, &mut out) {
            Ok(n) => {
                assert_eq!(n, items.len());
                assert_eq!(out, items);
            }
            Err(e) => assert_eq!(Some(e), it_error),
        }
    }

    // Bit-length mode on the same bytes.
    let bit_len = count % (stream.len() as u64 * 8 + 9);
    let mut bl = Decoder::with_bit_len(stream, bit_len);
    let mut n = 0;
    while let Some(r) = bl.next() {
        n += 1;
        if r.is_err() || n >= MAX_ITEMS {
            break;
        }
    }
    let _ = bl.check_end();

    // Whatever decoded re-encodes canonically and decodes back.
    if !items.is_empty() {
        let mut out = vec![0u8; max_encoded_len(items.len())];
        let enc = encode(&items, &mut out).expect("decoded slots are valid slots");
        assert_eq!(enc.items, items.len() as u64);
        let mut back = vec![0i16; items.len()];
        assert_eq!(decode(&out[..enc.bytes], enc.items, &mut back), Ok(items.len()));
        assert_eq!(back, items);
    }
});
