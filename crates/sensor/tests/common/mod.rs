//! Helpers shared by the integration tests: a reference encoder written from the protocol table
//! as bit strings (independent of the crate's tables), and bit-string conversions.
#![allow(dead_code)]

use daspack_sensor::{max_encoded_len, Encoder, Event, Item};

/// The zero-run words of FORMATS.md, copied as written there: index n - 1 codes n samples.
pub const RUN_WORDS: [&str; 16] = [
    "100 00",
    "100 01",
    "111 00",
    "111 01",
    "100 110",
    "100 100",
    "100 101",
    "100 111",
    "111 100",
    "111 101",
    "111 1100",
    "111 1101",
    "111 11100",
    "111 11101",
    "111 11111",
    "111 11110",
];

/// Removes the spaces of a bit string written for readability.
pub fn b(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The first `nbits` bits of `bytes`, MSB first, as '0'/'1'.
pub fn bits_of(bytes: &[u8], nbits: u64) -> String {
    (0..nbits).map(|i| if bytes[(i / 8) as usize] >> (7 - i % 8) & 1 == 1 { '1' } else { '0' }).collect()
}

/// Packs a bit string MSB first, zero padded.
pub fn bytes_of(bits: &str) -> Vec<u8> {
    let bits = b(bits);
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, c) in bits.chars().enumerate() {
        if c == '1' {
            out[i / 8] |= 0x80 >> (i % 8);
        }
    }
    out
}

fn run_bits(mut r: u32, out: &mut String) {
    while r >= 17 {
        let n = r.min(256);
        out.push_str(&format!("101{:08b}", n - 1));
        r -= n;
    }
    if r > 0 {
        out.push_str(&b(RUN_WORDS[r as usize - 1]));
    }
}

/// The canonical bits of `items`, following the prose of the protocol literally.
pub fn reference_bits(items: &[Item]) -> String {
    let mut out = String::new();
    let mut prev: Option<i16> = None;
    let mut run = 0u32;
    for &it in items {
        match it {
            Item::Sample(v) => {
                assert!((-2048..=2047).contains(&v));
                if prev == Some(v) {
                    run += 1;
                    continue;
                }
                run_bits(run, &mut out);
                run = 0;
                match prev.map(|p| v as i32 - p as i32) {
                    Some(1) => out.push_str("00"),
                    Some(-1) => out.push_str("01"),
                    _ => out.push_str(&format!("110{:012b}", v as u16 & 0xfff)),
                }
                prev = Some(v);
            }
            Item::Event(e) => {
                run_bits(run, &mut out);
                run = 0;
                out.push_str(&format!("101{:08b}", e as u8));
            }
        }
    }
    run_bits(run, &mut out);
    out
}

/// Encodes with the crate in one buffer: (bytes, bits, items).
pub fn encode_items(items: &[Item]) -> (Vec<u8>, u64, u64) {
    let mut buf = vec![0u8; max_encoded_len(items.len())];
    let mut enc = Encoder::new(&mut buf);
    for &it in items {
        enc.push(it).unwrap();
    }
    let len = enc.finish().unwrap();
    let bits = enc.bit_len();
    let n = enc.items();
    buf.truncate(len);
    (buf, bits, n)
}

/// The crate's bits for `items` as a string.
pub fn crate_bits(items: &[Item]) -> String {
    let (bytes, bits, _) = encode_items(items);
    bits_of(&bytes, bits)
}

pub fn s(v: i16) -> Item {
    Item::Sample(v)
}

pub const NA: Item = Item::Event(Event::NoMeasurement);

/// `n` copies of sample `v`.
pub fn rep(v: i16, n: usize) -> Vec<Item> {
    vec![Item::Sample(v); n]
}

/// Decodes all items by iterator with the count.
pub fn decode_all(bytes: &[u8], count: u64) -> Result<Vec<Item>, daspack_sensor::DecodeError> {
    daspack_sensor::Decoder::new(bytes, count).collect()
}
