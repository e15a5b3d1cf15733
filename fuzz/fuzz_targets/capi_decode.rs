//! The C ABI's decoding functions on hostile bytes, called as a C program would. The first byte picks the
//! decoder: even = array codec stream (the rest; also decoded again with checksums fixed up), odd = sensor stream
//! (item count u32 LE, then the stream). No call may return DASPACK_ERROR_INTERNAL (a caught panic or an
//! inconsistency), and buffers sized from `daspack_stream_info` / `daspack_tile_info` must be enough.
//! Built only with `--features capi`.
#![no_main]

use daspack_capi::*;
use libfuzzer_sys::fuzz_target;

/// Largest output buffer the target allocates (larger arrays are asked for with a small buffer instead).
const MAX_OUT: u64 = 16 << 20;

fn ok_or_expected(status: DaspackError) {
    assert_ne!(status, DASPACK_ERROR_INTERNAL, "internal error from the C ABI");
    assert!((0..=DASPACK_ERROR_INTERNAL).contains(&status), "unknown status {status}");
}

fn codec(s: &[u8]) {
    // SAFETY: a C struct of plain numbers, for which all zeros is a value.
    let mut info: DaspackStreamInfo = unsafe { std::mem::zeroed() };
    let st = unsafe { daspack_stream_info(s.as_ptr(), s.len(), &mut info) };
    ok_or_expected(st);
    let mut len = 0usize;
    if st != DASPACK_OK {
        let mut one = [0u8; 8];
        let st2 = unsafe { daspack_decompress(s.as_ptr(), s.len(), one.as_mut_ptr().cast(), one.len(), 0, &mut len) };
        ok_or_expected(st2);
        assert_ne!(st2, DASPACK_OK, "decompress accepted a stream stream_info refused");
        return;
    }
    if info.decoded_size <= MAX_OUT {
        // Typed buffer of the stream's own element type: u64 storage is aligned for all of them.
        let mut out = vec![0u64; (info.decoded_size as usize).div_ceil(8).max(1)];
        let elems = info.decoded_size as usize / info.element_size.max(1) as usize;
        let p = out.as_mut_ptr();
        let st = unsafe {
            match info.dtype {
                DASPACK_DTYPE_INT16 => daspack_decompress_i16(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len),
                DASPACK_DTYPE_UINT16 => daspack_decompress_u16(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len),
                DASPACK_DTYPE_INT32 => daspack_decompress_i32(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len),
                DASPACK_DTYPE_FLOAT32 => daspack_decompress_f32(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len),
                _ => daspack_decompress_f64(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len),
            }
        };
        ok_or_expected(st);
        assert_ne!(st, DASPACK_ERROR_BUFFER_TOO_SMALL, "a buffer of decoded_size is too small");
        if st == DASPACK_OK {
            assert_eq!(len, elems);
        }
        // The wrong element type is refused before decoding.
        let wrong = if info.dtype == DASPACK_DTYPE_INT16 { 0 } else { 1 };
        let st = unsafe {
            if wrong == 0 {
                daspack_decompress_u16(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len)
            } else {
                daspack_decompress_i16(s.as_ptr(), s.len(), p.cast(), elems, 0, &mut len)
            }
        };
        assert_eq!(st, DASPACK_ERROR_DTYPE_MISMATCH);
    }
    // Too small a buffer reports the size needed.
    if info.decoded_size > 0 {
        let mut one = [0u8; 1];
        let st = unsafe { daspack_decompress(s.as_ptr(), s.len(), one.as_mut_ptr().cast(), 0, 0, &mut len) };
        assert_eq!(st, DASPACK_ERROR_BUFFER_TOO_SMALL);
        assert_eq!(len as u64, info.decoded_size);
    }
    for tile in [0, info.tile_count.saturating_sub(1), info.tile_count] {
        let mut t = DaspackTileInfo::default();
        let st = unsafe { daspack_tile_info(s.as_ptr(), s.len(), tile, &mut t) };
        ok_or_expected(st);
        if st != DASPACK_OK {
            assert!(tile >= info.tile_count);
            continue;
        }
        let need = t.rows * t.cols * info.element_size as u64;
        if need > MAX_OUT {
            continue;
        }
        let mut out = vec![0u8; need as usize + 1];
        let mut got = DaspackTileInfo::default();
        let st = unsafe {
            daspack_decompress_tile(s.as_ptr(), s.len(), tile, out.as_mut_ptr().cast(), out.len(), &mut len, &mut got)
        };
        ok_or_expected(st);
        if st == DASPACK_OK {
            assert_eq!((got, len as u64), (t, need));
        }
    }
}

fn sensor(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let count = u32::from_le_bytes(data[..4].try_into().unwrap()) as u64 % (1 << 16);
    let s = &data[4..];
    let mut out = vec![0i16; count as usize];
    let mut len = 0usize;
    let st = unsafe { daspack_sensor_decode(s.as_ptr(), s.len(), count, out.as_mut_ptr(), out.len(), &mut len) };
    ok_or_expected(st);
    if st == DASPACK_OK {
        assert_eq!(len as u64, count);
    }
    let mut dec: *mut DaspackSensorDecoder = std::ptr::null_mut();
    let st = unsafe { daspack_sensor_decoder_new(s.as_ptr(), s.len(), count, &mut dec) };
    ok_or_expected(st);
    assert_eq!(st, DASPACK_OK);
    let mut buf = [0i16; 37];
    let mut total = 0u64;
    loop {
        let st = unsafe { daspack_sensor_decoder_read(dec, buf.as_mut_ptr(), buf.len(), &mut len) };
        ok_or_expected(st);
        if st != DASPACK_OK || len == 0 {
            break;
        }
        total += len as u64;
        assert!(total <= count);
    }
    ok_or_expected(unsafe { daspack_sensor_decoder_check_end(dec) });
    unsafe { daspack_sensor_decoder_free(dec) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        codec(rest);
        if let Some(fixed) = daspack_fuzz::fix_codec_checksums(rest) {
            codec(&fixed);
        }
    } else {
        sensor(rest);
    }
});
