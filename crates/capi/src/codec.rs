//! The DAS array codec: parameters, compression bound, compression, stream inspection, decompression (whole
//! arrays or one tile).

use std::ffi::c_void;

use facade::{ArrayBuf, ArrayRef, CodecError, DType, Header, Mode, Params};

use crate::error::{
    aligned, byte_len, copy_to, disjoint, guard, non_null, slice, write_out, DaspackError, Failure, Result,
    DASPACK_ERROR_CORRUPT, DASPACK_ERROR_DTYPE_MISMATCH, DASPACK_ERROR_INTERNAL, DASPACK_ERROR_NOT_DASPACK,
    DASPACK_ERROR_TOO_LARGE, DASPACK_ERROR_TRUNCATED, DASPACK_ERROR_UNREPRESENTABLE, DASPACK_ERROR_UNSUPPORTED_VERSION,
};

/// Element type of an array, with the code the stream header stores. One of the `DASPACK_DTYPE_*` values.
pub type DaspackDType = u32;

/// 16-bit signed integers (`int16_t`).
pub const DASPACK_DTYPE_INT16: DaspackDType = 1;
/// 16-bit unsigned integers (`uint16_t`).
pub const DASPACK_DTYPE_UINT16: DaspackDType = 2;
/// 32-bit signed integers (`int32_t`).
pub const DASPACK_DTYPE_INT32: DaspackDType = 3;
/// 32-bit IEEE floats (`float`).
pub const DASPACK_DTYPE_FLOAT32: DaspackDType = 4;
/// 64-bit IEEE floats (`double`).
pub const DASPACK_DTYPE_FLOAT64: DaspackDType = 5;

/// The newest stream format version this library writes; it reads every version from 1 to this one. A stream has
/// the lowest version that has what it uses: version 5 when an entropy table is a law, else 4 when channels are
/// predicted apart (tile method 4), else 2 for lossless floats, else 1.
pub const DASPACK_FORMAT_VERSION: u32 = 5;

/// Most worker threads a call may ask for.
pub const DASPACK_MAX_THREADS: u32 = 1024;

/// Compression parameters. Fill with `daspack_params_init`, then change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DaspackParams {
    /// Maximum absolute error of every element; 0 is lossless (floats too: they come back bit for bit).
    pub abs_error: f64,
    /// Tile height in time samples; 0 chooses from the array shape.
    pub block_height: u32,
    /// Tile width in channels; 0 chooses from the array shape.
    pub block_width: u32,
    /// Wavelet levels along space (channels).
    pub lx: u32,
    /// Wavelet levels along time.
    pub lt: u32,
    /// Prediction order along time, 0..=32.
    pub lpc_order: u32,
    /// Prediction order along channels, 0..=8.
    pub lpc_space: u32,
    /// Nonzero: choose the predictor per tile among a few shapes (the orders above are one candidate).
    pub auto_predictor: u32,
    /// Worker threads, at most DASPACK_MAX_THREADS; 0 uses a shared pool sized to the machine. The output does
    /// not depend on it.
    pub threads: u32,
}

/// What a stream holds, read from its header without decoding any tile.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DaspackStreamInfo {
    /// Element type (`DASPACK_DTYPE_*`).
    pub dtype: DaspackDType,
    /// Stream format version.
    pub format_version: u32,
    /// Rows (time samples).
    pub rows: u64,
    /// Columns (channels).
    pub cols: u64,
    /// Bytes per element.
    pub element_size: u32,
    /// 1 when decoding gives back the exact input, 0 when elements are within `abs_error`.
    pub lossless: u32,
    /// The error bound given at compression (0 for lossless).
    pub abs_error: f64,
    /// Bytes of the decoded array: rows x cols x element_size (what `daspack_decompress` needs).
    pub decoded_size: u64,
    /// Tile height in rows.
    pub block_height: u32,
    /// Tile width in columns.
    pub block_width: u32,
    /// Number of tiles (numbered row-major, each decodable alone).
    pub tile_count: u64,
}

/// Where one tile sits in the array.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaspackTileInfo {
    /// First row of the tile.
    pub row0: u64,
    /// First column of the tile.
    pub col0: u64,
    /// Rows of the tile.
    pub rows: u64,
    /// Columns of the tile.
    pub cols: u64,
}

pub(crate) fn dtype_from_code(code: DaspackDType) -> Result<DType> {
    u8::try_from(code)
        .ok()
        .and_then(DType::from_code)
        .ok_or_else(|| Failure::invalid(format!("unknown dtype {code} (expected 1..=5, DASPACK_DTYPE_*)")))
}

fn codec_failure(e: CodecError) -> Failure {
    let code = match &e {
        CodecError::BadMagic => DASPACK_ERROR_NOT_DASPACK,
        CodecError::UnsupportedVersion(_) => DASPACK_ERROR_UNSUPPORTED_VERSION,
        CodecError::Truncated { .. } => DASPACK_ERROR_TRUNCATED,
        CodecError::Corrupt { .. } | CodecError::TileChecksum { .. } => DASPACK_ERROR_CORRUPT,
        CodecError::TooLarge { .. } => DASPACK_ERROR_TOO_LARGE,
        CodecError::NonFinite { .. } | CodecError::Unrepresentable { .. } => DASPACK_ERROR_UNREPRESENTABLE,
        _ => crate::error::DASPACK_ERROR_INVALID_ARGUMENT,
    };
    Failure::new(code, e.to_string())
}

fn small(v: u32, max: u32, name: &str) -> Result<u8> {
    if v > max {
        return Err(Failure::invalid(format!("params.{name} = {v} is out of range (0..={max})")));
    }
    Ok(v as u8)
}

pub(crate) fn check_threads(threads: u32) -> Result<usize> {
    if threads > DASPACK_MAX_THREADS {
        return Err(Failure::invalid(format!(
            "threads = {threads} exceeds DASPACK_MAX_THREADS ({DASPACK_MAX_THREADS})"
        )));
    }
    Ok(threads as usize)
}

/// Reads and converts a C parameter struct.
///
/// # Safety
/// `p` must be NULL or point to a `DaspackParams`.
unsafe fn read_params(p: *const DaspackParams) -> Result<Params> {
    non_null(p, "params")?;
    aligned(p, "params")?;
    // SAFETY: non-NULL and aligned; every bit pattern is a valid DaspackParams (plain integers and a double).
    params_from_c(unsafe { p.read() })
}

/// Converts a C parameter struct (already copied out of C memory), checking every field.
pub(crate) fn params_from_c(c: DaspackParams) -> Result<Params> {
    if !(c.abs_error.is_finite() && c.abs_error >= 0.0) {
        return Err(Failure::invalid(format!("params.abs_error = {} must be finite and >= 0", c.abs_error)));
    }
    Ok(Params {
        block_height: c.block_height as usize,
        block_width: c.block_width as usize,
        // The codec checks its own tighter limits; these only keep the values from wrapping into range.
        lx: small(c.lx, 255, "lx")?,
        lt: small(c.lt, 255, "lt")?,
        lpc_order: small(c.lpc_order, 255, "lpc_order")?,
        lpc_space: small(c.lpc_space, 255, "lpc_space")?,
        auto: c.auto_predictor != 0,
        abs_error: c.abs_error,
        threads: check_threads(c.threads)?,
        // Codec settings the C struct does not carry (yet) keep their defaults.
        ..Params::default()
    })
}

/// The defaults of `Params` as the C struct.
pub(crate) fn default_params_c() -> DaspackParams {
    let d = Params::default();
    DaspackParams {
        abs_error: d.abs_error,
        block_height: d.block_height as u32,
        block_width: d.block_width as u32,
        lx: d.lx.into(),
        lt: d.lt.into(),
        lpc_order: d.lpc_order.into(),
        lpc_space: d.lpc_space.into(),
        auto_predictor: d.auto.into(),
        threads: d.threads as u32,
    }
}

/// Fills `params` with the defaults (tuned on the real DAS corpus): lossless, automatic tile size and predictor.
#[no_mangle]
pub unsafe extern "C" fn daspack_params_init(params: *mut DaspackParams) -> DaspackError {
    guard("daspack_params_init", || {
        let c = default_params_c();
        // SAFETY: the caller passes a writable DaspackParams (or NULL, refused).
        unsafe { write_out(params, c, "params") }
    })
}

/// Frees the buffers that compression and decompression keep for their next calls: at most one set per worker
/// thread that has coded at once, each the size its largest tile needed (for a tile of 1024 x 1024 int32, about
/// 15 MB). Later calls make them again. Safe to call at any time, from any thread, also while others code.
#[no_mangle]
pub extern "C" fn daspack_release_buffers() -> DaspackError {
    guard("daspack_release_buffers", || {
        facade::release_buffers();
        Ok(())
    })
}

/// Elements of a `rows x cols` array, with the overflow checked.
fn elements(rows: usize, cols: usize) -> Result<usize> {
    rows.checked_mul(cols)
        .ok_or_else(|| Failure::new(DASPACK_ERROR_TOO_LARGE, format!("shape {rows} x {cols} overflows")))
}

/// Stores in `*bound` the largest stream `daspack_compress` can produce for a `rows x cols` array of `dtype`
/// with `params` (the tile size matters). A buffer of that size never fails with BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress_bound(
    dtype: DaspackDType,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    bound: *mut usize,
) -> DaspackError {
    guard("daspack_compress_bound", || {
        non_null(bound, "bound")?;
        // SAFETY: `params` is the caller's DaspackParams (or NULL, refused).
        let p = unsafe { read_params(params) }?;
        let dt = dtype_from_code(dtype)?;
        let n = elements(rows, cols)?;
        // The codec's bound is below 52 + 4 + 9 n + 8 n bytes; check that much fits before asking it.
        if !matches!(n.checked_mul(17).and_then(|v| v.checked_add(4096)), Some(v) if v <= isize::MAX as usize) {
            return Err(Failure::new(DASPACK_ERROR_TOO_LARGE, format!("shape {rows} x {cols} is too large")));
        }
        let b = facade::compress_bound(dt, rows, cols, &p);
        // SAFETY: `bound` is the caller's writable size_t (checked non-NULL above).
        unsafe { write_out(bound, b, "bound") }
    })
}

/// Shared body of the compress functions; `data` points to `rows * cols` elements of `dtype`.
///
/// # Safety
/// The pointers follow the contract of `daspack_compress`.
#[allow(clippy::too_many_arguments)]
unsafe fn compress_impl(
    dtype: DaspackDType,
    data: *const c_void,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> Result<()> {
    non_null(data, "data")?;
    non_null(dst, "dst")?;
    // SAFETY: the caller's writable size_t (or NULL, refused). Cleared first so that no error leaves garbage.
    unsafe { write_out(dst_len, 0, "dst_len") }?;
    let dtype = dtype_from_code(dtype)?;
    // SAFETY: the caller's DaspackParams (or NULL, refused).
    let p = unsafe { read_params(params) }?;
    let n = elements(rows, cols)?;
    let in_bytes = match dtype {
        DType::I16 | DType::U16 => byte_len::<i16>(n, "data"),
        DType::I32 | DType::F32 => byte_len::<i32>(n, "data"),
        DType::F64 => byte_len::<f64>(n, "data"),
    }?;
    disjoint(data.cast(), in_bytes, dst, dst_capacity, "`data` and `dst`")?;
    // SAFETY (each arm): `data` holds rows * cols elements of the type (the caller's contract); `slice` checks
    // NULL, alignment and size.
    let array = unsafe {
        match dtype {
            DType::I16 => ArrayRef::I16(slice(data.cast::<i16>(), n, "data")?),
            DType::U16 => ArrayRef::U16(slice(data.cast::<u16>(), n, "data")?),
            DType::I32 => ArrayRef::I32(slice(data.cast::<i32>(), n, "data")?),
            DType::F32 => ArrayRef::F32(slice(data.cast::<f32>(), n, "data")?),
            DType::F64 => ArrayRef::F64(slice(data.cast::<f64>(), n, "data")?),
        }
    };
    let packed = facade::compress(array, rows, cols, &p).map_err(codec_failure)?;
    if packed.len() > dst_capacity {
        // SAFETY: `dst_len` was checked above.
        unsafe { dst_len.write(packed.len()) };
        return Err(Failure::too_small(format!(
            "output buffer holds {dst_capacity} bytes, the stream needs {} (daspack_compress_bound gives a size \
             that always suffices)",
            packed.len()
        )));
    }
    // SAFETY: `dst` holds `dst_capacity >= packed.len()` writable bytes and does not overlap `packed` (ours).
    unsafe {
        copy_to(&packed, dst);
        dst_len.write(packed.len());
    }
    Ok(())
}

/// Compresses a `rows x cols` array (row-major: time x channel) of `dtype` at `data` into `dst`.
///
/// `data` holds `rows * cols` elements, aligned for their type. `dst` has room for `dst_capacity` bytes (see
/// `daspack_compress_bound`) and must not overlap `data`. On success `*dst_len` is the stream size; on
/// DASPACK_ERROR_BUFFER_TOO_SMALL it is the size needed, on other errors 0.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress(
    dtype: DaspackDType,
    data: *const c_void,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_compress", || {
        // SAFETY: forwarded under the same contract.
        unsafe { compress_impl(dtype, data, rows, cols, params, dst, dst_capacity, dst_len) }
    })
}

/// `daspack_compress` for an array of `int16_t`.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress_i16(
    data: *const i16,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_compress_i16", || {
        // SAFETY: forwarded under the same contract.
        unsafe { compress_impl(DASPACK_DTYPE_INT16, data.cast(), rows, cols, params, dst, dst_capacity, dst_len) }
    })
}

/// `daspack_compress` for an array of `uint16_t`.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress_u16(
    data: *const u16,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_compress_u16", || {
        // SAFETY: forwarded under the same contract.
        unsafe { compress_impl(DASPACK_DTYPE_UINT16, data.cast(), rows, cols, params, dst, dst_capacity, dst_len) }
    })
}

/// `daspack_compress` for an array of `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress_i32(
    data: *const i32,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_compress_i32", || {
        // SAFETY: forwarded under the same contract.
        unsafe { compress_impl(DASPACK_DTYPE_INT32, data.cast(), rows, cols, params, dst, dst_capacity, dst_len) }
    })
}

/// `daspack_compress` for an array of `float`.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress_f32(
    data: *const f32,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_compress_f32", || {
        // SAFETY: forwarded under the same contract.
        unsafe { compress_impl(DASPACK_DTYPE_FLOAT32, data.cast(), rows, cols, params, dst, dst_capacity, dst_len) }
    })
}

/// `daspack_compress` for an array of `double`.
#[no_mangle]
pub unsafe extern "C" fn daspack_compress_f64(
    data: *const f64,
    rows: usize,
    cols: usize,
    params: *const DaspackParams,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_compress_f64", || {
        // SAFETY: forwarded under the same contract.
        unsafe { compress_impl(DASPACK_DTYPE_FLOAT64, data.cast(), rows, cols, params, dst, dst_capacity, dst_len) }
    })
}

/// Parses the header of the stream at `src` (after the NULL check).
///
/// # Safety
/// `src` must be NULL or hold `src_len` readable bytes.
unsafe fn header<'a>(src: *const u8, src_len: usize) -> Result<(&'a [u8], Header)> {
    // SAFETY: the caller's contract; the lifetime is bounded by the entry point that calls this.
    let s: &'a [u8] = unsafe { slice(src, src_len, "src") }?;
    let h = facade::read_header(s).map_err(codec_failure)?;
    Ok((s, h))
}

fn decoded_size(h: &Header) -> Result<usize> {
    let n = (h.rows as u128) * (h.cols as u128) * h.dtype.size() as u128;
    usize::try_from(n)
        .ok()
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| Failure::new(DASPACK_ERROR_TOO_LARGE, format!("the decoded array ({n} bytes) does not fit")))
}

/// Stores in `*info` what the complete stream `src` holds (type, shape, accuracy, tiling) without decoding it,
/// after checking its header and tile index.
#[no_mangle]
pub unsafe extern "C" fn daspack_stream_info(
    src: *const u8,
    src_len: usize,
    info: *mut DaspackStreamInfo,
) -> DaspackError {
    guard("daspack_stream_info", || {
        non_null(info, "info")?;
        // SAFETY: the caller's contract for `src`.
        let (_, h) = unsafe { header(src, src_len) }?;
        let out = DaspackStreamInfo {
            dtype: h.dtype.code().into(),
            format_version: h.version.into(),
            rows: h.rows,
            cols: h.cols,
            element_size: h.dtype.size() as u32,
            // Quantised floats and integers quantised with a step above 1 are the lossy modes; every other mode
            // (exact floats) is lossless.
            lossless: match h.mode {
                Mode::Int { step } => step == 1,
                Mode::FloatQuant { .. } => false,
                _ => true,
            }
            .into(),
            abs_error: h.abs_error,
            decoded_size: decoded_size(&h)? as u64,
            block_height: h.block_height,
            block_width: h.block_width,
            tile_count: h.tiles.len() as u64,
        };
        // SAFETY: the caller's writable DaspackStreamInfo.
        unsafe { write_out(info, out, "info") }
    })
}

/// The raw bytes of a decoded array, in the machine's byte order.
fn native_bytes(a: &ArrayBuf) -> &[u8] {
    fn bytes<T>(v: &[T]) -> &[u8] {
        // SAFETY: plain integers and floats have no padding and every byte is initialised.
        unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
    }
    match a {
        ArrayBuf::I16(v) => bytes(v),
        ArrayBuf::U16(v) => bytes(v),
        ArrayBuf::I32(v) => bytes(v),
        ArrayBuf::F32(v) => bytes(v),
        ArrayBuf::F64(v) => bytes(v),
    }
}

/// Shared body of the decompress functions. `expect`: the element type a typed function wants (its output size
/// is counted in elements), or `None` for the byte-counted generic function.
///
/// # Safety
/// The pointers follow the contract of `daspack_decompress`.
unsafe fn decompress_impl(
    src: *const u8,
    src_len: usize,
    dst: *mut u8,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
    expect: Option<DType>,
) -> Result<()> {
    non_null(src, "src")?;
    non_null(dst, "dst")?;
    // SAFETY: the caller's writable size_t (or NULL, refused).
    unsafe { write_out(dst_len, 0, "dst_len") }?;
    let threads = check_threads(threads)?;
    let unit = expect.map_or(1, DType::size);
    let cap_bytes = dst_capacity
        .checked_mul(unit)
        .ok_or_else(|| Failure::new(DASPACK_ERROR_TOO_LARGE, format!("dst_capacity {dst_capacity} overflows")))?;
    // SAFETY: the caller's contract for `src`.
    let (s, h) = unsafe { header(src, src_len) }?;
    if let Some(want) = expect {
        if h.dtype != want {
            return Err(Failure::new(
                DASPACK_ERROR_DTYPE_MISMATCH,
                format!("the stream holds {}, not {}", h.dtype.name(), want.name()),
            ));
        }
    }
    let need = decoded_size(&h)?;
    if need > cap_bytes {
        // SAFETY: checked above.
        unsafe { dst_len.write(need / unit) };
        return Err(Failure::too_small(format!(
            "output buffer holds {dst_capacity} {}, the {} x {} {} array needs {}",
            if expect.is_some() { "elements" } else { "bytes" },
            h.rows,
            h.cols,
            h.dtype.name(),
            need / unit
        )));
    }
    disjoint(src, src_len, dst, cap_bytes, "`src` and `dst`")?;
    let (_, array) = facade::decompress(s, threads).map_err(codec_failure)?;
    let bytes = native_bytes(&array);
    if bytes.len() != need {
        return Err(Failure::new(DASPACK_ERROR_INTERNAL, "decoded size differs from the header"));
    }
    // SAFETY: `dst` holds at least `need` writable bytes (`cap_bytes >= need`), disjoint from our buffer.
    unsafe {
        copy_to(bytes, dst);
        dst_len.write(need / unit);
    }
    Ok(())
}

/// Decompresses the complete stream `src` into `dst`, which has room for `dst_capacity` bytes.
///
/// The elements are written in the machine's byte order and need no particular alignment; `daspack_stream_info`
/// gives their type, the shape and the size needed (`decoded_size`). `threads`: worker threads (0 = shared
/// pool). On success `*dst_len` is the number of bytes written; on DASPACK_ERROR_BUFFER_TOO_SMALL it is the size
/// needed, on other errors 0.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress(
    src: *const u8,
    src_len: usize,
    dst: *mut c_void,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_decompress", || {
        // SAFETY: forwarded under the same contract.
        unsafe { decompress_impl(src, src_len, dst.cast(), dst_capacity, threads, dst_len, None) }
    })
}

/// `daspack_decompress` for a stream of `int16_t` (else DASPACK_ERROR_DTYPE_MISMATCH): `dst` is aligned for
/// `int16_t` and has room for `dst_capacity` elements, and `*dst_len` counts elements.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress_i16(
    src: *const u8,
    src_len: usize,
    dst: *mut i16,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_decompress_i16", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        aligned(dst, "dst")?;
        // SAFETY: forwarded under the same contract.
        unsafe { decompress_impl(src, src_len, dst.cast(), dst_capacity, threads, dst_len, Some(DType::I16)) }
    })
}

/// `daspack_decompress` for a stream of `uint16_t` (else DASPACK_ERROR_DTYPE_MISMATCH): `dst` is aligned for
/// `uint16_t` and has room for `dst_capacity` elements, and `*dst_len` counts elements.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress_u16(
    src: *const u8,
    src_len: usize,
    dst: *mut u16,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_decompress_u16", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        aligned(dst, "dst")?;
        // SAFETY: forwarded under the same contract.
        unsafe { decompress_impl(src, src_len, dst.cast(), dst_capacity, threads, dst_len, Some(DType::U16)) }
    })
}

/// `daspack_decompress` for a stream of `int32_t` (else DASPACK_ERROR_DTYPE_MISMATCH): `dst` is aligned for
/// `int32_t` and has room for `dst_capacity` elements, and `*dst_len` counts elements.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress_i32(
    src: *const u8,
    src_len: usize,
    dst: *mut i32,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_decompress_i32", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        aligned(dst, "dst")?;
        // SAFETY: forwarded under the same contract.
        unsafe { decompress_impl(src, src_len, dst.cast(), dst_capacity, threads, dst_len, Some(DType::I32)) }
    })
}

/// `daspack_decompress` for a stream of `float` (else DASPACK_ERROR_DTYPE_MISMATCH): `dst` is aligned for
/// `float` and has room for `dst_capacity` elements, and `*dst_len` counts elements.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress_f32(
    src: *const u8,
    src_len: usize,
    dst: *mut f32,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_decompress_f32", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        aligned(dst, "dst")?;
        // SAFETY: forwarded under the same contract.
        unsafe { decompress_impl(src, src_len, dst.cast(), dst_capacity, threads, dst_len, Some(DType::F32)) }
    })
}

/// `daspack_decompress` for a stream of `double` (else DASPACK_ERROR_DTYPE_MISMATCH): `dst` is aligned for
/// `double` and has room for `dst_capacity` elements, and `*dst_len` counts elements.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress_f64(
    src: *const u8,
    src_len: usize,
    dst: *mut f64,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_decompress_f64", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        aligned(dst, "dst")?;
        // SAFETY: forwarded under the same contract.
        unsafe { decompress_impl(src, src_len, dst.cast(), dst_capacity, threads, dst_len, Some(DType::F64)) }
    })
}

/// Where tile `tile` of the stream lies, by the codec's tiling (tiles numbered row-major).
fn tile_place(h: &Header, tile: u64) -> Result<DaspackTileInfo> {
    let count = h.tiles.len() as u64;
    if tile >= count {
        return Err(Failure::invalid(format!("tile {tile} out of range (the stream has {count} tiles)")));
    }
    // A stream with tiles has nonzero rows, cols and block sizes (the header parser checks them).
    let (bh, bw) = (u64::from(h.block_height.max(1)), u64::from(h.block_width.max(1)));
    let across = h.cols.div_ceil(bw);
    let (row0, col0) = ((tile / across) * bh, (tile % across) * bw);
    Ok(DaspackTileInfo { row0, col0, rows: bh.min(h.rows - row0), cols: bw.min(h.cols - col0) })
}

/// Stores in `*info` the position and size of tile `tile` of the complete stream `src` (tiles are numbered
/// row-major; `daspack_stream_info` gives their count).
#[no_mangle]
pub unsafe extern "C" fn daspack_tile_info(
    src: *const u8,
    src_len: usize,
    tile: u64,
    info: *mut DaspackTileInfo,
) -> DaspackError {
    guard("daspack_tile_info", || {
        non_null(info, "info")?;
        // SAFETY: the caller's contract for `src`.
        let (_, h) = unsafe { header(src, src_len) }?;
        let t = tile_place(&h, tile)?;
        // SAFETY: the caller's writable DaspackTileInfo.
        unsafe { write_out(info, t, "info") }
    })
}

/// Decodes tile `tile` of the complete stream `src` alone into `dst` (room for `dst_capacity` bytes): its
/// `rows x cols` elements, row-major, in the machine's byte order. `*info` receives the tile's position; on
/// success `*dst_len` is the number of bytes written, on DASPACK_ERROR_BUFFER_TOO_SMALL the size needed.
#[no_mangle]
pub unsafe extern "C" fn daspack_decompress_tile(
    src: *const u8,
    src_len: usize,
    tile: u64,
    dst: *mut c_void,
    dst_capacity: usize,
    dst_len: *mut usize,
    info: *mut DaspackTileInfo,
) -> DaspackError {
    guard("daspack_decompress_tile", || {
        non_null(src, "src")?;
        non_null(dst, "dst")?;
        non_null(info, "info")?;
        // SAFETY: the caller's writable size_t (or NULL, refused).
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        // SAFETY: the caller's contract for `src`.
        let (s, h) = unsafe { header(src, src_len) }?;
        let t = tile_place(&h, tile)?;
        let need = (t.rows * t.cols) as usize * h.dtype.size();
        if need > dst_capacity {
            // SAFETY: checked above.
            unsafe { dst_len.write(need) };
            return Err(Failure::too_small(format!(
                "output buffer holds {dst_capacity} bytes, tile {tile} ({} x {} {}) needs {need}",
                t.rows,
                t.cols,
                h.dtype.name()
            )));
        }
        disjoint(src, src_len, dst.cast(), dst_capacity, "`src` and `dst`")?;
        let ((r0, c0, tr, tc), array) = facade::decompress_tile(s, tile as usize).map_err(codec_failure)?;
        let bytes = native_bytes(&array);
        if (r0 as u64, c0 as u64, tr as u64, tc as u64) != (t.row0, t.col0, t.rows, t.cols) || bytes.len() != need {
            return Err(Failure::new(DASPACK_ERROR_INTERNAL, "tile geometry differs from the codec's"));
        }
        // SAFETY: `dst` holds `dst_capacity >= need` writable bytes, disjoint from our buffer; `info` and
        // `dst_len` were checked above.
        unsafe {
            copy_to(bytes, dst.cast());
            dst_len.write(need);
        }
        // SAFETY: the caller's writable DaspackTileInfo.
        unsafe { write_out(info, t, "info") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_errors_map_to_codes() {
        assert_eq!(codec_failure(CodecError::BadMagic).code, DASPACK_ERROR_NOT_DASPACK);
        assert_eq!(codec_failure(CodecError::TileChecksum { tile: 3 }).code, DASPACK_ERROR_CORRUPT);
        assert_eq!(codec_failure(CodecError::UnsupportedVersion(9)).code, DASPACK_ERROR_UNSUPPORTED_VERSION);
    }
}
