//! The array codec's stream decoder on hostile bytes: `read_header`, `decompress`, `decompress_tile` and
//! `float_exceptions` never panic, and a decoded array never exceeds the format's expansion limit
//! (`MAX_EXPANSION` output bytes per input byte). Each input is decoded as given, then again with its checksums
//! and last tile length fixed up (fuzz/src/lib.rs), so mutations reach the tile decoders.
#![no_main]

use daspack_codec::{decompress, decompress_tile, float_exceptions, read_header};
use libfuzzer_sys::fuzz_target;

/// docs/format.md and crates/codec/src/format.rs: `MAX_EXPANSION`.
const MAX_EXPANSION: usize = 1 << 20;
/// Largest array the target decodes whole: a stream may claim up to 2^20 output bytes per input byte, more than the
/// fuzzer's memory limit allows for its longer inputs, so larger claims only have their header and one tile decoded
/// (the limit itself is tested in crates/codec/tests/expansion_bound.rs and fuzz_shape_size_overflow.rs).
const MAX_OUT: u128 = 64 << 20;

fn check(stream: &[u8]) {
    let header = read_header(stream);
    let _ = float_exceptions(stream);
    if let Ok(h) = &header {
        if h.rows as u128 * h.cols as u128 * h.dtype.size() as u128 > MAX_OUT {
            let _ = decompress_tile(stream, 0);
            return;
        }
    }
    match decompress(stream, 0) {
        Ok((h, array)) => {
            // Compared as text: the header's abs_error is informational and may be NaN.
            assert_eq!(format!("{h:?}"), format!("{:?}", header.as_ref().expect("read_header of a decodable stream")));
            assert_eq!(array.len() as u128, h.rows as u128 * h.cols as u128);
            assert_eq!(array.dtype(), h.dtype);
            assert!(array.len() * h.dtype.size() <= MAX_EXPANSION * stream.len(), "output beyond MAX_EXPANSION");
            // Every tile decodes alone to the same elements.
            if let Some(last) = h.tiles.len().checked_sub(1) {
                let whole = array.to_le_bytes();
                for t in [0, last] {
                    let ((r0, c0, tr, tc), tile) = decompress_tile(stream, t).expect("a tile of a valid stream");
                    let part = tile.to_le_bytes();
                    let size = h.dtype.size();
                    for r in 0..tr {
                        let at = ((r0 + r) * h.cols as usize + c0) * size;
                        assert_eq!(&whole[at..at + tc * size], &part[r * tc * size..(r + 1) * tc * size]);
                    }
                }
            }
        }
        Err(_) => {
            if let Ok(h) = header {
                let _ = decompress_tile(stream, h.tiles.len().saturating_sub(1));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(fixed) = daspack_fuzz::fix_codec_checksums(data) {
        if fixed != data {
            check(&fixed);
        }
    }
});
