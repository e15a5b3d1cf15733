//! Array codec round trips: arbitrary small arrays (up to 64 x 64) of every dtype with arbitrary parameters.
//! Lossless modes must give back every bit; fixed accuracy must stay within the bound; every tile must decode
//! alone to its part of the array; the stream must fit `compress_bound`. The only errors allowed are invalid
//! parameters and, for floats with an error bound, values that bound cannot represent.
#![no_main]

use daspack_codec::{
    compress, compress_bound, decompress, decompress_tile, ArrayBuf, CodecError, DType, Entropy, Params,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

/// The stream must fit `compress_bound`, the size C callers allocate (regression:
/// crates/codec/tests/fuzz_compress_bound_exceeded.rs).
const CHECK_COMPRESS_BOUND: bool = true;

#[derive(Arbitrary, Debug)]
enum Bound {
    Lossless,
    /// An integer bound.
    Int(u16),
    /// A small fractional bound, `a / (b + 1)`.
    Frac(u8, u8),
    /// Any f64 (negative, NaN and infinite ones are invalid parameters).
    Bits(u64),
}

#[derive(Arbitrary, Debug)]
enum Values {
    /// Element bits straight from the input (cycled).
    Raw(Vec<u8>),
    /// A random walk (cycled steps) times `2^shift`, clamped to the element type.
    Walk { start: i32, steps: Vec<i8>, shift: u8 },
    /// Floats: a walk times a scale (exercises the scaled lossless mode); integers: as `Walk`.
    Scaled { steps: Vec<i8>, scale: u64 },
}

#[derive(Arbitrary, Debug)]
struct Case {
    dtype: u8,
    rows: u8,
    cols: u8,
    block_height: u8,
    block_width: u8,
    lx: u8,
    lt: u8,
    lpc_order: u8,
    lpc_space: u8,
    auto: bool,
    adaptive: bool,
    segment_rows: u8,
    /// None: the codec's trial decides; Some: every tile by columns (tile method 3) or none.
    columns: Option<bool>,
    bound: Bound,
    values: Values,
}

fn dtype_of(code: u8) -> DType {
    [DType::I16, DType::U16, DType::I32, DType::F32, DType::F64][code as usize % 5]
}

/// The elements as f64 (exact for every dtype but f64 bits, which are taken as they are).
fn make(dtype: DType, n: usize, values: &Values) -> ArrayBuf {
    let walk = |start: i64, steps: &[i8], shift: u32| -> Vec<f64> {
        let mut v = start;
        (0..n)
            .map(|i| {
                if !steps.is_empty() {
                    v = v.saturating_add(steps[i % steps.len()] as i64);
                }
                (v as f64) * (2f64).powi(shift as i32)
            })
            .collect()
    };
    let from_f64 = |xs: Vec<f64>| -> ArrayBuf {
        let clamp = |x: f64, lo: f64, hi: f64| x.clamp(lo, hi);
        match dtype {
            DType::I16 => ArrayBuf::I16(xs.iter().map(|&x| clamp(x, -32768.0, 32767.0) as i16).collect()),
            DType::U16 => ArrayBuf::U16(xs.iter().map(|&x| clamp(x + 32768.0, 0.0, 65535.0) as u16).collect()),
            DType::I32 => {
                ArrayBuf::I32(xs.iter().map(|&x| clamp(x, i32::MIN as f64, i32::MAX as f64) as i32).collect())
            }
            DType::F32 => ArrayBuf::F32(xs.iter().map(|&x| x as f32).collect()),
            DType::F64 => ArrayBuf::F64(xs),
        }
    };
    match values {
        Values::Raw(bytes) => {
            let size = dtype.size();
            let at = |i: usize| if bytes.is_empty() { 0 } else { bytes[i % bytes.len()] };
            let elem = |i: usize| -> [u8; 8] {
                let mut b = [0u8; 8];
                for (k, x) in b.iter_mut().enumerate().take(size) {
                    *x = at(i * size + k);
                }
                b
            };
            match dtype {
                DType::I16 => ArrayBuf::I16((0..n).map(|i| i16::from_le_bytes([elem(i)[0], elem(i)[1]])).collect()),
                DType::U16 => ArrayBuf::U16((0..n).map(|i| u16::from_le_bytes([elem(i)[0], elem(i)[1]])).collect()),
                DType::I32 => {
                    ArrayBuf::I32((0..n).map(|i| i32::from_le_bytes(elem(i)[..4].try_into().unwrap())).collect())
                }
                DType::F32 => {
                    ArrayBuf::F32((0..n).map(|i| f32::from_le_bytes(elem(i)[..4].try_into().unwrap())).collect())
                }
                DType::F64 => ArrayBuf::F64((0..n).map(|i| f64::from_le_bytes(elem(i))).collect()),
            }
        }
        Values::Walk { start, steps, shift } => from_f64(walk(*start as i64, steps, (*shift % 24) as u32)),
        Values::Scaled { steps, scale } => {
            let xs = walk(0, steps, 0);
            match dtype {
                DType::F32 => {
                    let s = f32::from_bits(*scale as u32);
                    let s = if s.is_finite() && s != 0.0 { s } else { 0.1 };
                    ArrayBuf::F32(xs.iter().map(|&k| k as f32 * s).collect())
                }
                DType::F64 => {
                    let s = f64::from_bits(*scale);
                    let s = if s.is_finite() && s != 0.0 { s } else { 0.1 };
                    ArrayBuf::F64(xs.iter().map(|&k| k * s).collect())
                }
                _ => from_f64(xs),
            }
        }
    }
}

fn as_f64(a: &ArrayBuf) -> Vec<f64> {
    match a {
        ArrayBuf::I16(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayBuf::U16(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayBuf::I32(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayBuf::F32(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayBuf::F64(v) => v.clone(),
    }
}

fuzz_target!(|case: Case| {
    let dtype = dtype_of(case.dtype);
    let (rows, cols) = ((case.rows % 65) as usize, (case.cols % 65) as usize);
    let data = make(dtype, rows * cols, &case.values);
    let abs_error = match case.bound {
        Bound::Lossless => 0.0,
        Bound::Int(e) => e as f64,
        Bound::Frac(a, b) => a as f64 / (b as f64 + 1.0),
        Bound::Bits(b) => f64::from_bits(b),
    };
    // Tiles of any shape, but at most 64 of them: a tiny tile costs the same table setup as a big one.
    let (mut bh, mut bw) = ((case.block_height % 70) as usize, (case.block_width % 70) as usize);
    while bh > 0 && bw > 0 && rows.div_ceil(bh) * cols.div_ceil(bw) > 64 {
        if bh <= bw {
            bh *= 2;
        } else {
            bw *= 2;
        }
    }
    let params = Params {
        block_height: bh,
        block_width: bw,
        lx: case.lx % 18,
        lt: case.lt % 18,
        lpc_order: case.lpc_order % 34,
        lpc_space: case.lpc_space % 10,
        auto: case.auto,
        entropy: if case.adaptive { Entropy::Adaptive } else { Entropy::Static },
        segment_rows: (case.segment_rows % 70) as usize,
        abs_error,
        threads: 0,
        columns: case.columns,
    };
    let valid = params.lx <= 16
        && params.lt <= 16
        && params.lpc_order <= 32
        && params.lpc_space <= 8
        && abs_error.is_finite()
        && abs_error >= 0.0;
    let packed = match compress(data.as_ref(), rows, cols, &params) {
        Ok(p) => p,
        Err(CodecError::InvalidParams(_)) if !valid => return,
        // A float bound can be finer than the float precision of a value, or meet NaN and infinities.
        Err(CodecError::InvalidParams(_) | CodecError::NonFinite { .. } | CodecError::Unrepresentable { .. })
            if dtype.is_float() && abs_error > 0.0 =>
        {
            return
        }
        Err(e) => panic!("compress failed: {e:?}"),
    };
    assert!(valid, "invalid parameters accepted");
    let (bh, bw) = params.tile_shape(rows, cols);
    let bound = compress_bound(dtype, rows, cols, &params);
    assert!(
        !CHECK_COMPRESS_BOUND || packed.len() <= bound,
        "{dtype:?} {rows} x {cols} in {bh} x {bw} tiles: {} bytes, compress_bound {bound}; header {:?}",
        packed.len(),
        daspack_codec::read_header(&packed)
    );

    let (h, back) = decompress(&packed, 0).expect("decompress of a fresh stream");
    assert_eq!((h.dtype, h.rows, h.cols), (dtype, rows as u64, cols as u64));
    assert_eq!(back.len(), data.len());
    if abs_error == 0.0 || (!dtype.is_float() && abs_error < 1.0) {
        assert_eq!(back.to_le_bytes(), data.to_le_bytes(), "lossless round trip differs");
    } else {
        let bound = if dtype.is_float() { abs_error } else { abs_error.floor() };
        for (i, (x, y)) in as_f64(&data).iter().zip(as_f64(&back)).enumerate() {
            assert!((x - y).abs() <= bound, "element {i}: {x} decoded as {y}, bound {bound}");
        }
    }
    let whole = back.to_le_bytes();
    let size = dtype.size();
    let last = h.tiles.len().saturating_sub(1);
    for t in [0, last / 2, last].into_iter().filter(|&t| t < h.tiles.len()) {
        let ((r0, c0, tr, tc), tile) = decompress_tile(&packed, t).expect("tile of a fresh stream");
        let part = tile.to_le_bytes();
        for r in 0..tr {
            let at = ((r0 + r) * cols + c0) * size;
            assert_eq!(&whole[at..at + tc * size], &part[r * tc * size..(r + 1) * tc * size]);
        }
    }
});
