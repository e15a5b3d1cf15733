//! Checksums: one-shot digests and a streaming hasher object, for every algorithm the containers use.

use std::ffi::{c_char, CStr};
use std::sync::Mutex;

use facade::checksum::{Checksum, Hasher};

use crate::error::{
    copy_to, guard, guard_value, non_null, slice, write_out, DaspackError, Failure, Result, DASPACK_ERROR_INTERNAL,
};

/// A checksum algorithm: one of the `DASPACK_CHECKSUM_*` values (0..=8 are Bloscpack's ids).
pub type DaspackChecksumKind = u32;

/// No checksum: an empty digest.
pub const DASPACK_CHECKSUM_NONE: DaspackChecksumKind = 0;
/// zlib's Adler-32, 4 bytes, little-endian.
pub const DASPACK_CHECKSUM_ADLER32: DaspackChecksumKind = 1;
/// CRC-32 (IEEE, as zlib), 4 bytes, little-endian.
pub const DASPACK_CHECKSUM_CRC32: DaspackChecksumKind = 2;
/// MD5, 16 bytes.
pub const DASPACK_CHECKSUM_MD5: DaspackChecksumKind = 3;
/// SHA-1, 20 bytes.
pub const DASPACK_CHECKSUM_SHA1: DaspackChecksumKind = 4;
/// SHA-224, 28 bytes.
pub const DASPACK_CHECKSUM_SHA224: DaspackChecksumKind = 5;
/// SHA-256, 32 bytes.
pub const DASPACK_CHECKSUM_SHA256: DaspackChecksumKind = 6;
/// SHA-384, 48 bytes.
pub const DASPACK_CHECKSUM_SHA384: DaspackChecksumKind = 7;
/// SHA-512, 64 bytes.
pub const DASPACK_CHECKSUM_SHA512: DaspackChecksumKind = 8;
/// XXH64 with seed 0, 8 bytes, big-endian (as `xxhsum` prints it).
pub const DASPACK_CHECKSUM_XXH64: DaspackChecksumKind = 9;
/// BLAKE3, 32 bytes.
pub const DASPACK_CHECKSUM_BLAKE3: DaspackChecksumKind = 10;
/// The largest digest of any algorithm (SHA-512), in bytes.
pub const DASPACK_CHECKSUM_MAX_SIZE: usize = 64;

pub(crate) fn algorithm(k: DaspackChecksumKind) -> Result<Checksum> {
    usize::try_from(k)
        .ok()
        .and_then(|i| Checksum::ALL.get(i).copied())
        .ok_or_else(|| Failure::invalid(format!("unknown checksum kind {k} (expected 0..=10, DASPACK_CHECKSUM_*)")))
}

pub(crate) fn code(c: Checksum) -> DaspackChecksumKind {
    Checksum::ALL.iter().position(|&x| x == c).unwrap_or(0) as DaspackChecksumKind
}

/// Stores in `*size` the digest size of `kind` in bytes (0 for DASPACK_CHECKSUM_NONE).
#[no_mangle]
pub unsafe extern "C" fn daspack_checksum_size(kind: DaspackChecksumKind, size: *mut usize) -> DaspackError {
    guard("daspack_checksum_size", || {
        non_null(size, "size")?;
        let c = algorithm(kind)?;
        // SAFETY: the caller's writable size_t.
        unsafe { write_out(size, c.digest_size(), "size") }
    })
}

/// The name of `kind` (`"adler32"`, `"sha256"`, `"xxh64"`, ...; `"None"` for DASPACK_CHECKSUM_NONE), a static
/// string; NULL (with a message in `daspack_last_error`) for an unknown kind.
#[no_mangle]
pub extern "C" fn daspack_checksum_name(kind: DaspackChecksumKind) -> *const c_char {
    static NAMES: [&CStr; 11] = [
        c"None", c"adler32", c"crc32", c"md5", c"sha1", c"sha224", c"sha256", c"sha384", c"sha512", c"xxh64", c"blake3",
    ];
    let mut out = std::ptr::null();
    guard("daspack_checksum_name", || {
        let c = algorithm(kind)?;
        let name = NAMES[code(c) as usize];
        if name.to_bytes() != c.name().as_bytes() {
            return Err(Failure::new(DASPACK_ERROR_INTERNAL, "checksum name table out of date"));
        }
        out = name.as_ptr();
        Ok(())
    });
    out
}

/// Stores in `*kind` the algorithm named `name` (a NUL-terminated string, ASCII case ignored: `"SHA256"`,
/// `"xxh64"`, `"none"`).
#[no_mangle]
pub unsafe extern "C" fn daspack_checksum_from_name(
    name: *const c_char,
    kind: *mut DaspackChecksumKind,
) -> DaspackError {
    guard("daspack_checksum_from_name", || {
        non_null(name, "name")?;
        non_null(kind, "kind")?;
        // SAFETY: the caller passes a NUL-terminated string.
        let s = unsafe { CStr::from_ptr(name) };
        let text = s.to_str().map_err(|_| Failure::invalid("checksum name is not UTF-8"))?;
        let c = text.parse::<Checksum>().map_err(|e| Failure::invalid(e.to_string()))?;
        // SAFETY: the caller's writable DaspackChecksumKind.
        unsafe { write_out(kind, code(c), "kind") }
    })
}

/// Writes a digest to `dst` after the size check; `*dst_len` gets its size (or the size needed).
///
/// # Safety
/// `dst` must hold `dst_capacity` writable bytes; `dst_len` must be writable (both checked non-NULL).
unsafe fn put_digest(digest: &[u8], dst: *mut u8, dst_capacity: usize, dst_len: *mut usize) -> Result<()> {
    // SAFETY: the caller's contract.
    unsafe { dst_len.write(digest.len()) };
    if digest.len() > dst_capacity {
        return Err(Failure::too_small(format!(
            "output buffer holds {dst_capacity} bytes, the digest needs {} (DASPACK_CHECKSUM_MAX_SIZE always suffices)",
            digest.len()
        )));
    }
    // SAFETY: `dst` holds `dst_capacity >= digest.len()` bytes; `digest` is ours, so no overlap.
    unsafe { copy_to(digest, dst) };
    Ok(())
}

/// Computes the `kind` checksum of `len` bytes at `data` into `dst` (room for `dst_capacity` bytes;
/// DASPACK_CHECKSUM_MAX_SIZE always suffices). `*dst_len` receives the digest size; on
/// DASPACK_ERROR_BUFFER_TOO_SMALL, the size needed.
#[no_mangle]
pub unsafe extern "C" fn daspack_checksum(
    kind: DaspackChecksumKind,
    data: *const u8,
    len: usize,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_checksum", || {
        non_null(data, "data")?;
        non_null(dst, "dst")?;
        // SAFETY: the caller's writable size_t.
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        let c = algorithm(kind)?;
        // SAFETY: `data` holds `len` bytes (the caller's contract).
        let bytes = unsafe { slice(data, len, "data") }?;
        let d = c.digest(bytes);
        // SAFETY: `dst` and `dst_len` follow this function's contract (checked non-NULL).
        unsafe { put_digest(&d, dst, dst_capacity, dst_len) }
    })
}

/// A streaming checksum (opaque): `daspack_hasher_new`, `daspack_hasher_update` any number of times,
/// `daspack_hasher_finish`, `daspack_hasher_free`. Calls on one object are serialised internally.
pub struct DaspackHasher {
    inner: Mutex<Hasher>,
}

/// Creates in `*hasher` a streaming hasher for `kind`.
#[no_mangle]
pub unsafe extern "C" fn daspack_hasher_new(
    kind: DaspackChecksumKind,
    hasher: *mut *mut DaspackHasher,
) -> DaspackError {
    guard("daspack_hasher_new", || {
        non_null(hasher, "hasher")?;
        let c = algorithm(kind)?;
        let obj = Box::new(DaspackHasher { inner: Mutex::new(c.hasher()) });
        // SAFETY: the caller's writable pointer slot.
        unsafe { write_out(hasher, Box::into_raw(obj), "hasher") }
    })
}

/// Feeds `len` bytes at `data` to the hasher.
#[no_mangle]
pub unsafe extern "C" fn daspack_hasher_update(
    hasher: *mut DaspackHasher,
    data: *const u8,
    len: usize,
) -> DaspackError {
    guard("daspack_hasher_update", || {
        non_null(hasher, "hasher")?;
        // SAFETY: a live hasher (the caller's contract) and `len` bytes at `data`.
        let (obj, bytes) = unsafe { (&*hasher, slice(data, len, "data")?) };
        let mut h = obj.inner.lock().map_err(|_| Failure::new(DASPACK_ERROR_INTERNAL, "hasher unusable"))?;
        h.update(bytes);
        Ok(())
    })
}

/// Writes the digest of everything fed so far to `dst` (as `daspack_checksum` does) and resets the hasher to
/// its fresh state, ready for new data.
#[no_mangle]
pub unsafe extern "C" fn daspack_hasher_finish(
    hasher: *mut DaspackHasher,
    dst: *mut u8,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_hasher_finish", || {
        non_null(hasher, "hasher")?;
        non_null(dst, "dst")?;
        // SAFETY: the caller's writable size_t.
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        // SAFETY: a live hasher (the caller's contract).
        let obj = unsafe { &*hasher };
        let mut h = obj.inner.lock().map_err(|_| Failure::new(DASPACK_ERROR_INTERNAL, "hasher unusable"))?;
        let size = h.algorithm().digest_size();
        if size > dst_capacity {
            // SAFETY: checked above. The hasher keeps its data: the caller may retry with a larger buffer.
            unsafe { dst_len.write(size) };
            return Err(Failure::too_small(format!(
                "output buffer holds {dst_capacity} bytes, the digest needs {size}"
            )));
        }
        let fresh = h.algorithm().hasher();
        let d = std::mem::replace(&mut *h, fresh).finalize();
        // SAFETY: `dst`/`dst_len` follow this function's contract.
        unsafe { put_digest(&d, dst, dst_capacity, dst_len) }
    })
}

/// Frees a hasher. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn daspack_hasher_free(hasher: *mut DaspackHasher) {
    guard_value("daspack_hasher_free", (), || {
        if !hasher.is_null() {
            // SAFETY: the caller's contract: a live hasher from daspack_hasher_new, not used again.
            drop(unsafe { Box::from_raw(hasher) });
        }
    })
}
