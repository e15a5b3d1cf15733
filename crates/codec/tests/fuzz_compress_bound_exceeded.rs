//! Found by the `codec_roundtrip` fuzz target: `compress` can produce a stream larger than `compress_bound`, the size
//! the C ABI's `daspack_compress_bound` tells callers to allocate (they then get DASPACK_ERROR_BUFFER_TOO_SMALL).
//! Two causes: the bound counts `n / tile_area` tiles, fewer than a grid with partial edge tiles has, and it allows
//! 4 bytes per float32 element, less than lossless float tiles (mode 2: exceptions plus two integer planes) can
//! take. Fixed: the bound takes the shape and parameters and counts the real tile grid, and a mode-2 tile that the
//! scale does not serve falls back to the bit forms (raw bytes plus a few), so no tile grows.

use daspack_codec::{compress, compress_bound, decompress, read_header, ArrayRef, DType, Mode, Params};

fn lcg(seed: u64) -> impl FnMut() -> u32 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 32) as u32
    }
}

#[test]
fn partial_edge_tiles_fit_the_bound() {
    // 3 x 3 incompressible int32 in 2 x 2 tiles: 4 raw tiles, the bound counts 3.
    let mut next = lcg(1);
    let data: Vec<i32> = (0..9).map(|_| next() as i32).collect();
    let p = Params { block_height: 2, block_width: 2, ..Params::default() };
    let packed = compress(ArrayRef::I32(&data), 3, 3, &p).unwrap();
    assert!(packed.len() <= compress_bound(DType::I32, 3, 3, &p), "{} bytes", packed.len());
}

#[test]
fn lossless_float32_with_many_exceptions_fits_the_bound() {
    // Half small integers (scale 1.0 fits), half arbitrary bits (exceptions): mode 2.
    let (rows, cols) = (60, 56);
    let mut next = lcg(7);
    let data: Vec<f32> =
        (0..rows * cols).map(|i| if i % 2 == 0 { (i % 100) as f32 } else { f32::from_bits(next()) }).collect();
    let p = Params::default();
    let packed = compress(ArrayRef::F32(&data), rows, cols, &p).unwrap();
    assert!(matches!(read_header(&packed).unwrap().mode, Mode::FloatScaled { .. }));
    let bound = compress_bound(DType::F32, rows, cols, &p);
    assert!(packed.len() <= bound, "{} bytes, bound {bound}", packed.len());
    let expected: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(decompress(&packed, 1).unwrap().1.to_le_bytes(), expected);
}
