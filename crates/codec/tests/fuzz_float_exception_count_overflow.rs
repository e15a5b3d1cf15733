//! Found by the `codec_stream` fuzz target: `float_exceptions` summed the exception counts of a lossless float
//! stream's tiles without checking them, so two tiles claiming 2^63 exceptions each overflowed the sum (a panic
//! with overflow checks, a wrapped total without). A tile now may not claim more exceptions than it has elements,
//! as the tile decoder already required.

use daspack_codec::{decompress, float_exceptions, read_header, CodecError, Mode};

/// A float32 stream in mode 2 (scaled integers, scale 1.0) of 2 x 1 elements in two 1 x 1 tiles, whose tile
/// payloads are the given bytes; the checksums are correct.
fn stream(tiles: &[&[u8]]) -> Vec<u8> {
    let mut s = b"DASP".to_vec();
    s.extend_from_slice(&[1, 4, 2, 0]); // version, float32, mode 2, reserved
    s.extend_from_slice(&(tiles.len() as u64).to_le_bytes()); // rows
    s.extend_from_slice(&1u64.to_le_bytes()); // cols
    s.extend_from_slice(&1u32.to_le_bytes()); // block height
    s.extend_from_slice(&1u32.to_le_bytes()); // block width
    s.extend_from_slice(&0f64.to_le_bytes()); // abs_error
    s.extend_from_slice(&1f64.to_le_bytes()); // scale
    s.extend_from_slice(&(tiles.len() as u32).to_le_bytes());
    for t in tiles {
        s.extend_from_slice(&(t.len() as u32).to_le_bytes());
        s.extend_from_slice(&crc32fast::hash(t).to_le_bytes());
    }
    let crc = crc32fast::hash(&s);
    s.extend_from_slice(&crc.to_le_bytes());
    for t in tiles {
        s.extend_from_slice(t);
    }
    s
}

/// A scaled-form tile (form byte 0) claiming 2^63 exceptions (LEB128: nine continuation bytes, then 1).
const TWO_POW_63: [u8; 11] = [0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];

#[test]
fn exception_counts_summing_past_u64_are_corrupt() {
    let s = stream(&[&TWO_POW_63, &TWO_POW_63]);
    assert!(matches!(read_header(&s).unwrap().mode, Mode::FloatScaled { .. }));
    assert!(
        matches!(float_exceptions(&s), Err(CodecError::Corrupt { what: "exception count", .. })),
        "{:?}",
        float_exceptions(&s)
    );
    assert!(matches!(decompress(&s, 1), Err(CodecError::Corrupt { .. })));
}

#[test]
fn more_exceptions_than_elements_is_corrupt() {
    // One tile of one element claiming two exceptions.
    let s = stream(&[&[0, 2], &[0, 0]]);
    assert!(matches!(float_exceptions(&s), Err(CodecError::Corrupt { what: "exception count", .. })));
}
