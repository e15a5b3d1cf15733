//! Calls every entry point the way C does: round trips, then NULL pointers, zero lengths, too-small buffers,
//! corrupt input, bad enumeration values and misuse of objects, checking the status and the message each time.

use std::ffi::{c_void, CStr};
use std::ptr::{null, null_mut};

use daspack_capi::*;

fn last_error() -> String {
    // SAFETY: daspack_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(daspack_last_error()) }.to_str().unwrap().to_string()
}

/// Asserts status `got` is `want` and the thread's message contains every fragment.
#[track_caller]
fn check(got: DaspackError, want: DaspackError, fragments: &[&str]) {
    let msg = last_error();
    assert_eq!(got, want, "status {} (want {}), message: {msg}", name(got), name(want));
    if want != DASPACK_OK {
        for f in fragments {
            assert!(msg.contains(f), "message {msg:?} lacks {f:?}");
        }
    }
}

fn name(code: DaspackError) -> String {
    // SAFETY: static string.
    unsafe { CStr::from_ptr(daspack_error_name(code)) }.to_str().unwrap().to_string()
}

fn params() -> DaspackParams {
    let mut p = std::mem::MaybeUninit::<DaspackParams>::uninit();
    // SAFETY: a writable DaspackParams.
    assert_eq!(unsafe { daspack_params_init(p.as_mut_ptr()) }, DASPACK_OK);
    // SAFETY: initialised by daspack_params_init.
    unsafe { p.assume_init() }
}

/// A small DAS-like int32 block: a travelling wave plus a ramp, `rows x cols`.
fn wave(rows: usize, cols: usize) -> Vec<i32> {
    (0..rows * cols)
        .map(|i| {
            let (t, x) = ((i / cols) as f64, (i % cols) as f64);
            (300.0 * ((t - 0.7 * x) / 9.0).sin() + 0.2 * t) as i32 + ((i * 7919) % 5) as i32
        })
        .collect()
}

fn compress_i32(data: &[i32], rows: usize, cols: usize, p: &DaspackParams) -> Vec<u8> {
    let mut bound = 0usize;
    // SAFETY: valid pointers throughout.
    unsafe {
        assert_eq!(daspack_compress_bound(DASPACK_DTYPE_INT32, rows, cols, p, &mut bound), DASPACK_OK);
        let mut out = vec![0u8; bound];
        let mut len = 0usize;
        let st = daspack_compress_i32(data.as_ptr(), rows, cols, p, out.as_mut_ptr(), out.len(), &mut len);
        check(st, DASPACK_OK, &[]);
        assert!(len <= bound);
        out.truncate(len);
        out
    }
}

fn info(stream: &[u8]) -> DaspackStreamInfo {
    let mut i = std::mem::MaybeUninit::<DaspackStreamInfo>::uninit();
    // SAFETY: valid pointers.
    let st = unsafe { daspack_stream_info(stream.as_ptr(), stream.len(), i.as_mut_ptr()) };
    check(st, DASPACK_OK, &[]);
    // SAFETY: written on success.
    unsafe { i.assume_init() }
}

#[test]
fn version_matches_the_crate() {
    // SAFETY: static string.
    let v = unsafe { CStr::from_ptr(daspack_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    let parts: Vec<u32> = v.split('.').map(|s| s.parse().unwrap()).collect();
    assert_eq!(parts, [DASPACK_VERSION_MAJOR, DASPACK_VERSION_MINOR, DASPACK_VERSION_PATCH]);
    assert_eq!(daspack_version_number(), parts[0] * 10000 + parts[1] * 100 + parts[2]);
    assert_eq!(name(DASPACK_ERROR_BUFFER_TOO_SMALL), "DASPACK_ERROR_BUFFER_TOO_SMALL");
    assert_eq!(name(12345), "DASPACK_ERROR_UNKNOWN");
    for code in DASPACK_OK..=DASPACK_ERROR_IO {
        assert!(name(code).starts_with("DASPACK_"), "{code}");
        assert_ne!(name(code), "DASPACK_ERROR_UNKNOWN", "{code}");
    }
}

#[test]
fn params_defaults_and_null() {
    let p = params();
    assert_eq!((p.abs_error, p.block_height, p.block_width, p.threads), (0.0, 0, 0, 0));
    assert_eq!(p.auto_predictor, 1);
    // SAFETY: NULL is refused, never dereferenced.
    check(unsafe { daspack_params_init(null_mut()) }, DASPACK_ERROR_NULL_POINTER, &["daspack_params_init", "params"]);
}

#[test]
fn int32_round_trip_info_and_tiles() {
    let (rows, cols) = (300, 37);
    let data = wave(rows, cols);
    let mut p = params();
    p.block_height = 128;
    p.block_width = 16;
    p.threads = 2;
    let stream = compress_i32(&data, rows, cols, &p);

    let i = info(&stream);
    assert_eq!((i.dtype, i.rows, i.cols, i.element_size, i.lossless), (DASPACK_DTYPE_INT32, 300, 37, 4, 1));
    assert_eq!((i.block_height, i.block_width, i.tile_count), (128, 16, 3 * 3));
    assert_eq!(i.decoded_size, (rows * cols * 4) as u64);
    // The stream has the version of what it uses: here tables that are laws, the newest version's.
    assert_eq!(i.format_version, DASPACK_FORMAT_VERSION);

    // SAFETY: valid pointers throughout.
    unsafe {
        // Typed decode.
        let mut out = vec![0i32; rows * cols];
        let mut n = 0usize;
        let st = daspack_decompress_i32(stream.as_ptr(), stream.len(), out.as_mut_ptr(), out.len(), 2, &mut n);
        check(st, DASPACK_OK, &[]);
        assert_eq!((n, &out), (rows * cols, &data));

        // Generic decode into bytes.
        let mut bytes = vec![0u8; rows * cols * 4];
        let st = daspack_decompress(stream.as_ptr(), stream.len(), bytes.as_mut_ptr().cast(), bytes.len(), 0, &mut n);
        check(st, DASPACK_OK, &[]);
        assert_eq!(n, bytes.len());
        let back: Vec<i32> = bytes.chunks_exact(4).map(|c| i32::from_ne_bytes(c.try_into().unwrap())).collect();
        assert_eq!(back, data);

        // Each tile alone matches its place in the array.
        for t in 0..i.tile_count {
            let mut ti = DaspackTileInfo::default();
            check(daspack_tile_info(stream.as_ptr(), stream.len(), t, &mut ti), DASPACK_OK, &[]);
            let mut buf = vec![0i32; 128 * 16];
            let mut got = DaspackTileInfo::default();
            let st = daspack_decompress_tile(
                stream.as_ptr(),
                stream.len(),
                t,
                buf.as_mut_ptr().cast(),
                buf.len() * 4,
                &mut n,
                &mut got,
            );
            check(st, DASPACK_OK, &[]);
            assert_eq!(got, ti);
            assert_eq!(n as u64, ti.rows * ti.cols * 4);
            for r in 0..ti.rows as usize {
                for c in 0..ti.cols as usize {
                    let want = data[(ti.row0 as usize + r) * cols + ti.col0 as usize + c];
                    assert_eq!(buf[r * ti.cols as usize + c], want);
                }
            }
        }
        let mut ti = DaspackTileInfo::default();
        let st = daspack_tile_info(stream.as_ptr(), stream.len(), 9, &mut ti);
        check(st, DASPACK_ERROR_INVALID_ARGUMENT, &["tile 9 out of range", "9 tiles"]);
    }
}

#[test]
fn every_dtype_round_trips() {
    let (rows, cols) = (64usize, 9usize);
    let n = rows * cols;
    let base: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin() * 1000.0).collect();
    let i16s: Vec<i16> = base.iter().map(|&v| v as i16).collect();
    let u16s: Vec<u16> = base.iter().map(|&v| (v + 1000.0) as u16).collect();
    let f32s: Vec<f32> = base.iter().map(|&v| v as f32 * 0.01).collect();
    let f64s: Vec<f64> = base.iter().map(|&v| v * 0.001).collect();
    let mut p = params();
    // SAFETY: valid pointers throughout; each buffer holds n elements.
    unsafe {
        let mut buf = vec![0u8; 1 << 16];
        let mut len = 0usize;
        let mut got = 0usize;

        check(daspack_compress_i16(i16s.as_ptr(), rows, cols, &p, buf.as_mut_ptr(), buf.len(), &mut len), 0, &[]);
        let mut o16 = vec![0i16; n];
        check(daspack_decompress_i16(buf.as_ptr(), len, o16.as_mut_ptr(), n, 1, &mut got), 0, &[]);
        assert_eq!(o16, i16s);

        check(daspack_compress_u16(u16s.as_ptr(), rows, cols, &p, buf.as_mut_ptr(), buf.len(), &mut len), 0, &[]);
        let mut ou16 = vec![0u16; n];
        check(daspack_decompress_u16(buf.as_ptr(), len, ou16.as_mut_ptr(), n, 1, &mut got), 0, &[]);
        assert_eq!(ou16, u16s);

        // Lossless floats come back bit for bit.
        check(daspack_compress_f32(f32s.as_ptr(), rows, cols, &p, buf.as_mut_ptr(), buf.len(), &mut len), 0, &[]);
        // (Version 2, that of lossless floats: the variant these keep has no table that is a law.)
        assert_eq!((info(&buf[..len]).lossless, info(&buf[..len]).format_version), (1, 2));
        let mut exact = vec![0f32; n];
        check(daspack_decompress_f32(buf.as_ptr(), len, exact.as_mut_ptr(), n, 1, &mut got), 0, &[]);
        assert!(exact.iter().zip(&f32s).all(|(a, b)| a.to_bits() == b.to_bits()));

        p.abs_error = 1e-3;
        check(daspack_compress_f32(f32s.as_ptr(), rows, cols, &p, buf.as_mut_ptr(), buf.len(), &mut len), 0, &[]);
        assert_eq!(info(&buf[..len]).lossless, 0);
        assert_eq!(info(&buf[..len]).abs_error, 1e-3);
        let mut of32 = vec![0f32; n];
        check(daspack_decompress_f32(buf.as_ptr(), len, of32.as_mut_ptr(), n, 1, &mut got), 0, &[]);
        assert!(of32.iter().zip(&f32s).all(|(a, b)| (a - b).abs() as f64 <= 1e-3));

        check(daspack_compress_f64(f64s.as_ptr(), rows, cols, &p, buf.as_mut_ptr(), buf.len(), &mut len), 0, &[]);
        let mut of64 = vec![0f64; n];
        check(daspack_decompress_f64(buf.as_ptr(), len, of64.as_mut_ptr(), n, 1, &mut got), 0, &[]);
        assert!(of64.iter().zip(&f64s).all(|(a, b)| (a - b).abs() <= 1e-3));

        // The generic entry point with a runtime dtype gives the same stream as the typed one.
        let mut again = vec![0u8; 1 << 16];
        let mut len2 = 0usize;
        let st = daspack_compress(
            DASPACK_DTYPE_FLOAT64,
            f64s.as_ptr().cast(),
            rows,
            cols,
            &p,
            again.as_mut_ptr(),
            again.len(),
            &mut len2,
        );
        check(st, DASPACK_OK, &[]);
        assert_eq!(&again[..len2], &buf[..len]);

        // NaN cannot be stored within a bound.
        let mut bad = f64s.clone();
        bad[5] = f64::NAN;
        let st = daspack_compress_f64(bad.as_ptr(), rows, cols, &p, buf.as_mut_ptr(), buf.len(), &mut len);
        check(st, DASPACK_ERROR_UNREPRESENTABLE, &["element 5", "NaN"]);
    }
}

#[test]
fn compress_rejects_bad_arguments() {
    let data = wave(16, 4);
    let p = params();
    let mut out = vec![0u8; 4096];
    let mut len = 77usize;
    // SAFETY: every call passes either valid pointers or NULL, which is refused before use.
    unsafe {
        let d = data.as_ptr();
        let o = out.as_mut_ptr();
        let c = out.len();
        let f = "daspack_compress_i32";
        check(daspack_compress_i32(null(), 16, 4, &p, o, c, &mut len), DASPACK_ERROR_NULL_POINTER, &[f, "`data`"]);
        check(daspack_compress_i32(d, 16, 4, null(), o, c, &mut len), DASPACK_ERROR_NULL_POINTER, &["`params`"]);
        check(daspack_compress_i32(d, 16, 4, &p, null_mut(), c, &mut len), DASPACK_ERROR_NULL_POINTER, &["`dst`"]);
        check(daspack_compress_i32(d, 16, 4, &p, o, c, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`dst_len`"]);
        let g = |dt: DaspackDType, data: *const c_void, rows: usize, cols: usize, len: &mut usize| {
            daspack_compress(dt, data, rows, cols, &p, o, c, len)
        };
        check(g(0, d.cast(), 16, 4, &mut len), DASPACK_ERROR_INVALID_ARGUMENT, &["daspack_compress:", "dtype 0"]);
        check(g(6, d.cast(), 16, 4, &mut len), DASPACK_ERROR_INVALID_ARGUMENT, &["dtype 6"]);
        check(g(u32::MAX, d.cast(), 16, 4, &mut len), DASPACK_ERROR_INVALID_ARGUMENT, &["unknown dtype"]);
        check(g(DASPACK_DTYPE_INT32, d.cast(), usize::MAX, 2, &mut len), DASPACK_ERROR_TOO_LARGE, &["overflows"]);
        check(g(DASPACK_DTYPE_INT32, d.cast(), usize::MAX / 2, 1, &mut len), DASPACK_ERROR_TOO_LARGE, &["memory"]);
        // Misaligned element pointer.
        let bytes = d.cast::<u8>().add(1);
        check(g(DASPACK_DTYPE_INT32, bytes.cast(), 4, 4, &mut len), DASPACK_ERROR_INVALID_ARGUMENT, &["aligned"]);
        assert_eq!(len, 0, "dst_len is cleared on errors");

        // Parameters out of range.
        for (mutate, frag) in [
            ((|q: &mut DaspackParams| q.lpc_order = 300) as fn(&mut DaspackParams), "lpc_order"),
            (|q| q.lpc_order = 33, "lpc_order"),
            (|q| q.lpc_space = 9, "lpc_space"),
            (|q| q.lx = 1000, "lx"),
            (|q| q.abs_error = f64::NAN, "abs_error"),
            (|q| q.abs_error = -1.0, "abs_error"),
            (|q| q.abs_error = f64::INFINITY, "abs_error"),
            (|q| q.threads = 5000, "threads"),
        ] {
            let mut q = params();
            mutate(&mut q);
            let st = daspack_compress_i32(d, 16, 4, &q, o, c, &mut len);
            check(st, DASPACK_ERROR_INVALID_ARGUMENT, &[frag]);
        }

        // Too small an output: the size needed is reported, and that size then suffices.
        let st = daspack_compress_i32(d, 16, 4, &p, o, 3, &mut len);
        check(st, DASPACK_ERROR_BUFFER_TOO_SMALL, &["3 bytes", "needs"]);
        let need = len;
        assert!(need > 3);
        check(daspack_compress_i32(d, 16, 4, &p, o, 0, &mut len), DASPACK_ERROR_BUFFER_TOO_SMALL, &["0 bytes"]);
        assert_eq!(len, need);
        check(daspack_compress_i32(d, 16, 4, &p, o, need, &mut len), DASPACK_OK, &[]);
        assert_eq!(len, need);

        // Overlapping input and output.
        let mut shared = vec![0i32; 64 + 1024];
        let sp = shared.as_mut_ptr();
        let st = daspack_compress_i32(sp, 16, 4, &p, sp.cast::<u8>().add(8), 4096, &mut len);
        check(st, DASPACK_ERROR_INVALID_ARGUMENT, &["overlap"]);

        // An empty array is a valid stream.
        check(daspack_compress_i32(d, 0, 4, &p, o, c, &mut len), DASPACK_OK, &[]);
        let empty = out[..len].to_vec();
        let i = info(&empty);
        assert_eq!((i.rows, i.cols, i.tile_count, i.decoded_size), (0, 4, 0, 0));
        let mut n = 9usize;
        let mut one = [0i32; 1];
        check(daspack_decompress_i32(empty.as_ptr(), empty.len(), one.as_mut_ptr(), 0, 0, &mut n), DASPACK_OK, &[]);
        assert_eq!(n, 0);
    }
}

#[test]
fn compress_bound_holds_and_checks() {
    let p = params();
    let mut b = 0usize;
    // SAFETY: valid pointers or NULL.
    unsafe {
        check(
            daspack_compress_bound(DASPACK_DTYPE_INT32, 10, 10, &p, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["bound"],
        );
        check(
            daspack_compress_bound(DASPACK_DTYPE_INT32, 10, 10, null(), &mut b),
            DASPACK_ERROR_NULL_POINTER,
            &["params"],
        );
        check(daspack_compress_bound(9, 10, 10, &p, &mut b), DASPACK_ERROR_INVALID_ARGUMENT, &["dtype 9"]);
        check(daspack_compress_bound(DASPACK_DTYPE_INT32, usize::MAX, 3, &p, &mut b), DASPACK_ERROR_TOO_LARGE, &[]);
        check(daspack_compress_bound(DASPACK_DTYPE_INT32, 0, 0, &p, &mut b), DASPACK_OK, &[]);
    }
    // White noise over the full int32 range: the worst case for the coder still fits the bound.
    let mut x = 0x2545F4914F6CDD1Du64;
    let noise: Vec<i32> = (0..200 * 30)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as i32
        })
        .collect();
    compress_i32(&noise, 200, 30, &p);
}

/// A small valid stream for the decoder tests.
fn sample_stream() -> (Vec<i32>, Vec<u8>) {
    let data = wave(40, 6);
    let mut p = params();
    p.block_height = 16;
    p.block_width = 4;
    let s = compress_i32(&data, 40, 6, &p);
    (data, s)
}

#[test]
fn decompress_rejects_bad_arguments() {
    let (_, s) = sample_stream();
    let mut out = vec![0i32; 240];
    let mut n = 0usize;
    // SAFETY: valid pointers or NULL.
    unsafe {
        let (sp, sl, o) = (s.as_ptr(), s.len(), out.as_mut_ptr());
        let f = "daspack_decompress_i32";
        check(daspack_decompress_i32(null(), sl, o, 240, 0, &mut n), DASPACK_ERROR_NULL_POINTER, &[f, "`src`"]);
        check(daspack_decompress_i32(sp, sl, null_mut(), 240, 0, &mut n), DASPACK_ERROR_NULL_POINTER, &["`dst`"]);
        check(daspack_decompress_i32(sp, sl, o, 240, 0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`dst_len`"]);
        check(daspack_decompress_i32(sp, 0, o, 240, 0, &mut n), DASPACK_ERROR_TRUNCATED, &["truncated"]);
        check(daspack_decompress_i32(sp, sl, o, 240, 2000, &mut n), DASPACK_ERROR_INVALID_ARGUMENT, &["threads"]);

        // Too small: the element count needed comes back.
        check(daspack_decompress_i32(sp, sl, o, 239, 0, &mut n), DASPACK_ERROR_BUFFER_TOO_SMALL, &["239 elements"]);
        assert_eq!(n, 240);
        check(daspack_decompress_i32(sp, sl, o, 0, 0, &mut n), DASPACK_ERROR_BUFFER_TOO_SMALL, &["needs 240"]);
        let mut bytes = vec![0u8; 960];
        let bp: *mut c_void = bytes.as_mut_ptr().cast();
        check(daspack_decompress(sp, sl, bp, 959, 0, &mut n), DASPACK_ERROR_BUFFER_TOO_SMALL, &["959 bytes"]);
        assert_eq!(n, 960);
        check(daspack_decompress(sp, sl, null_mut(), 960, 0, &mut n), DASPACK_ERROR_NULL_POINTER, &["`dst`"]);

        // Wrong element type.
        let mut f = vec![0f32; 240];
        let st = daspack_decompress_f32(sp, sl, f.as_mut_ptr(), 240, 0, &mut n);
        check(st, DASPACK_ERROR_DTYPE_MISMATCH, &["int32, not float32"]);
        let mut h = vec![0i16; 240];
        let st = daspack_decompress_i16(sp, sl, h.as_mut_ptr(), 240, 0, &mut n);
        check(st, DASPACK_ERROR_DTYPE_MISMATCH, &["not int16"]);

        // Misaligned typed output.
        let mis = bytes.as_mut_ptr().add(1).cast::<i32>();
        check(daspack_decompress_i32(sp, sl, mis, 200, 0, &mut n), DASPACK_ERROR_INVALID_ARGUMENT, &["aligned"]);

        // Not a stream, another version.
        let junk = b"this is not a daspack stream at all, just text.....................";
        let st = daspack_decompress_i32(junk.as_ptr(), junk.len(), o, 240, 0, &mut n);
        check(st, DASPACK_ERROR_NOT_DASPACK, &["magic"]);
        let mut v2 = s.clone();
        v2[4] = 99;
        let st = daspack_decompress_i32(v2.as_ptr(), v2.len(), o, 240, 0, &mut n);
        check(st, DASPACK_ERROR_UNSUPPORTED_VERSION, &["version 99"]);

        // Tile entry points.
        let mut ti = DaspackTileInfo::default();
        let tp: *mut c_void = bytes.as_mut_ptr().cast();
        let st = daspack_decompress_tile(sp, sl, 0, tp, 960, &mut n, null_mut());
        check(st, DASPACK_ERROR_NULL_POINTER, &["`info`"]);
        let st = daspack_decompress_tile(null(), sl, 0, tp, 960, &mut n, &mut ti);
        check(st, DASPACK_ERROR_NULL_POINTER, &["`src`"]);
        let st = daspack_decompress_tile(sp, sl, 0, tp, 3, &mut n, &mut ti);
        check(st, DASPACK_ERROR_BUFFER_TOO_SMALL, &["tile 0", "needs 256"]);
        assert_eq!(n, 16 * 4 * 4);
        let st = daspack_decompress_tile(sp, sl, 1000, tp, 960, &mut n, &mut ti);
        check(st, DASPACK_ERROR_INVALID_ARGUMENT, &["tile 1000"]);
        check(daspack_tile_info(sp, sl, 0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["info"]);

        // Stream info.
        let mut si = std::mem::MaybeUninit::<DaspackStreamInfo>::uninit();
        check(daspack_stream_info(null(), 10, si.as_mut_ptr()), DASPACK_ERROR_NULL_POINTER, &["src"]);
        check(daspack_stream_info(sp, sl, null_mut()), DASPACK_ERROR_NULL_POINTER, &["info"]);
        check(daspack_stream_info(sp, 3, si.as_mut_ptr()), DASPACK_ERROR_TRUNCATED, &[]);
    }
}

#[test]
fn corrupt_streams_fail_cleanly() {
    let (data, s) = sample_stream();
    let mut out = vec![0i32; data.len()];
    let mut n = 0usize;
    // Every truncation is refused, with a status that says so.
    for cut in 0..s.len() {
        // SAFETY: valid pointers.
        let st = unsafe { daspack_decompress_i32(s.as_ptr(), cut, out.as_mut_ptr(), out.len(), 1, &mut n) };
        assert!(
            [DASPACK_ERROR_TRUNCATED, DASPACK_ERROR_CORRUPT].contains(&st),
            "cut {cut}: {} {}",
            name(st),
            last_error()
        );
    }
    // Every single-byte flip is detected (the header and each tile carry a CRC) or decodes to the original.
    for i in 0..s.len() {
        let mut bad = s.clone();
        bad[i] ^= 0x41;
        let mut si = std::mem::MaybeUninit::<DaspackStreamInfo>::uninit();
        // SAFETY: valid pointers.
        unsafe {
            let _ = daspack_stream_info(bad.as_ptr(), bad.len(), si.as_mut_ptr());
            let st = daspack_decompress_i32(bad.as_ptr(), bad.len(), out.as_mut_ptr(), out.len(), 1, &mut n);
            assert_ne!(st, DASPACK_ERROR_INTERNAL, "flip at {i}: {}", last_error());
            if st == DASPACK_OK {
                assert_eq!(out, data, "flip at {i} decoded to something else");
            } else {
                assert!(!last_error().is_empty());
            }
        }
    }
}

#[test]
fn last_error_is_per_thread() {
    // SAFETY: NULL is refused.
    let st = unsafe { daspack_params_init(null_mut()) };
    assert_eq!(st, DASPACK_ERROR_NULL_POINTER);
    let here = last_error();
    let there = std::thread::spawn(|| {
        let before = last_error();
        // SAFETY: NULL is refused.
        let st = unsafe { daspack_checksum_size(999, null_mut()) };
        (before, st, last_error())
    })
    .join()
    .unwrap();
    assert_eq!(there.0, "", "a new thread starts with no message");
    assert_eq!(there.1, DASPACK_ERROR_NULL_POINTER);
    assert!(there.2.starts_with("daspack_checksum_size:"));
    assert_eq!(last_error(), here, "another thread's error does not show here");
    // Success leaves the message alone.
    let _ = params();
    assert_eq!(last_error(), here);
}

#[test]
fn concurrent_calls_agree() {
    let data = wave(256, 32);
    let p = params();
    let reference = compress_i32(&data, 256, 32, &p);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (data, reference) = (&data, &reference);
            s.spawn(move || {
                let mut q = params();
                q.threads = t;
                for _ in 0..3 {
                    assert_eq!(&compress_i32(data, 256, 32, &q), reference);
                }
            });
        }
    });
}

// ---- Sensor codec ----

fn series() -> Vec<i16> {
    let mut v = Vec::new();
    let mut x = 412i16;
    for i in 0..5000 {
        match i % 97 {
            0 => v.push(DASPACK_SENSOR_SLOT_NO_MEASUREMENT),
            13 => x = if x > 1800 { -1500 } else { x + 200 },
            _ if i % 7 == 0 => x = (x + if i % 2 == 0 { 1 } else { -1 }).clamp(-2048, 2047),
            _ => {}
        }
        v.push(x);
    }
    v.push(DASPACK_SENSOR_SLOT_USER_EVENT);
    v.extend_from_slice(&[-2048; 700]);
    v
}

#[test]
fn sensor_constants_match_the_crate() {
    assert_eq!(DASPACK_SENSOR_MIN_SAMPLE, facade::sensor::MIN_SAMPLE);
    assert_eq!(DASPACK_SENSOR_MAX_SAMPLE, facade::sensor::MAX_SAMPLE);
    assert_eq!(DASPACK_SENSOR_SLOT_NO_MEASUREMENT, facade::sensor::SLOT_NO_MEASUREMENT);
    assert_eq!(DASPACK_SENSOR_SLOT_CLOCK_BACKWARDS, facade::sensor::SLOT_CLOCK_BACKWARDS);
    assert_eq!(DASPACK_SENSOR_SLOT_LONG_TERM_JITTER, facade::sensor::SLOT_LONG_TERM_JITTER);
    assert_eq!(DASPACK_SENSOR_SLOT_USER_EVENT, facade::sensor::SLOT_USER_EVENT);
    assert_eq!(daspack_sensor_max_encoded_len(8), 15);
    assert_eq!(daspack_sensor_max_encoded_len(usize::MAX), facade::sensor::max_encoded_len(usize::MAX));
}

fn sensor_one_shot(slots: &[i16]) -> (Vec<u8>, u64) {
    let mut buf = vec![0u8; daspack_sensor_max_encoded_len(slots.len())];
    let (mut len, mut bits) = (0usize, 0u64);
    // SAFETY: valid pointers.
    let st =
        unsafe { daspack_sensor_encode(slots.as_ptr(), slots.len(), buf.as_mut_ptr(), buf.len(), &mut len, &mut bits) };
    check(st, DASPACK_OK, &[]);
    buf.truncate(len);
    (buf, bits)
}

#[test]
fn sensor_one_shot_round_trip_and_errors() {
    let s = series();
    let (enc, bits) = sensor_one_shot(&s);
    assert!(bits <= enc.len() as u64 * 8 && bits + 8 > enc.len() as u64 * 8);
    let mut out = vec![0i16; s.len()];
    let mut n = 0usize;
    // SAFETY: valid pointers or NULL.
    unsafe {
        let st = daspack_sensor_decode(enc.as_ptr(), enc.len(), s.len() as u64, out.as_mut_ptr(), out.len(), &mut n);
        check(st, DASPACK_OK, &[]);
        assert_eq!((n, &out), (s.len(), &s));

        let (mut len, mut b) = (0usize, 0u64);
        let mut buf = vec![0u8; 64];
        let f = "daspack_sensor_encode";
        let bp = buf.as_mut_ptr();
        check(daspack_sensor_encode(null(), 3, bp, 64, &mut len, &mut b), DASPACK_ERROR_NULL_POINTER, &[f, "slots"]);
        check(
            daspack_sensor_encode(s.as_ptr(), 3, null_mut(), 64, &mut len, &mut b),
            DASPACK_ERROR_NULL_POINTER,
            &["dst"],
        );
        check(
            daspack_sensor_encode(s.as_ptr(), 3, bp, 64, null_mut(), &mut b),
            DASPACK_ERROR_NULL_POINTER,
            &["dst_len"],
        );
        check(
            daspack_sensor_encode(s.as_ptr(), 3, bp, 64, &mut len, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["bit_len"],
        );
        check(daspack_sensor_encode(s.as_ptr(), 0, bp, 64, &mut len, &mut b), DASPACK_OK, &[]);
        assert_eq!((len, b), (0, 0));
        let bad = [1i16, 2, 3, 4000, 5];
        let st = daspack_sensor_encode(bad.as_ptr(), 5, bp, 64, &mut len, &mut b);
        check(st, DASPACK_ERROR_INVALID_ARGUMENT, &["slot 3", "4000"]);
        let st = daspack_sensor_encode(s.as_ptr(), s.len(), bp, 64, &mut len, &mut b);
        check(st, DASPACK_ERROR_BUFFER_TOO_SMALL, &["64 bytes"]);
        assert_eq!(len, enc.len());

        let op = out.as_mut_ptr();
        let c = s.len() as u64;
        let g = "daspack_sensor_decode";
        check(daspack_sensor_decode(null(), 4, c, op, s.len(), &mut n), DASPACK_ERROR_NULL_POINTER, &[g, "src"]);
        check(
            daspack_sensor_decode(enc.as_ptr(), enc.len(), c, null_mut(), 9, &mut n),
            DASPACK_ERROR_NULL_POINTER,
            &["dst"],
        );
        check(
            daspack_sensor_decode(enc.as_ptr(), enc.len(), c, op, 9, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["dst_len"],
        );
        check(
            daspack_sensor_decode(enc.as_ptr(), enc.len(), c, op, 9, &mut n),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["9 slots"],
        );
        assert_eq!(n, s.len());
        let st = daspack_sensor_decode(enc.as_ptr(), 0, c, op, s.len(), &mut n);
        check(st, DASPACK_ERROR_TRUNCATED, &["truncated"]);
        // A relative code word first (`00` = +1) has no reference sample.
        let zeros = [0u8; 4];
        let st = daspack_sensor_decode(zeros.as_ptr(), 4, 3, op, s.len(), &mut n);
        check(st, DASPACK_ERROR_CORRUPT, &["bit 0"]);
        // Unassigned event word 101 0100 xxxx.
        // 110 000000000000 (sample 0), then 101 00000100 at bit 15.
        let inv = [0xC0u8, 0x01, 0x41, 0x00];
        let st = daspack_sensor_decode(inv.as_ptr(), inv.len(), 2, op, s.len(), &mut n);
        check(st, DASPACK_ERROR_CORRUPT, &["bit 15"]);
    }
}

#[test]
fn sensor_streaming_matches_one_shot() {
    let s = series();
    let (reference, bits) = sensor_one_shot(&s);
    // SAFETY: valid pointers; objects freed once.
    unsafe {
        let mut enc = null_mut();
        check(daspack_sensor_encoder_new(&mut enc), DASPACK_OK, &[]);
        let mut stream = Vec::new();
        let mut buf = [0u8; 37];
        let mut got = 0usize;
        for chunk in s.chunks(333) {
            check(daspack_sensor_encoder_push(enc, chunk.as_ptr(), chunk.len()), DASPACK_OK, &[]);
            check(daspack_sensor_encoder_read(enc, buf.as_mut_ptr(), buf.len(), &mut got), DASPACK_OK, &[]);
            stream.extend_from_slice(&buf[..got]);
        }
        let mut items = 0u64;
        check(daspack_sensor_encoder_items(enc, &mut items), DASPACK_OK, &[]);
        assert_eq!(items, s.len() as u64);
        let (mut n, mut b) = (0u64, 0u64);
        check(daspack_sensor_encoder_finish(enc, &mut n, &mut b), DASPACK_OK, &[]);
        assert_eq!((n, b), (s.len() as u64, bits));
        check(daspack_sensor_encoder_finish(enc, &mut n, &mut b), DASPACK_OK, &[]);
        assert_eq!((n, b), (s.len() as u64, bits));
        let mut pending = 0usize;
        check(daspack_sensor_encoder_pending(enc, &mut pending), DASPACK_OK, &[]);
        loop {
            check(daspack_sensor_encoder_read(enc, buf.as_mut_ptr(), buf.len(), &mut got), DASPACK_OK, &[]);
            if got == 0 {
                break;
            }
            stream.extend_from_slice(&buf[..got]);
        }
        assert_eq!(stream, reference);
        check(daspack_sensor_encoder_pending(enc, &mut pending), DASPACK_OK, &[]);
        assert_eq!(pending, 0);
        let st = daspack_sensor_encoder_push(enc, s.as_ptr(), 1);
        check(st, DASPACK_ERROR_STATE, &["finished"]);
        daspack_sensor_encoder_free(enc);

        // Decoder object, read in odd-sized pieces.
        let mut dec = null_mut();
        check(daspack_sensor_decoder_new(stream.as_ptr(), stream.len(), n, &mut dec), DASPACK_OK, &[]);
        drop(stream); // the decoder holds its own copy
        let st = daspack_sensor_decoder_check_end(dec);
        check(st, DASPACK_ERROR_STATE, &["items left"]);
        let mut back = Vec::new();
        let mut piece = [0i16; 101];
        let mut k = 0usize;
        loop {
            check(daspack_sensor_decoder_read(dec, piece.as_mut_ptr(), piece.len(), &mut k), DASPACK_OK, &[]);
            if k == 0 {
                break;
            }
            back.extend_from_slice(&piece[..k]);
        }
        assert_eq!(back, s);
        check(daspack_sensor_decoder_check_end(dec), DASPACK_OK, &[]);
        daspack_sensor_decoder_free(dec);
    }
}

#[test]
fn sensor_objects_reject_bad_arguments() {
    // SAFETY: valid pointers or NULL; objects freed once.
    unsafe {
        let mut enc = null_mut();
        let (mut n, mut b, mut z) = (0u64, 0u64, 0usize);
        let mut buf = [0u8; 8];
        let x = [1i16, 2, 3];
        check(daspack_sensor_encoder_new(null_mut()), DASPACK_ERROR_NULL_POINTER, &["encoder"]);
        check(daspack_sensor_encoder_push(null_mut(), x.as_ptr(), 3), DASPACK_ERROR_NULL_POINTER, &["encoder"]);
        check(daspack_sensor_encoder_finish(null_mut(), &mut n, &mut b), DASPACK_ERROR_NULL_POINTER, &["encoder"]);
        check(daspack_sensor_encoder_read(null_mut(), buf.as_mut_ptr(), 8, &mut z), DASPACK_ERROR_NULL_POINTER, &[]);
        check(daspack_sensor_encoder_pending(null(), &mut z), DASPACK_ERROR_NULL_POINTER, &["encoder"]);
        check(daspack_sensor_encoder_items(null(), &mut n), DASPACK_ERROR_NULL_POINTER, &["encoder"]);
        daspack_sensor_encoder_free(null_mut());

        check(daspack_sensor_encoder_new(&mut enc), DASPACK_OK, &[]);
        check(daspack_sensor_encoder_push(enc, null(), 3), DASPACK_ERROR_NULL_POINTER, &["slots"]);
        check(daspack_sensor_encoder_push(enc, x.as_ptr(), 0), DASPACK_OK, &[]);
        let bad = [7i16, 8, 9, -3000, 10];
        check(
            daspack_sensor_encoder_push(enc, bad.as_ptr(), 5),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["slot 3", "3 slots before"],
        );
        check(daspack_sensor_encoder_items(enc, &mut n), DASPACK_OK, &[]);
        assert_eq!(n, 3);
        check(daspack_sensor_encoder_items(enc, null_mut()), DASPACK_ERROR_NULL_POINTER, &["items"]);
        check(daspack_sensor_encoder_pending(enc, null_mut()), DASPACK_ERROR_NULL_POINTER, &["bytes"]);
        check(daspack_sensor_encoder_finish(enc, null_mut(), &mut b), DASPACK_ERROR_NULL_POINTER, &["items"]);
        check(daspack_sensor_encoder_finish(enc, &mut n, null_mut()), DASPACK_ERROR_NULL_POINTER, &["bit_len"]);
        check(daspack_sensor_encoder_read(enc, null_mut(), 8, &mut z), DASPACK_ERROR_NULL_POINTER, &["dst"]);
        check(
            daspack_sensor_encoder_read(enc, buf.as_mut_ptr(), 8, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["dst_len"],
        );
        check(daspack_sensor_encoder_read(enc, buf.as_mut_ptr(), 0, &mut z), DASPACK_OK, &[]);
        assert_eq!(z, 0);
        check(daspack_sensor_encoder_finish(enc, &mut n, &mut b), DASPACK_OK, &[]);
        check(daspack_sensor_encoder_read(enc, buf.as_mut_ptr(), 8, &mut z), DASPACK_OK, &[]);
        daspack_sensor_encoder_free(enc);

        // The three items 7, 8, 9 decode; a longer count runs out of data; trailing data is caught.
        let stream = buf[..z].to_vec();
        let mut dec = null_mut();
        let mut out = [0i16; 8];
        check(daspack_sensor_decoder_new(null(), 1, 3, &mut dec), DASPACK_ERROR_NULL_POINTER, &["src"]);
        check(daspack_sensor_decoder_new(stream.as_ptr(), z, 3, null_mut()), DASPACK_ERROR_NULL_POINTER, &["decoder"]);
        check(daspack_sensor_decoder_read(null_mut(), out.as_mut_ptr(), 8, &mut z), DASPACK_ERROR_NULL_POINTER, &[]);
        check(daspack_sensor_decoder_check_end(null()), DASPACK_ERROR_NULL_POINTER, &["decoder"]);
        daspack_sensor_decoder_free(null_mut());

        check(daspack_sensor_decoder_new(stream.as_ptr(), stream.len(), 50, &mut dec), DASPACK_OK, &[]);
        check(daspack_sensor_decoder_read(dec, null_mut(), 8, &mut z), DASPACK_ERROR_NULL_POINTER, &["dst"]);
        check(
            daspack_sensor_decoder_read(dec, out.as_mut_ptr(), 8, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["dst_len"],
        );
        check(daspack_sensor_decoder_read(dec, out.as_mut_ptr(), 0, &mut z), DASPACK_OK, &[]);
        assert_eq!(z, 0);
        check(daspack_sensor_decoder_read(dec, out.as_mut_ptr(), 8, &mut z), DASPACK_OK, &[]);
        // The zero padding of the last byte reads as +1 words until the data runs out.
        assert!(z >= 3 && out[..3] == [7, 8, 9], "{:?}", &out[..z]);
        check(daspack_sensor_decoder_read(dec, out.as_mut_ptr(), 8, &mut z), DASPACK_ERROR_TRUNCATED, &["bit"]);
        check(daspack_sensor_decoder_check_end(dec), DASPACK_ERROR_TRUNCATED, &[]);
        daspack_sensor_decoder_free(dec);

        let mut longer = stream.clone();
        longer.push(0xff);
        check(daspack_sensor_decoder_new(longer.as_ptr(), longer.len(), 3, &mut dec), DASPACK_OK, &[]);
        check(daspack_sensor_decoder_read(dec, out.as_mut_ptr(), 8, &mut z), DASPACK_OK, &[]);
        check(daspack_sensor_decoder_check_end(dec), DASPACK_ERROR_CORRUPT, &["data after the last item"]);
        daspack_sensor_decoder_free(dec);

        // An empty stream of zero items is valid.
        check(daspack_sensor_decoder_new(longer.as_ptr(), 0, 0, &mut dec), DASPACK_OK, &[]);
        check(daspack_sensor_decoder_read(dec, out.as_mut_ptr(), 8, &mut z), DASPACK_OK, &[]);
        assert_eq!(z, 0);
        check(daspack_sensor_decoder_check_end(dec), DASPACK_OK, &[]);
        daspack_sensor_decoder_free(dec);
    }
}

// ---- Checksums ----

fn digest(kind: DaspackChecksumKind, data: &[u8]) -> Vec<u8> {
    let mut out = [0u8; DASPACK_CHECKSUM_MAX_SIZE];
    let mut n = 0usize;
    // SAFETY: valid pointers.
    let st = unsafe { daspack_checksum(kind, data.as_ptr(), data.len(), out.as_mut_ptr(), out.len(), &mut n) };
    check(st, DASPACK_OK, &[]);
    out[..n].to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn checksums_known_values() {
    assert_eq!(hex(&digest(DASPACK_CHECKSUM_CRC32, b"123456789")), "2639f4cb");
    assert_eq!(hex(&digest(DASPACK_CHECKSUM_ADLER32, b"Wikipedia")), "9803e611");
    assert_eq!(hex(&digest(DASPACK_CHECKSUM_MD5, b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        hex(&digest(DASPACK_CHECKSUM_SHA256, b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(hex(&digest(DASPACK_CHECKSUM_XXH64, b"")), "ef46db3751d8e999");
    assert_eq!(digest(DASPACK_CHECKSUM_NONE, b"abc"), b"");
    for k in DASPACK_CHECKSUM_NONE..=DASPACK_CHECKSUM_BLAKE3 {
        let mut size = 0usize;
        // SAFETY: valid pointers.
        unsafe {
            check(daspack_checksum_size(k, &mut size), DASPACK_OK, &[]);
            let name = CStr::from_ptr(daspack_checksum_name(k)).to_owned();
            let mut back = 99;
            check(daspack_checksum_from_name(name.as_ptr(), &mut back), DASPACK_OK, &[]);
            assert_eq!(back, k);
        }
        assert_eq!(digest(k, b"daspack").len(), size);
    }
}

#[test]
fn checksum_errors_and_streaming() {
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
    // SAFETY: valid pointers or NULL; the hasher is freed once.
    unsafe {
        let mut out = [0u8; 64];
        let mut n = 0usize;
        let (dp, op) = (data.as_ptr(), out.as_mut_ptr());
        let f = "daspack_checksum";
        check(daspack_checksum(2, null(), 5, op, 64, &mut n), DASPACK_ERROR_NULL_POINTER, &[f, "data"]);
        check(daspack_checksum(2, dp, 5, null_mut(), 64, &mut n), DASPACK_ERROR_NULL_POINTER, &["dst"]);
        check(daspack_checksum(2, dp, 5, op, 64, null_mut()), DASPACK_ERROR_NULL_POINTER, &["dst_len"]);
        check(daspack_checksum(11, dp, 5, op, 64, &mut n), DASPACK_ERROR_INVALID_ARGUMENT, &["checksum kind 11"]);
        check(
            daspack_checksum(DASPACK_CHECKSUM_SHA512, dp, 5, op, 63, &mut n),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["63"],
        );
        assert_eq!(n, 64);
        check(daspack_checksum(DASPACK_CHECKSUM_SHA1, dp, 0, op, 64, &mut n), DASPACK_OK, &[]);
        assert_eq!(hex(&out[..n]), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        let mut size = 0usize;
        check(daspack_checksum_size(42, &mut size), DASPACK_ERROR_INVALID_ARGUMENT, &["42"]);
        check(daspack_checksum_size(1, null_mut()), DASPACK_ERROR_NULL_POINTER, &["size"]);
        assert!(daspack_checksum_name(11).is_null());
        assert!(last_error().contains("daspack_checksum_name"));
        let mut k = 0u32;
        check(daspack_checksum_from_name(c"SHA256".as_ptr(), &mut k), DASPACK_OK, &[]);
        assert_eq!(k, DASPACK_CHECKSUM_SHA256);
        check(daspack_checksum_from_name(c"crc64".as_ptr(), &mut k), DASPACK_ERROR_INVALID_ARGUMENT, &["crc64"]);
        check(daspack_checksum_from_name(null(), &mut k), DASPACK_ERROR_NULL_POINTER, &["name"]);
        check(daspack_checksum_from_name(c"md5".as_ptr(), null_mut()), DASPACK_ERROR_NULL_POINTER, &["kind"]);

        for kind in DASPACK_CHECKSUM_NONE..=DASPACK_CHECKSUM_BLAKE3 {
            let mut h = null_mut();
            check(daspack_hasher_new(kind, &mut h), DASPACK_OK, &[]);
            for piece in data.chunks(777) {
                check(daspack_hasher_update(h, piece.as_ptr(), piece.len()), DASPACK_OK, &[]);
            }
            if kind == DASPACK_CHECKSUM_SHA256 {
                let st = daspack_hasher_finish(h, op, 31, &mut n);
                check(st, DASPACK_ERROR_BUFFER_TOO_SMALL, &["31 bytes"]);
                assert_eq!(n, 32);
            }
            check(daspack_hasher_finish(h, op, 64, &mut n), DASPACK_OK, &[]);
            assert_eq!(&out[..n], digest(kind, &data), "kind {kind}");
            // Finished hashers start over.
            check(daspack_hasher_update(h, dp, 3), DASPACK_OK, &[]);
            check(daspack_hasher_finish(h, op, 64, &mut n), DASPACK_OK, &[]);
            assert_eq!(&out[..n], digest(kind, &data[..3]));
            daspack_hasher_free(h);
        }
        let mut h = null_mut();
        check(daspack_hasher_new(77, &mut h), DASPACK_ERROR_INVALID_ARGUMENT, &["77"]);
        check(daspack_hasher_new(1, null_mut()), DASPACK_ERROR_NULL_POINTER, &["hasher"]);
        check(daspack_hasher_update(null_mut(), dp, 3), DASPACK_ERROR_NULL_POINTER, &["hasher"]);
        check(daspack_hasher_finish(null_mut(), op, 64, &mut n), DASPACK_ERROR_NULL_POINTER, &["hasher"]);
        check(daspack_hasher_new(1, &mut h), DASPACK_OK, &[]);
        check(daspack_hasher_update(h, null(), 3), DASPACK_ERROR_NULL_POINTER, &["data"]);
        check(daspack_hasher_finish(h, null_mut(), 64, &mut n), DASPACK_ERROR_NULL_POINTER, &["dst"]);
        check(daspack_hasher_finish(h, op, 64, null_mut()), DASPACK_ERROR_NULL_POINTER, &["dst_len"]);
        daspack_hasher_free(h);
        daspack_hasher_free(null_mut());
    }
}

/// The layouts tests/capi/abi_errors.c checks from C with sizeof/offsetof.
#[test]
fn struct_layouts() {
    use std::mem::{offset_of, size_of};
    assert_eq!(size_of::<DaspackParams>(), 40);
    assert_eq!((offset_of!(DaspackParams, abs_error), offset_of!(DaspackParams, threads)), (0, 36));
    assert_eq!(size_of::<DaspackStreamInfo>(), 64);
    assert_eq!((offset_of!(DaspackStreamInfo, rows), offset_of!(DaspackStreamInfo, abs_error)), (8, 32));
    assert_eq!(offset_of!(DaspackStreamInfo, tile_count), 56);
    assert_eq!(size_of::<DaspackTileInfo>(), 32);
    assert_eq!((size_of::<DaspackError>(), size_of::<DaspackDType>(), size_of::<DaspackChecksumKind>()), (4, 4, 4));
}
