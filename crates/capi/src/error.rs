//! Status codes, the thread-local last-error message, the guard every entry point runs in, and the checks that
//! turn raw C pointers into Rust values.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Status returned by every fallible function: `DASPACK_OK` (0) or one of the `DASPACK_ERROR_*` codes.
/// On an error, `daspack_last_error()` gives a one-line message naming the function and what was wrong.
pub type DaspackError = i32;

/// Success.
pub const DASPACK_OK: DaspackError = 0;
/// A required pointer argument is NULL (every pointer argument is required).
pub const DASPACK_ERROR_NULL_POINTER: DaspackError = 1;
/// An argument is out of range: an unknown dtype or checksum, a shape that does not match, a parameter outside
/// its bounds, a misaligned or overlapping buffer, a sensor sample outside the 12-bit range.
pub const DASPACK_ERROR_INVALID_ARGUMENT: DaspackError = 2;
/// The output buffer is too small. The function's output-size argument then holds the size needed.
pub const DASPACK_ERROR_BUFFER_TOO_SMALL: DaspackError = 3;
/// The input is not a daspack stream (bad magic bytes).
pub const DASPACK_ERROR_NOT_DASPACK: DaspackError = 4;
/// The stream was written by a format version this library does not read.
pub const DASPACK_ERROR_UNSUPPORTED_VERSION: DaspackError = 5;
/// The stream ends too early.
pub const DASPACK_ERROR_TRUNCATED: DaspackError = 6;
/// The stream is damaged: a checksum mismatch, an invalid code word or field, trailing bytes.
pub const DASPACK_ERROR_CORRUPT: DaspackError = 7;
/// A size does not fit: the stream claims more output than the format allows, or sizes overflow.
pub const DASPACK_ERROR_TOO_LARGE: DaspackError = 8;
/// The data cannot be stored as asked: NaN or infinity with an error bound, or a value the bound cannot cover.
pub const DASPACK_ERROR_UNREPRESENTABLE: DaspackError = 9;
/// A typed function met a stream of another element type (see `daspack_stream_info`).
pub const DASPACK_ERROR_DTYPE_MISMATCH: DaspackError = 10;
/// The object cannot do this now (for instance a push to a finished sensor encoder).
pub const DASPACK_ERROR_STATE: DaspackError = 11;
/// A bug in daspack (a Rust panic, stopped at the library boundary). Please report it with the message.
pub const DASPACK_ERROR_INTERNAL: DaspackError = 12;
/// The operating system refused a file operation: a file that cannot be opened, created, read, written, synced or
/// renamed (a missing file, a missing directory, no permission, a full disk). The message names the file and gives
/// the system's reason.
pub const DASPACK_ERROR_IO: DaspackError = 13;

/// A failure on its way to the C caller: the status code and the message for `daspack_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: DaspackError,
    pub msg: String,
}

impl Failure {
    pub fn new(code: DaspackError, msg: impl Into<String>) -> Self {
        Failure { code, msg: msg.into() }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Failure::new(DASPACK_ERROR_INVALID_ARGUMENT, msg)
    }

    pub fn too_small(msg: impl Into<String>) -> Self {
        Failure::new(DASPACK_ERROR_BUFFER_TOO_SMALL, msg)
    }
}

pub(crate) type Result<T> = std::result::Result<T, Failure>;

thread_local! {
    /// The message of the last failure on this thread (NUL-terminated for C).
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(func: &str, msg: &str) {
    // A message with an interior NUL would be cut short in C: replace the NULs rather than lose the message.
    let text = format!("{func}: {msg}").replace('\0', "\\0");
    let c = CString::new(text).unwrap_or_default();
    // `try_with`/`try_borrow_mut`: never panic, even during thread teardown.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(c);
        }
    });
}

/// Runs the body of entry point `func`: a `Failure` becomes its code plus the thread's last-error message, and a
/// panic is caught here (no unwinding into C) and becomes `DASPACK_ERROR_INTERNAL`.
pub(crate) fn guard(func: &'static str, body: impl FnOnce() -> Result<()>) -> DaspackError {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => DASPACK_OK,
        Ok(Err(f)) => {
            set_last_error(func, &f.msg);
            f.code
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            set_last_error(func, &format!("internal error ({what}); please report it"));
            DASPACK_ERROR_INTERNAL
        }
    }
}

/// Like [`guard`] for entry points that return a value instead of a status (`fallback` on a panic).
pub(crate) fn guard_value<T>(func: &'static str, fallback: T, body: impl FnOnce() -> T) -> T {
    let mut out = None;
    let code = guard(func, || {
        out = Some(body());
        Ok(())
    });
    match out {
        Some(v) if code == DASPACK_OK => v,
        _ => fallback,
    }
}

/// The message of the last error on the calling thread, or an empty string if there was none.
///
/// The message names the function that failed and what was wrong (`"daspack_decompress: truncated stream: tile
/// data at byte 120"`). It is thread-local: an error on one thread never shows on another. Successful calls leave
/// it alone. The pointer stays valid until the next daspack call on the same thread; copy the text to keep it.
#[no_mangle]
pub extern "C" fn daspack_last_error() -> *const c_char {
    static EMPTY: &CStr = c"";
    guard_value("daspack_last_error", EMPTY.as_ptr(), || {
        LAST_ERROR
            .try_with(|slot| match slot.try_borrow() {
                // The CString's heap buffer does not move until the slot is overwritten by a later failure.
                Ok(s) => s.as_ref().map_or(EMPTY.as_ptr(), |c| c.as_ptr()),
                Err(_) => EMPTY.as_ptr(),
            })
            .unwrap_or(EMPTY.as_ptr())
    })
}

/// The name of a status code (`"DASPACK_ERROR_CORRUPT"`), or `"DASPACK_ERROR_UNKNOWN"` for a value that is not
/// one. The string is static.
#[no_mangle]
pub extern "C" fn daspack_error_name(code: DaspackError) -> *const c_char {
    let name: &'static CStr = match code {
        DASPACK_OK => c"DASPACK_OK",
        DASPACK_ERROR_NULL_POINTER => c"DASPACK_ERROR_NULL_POINTER",
        DASPACK_ERROR_INVALID_ARGUMENT => c"DASPACK_ERROR_INVALID_ARGUMENT",
        DASPACK_ERROR_BUFFER_TOO_SMALL => c"DASPACK_ERROR_BUFFER_TOO_SMALL",
        DASPACK_ERROR_NOT_DASPACK => c"DASPACK_ERROR_NOT_DASPACK",
        DASPACK_ERROR_UNSUPPORTED_VERSION => c"DASPACK_ERROR_UNSUPPORTED_VERSION",
        DASPACK_ERROR_TRUNCATED => c"DASPACK_ERROR_TRUNCATED",
        DASPACK_ERROR_CORRUPT => c"DASPACK_ERROR_CORRUPT",
        DASPACK_ERROR_TOO_LARGE => c"DASPACK_ERROR_TOO_LARGE",
        DASPACK_ERROR_UNREPRESENTABLE => c"DASPACK_ERROR_UNREPRESENTABLE",
        DASPACK_ERROR_DTYPE_MISMATCH => c"DASPACK_ERROR_DTYPE_MISMATCH",
        DASPACK_ERROR_STATE => c"DASPACK_ERROR_STATE",
        DASPACK_ERROR_INTERNAL => c"DASPACK_ERROR_INTERNAL",
        DASPACK_ERROR_IO => c"DASPACK_ERROR_IO",
        _ => c"DASPACK_ERROR_UNKNOWN",
    };
    name.as_ptr()
}

// ---- Pointer checks. Each names the argument in its message so a C caller sees which one was wrong. ----

/// Fails with `DASPACK_ERROR_NULL_POINTER` when `p` is NULL.
pub(crate) fn non_null<T>(p: *const T, name: &str) -> Result<()> {
    if p.is_null() {
        return Err(Failure::new(DASPACK_ERROR_NULL_POINTER, format!("argument `{name}` is NULL")));
    }
    Ok(())
}

/// Fails when `p` is not aligned for `T`.
pub(crate) fn aligned<T>(p: *const T, name: &str) -> Result<()> {
    if !p.is_aligned() {
        return Err(Failure::invalid(format!(
            "argument `{name}` is not aligned to {} bytes for its element type",
            std::mem::align_of::<T>()
        )));
    }
    Ok(())
}

/// Bytes of `len` elements of `T`, or an error when that exceeds what one object may span (`isize::MAX`).
pub(crate) fn byte_len<T>(len: usize, name: &str) -> Result<usize> {
    len.checked_mul(std::mem::size_of::<T>()).filter(|&b| b <= isize::MAX as usize).ok_or_else(|| {
        Failure::new(DASPACK_ERROR_TOO_LARGE, format!("argument `{name}`: {len} elements do not fit in memory"))
    })
}

/// A shared slice over C memory, after the NULL, alignment and size checks.
///
/// # Safety
/// When the checks pass, `p` must point to `len` initialised elements that stay valid and unmodified for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    non_null(p, name)?;
    aligned(p, name)?;
    byte_len::<T>(len, name)?;
    // SAFETY: non-NULL, aligned and within isize::MAX bytes (checked above); validity is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Writes `v` through an output pointer (which may point to uninitialised memory), after the checks.
///
/// # Safety
/// When the checks pass, `p` must be valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(p: *mut T, v: T, name: &str) -> Result<()> {
    non_null(p, name)?;
    aligned(p, name)?;
    // SAFETY: non-NULL and aligned (checked above); writable is the caller's contract. `write` does not read or
    // drop the old value, so uninitialised memory is fine.
    unsafe { p.write(v) };
    Ok(())
}

/// Fails when the byte ranges `[a, a + a_len)` and `[b, b + b_len)` overlap (an input and an output buffer).
pub(crate) fn disjoint(a: *const u8, a_len: usize, b: *const u8, b_len: usize, what: &str) -> Result<()> {
    let (a0, b0) = (a as usize, b as usize);
    let overlap = a_len > 0 && b_len > 0 && a0 < b0.saturating_add(b_len) && b0 < a0.saturating_add(a_len);
    if overlap {
        return Err(Failure::invalid(format!("{what} overlap")));
    }
    Ok(())
}

/// Copies `src` to C memory at `dst`, which may be uninitialised.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes and must not overlap `src`.
pub(crate) unsafe fn copy_to(src: &[u8], dst: *mut u8) {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> String {
        // SAFETY: daspack_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(daspack_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let code = guard("daspack_test", || panic!("boom {}", 42));
        assert_eq!(code, DASPACK_ERROR_INTERNAL);
        assert_eq!(message(), "daspack_test: internal error (boom 42); please report it");
        assert_eq!(guard_value("daspack_test_value", 7u32, || panic!("again")), 7);
        assert!(message().starts_with("daspack_test_value: internal error (again)"));
    }

    #[test]
    fn messages_keep_interior_nuls_visible() {
        let code = guard("daspack_test", || Err(Failure::invalid("a\0b")));
        assert_eq!(code, DASPACK_ERROR_INVALID_ARGUMENT);
        assert_eq!(message(), "daspack_test: a\\0b");
    }
}
