//! Found by the `codec_roundtrip` fuzz target: an all-zero int32 4096 x 1024 array compressed to 252 bytes, 66,576
//! output bytes per input byte, beyond the 65,536 the decoder accepted, so the decoder refused a stream the encoder
//! had just written. The limit is now 2^20 with tiles of at most 2^22 samples; these tests compress the most
//! compressible arrays there are (constant) at the largest tile for every dtype, mode and coder, and check that the
//! stream stays within `MAX_EXPANSION` and decodes.

use daspack_codec::{compress, decompress, ArrayBuf, ArrayRef, Entropy, Params, MAX_EXPANSION, MAX_TILE_AREA};

fn check(data: ArrayRef<'_>, rows: usize, cols: usize, p: &Params) {
    let packed = compress(data, rows, cols, p).unwrap();
    let bytes = (rows * cols * data.dtype().size()) as u128;
    assert!(
        bytes <= packed.len() as u128 * MAX_EXPANSION,
        "{:?} {rows} x {cols} abs_error {}: {} bytes for {bytes}",
        data.dtype(),
        p.abs_error,
        packed.len()
    );
    let (_, out) = decompress(&packed, 0).unwrap();
    let expected = match data {
        ArrayRef::I16(a) => ArrayBuf::I16(a.to_vec()),
        ArrayRef::U16(a) => ArrayBuf::U16(a.to_vec()),
        ArrayRef::I32(a) => ArrayBuf::I32(a.to_vec()),
        ArrayRef::F32(a) => ArrayBuf::F32(a.to_vec()),
        ArrayRef::F64(a) => ArrayBuf::F64(a.to_vec()),
    };
    if p.abs_error == 0.0 {
        assert!(out == expected, "{:?} constant array does not round-trip", data.dtype());
    }
}

#[test]
fn constant_arrays_at_the_largest_tile_stay_within_max_expansion() {
    let n = MAX_TILE_AREA;
    // One tile of the largest area in three shapes: wide, one long channel, one long row. The static coder writes
    // the smallest constant tiles (about 90 bytes for 2^22 samples, 3x below the limit for float64).
    for (rows, cols) in [(n / 1024, 1024), (n, 1), (1, n)] {
        let p = Params { block_height: rows, block_width: cols, entropy: Entropy::Static, ..Params::default() };
        for value in [0i32, -7] {
            check(ArrayRef::I32(&vec![value; n]), rows, cols, &p);
            check(ArrayRef::I32(&vec![value; n]), rows, cols, &Params { abs_error: 3.0, ..p.clone() });
            check(ArrayRef::I16(&vec![value as i16; n]), rows, cols, &p);
            check(ArrayRef::U16(&vec![value as u16; n]), rows, cols, &p);
            // Lossless floats: exact integers (mode 2), then a non-integer; and fixed accuracy (mode 1).
            for v in [value as f64, value as f64 * 0.1 + 0.3] {
                check(ArrayRef::F64(&vec![v; n]), rows, cols, &p);
                check(ArrayRef::F32(&vec![v as f32; n]), rows, cols, &p);
            }
            check(ArrayRef::F64(&vec![value as f64; n]), rows, cols, &Params { abs_error: 1e-3, ..p.clone() });
            check(ArrayRef::F32(&vec![value as f32; n]), rows, cols, &Params { abs_error: 1e-3, ..p.clone() });
        }
    }
    // The adaptive coder spends at least ~0.004 bits per sample: larger streams, checked once per type.
    let (rows, cols) = (n / 1024, 1024);
    let p = Params { block_height: rows, block_width: cols, entropy: Entropy::Adaptive, ..Params::default() };
    check(ArrayRef::I32(&vec![0; n]), rows, cols, &p);
    check(ArrayRef::F64(&vec![0.0; n]), rows, cols, &p);
}

#[test]
fn tiles_above_the_largest_area_are_refused() {
    let p = Params { block_height: MAX_TILE_AREA + 1, block_width: 1, ..Params::default() };
    let data = vec![0i32; MAX_TILE_AREA + 1];
    assert!(compress(ArrayRef::I32(&data), MAX_TILE_AREA + 1, 1, &p).is_err());
}
