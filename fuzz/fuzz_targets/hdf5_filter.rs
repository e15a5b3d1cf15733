//! The HDF5 filter plugin (id 33000) called as HDF5 calls it: the `H5Z_class2_t` from `H5PLget_plugin_info`, its
//! filter function with `H5Z_FLAG_REVERSE` (decode) on hostile chunk bytes and arbitrary `cd_values`, and without it
//! (encode) on small arrays whose chunk must come back. The chunk buffer is allocated with `malloc`: no libhdf5 is
//! loaded in this process, so the plugin's allocator resolution (crates/hdf5/src/host.rs) falls back to
//! malloc/free, which is HDF5's default allocator; the buffer is exactly `nbytes` long so that AddressSanitizer sees
//! any read past it. Checks beyond "no panic": a failed call leaves the buffer untouched; a decoded chunk has
//! exactly the size the stored cd_values give and decodes like `daspack_codec::decompress`; an encoded chunk decodes
//! back bit-exact (lossless) or within the error bound. Streams whose header claims more than 16 MB are passed to
//! the filter only with cd_values that disagree with that header, which it must refuse before allocating (under
//! libFuzzer's -malloc_limit_mb, a chunk header claiming gigabytes would otherwise be a crash).
//!
//! Input: byte 0 selects the call; 0: decode without cd_values; 1: decode with 14 words read from the input (the
//! stored layout: version, dtype, rank, 3 dims, block_height, block_width, lx, lt, lpc_order, abs_lo, abs_hi,
//! big-endian); 2: decode with (byte % 20) words; 3: an encode round trip of a small array described by the bytes.
//! Decoding inputs are tried as given and with their codec checksums fixed up.
#![no_main]

use std::ffi::{c_char, c_int, c_uint, c_void};

use daspack_codec::{read_header, DType};
use daspack_fuzz::{fix_codec_checksums, Bytes};
use libfuzzer_sys::fuzz_target;

/// `H5Z_class2_t` (H5Zpublic.h), as the plugin lays it out.
#[repr(C)]
struct H5ZClass2 {
    version: c_int,
    id: c_int,
    encoder_present: c_uint,
    decoder_present: c_uint,
    name: *const c_char,
    can_apply: Option<unsafe extern "C" fn(i64, i64, i64) -> c_int>,
    set_local: Option<unsafe extern "C" fn(i64, i64, i64) -> c_int>,
    filter: Option<FilterFn>,
}

type FilterFn = unsafe extern "C" fn(c_uint, usize, *const c_uint, usize, *mut usize, *mut *mut c_void) -> usize;

const H5Z_FLAG_REVERSE: c_uint = 0x0100;
/// Largest chunk decoded when nothing bounds it (no cd_values): a stream may claim 2^20 bytes per input byte.
const MAX_OUT: u128 = 16 << 20;

fn filter_fn() -> FilterFn {
    // SAFETY: the plugin returns a pointer to its static class.
    let class = unsafe { &*(h5daspack::H5PLget_plugin_info() as *const H5ZClass2) };
    assert_eq!(class.id, 33000);
    class.filter.expect("the plugin has a filter function")
}

/// Calls the filter on a malloc'd copy of `input`; `Some(output)` on success.
fn call(flags: c_uint, cd: &[u32], input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    // SAFETY: a fresh allocation of at least one byte, filled with `input`.
    let mut buf = unsafe { libc::malloc(n.max(1)) };
    assert!(!buf.is_null());
    unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), buf as *mut u8, n) };
    let original = buf;
    let mut buf_size = n;
    let cd_ptr = if cd.is_empty() { std::ptr::null() } else { cd.as_ptr() };
    // SAFETY: the arguments HDF5 passes: cd_values of cd.len() words, a heap buffer of buf_size bytes holding n.
    let out = unsafe { filter_fn()(flags, cd.len(), cd_ptr, n, &mut buf_size, &mut buf) };
    let result = if out == 0 {
        // Failure: HDF5 keeps (and later frees) its buffer, so it must still be the same one, unchanged.
        assert_eq!(buf, original, "a failed filter call replaced the buffer");
        assert_eq!(buf_size, n, "a failed filter call changed buf_size");
        let now = unsafe { std::slice::from_raw_parts(buf as *const u8, n) };
        assert_eq!(now, input, "a failed filter call changed the chunk");
        None
    } else {
        assert!(buf_size >= out, "buf_size {buf_size} < returned size {out}");
        Some(unsafe { std::slice::from_raw_parts(buf as *const u8, out) }.to_vec())
    };
    // SAFETY: either our buffer or the one the filter allocated with malloc (no HDF5 allocator in this process).
    unsafe { libc::free(buf) };
    result
}

/// What the plugin's `Stored::decode` accepts: (dtype, chunk bytes as u128, big-endian).
fn stored(cd: &[u32]) -> Option<(DType, u128, bool)> {
    if cd.len() != 14 || cd[0] != 1 || cd[13] > 1 {
        return None;
    }
    let dtype = u8::try_from(cd[1]).ok().and_then(DType::from_code)?;
    let rank = cd[2] as usize;
    if !(1..=3).contains(&rank) {
        return None;
    }
    let elems: u128 = cd[3..3 + rank].iter().map(|&d| d as u128).product();
    Some((dtype, elems * dtype.size() as u128, cd[13] == 1))
}

fn swap_to_be(bytes: &[u8], size: usize) -> Vec<u8> {
    bytes.chunks_exact(size).flat_map(|c| c.iter().rev().copied()).collect()
}

fn decode(cd: &[u32], chunk: &[u8]) {
    let header = read_header(chunk).ok();
    let claimed = header.as_ref().map(|h| h.rows as u128 * h.cols as u128 * h.dtype.size() as u128);
    let st = stored(cd);
    // Large legitimate outputs only: no cd_values (never from HDF5), or cd_values that agree with the header.
    if let (Some(h), Some(claimed)) = (&header, claimed) {
        if claimed > MAX_OUT {
            match (cd.is_empty(), st) {
                (true, _) => return,
                (false, Some((dtype, bytes, _))) if dtype == h.dtype && bytes == claimed => return,
                _ => {}
            }
        }
    }
    let out = call(H5Z_FLAG_REVERSE, cd, chunk);
    let Some(out) = out else { return };
    // Success needs no cd_values or valid stored ones.
    assert!(cd.is_empty() || st.is_some(), "decoded with cd_values Stored::decode refuses: {cd:?}");
    let (h, array) = daspack_codec::decompress(chunk, 1).expect("the filter decoded a stream the codec refuses");
    let mut bytes = array.to_le_bytes();
    if let Some((dtype, size, be)) = st {
        assert_eq!(h.dtype, dtype, "decoded a chunk of another dtype");
        assert_eq!(out.len() as u128, size, "decoded chunk size differs from the stored chunk size");
        if be {
            bytes = swap_to_be(&bytes, dtype.size());
        }
    }
    assert_eq!(out, bytes, "the filter's chunk differs from the codec's array");
}

fn round_trip(r: &mut Bytes) {
    let code = 1 + r.u8() % 5;
    let dtype = DType::from_code(code).unwrap();
    let be = r.u8() & 1 == 1;
    let rank = 1 + (r.u8() % 3) as usize;
    let dims: Vec<u32> = match rank {
        1 => vec![1 + u32::from(r.u16() % 1024)],
        2 => vec![1 + u32::from(r.u8() % 64), 1 + u32::from(r.u8() % 64)],
        _ => vec![1 + u32::from(r.u8() % 16), 1 + u32::from(r.u8() % 16), 1 + u32::from(r.u8() % 16)],
    };
    let (bh, bw) = (u32::from(r.u8()), u32::from(r.u8()));
    let (lx, lt, lpc) = (u32::from(r.u8() % 6), u32::from(r.u8() % 6), u32::from(r.u8() % 40));
    let abs_error = match r.u8() % 4 {
        0 => 0.0,
        1 => f64::from(r.u8()),
        2 => f64::from(r.u8()) / (f64::from(r.u8()) + 1.0),
        _ => f64::from_bits(u64::from(r.u32()) | (u64::from(r.u32()) << 32)),
    };
    let n: usize = dims.iter().map(|&d| d as usize).product();
    let size = dtype.size();
    // Element bytes (little-endian) cycled from the rest of the input.
    let rest = r.rest();
    let le: Vec<u8> = (0..n * size).map(|i| if rest.is_empty() { 0 } else { rest[i % rest.len()] }).collect();
    let data = if be { swap_to_be(&le, size) } else { le.clone() };
    let [lo, hi] = [abs_error.to_bits() as u32, (abs_error.to_bits() >> 32) as u32];
    let mut cd = vec![1, u32::from(code), rank as u32, 0, 0, 0, bh, bw, lx, lt, lpc, lo, hi, be as u32];
    cd[3..3 + rank].copy_from_slice(&dims);

    let valid = lpc <= 32 && abs_error.is_finite() && abs_error >= 0.0 && abs_error <= 255.0;
    let Some(packed) = call(0, &cd, &data) else {
        assert!(!(valid && (!dtype.is_float() || abs_error == 0.0)), "encoding failed: {dtype:?} cd {cd:?}");
        return;
    };
    assert!(valid || abs_error > 255.0, "invalid parameters accepted: cd {cd:?}");
    let back = call(H5Z_FLAG_REVERSE, &cd, &packed).expect("an encoded chunk decodes");
    assert_eq!(back.len(), data.len());
    if abs_error == 0.0 || (!dtype.is_float() && abs_error < 1.0) {
        assert_eq!(back, data, "lossless round trip differs: {dtype:?} cd {cd:?}");
        return;
    }
    let back_le = if be { swap_to_be(&back, size) } else { back };
    let vals = |b: &[u8]| -> Vec<f64> {
        b.chunks_exact(size)
            .map(|c| match dtype {
                DType::I16 => i16::from_le_bytes([c[0], c[1]]) as f64,
                DType::U16 => u16::from_le_bytes([c[0], c[1]]) as f64,
                DType::I32 => i32::from_le_bytes(c.try_into().unwrap()) as f64,
                DType::F32 => f32::from_le_bytes(c.try_into().unwrap()) as f64,
                DType::F64 => f64::from_le_bytes(c.try_into().unwrap()),
            })
            .collect()
    };
    let bound = if dtype.is_float() { abs_error } else { abs_error.floor() };
    for (i, (x, y)) in vals(&le).iter().zip(vals(&back_le)).enumerate() {
        assert!((x - y).abs() <= bound, "element {i}: {x} decoded as {y}, bound {bound}, cd {cd:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Bytes::new(data);
    let op = r.u8() % 4;
    let cd: Vec<u32> = match op {
        0 => Vec::new(),
        1 => (0..14).map(|_| r.u32()).collect(),
        2 => {
            let n = r.u8() % 20;
            (0..n).map(|_| r.u32()).collect()
        }
        _ => return round_trip(&mut r),
    };
    let chunk = r.rest();
    decode(&cd, chunk);
    if let Some(fixed) = fix_codec_checksums(chunk) {
        if fixed != chunk {
            decode(&cd, &fixed);
        }
    }
});
