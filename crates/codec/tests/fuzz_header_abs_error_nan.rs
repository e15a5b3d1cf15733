//! Found by the `codec_stream` fuzz target: the header's abs_error field (informational: the quantisation step is
//! what decoding uses) was not validated, so a stream with a NaN or negative abs_error decoded, and its header then
//! compared unequal to itself. The decoder now refuses it as corrupt.

use daspack_codec::{compress, decompress, read_header, ArrayRef, CodecError, Params};

fn with_abs_error(stream: &[u8], value: f64) -> Vec<u8> {
    let mut s = stream.to_vec();
    s[32..40].copy_from_slice(&value.to_le_bytes());
    // Re-seal the header (52 bytes + 8 per tile) so only the field is wrong.
    let ntiles = u32::from_le_bytes(s[48..52].try_into().unwrap()) as usize;
    let end = 52 + 8 * ntiles;
    let crc = crc32fast::hash(&s[..end]);
    s[end..end + 4].copy_from_slice(&crc.to_le_bytes());
    s
}

#[test]
fn nan_negative_or_infinite_abs_error_is_corrupt() {
    let data: Vec<i32> = (0..64 * 8).map(|i| (i * 37 % 101) - 50).collect();
    let packed = compress(ArrayRef::I32(&data), 64, 8, &Params::default()).unwrap();
    assert!(decompress(&with_abs_error(&packed, 0.0), 0).is_ok(), "re-sealing must keep a valid stream valid");
    for bad in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
        let s = with_abs_error(&packed, bad);
        for r in [read_header(&s).map(|_| ()), decompress(&s, 0).map(|_| ())] {
            assert!(
                matches!(r, Err(CodecError::Corrupt { what, offset: 32 }) if what.contains("abs_error")),
                "abs_error {bad}: {r:?}"
            );
        }
    }
}
