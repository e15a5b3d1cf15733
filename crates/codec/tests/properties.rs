//! Property tests: random shapes, dtypes and parameters round trip exactly (or within the bound), and hostile
//! streams give errors, never panics.

use daspack_codec::{compress, decompress, decompress_tile, read_header, ArrayBuf, CodecError, Entropy, Params};
use proptest::prelude::*;

mod common;
use common::max_abs_error;

fn arb_params() -> impl Strategy<Value = Params> {
    let columns = prop::option::of(any::<bool>());
    (0usize..20, 0usize..20, 0u8..3, 0u8..3, 0u8..33, 0u8..4, any::<bool>(), 0usize..3, 0usize..9, columns).prop_map(
        |(bh, bw, lx, lt, lpc_order, lpc_space, auto, threads, segment_rows, columns)| Params {
            block_height: bh,
            block_width: bw,
            lx,
            lt,
            lpc_order,
            lpc_space,
            auto,
            segment_rows,
            entropy: if auto { Entropy::Static } else { Entropy::Adaptive },
            abs_error: 0.0,
            threads,
            columns,
        },
    )
}

/// A random walk in time with a shared component across channels, scaled to `amp`, as `i64`.
fn walk(rows: usize, cols: usize, seed: u64, amp: i64) -> Vec<i64> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut out = vec![0i64; rows * cols];
    let mut common = 0i64;
    for t in 0..rows {
        common += (next() % 7) as i64 - 3;
        for c in 0..cols {
            let prev = if t > 0 { out[(t - 1) * cols + c] } else { 0 };
            let v = prev / 2 + common + (next() % (2 * amp as u64 + 1)) as i64 - amp;
            out[t * cols + c] = v;
        }
    }
    out
}

fn make(dtype: u8, v: &[i64], extreme: bool) -> ArrayBuf {
    let pick = |x: i64, lo: i64, hi: i64, i: usize| {
        if extreme && i.is_multiple_of(13) {
            if i.is_multiple_of(2) {
                lo
            } else {
                hi
            }
        } else {
            x.clamp(lo, hi)
        }
    };
    match dtype {
        0 => ArrayBuf::I16(
            v.iter().enumerate().map(|(i, &x)| pick(x, i16::MIN as i64, i16::MAX as i64, i) as i16).collect(),
        ),
        1 => ArrayBuf::U16(v.iter().enumerate().map(|(i, &x)| pick(x + 30000, 0, 65535, i) as u16).collect()),
        _ => ArrayBuf::I32(
            v.iter().enumerate().map(|(i, &x)| pick(x * 1000, i32::MIN as i64, i32::MAX as i64, i) as i32).collect(),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn integers_round_trip_exactly(rows in 0usize..40, cols in 0usize..40, dtype in 0u8..3, seed: u64,
                                   amp in 0i64..3000, extreme: bool, params in arb_params()) {
        let data = make(dtype, &walk(rows, cols, seed, amp), extreme);
        let packed = compress(data.as_ref(), rows, cols, &params).unwrap();
        let (h, back) = decompress(&packed, 0).unwrap();
        prop_assert_eq!((h.rows as usize, h.cols as usize), (rows, cols));
        prop_assert_eq!(&back, &data);
        // Never expands by more than the headers.
        let raw = data.len() * data.dtype().size();
        prop_assert!(packed.len() <= raw + 56 + 9 * h.tiles.len());
        // Every tile decodes alone to the same values.
        for i in 0..h.tiles.len() {
            let ((r0, c0, tr, tc), tile) = decompress_tile(&packed, i).unwrap();
            let bytes = tile.to_le_bytes();
            let all = back.to_le_bytes();
            let sz = data.dtype().size();
            for r in 0..tr {
                let src = ((r0 + r) * cols + c0) * sz;
                prop_assert_eq!(&bytes[r * tc * sz..(r + 1) * tc * sz], &all[src..src + tc * sz]);
            }
        }
    }

    #[test]
    fn integer_error_bound_holds(rows in 1usize..30, cols in 1usize..30, dtype in 0u8..3, seed: u64,
                                 e in 0u32..50, extreme: bool) {
        let data = make(dtype, &walk(rows, cols, seed, 500), extreme);
        let params = Params { abs_error: e as f64 + 0.5, ..Params::default() };
        let packed = compress(data.as_ref(), rows, cols, &params).unwrap();
        let (_, back) = decompress(&packed, 1).unwrap();
        prop_assert!(max_abs_error(data.as_ref(), back.as_ref()) <= e as f64);
    }

    #[test]
    fn float_error_bound_holds(rows in 1usize..30, cols in 1usize..30, seed: u64, scale_exp in -12i32..12,
                               e_rel in 1e-4f64..1.0, double: bool) {
        let v = walk(rows, cols, seed, 1000);
        let scale = 10f64.powi(scale_exp);
        let e = e_rel * scale * 100.0;
        let data = if double {
            ArrayBuf::F64(v.iter().map(|&x| x as f64 * scale * 0.37).collect())
        } else {
            ArrayBuf::F32(v.iter().map(|&x| (x as f64 * scale * 0.37) as f32).collect())
        };
        let params = Params { abs_error: e, ..Params::default() };
        match compress(data.as_ref(), rows, cols, &params) {
            Ok(packed) => {
                let (_, back) = decompress(&packed, 0).unwrap();
                prop_assert!(max_abs_error(data.as_ref(), back.as_ref()) <= e);
            }
            Err(CodecError::Unrepresentable { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn lossless_floats_round_trip_bit_exactly(rows in 0usize..30, cols in 0usize..30, seed: u64, kind in 0u8..4,
                                              double: bool, specials in 0usize..5, scale_exp in -30i32..30) {
        // kind 0: exact integers, 1: integers times a scale, 2: the same with a few values off by rounding,
        // 3: genuine floats. Specials (NaN with payloads, infinities, -0.0, subnormals) are sprinkled in.
        let v = walk(rows, cols, seed, 2000);
        let scale = 1.7f64 * 2f64.powi(scale_exp);
        let mut xs: Vec<f64> = v.iter().enumerate().map(|(i, &k)| match kind {
            0 => k as f64,
            1 => k as f64 * scale,
            2 => if i % 7 == 0 { k as f64 * scale * (1.0 + 1e-7) } else { k as f64 * scale },
            _ => (k as f64 * 0.001).sin() * scale + (i as f64).sqrt() * 1e-3 * scale,
        }).collect();
        let special = [f64::NAN, -0.0, f64::INFINITY, f64::NEG_INFINITY, 5e-324, f64::from_bits(0x7FF8_0000_0000_BEEF)];
        for j in 0..specials.min(xs.len()) {
            let i = (seed as usize).wrapping_mul(31).wrapping_add(j * 977) % xs.len();
            xs[i] = special[j % special.len()];
        }
        let data = if double {
            ArrayBuf::F64(xs)
        } else {
            let mut f: Vec<f32> = xs.iter().map(|&x| if kind == 1 { (x / scale) as f32 * scale as f32 } else { x as f32 }).collect();
            if let Some(first) = f.first_mut() { if specials > 2 { *first = f32::from_bits(0xFFC0_1234); } }
            ArrayBuf::F32(f)
        };
        let packed = compress(data.as_ref(), rows, cols, &Params::default()).unwrap();
        let (_, back) = decompress(&packed, 0).unwrap();
        prop_assert_eq!(back.to_le_bytes(), data.to_le_bytes());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decompress(&bytes, 1);
        let mut b = bytes.clone();
        if b.len() >= 5 {
            b[..4].copy_from_slice(b"DASP");
            b[4] = 1;
        }
        let _ = decompress(&b, 1);
        let _ = read_header(&b);
    }
}

fn small_stream() -> (ArrayBuf, Vec<u8>) {
    let data = make(2, &walk(37, 11, 5, 300), false);
    let params = Params { block_height: 16, block_width: 5, lx: 1, lt: 1, ..Params::default() };
    (data.clone(), compress(data.as_ref(), 37, 11, &params).unwrap())
}

#[test]
fn every_truncation_is_an_error() {
    let (_, packed) = small_stream();
    for cut in 0..packed.len() {
        assert!(decompress(&packed[..cut], 1).is_err(), "prefix of {cut} bytes decoded");
    }
}

#[test]
fn every_single_byte_flip_is_detected() {
    let (_, packed) = small_stream();
    for i in 0..packed.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut b = packed.clone();
            b[i] ^= mask;
            assert!(decompress(&b, 1).is_err(), "flip {mask:#x} at byte {i} went unnoticed");
        }
    }
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let (_, packed) = small_stream();
    // rows = 2^40: the claimed output is far beyond what the input can justify.
    let mut b = packed.clone();
    b[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(decompress(&b, 1), Err(CodecError::TooLarge { .. })));
    // A tile count that does not match the shape.
    let mut b = packed.clone();
    b[48..52].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decompress(&b, 1).is_err());
    // Unknown version and magic.
    let mut b = packed.clone();
    b[4] = 99;
    assert_eq!(decompress(&b, 1).unwrap_err(), CodecError::UnsupportedVersion(99));
    assert_eq!(decompress(b"nope", 1).unwrap_err(), CodecError::BadMagic);
}

#[test]
fn lossless_values_outside_the_element_type_are_corrupt() {
    // An int32 stream relabelled int16 (header CRC recomputed): its predictive tiles decode to values above 32767,
    // which no int16 stream holds.
    let v: Vec<i32> = (0..64 * 16).map(|i| 30000 + (i * 37 % 5000)).collect();
    let params = Params { threads: 1, ..Default::default() };
    let mut b = compress(ArrayBuf::I32(v).as_ref(), 64, 16, &params).unwrap();
    assert_eq!(b[5], 3);
    b[5] = 1;
    let n = u32::from_le_bytes(b[48..52].try_into().unwrap()) as usize;
    let end = 52 + 8 * n;
    let crc = crc32fast::hash(&b[..end]);
    b[end..end + 4].copy_from_slice(&crc.to_le_bytes());
    match decompress(&b, 1) {
        Err(CodecError::Corrupt { what, .. }) => assert_eq!(what, "decoded value outside the element type's range"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_finite_floats_are_rejected_with_their_index() {
    let data = ArrayBuf::F32(vec![1.0, 2.0, f32::NAN, 4.0]);
    let err = compress(data.as_ref(), 2, 2, &Params { abs_error: 0.1, ..Params::default() }).unwrap_err();
    assert!(matches!(err, CodecError::NonFinite { index: 2, .. }), "{err}");
    let data = ArrayBuf::F64(vec![1.0, f64::INFINITY]);
    let err = compress(data.as_ref(), 1, 2, &Params { abs_error: 0.1, ..Params::default() }).unwrap_err();
    assert!(matches!(err, CodecError::NonFinite { index: 1, .. }), "{err}");
}

#[test]
fn bad_params_are_clear_errors() {
    let ints = ArrayBuf::I32(vec![1; 4]);
    assert!(matches!(compress(ints.as_ref(), 3, 2, &Params::default()), Err(CodecError::ShapeMismatch { .. })));
    let bad = Params { lpc_order: 33, ..Params::default() };
    assert!(matches!(compress(ints.as_ref(), 2, 2, &bad), Err(CodecError::InvalidParams(_))));
    let bad = Params { abs_error: f64::NAN, ..Params::default() };
    assert!(matches!(compress(ints.as_ref(), 2, 2, &bad), Err(CodecError::InvalidParams(_))));
}

#[test]
fn degenerate_shapes_round_trip() {
    for (rows, cols) in [(0, 0), (0, 5), (5, 0), (1, 1), (1, 1000), (1000, 1), (2, 2)] {
        let data = make(2, &walk(rows, cols, 9, 100), true);
        let packed = compress(data.as_ref(), rows, cols, &Params::default()).unwrap();
        let (h, back) = decompress(&packed, 0).unwrap();
        assert_eq!((h.rows, h.cols), (rows as u64, cols as u64));
        assert_eq!(back, data);
    }
}

/// Decoded tiles reach their place in the output three ways: copied by the workers a band of tile rows at a time
/// (here 16-column tiles make more row pieces than one band holds, and the last band is partial), in one band
/// (the default tiles), or by the calling thread (one-channel tiles). Every thread count gives the input back.
#[test]
fn tiles_are_placed_in_bands_and_by_the_caller() {
    for (rows, cols, bh, bw) in [(3000, 640, 64, 16), (3000, 640, 0, 0), (3000, 24, 500, 1)] {
        let data = make(0, &walk(rows, cols, 7, 300), false);
        let params = Params { block_height: bh, block_width: bw, threads: 2, ..Params::default() };
        let packed = compress(data.as_ref(), rows, cols, &params).unwrap();
        for threads in [1, 2, 3] {
            let (_, back) = decompress(&packed, threads).unwrap();
            assert!(back == data, "{rows} x {cols} in {bh} x {bw} tiles, {threads} threads");
        }
    }
}

/// Arrays of 8 to 64 channels are tried as 2-D planes and with each channel predicted apart (tile method 4), on
/// the whole first tile row or (10^4 rows) on a band of it. Channels with opposite dynamics (one predictor cannot
/// serve both) must be predicted apart; channels that share their signal (the neighbour predicts it) must stay 2-D.
/// Tiles are full width either way, and both round trip.
#[test]
fn narrow_arrays_predict_channels_apart_when_they_differ() {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move |amp: i64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % (2 * amp as u64 + 1)) as i64 - amp
    };
    let cols = 12;
    for rows in [3000usize, 10_000] {
        // Channel c follows x_t = +-0.9 x_{t-1} + noise, the sign alternating from channel to channel.
        let mut differ = vec![0i64; rows * cols];
        // Every channel is one random walk plus a little noise of its own.
        let mut shared = vec![0i64; rows * cols];
        let mut walk = 0i64;
        for t in 1..rows {
            walk += noise(500);
            for c in 0..cols {
                let prev = differ[(t - 1) * cols + c];
                differ[t * cols + c] = if c % 2 == 0 { prev * 9 / 10 } else { -prev * 9 / 10 } + noise(2000);
                shared[t * cols + c] = walk + noise(3);
            }
        }
        // (Tile method 4 codes by columns, method 2 in 2-D.)
        for (data, want_method) in [(differ, 4u8), (shared, 2)] {
            let data = ArrayBuf::I32(data.iter().map(|&v| v as i32).collect());
            let packed = compress(data.as_ref(), rows, cols, &Params { threads: 2, ..Params::default() }).unwrap();
            let h = read_header(&packed).unwrap();
            let method = packed[h.tiles[0].offset as usize];
            assert_eq!((method, h.block_width), (want_method, cols as u32), "{rows} rows");
            assert!(decompress(&packed, 1).unwrap().1 == data, "{rows} rows");
        }
    }
}
