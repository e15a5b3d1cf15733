//! The C ABI's decoding functions on hostile bytes, called as a C program would. An input that starts with the
//! `.dpk` magic is an archive: `daspack_archive_open_memory`, then every listing, read (whole, chunk, byte and row
//! ranges, with exact and too-small buffers) and verify entry point on every entry (also after making its CRCs
//! consistent with fix_dpk_checksums, so that mutations reach the index parser and the chunk decoders). Otherwise
//! the first byte picks the decoder: even = array codec stream (the rest; also decoded again with checksums fixed
//! up), odd = sensor stream (item count u32 LE, then the stream). No call may return DASPACK_ERROR_INTERNAL (a
//! caught panic or an inconsistency), and buffers sized from `daspack_stream_info` / `daspack_tile_info` /
//! `daspack_archive_entry_info` must be enough. Built only with `--features capi`.
#![no_main]

use std::ffi::c_void;

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

/// Largest entry the archive part decodes whole (a chunk may claim 2^20 times its stored bytes).
const MAX_ENTRY: u64 = 16 << 20;

fn archive(data: &[u8]) {
    let mut a: *mut DaspackArchive = std::ptr::null_mut();
    let st = unsafe { daspack_archive_open_memory(data.as_ptr(), data.len(), &mut a) };
    ok_or_expected(st);
    if st != DASPACK_OK {
        assert!(a.is_null());
        return;
    }
    let mut count = 0u64;
    assert_eq!(unsafe { daspack_archive_entry_count(a, &mut count) }, DASPACK_OK);
    let mut len = 0usize;
    let mut one = [0u8; 1];
    for i in 0..count.min(16) {
        // SAFETY: a C struct of plain numbers, for which all zeros is a value.
        let mut info: DaspackEntryInfo = unsafe { std::mem::zeroed() };
        let st = unsafe { daspack_archive_entry_info(a, i, &mut info) };
        ok_or_expected(st);
        // Only arrays with damaged metadata fail here; their name and chunks are still listed.
        let info_ok = st == DASPACK_OK;
        // The name: too small a buffer reports the size the info gave.
        let st = unsafe { daspack_archive_entry_name(a, i, one.as_mut_ptr().cast(), 0, &mut len) };
        assert_eq!(st, DASPACK_ERROR_BUFFER_TOO_SMALL);
        let mut name = vec![0u8; len];
        let st = unsafe { daspack_archive_entry_name(a, i, name.as_mut_ptr().cast(), name.len(), &mut len) };
        assert_eq!(st, DASPACK_OK);
        assert_eq!(name.last(), Some(&0));
        let mut found = u64::MAX;
        assert_eq!(unsafe { daspack_archive_find(a, name.as_ptr().cast(), &mut found) }, DASPACK_OK);
        assert_eq!(found, i);
        if !info_ok {
            continue;
        }
        assert_eq!(info.name_size, len as u64);
        let mut c = DaspackChunkInfo::default();
        for k in [0, info.chunk_count.saturating_sub(1), info.chunk_count] {
            let st = unsafe { daspack_archive_chunk_info(a, i, k, &mut c) };
            ok_or_expected(st);
            assert_eq!(st == DASPACK_OK, k < info.chunk_count);
        }
        if info.size > MAX_ENTRY {
            // Only the size query.
            let st = unsafe { daspack_archive_read(a, i, one.as_mut_ptr().cast(), 0, 1, &mut len) };
            if st == DASPACK_ERROR_BUFFER_TOO_SMALL {
                assert_eq!(len as u64, info.size);
            }
            continue;
        }
        let size = info.size as usize;
        let mut whole = vec![0u8; size.max(1)];
        let st = unsafe { daspack_archive_read(a, i, whole.as_mut_ptr().cast(), size, 1, &mut len) };
        ok_or_expected(st);
        assert_ne!(st, DASPACK_ERROR_BUFFER_TOO_SMALL, "a buffer of the entry's size is too small");
        let verified = unsafe { daspack_archive_verify_entry(a, i, 1) };
        ok_or_expected(verified);
        assert_eq!(st == DASPACK_OK, verified == DASPACK_OK, "read and verify disagree");
        if size > 0 {
            let st = unsafe { daspack_archive_read(a, i, one.as_mut_ptr().cast(), 0, 1, &mut len) };
            assert_eq!((st, len), (DASPACK_ERROR_BUFFER_TOO_SMALL, size));
        }
        let ok = st == DASPACK_OK;
        if ok {
            assert_eq!(len, size);
        }
        let mut part = vec![0u8; size.max(1)];
        // A byte range, the first chunks, and rows of arrays: equal to the whole read when that succeeded.
        let (off, n) = (info.size / 3, info.size / 2);
        let st = unsafe { daspack_archive_read_range(a, i, off, n, part.as_mut_ptr().cast(), part.len(), &mut len) };
        ok_or_expected(st);
        if ok {
            assert_eq!(st, DASPACK_OK);
            assert_eq!(&part[..len], &whole[off as usize..(off + n) as usize]);
        }
        let k = info.chunk_count.min(2);
        let st = unsafe { daspack_archive_read_chunks(a, i, 0, k, part.as_mut_ptr().cast(), part.len(), &mut len) };
        ok_or_expected(st);
        if ok {
            assert_eq!(st, DASPACK_OK);
            assert_eq!(&part[..len], &whole[..len]);
        }
        let st = unsafe {
            daspack_archive_read_rows(
                a,
                i,
                info.rows / 2,
                info.rows - info.rows / 2,
                part.as_mut_ptr().cast(),
                part.len(),
                &mut len,
            )
        };
        ok_or_expected(st);
        if ok && info.kind == DASPACK_ENTRY_ARRAY {
            assert_eq!(st, DASPACK_OK);
            let start = (info.rows / 2 * info.cols * info.itemsize) as usize;
            assert_eq!(&part[..len], &whole[start..start + len]);
            assert_eq!(start + len, size);
        }
        let st = unsafe {
            daspack_archive_read_range(a, i, 0, info.size + 1, part.as_mut_ptr().cast::<c_void>(), part.len(), &mut len)
        };
        assert_eq!(st, DASPACK_ERROR_INVALID_ARGUMENT);
    }
    ok_or_expected(unsafe { daspack_archive_verify(a, 1) });
    unsafe { daspack_archive_free(a) };
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"\x89DPK") {
        archive(data);
        if let Some(fixed) = daspack_fuzz::fix_dpk_checksums(data) {
            archive(&fixed);
        }
        return;
    }
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
