//! The native archive format `.dpk` v1 (docs/format.md, "Archive format .dpk v1"): opening an archive from a file
//! or from memory, listing its entries, reading whole entries or chunk, byte and row ranges into caller buffers,
//! verifying, and writing archives (new files committed atomically, or appends to an existing archive).
//!
//! Everything goes through `daspack_container::dpk` (re-exported by the facade); this module adds the C boundary
//! checks, the opaque handles and the mapping of the container's errors onto the `DASPACK_ERROR_*` codes.

use std::ffi::{c_char, c_void, CStr};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use facade::container::dpk::{self, Appender, Archive, ChunkCodec, Entry, EntryKind, EntryOptions, Filters, Writer};
use facade::DType;

use crate::checksum::{algorithm, code as checksum_code, DaspackChecksumKind, DASPACK_CHECKSUM_XXH64};
use crate::codec::{check_threads, default_params_c, dtype_from_code, params_from_c, DaspackDType, DaspackParams};
use crate::error::{
    aligned, byte_len, copy_to, guard, non_null, slice, write_out, DaspackError, Failure, Result,
    DASPACK_ERROR_CORRUPT, DASPACK_ERROR_INTERNAL, DASPACK_ERROR_INVALID_ARGUMENT, DASPACK_ERROR_IO,
    DASPACK_ERROR_NOT_DASPACK, DASPACK_ERROR_STATE, DASPACK_ERROR_TOO_LARGE, DASPACK_ERROR_TRUNCATED,
    DASPACK_ERROR_UNREPRESENTABLE, DASPACK_ERROR_UNSUPPORTED_VERSION,
};

// ---- Enumerations ----

/// What an archive entry holds: one of the `DASPACK_ENTRY_*` values.
pub type DaspackEntryKind = u32;

/// Any bytes (a file).
pub const DASPACK_ENTRY_FILE: DaspackEntryKind = 0;
/// A `.npy` array: the entry's bytes are the array's data region; dtype and shape are in `DaspackEntryInfo`.
pub const DASPACK_ENTRY_ARRAY: DaspackEntryKind = 1;
/// An empty directory (no bytes).
pub const DASPACK_ENTRY_DIR: DaspackEntryKind = 2;

/// How an entry's chunks are coded: one of the `DASPACK_CODEC_*` values (the codes the format stores).
pub type DaspackCodec = u32;

/// The bytes as they are.
pub const DASPACK_CODEC_STORED: DaspackCodec = 0;
/// The DAS array codec: each chunk is a whole codec stream of a block of rows (arrays of the DASPACK_DTYPE_*
/// types). Asked for a bytes entry, or an array it cannot take, the writer uses zstd instead.
pub const DASPACK_CODEC_DAS: DaspackCodec = 1;
/// One zstd frame per chunk.
pub const DASPACK_CODEC_ZSTD: DaspackCodec = 2;
/// One LZ4 block per chunk.
pub const DASPACK_CODEC_LZ4: DaspackCodec = 3;
/// Raw deflate (RFC 1951) per chunk.
pub const DASPACK_CODEC_DEFLATE: DaspackCodec = 4;

/// Filters applied before a byte codec: an OR of the `DASPACK_FILTER_*` bits.
pub type DaspackFilters = u32;

/// No filter.
pub const DASPACK_FILTER_NONE: DaspackFilters = 0;
/// Each element (of `typesize` bytes: 1, 2, 4 or 8) replaced by its difference with the previous one.
pub const DASPACK_FILTER_DELTA: DaspackFilters = 1;
/// Byte shuffle (byte j of every element together), as Blosc's.
pub const DASPACK_FILTER_SHUFFLE: DaspackFilters = 2;
/// Bit shuffle (excludes DASPACK_FILTER_SHUFFLE).
pub const DASPACK_FILTER_BITSHUFFLE: DaspackFilters = 4;

/// `DaspackEntryInfo.dtype` of an entry that is not an array of a DASPACK_DTYPE_* type (a file, a directory, or
/// an array of another element type: see `itemsize`).
pub const DASPACK_DTYPE_NONE: DaspackDType = 0;

/// Dimensions `DaspackEntryInfo.shape` holds; arrays with more report them in `ndim` only.
pub const DASPACK_MAX_DIMS: usize = 32;

/// Original bytes per chunk of the byte codecs unless asked otherwise (1 MiB).
pub const DASPACK_DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// Original bytes per chunk of DAS-coded arrays unless asked otherwise (8 MiB, rounded down to whole rows).
pub const DASPACK_DEFAULT_DAS_CHUNK_SIZE: u32 = 8 << 20;
/// The largest chunk the format allows (1 GiB).
pub const DASPACK_MAX_CHUNK_SIZE: u32 = 1 << 30;

// ---- Structures ----

/// What one archive entry holds, from the index (nothing is decoded). Fill with `daspack_archive_entry_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DaspackEntryInfo {
    /// DASPACK_ENTRY_FILE, DASPACK_ENTRY_ARRAY or DASPACK_ENTRY_DIR.
    pub kind: DaspackEntryKind,
    /// Chunk codec (`DASPACK_CODEC_*`).
    pub codec: DaspackCodec,
    /// Algorithm of the entry's digest (`DASPACK_CHECKSUM_*`), checked by whole reads and verification.
    pub checksum: DaspackChecksumKind,
    /// Element type of an array (`DASPACK_DTYPE_*`), DASPACK_DTYPE_NONE for other entries and other types.
    pub dtype: DaspackDType,
    /// Filters before the byte codec (`DASPACK_FILTER_*` bits).
    pub filters: DaspackFilters,
    /// Compression level used (informative).
    pub level: i32,
    /// Original size in bytes (what a whole read writes).
    pub size: u64,
    /// Compressed size: the sum of the stored chunk lengths.
    pub stored_size: u64,
    /// Number of chunks (each decodes alone).
    pub chunk_count: u64,
    /// The most original bytes one chunk holds.
    pub chunk_size: u64,
    /// Bytes of the entry's name including the terminating NUL (what `daspack_archive_entry_name` needs).
    pub name_size: u64,
    /// Bytes per element of an array (1 for other entries).
    pub itemsize: u64,
    /// Rows of an array's memory layout seen as a row-major matrix: `shape[0]` in C order, `shape[ndim - 1]` in
    /// Fortran order (1 for a 0-d array; 0 for other entries). `daspack_archive_read_rows` counts these.
    pub rows: u64,
    /// Elements per row: the product of the other dimensions (0 for other entries).
    pub cols: u64,
    /// The error bound of a DAS-coded array (0: lossless, and for every other entry).
    pub abs_error: f64,
    /// Dimensions of an array (0 for other entries); only the first DASPACK_MAX_DIMS are in `shape`.
    pub ndim: u32,
    /// 1 when the array is stored in Fortran (column-major) order, else 0.
    pub fortran_order: u32,
    /// The array's shape, as numpy gives it; unused dimensions are 0.
    pub shape: [u64; DASPACK_MAX_DIMS],
}

/// Where one chunk of an entry lies. Fill with `daspack_archive_chunk_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaspackChunkInfo {
    /// Offset of the chunk's first original byte within the entry.
    pub offset: u64,
    /// Original bytes of the chunk.
    pub size: u64,
    /// Stored (compressed) bytes of the chunk.
    pub stored_size: u64,
    /// Offset of the stored bytes in the archive file.
    pub file_offset: u64,
    /// CRC-32 of the stored bytes, from the index.
    pub crc32: u32,
    /// Always 0.
    pub reserved: u32,
}

/// How to store one entry. Fill with `daspack_entry_options_init`, then change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DaspackEntryOptions {
    /// Chunk codec (`DASPACK_CODEC_*`); default DASPACK_CODEC_DAS (zstd for what the DAS codec cannot take).
    pub codec: DaspackCodec,
    /// Codec level; 0 is the codec's default (zstd 3, deflate 6). zstd: -7..=22, deflate: 1..=9; the other
    /// codecs ignore it.
    pub level: i32,
    /// Filters before a byte codec (`DASPACK_FILTER_*` bits); default DASPACK_FILTER_SHUFFLE (dropped for
    /// single-byte elements).
    pub filters: DaspackFilters,
    /// Element size the filters work on, 1..=255; 0: the array's item size, or 1 for bytes.
    pub typesize: u32,
    /// Original bytes per chunk of the byte codecs, 1..=DASPACK_MAX_CHUNK_SIZE; 0: DASPACK_DEFAULT_CHUNK_SIZE.
    pub chunk_size: u32,
    /// Original bytes per chunk of DAS-coded arrays (rounded down to whole rows, at least one row),
    /// 1..=DASPACK_MAX_CHUNK_SIZE; 0: DASPACK_DEFAULT_DAS_CHUNK_SIZE.
    pub das_chunk_size: u32,
    /// Digest of the entry's original bytes (`DASPACK_CHECKSUM_*`); default DASPACK_CHECKSUM_XXH64.
    pub checksum: DaspackChecksumKind,
    /// Always 0.
    pub reserved: u32,
    /// DAS codec parameters (its `threads` is ignored: chunks are coded by the writer's threads).
    pub das: DaspackParams,
}

// ---- Errors ----

/// Maps a container error to its status code; the message is the container's (it names the entry, the chunk
/// and the file offset).
fn dpk_failure(e: dpk::Error) -> Failure {
    use dpk::Error as E;
    let code = match &e {
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => DASPACK_ERROR_TRUNCATED,
        E::Io(_) => DASPACK_ERROR_IO,
        E::Truncated { .. } => DASPACK_ERROR_TRUNCATED,
        E::BadMagic => DASPACK_ERROR_NOT_DASPACK,
        E::UnsupportedVersion(_) => DASPACK_ERROR_UNSUPPORTED_VERSION,
        E::NoCommit
        | E::Corrupt { .. }
        | E::ChunkChecksum { .. }
        | E::ChunkDecode { .. }
        | E::DigestMismatch { .. } => DASPACK_ERROR_CORRUPT,
        E::NotFound(_) | E::OutOfRange(_) => DASPACK_ERROR_INVALID_ARGUMENT,
        // The DAS codec's refusals (NaN or infinity with an error bound, a value the bound cannot cover) reach
        // the writer as text: "... cannot be stored with/within the error bound ...".
        E::Invalid(m) if m.contains("cannot be stored") => DASPACK_ERROR_UNREPRESENTABLE,
        E::Invalid(_) => DASPACK_ERROR_INVALID_ARGUMENT,
    };
    Failure::new(code, e.to_string())
}

fn io_failure(what: &str, path: &Path, e: std::io::Error) -> Failure {
    Failure::new(DASPACK_ERROR_IO, format!("{what} {}: {e}", path.display()))
}

// ---- Argument helpers ----

/// A NUL-terminated path (any bytes but NUL; not empty).
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string.
unsafe fn c_path(p: *const c_char, name: &str) -> Result<PathBuf> {
    non_null(p, name)?;
    // SAFETY: non-NULL and NUL-terminated (the caller's contract).
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    if bytes.is_empty() {
        return Err(Failure::invalid(format!("argument `{name}` is an empty path")));
    }
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// A NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string that outlives `'a`.
unsafe fn c_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    non_null(p, name)?;
    // SAFETY: non-NULL and NUL-terminated (the caller's contract).
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| Failure::invalid(format!("argument `{name}` is not UTF-8")))
}

/// # Safety
/// `p` must be NULL or a live object of this library.
unsafe fn object<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    non_null(p, name)?;
    // SAFETY: the caller's contract: a live object created by this library (Box::into_raw).
    Ok(unsafe { &*p })
}

fn to_usize(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| Failure::new(DASPACK_ERROR_TOO_LARGE, format!("{what} ({v} bytes) does not fit in memory")))
}

/// The common start of the read functions: `dst` non-NULL, `*dst_len` cleared, then the capacity checked against
/// `need` bytes (too small: `*dst_len` = `need`).
///
/// # Safety
/// `dst_len` must be NULL or writable.
unsafe fn check_out(dst: *mut c_void, cap: usize, dst_len: *mut usize, need: u64, what: &str) -> Result<usize> {
    non_null(dst, "dst")?;
    // SAFETY: the caller's writable size_t (NULL refused).
    unsafe { write_out(dst_len, 0, "dst_len") }?;
    let need = to_usize(need, what)?;
    if need > cap {
        // SAFETY: checked by write_out above.
        unsafe { dst_len.write(need) };
        return Err(Failure::too_small(format!("output buffer holds {cap} bytes, {what} needs {need}")));
    }
    Ok(need)
}

// ---- Reading ----

/// Where an open archive reads from: a file (positional reads) or the library's copy of a buffer.
enum Src {
    File(File),
    Memory(Vec<u8>),
}

impl dpk::Source for Src {
    fn len(&self) -> std::io::Result<u64> {
        match self {
            Src::File(f) => dpk::Source::len(f),
            Src::Memory(v) => dpk::Source::len(v),
        }
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        match self {
            Src::File(f) => dpk::Source::read_exact_at(f, buf, offset),
            Src::Memory(v) => dpk::Source::read_exact_at(v, buf, offset),
        }
    }
}

/// An open `.dpk` archive (opaque), read-only. Create with `daspack_archive_open` or
/// `daspack_archive_open_memory`, free with `daspack_archive_free`. Reads never change it, so one archive may be
/// used from several threads at once.
pub struct DaspackArchive {
    archive: Archive<Src>,
}

/// # Safety
/// `out` must be NULL or writable.
unsafe fn open_into(src: Src, out: *mut *mut DaspackArchive) -> Result<()> {
    let archive = Archive::open(src).map_err(dpk_failure)?;
    let obj = Box::new(DaspackArchive { archive });
    // SAFETY: the caller's writable pointer slot (checked non-NULL by the entry point).
    unsafe { write_out(out, Box::into_raw(obj), "archive") }
}

/// Opens the archive file at `path` (a NUL-terminated path) and stores a new archive object in `*archive`
/// (NULL on failure). The header, the commit and the whole index are checked here; chunks are checked when read.
/// The file stays open (and is read in place) until `daspack_archive_free`.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_open(path: *const c_char, archive: *mut *mut DaspackArchive) -> DaspackError {
    guard("daspack_archive_open", || {
        // SAFETY: the caller's writable pointer slot (NULL refused); cleared so that no failure leaves garbage.
        unsafe { write_out(archive, std::ptr::null_mut(), "archive") }?;
        // SAFETY: the caller's NUL-terminated path.
        let p = unsafe { c_path(path, "path") }?;
        let f = File::open(&p).map_err(|e| io_failure("cannot open", &p, e))?;
        if f.metadata().map_err(|e| io_failure("cannot stat", &p, e))?.is_dir() {
            return Err(Failure::invalid(format!("{} is a directory", p.display())));
        }
        // SAFETY: checked above.
        unsafe { open_into(Src::File(f), archive) }
    })
}

/// Opens the archive held in `len` bytes at `data` and stores a new archive object in `*archive` (NULL on
/// failure). The bytes are copied: the buffer may be freed or reused as soon as this returns.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_open_memory(
    data: *const u8,
    len: usize,
    archive: *mut *mut DaspackArchive,
) -> DaspackError {
    guard("daspack_archive_open_memory", || {
        // SAFETY: as in daspack_archive_open.
        unsafe { write_out(archive, std::ptr::null_mut(), "archive") }?;
        // SAFETY: `data` holds `len` readable bytes (the caller's contract).
        let bytes = unsafe { slice(data, len, "data") }?;
        // SAFETY: checked above.
        unsafe { open_into(Src::Memory(bytes.to_vec()), archive) }
    })
}

/// Frees an archive object (closing its file). NULL is accepted and ignored.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_free(archive: *mut DaspackArchive) {
    crate::error::guard_value("daspack_archive_free", (), || {
        if !archive.is_null() {
            // SAFETY: the caller's contract: a live archive from daspack_archive_open*, not used again.
            drop(unsafe { Box::from_raw(archive) });
        }
    })
}

/// Stores in `*count` the number of entries (numbered 0 .. count - 1 in index order).
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_entry_count(archive: *const DaspackArchive, count: *mut u64) -> DaspackError {
    guard("daspack_archive_entry_count", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        // SAFETY: the caller's writable uint64_t.
        unsafe { write_out(count, a.archive.index().entries.len() as u64, "count") }
    })
}

fn entry_at(a: &DaspackArchive, index: u64) -> Result<&Entry> {
    let entries = &a.archive.index().entries;
    usize::try_from(index).ok().and_then(|i| entries.get(i)).ok_or_else(|| {
        Failure::invalid(format!("entry {index} out of range (the archive has {} entries)", entries.len()))
    })
}

fn kind_code(k: EntryKind) -> DaspackEntryKind {
    match k {
        EntryKind::File => DASPACK_ENTRY_FILE,
        EntryKind::Array => DASPACK_ENTRY_ARRAY,
        EntryKind::Dir => DASPACK_ENTRY_DIR,
    }
}

fn dtype_code(d: DType) -> DaspackDType {
    d.code().into()
}

fn info_of(a: &DaspackArchive, e: &Entry) -> Result<DaspackEntryInfo> {
    let mut info = DaspackEntryInfo {
        kind: kind_code(e.kind),
        codec: e.codec as DaspackCodec,
        checksum: checksum_code(e.checksum),
        dtype: DASPACK_DTYPE_NONE,
        filters: e.filters.bits().into(),
        level: e.level.into(),
        size: e.size,
        stored_size: e.stored_size(),
        chunk_count: e.chunks.len() as u64,
        chunk_size: e.chunk_size.into(),
        name_size: e.name.len() as u64 + 1,
        itemsize: 1,
        rows: 0,
        cols: 0,
        abs_error: 0.0,
        ndim: 0,
        fortran_order: 0,
        shape: [0; DASPACK_MAX_DIMS],
    };
    if e.kind == EntryKind::Array {
        let npy = a.archive.npy_info(e).map_err(dpk_failure)?;
        let (rows, cols) = npy.layout_2d();
        info.dtype = npy.das_dtype().map_or(DASPACK_DTYPE_NONE, dtype_code);
        info.itemsize = npy.itemsize;
        info.rows = rows;
        info.cols = cols;
        info.ndim = npy.shape.len() as u32;
        info.fortran_order = npy.fortran_order.into();
        for (d, s) in info.shape.iter_mut().zip(&npy.shape) {
            *d = *s;
        }
        if e.codec == ChunkCodec::Das {
            info.abs_error =
                e.metadata.get("das").and_then(|d| d.get("abs_error")).and_then(|v| v.as_f64()).unwrap_or(0.0);
        }
    }
    Ok(info)
}

/// Stores in `*info` what entry `index` holds: kind, codec, checksum, sizes, chunk count and, for arrays, the
/// element type and shape. Nothing is decoded.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_entry_info(
    archive: *const DaspackArchive,
    index: u64,
    info: *mut DaspackEntryInfo,
) -> DaspackError {
    guard("daspack_archive_entry_info", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        non_null(info, "info")?;
        let out = info_of(a, entry_at(a, index)?)?;
        // SAFETY: the caller's writable DaspackEntryInfo.
        unsafe { write_out(info, out, "info") }
    })
}

/// Copies the name of entry `index` (UTF-8, `/`-separated, NUL-terminated) to `dst`, which has room for
/// `dst_capacity` bytes. `*dst_len` receives the bytes written including the NUL; on
/// DASPACK_ERROR_BUFFER_TOO_SMALL, the bytes needed (also `DaspackEntryInfo.name_size`).
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_entry_name(
    archive: *const DaspackArchive,
    index: u64,
    dst: *mut c_char,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_archive_entry_name", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        non_null(dst, "dst")?;
        // SAFETY: the caller's writable size_t (NULL refused).
        unsafe { write_out(dst_len, 0, "dst_len") }?;
        let name = entry_at(a, index)?.name.as_bytes();
        let need = name.len() + 1;
        if need > dst_capacity {
            // SAFETY: checked above.
            unsafe { dst_len.write(need) };
            return Err(Failure::too_small(format!(
                "output buffer holds {dst_capacity} bytes, the name of entry {index} needs {need} with its NUL"
            )));
        }
        // SAFETY: `dst` holds `dst_capacity >= need` writable bytes; our name cannot overlap it.
        unsafe {
            copy_to(name, dst.cast());
            dst.cast::<u8>().add(name.len()).write(0);
            dst_len.write(need);
        }
        Ok(())
    })
}

/// Stores in `*index` the number of the entry named `name` (NUL-terminated UTF-8, as listed); an unknown name
/// fails with DASPACK_ERROR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_find(
    archive: *const DaspackArchive,
    name: *const c_char,
    index: *mut u64,
) -> DaspackError {
    guard("daspack_archive_find", || {
        // SAFETY: the caller's contract for the object and the string.
        let (a, n) = unsafe { (object(archive, "archive")?, c_str(name, "name")?) };
        non_null(index, "index")?;
        let i = a
            .archive
            .index()
            .entries
            .iter()
            .position(|e| e.name == n)
            .ok_or_else(|| Failure::invalid(format!("no entry named {n:?} in the archive")))?;
        // SAFETY: the caller's writable uint64_t.
        unsafe { write_out(index, i as u64, "index") }
    })
}

/// Stores in `*info` where chunk `chunk` of entry `index` lies (original offset and size, stored size, file
/// offset, CRC-32).
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_chunk_info(
    archive: *const DaspackArchive,
    index: u64,
    chunk: u64,
    info: *mut DaspackChunkInfo,
) -> DaspackError {
    guard("daspack_archive_chunk_info", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        non_null(info, "info")?;
        let e = entry_at(a, index)?;
        let i = usize::try_from(chunk).ok().filter(|&i| i < e.chunks.len()).ok_or_else(|| {
            Failure::invalid(format!("chunk {chunk} out of range (entry {:?} has {} chunks)", e.name, e.chunks.len()))
        })?;
        let c = e.chunks[i];
        let out = DaspackChunkInfo {
            offset: e.chunk_start(i),
            size: c.orig_len.into(),
            stored_size: c.stored_len.into(),
            file_offset: c.offset,
            crc32: c.crc32,
            reserved: 0,
        };
        // SAFETY: the caller's writable DaspackChunkInfo.
        unsafe { write_out(info, out, "info") }
    })
}

/// A `Write` into the caller's buffer (which may be uninitialised: it is only written).
struct RawSink {
    dst: *mut u8,
    cap: usize,
    pos: usize,
    /// Set when more bytes came than the entry's size (a bug: the container checks every chunk's length).
    overflow: bool,
}

impl Write for RawSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if b.len() > self.cap - self.pos {
            self.overflow = true;
            return Err(std::io::Error::other("an entry decoded to more bytes than its size"));
        }
        // SAFETY: `dst` holds `cap` writable bytes (checked by the entry point) and `pos + b.len() <= cap`; the
        // decoded bytes are ours, so they cannot overlap the caller's buffer.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.dst.add(self.pos), b.len()) };
        self.pos += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads entry `index` whole into `dst` (room for `dst_capacity` bytes; `DaspackEntryInfo.size` is what it
/// needs), decoding chunks on `threads` threads (0: one per core), and checks every chunk's CRC-32 and the
/// entry's digest. The bytes are the entry's original bytes: for an array its data region (little-endian for the
/// DASPACK_DTYPE_* types, in the array's memory order), no `.npy` header. On success `*dst_len` is the bytes
/// written; on DASPACK_ERROR_BUFFER_TOO_SMALL, the bytes needed. On DASPACK_ERROR_CORRUPT part of `dst` may
/// have been written.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_read(
    archive: *const DaspackArchive,
    index: u64,
    dst: *mut c_void,
    dst_capacity: usize,
    threads: u32,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_archive_read", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        let threads = check_threads(threads)?;
        let e = entry_at(a, index)?;
        // SAFETY: the caller's writable size_t.
        let need = unsafe { check_out(dst, dst_capacity, dst_len, e.size, &format!("entry {:?}", e.name)) }?;
        let mut sink = RawSink { dst: dst.cast(), cap: need, pos: 0, overflow: false };
        if let Err(err) = a.archive.extract(e, &mut sink, threads) {
            return Err(if sink.overflow {
                Failure::new(DASPACK_ERROR_INTERNAL, err.to_string())
            } else {
                dpk_failure(err)
            });
        }
        if sink.pos != need {
            return Err(Failure::new(DASPACK_ERROR_INTERNAL, format!("entry decoded to {} of {need} bytes", sink.pos)));
        }
        // SAFETY: checked by check_out.
        unsafe { dst_len.write(need) };
        Ok(())
    })
}

/// Decodes original bytes `[start, start + len)` of `e` (within the entry) into `dst`, chunk by chunk.
///
/// # Safety
/// `dst` must hold `len` writable bytes.
unsafe fn copy_range(a: &Archive<Src>, e: &Entry, start: u64, len: u64, dst: *mut u8) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let end = start + len;
    // The chunk holding `start`: the last one starting at or before it (chunk 0 starts at 0).
    let (mut lo, mut hi) = (0usize, e.chunks.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if e.chunk_start(mid) <= start {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut i = lo.checked_sub(1).ok_or_else(|| Failure::new(DASPACK_ERROR_INTERNAL, "no chunk holds the range"))?;
    let mut pos = start;
    while pos < end {
        if i >= e.chunks.len() {
            return Err(Failure::new(DASPACK_ERROR_INTERNAL, "the chunks end before the entry"));
        }
        let data = a.read_chunk(e, i).map_err(dpk_failure)?;
        if data.len() as u64 != u64::from(e.chunks[i].orig_len) {
            return Err(Failure::new(
                DASPACK_ERROR_CORRUPT,
                format!(
                    "entry {:?} chunk {i}: decoded {} bytes, the index says {}",
                    e.name,
                    data.len(),
                    e.chunks[i].orig_len
                ),
            ));
        }
        let cs = e.chunk_start(i);
        let from = (pos - cs) as usize;
        let to = (end - cs).min(data.len() as u64) as usize;
        // SAFETY: `dst + (pos - start)` .. `+ (to - from)` stays within the `len` bytes (`to - from <= end - pos`).
        unsafe { copy_to(&data[from..to], dst.add((pos - start) as usize)) };
        pos += (to - from) as u64;
        i += 1;
    }
    Ok(())
}

/// Shared body of the range reads: bytes `[start, start + len)` of entry `e` into `dst`.
///
/// # Safety
/// The pointers follow the contract of `daspack_archive_read_range`.
#[allow(clippy::too_many_arguments)]
unsafe fn read_bytes(
    a: &DaspackArchive,
    e: &Entry,
    start: u64,
    len: u64,
    dst: *mut c_void,
    dst_capacity: usize,
    dst_len: *mut usize,
    what: &str,
) -> Result<()> {
    // SAFETY: the caller's contract.
    let need = unsafe { check_out(dst, dst_capacity, dst_len, len, what) }?;
    // SAFETY: `dst` holds `dst_capacity >= need = len` writable bytes.
    unsafe { copy_range(&a.archive, e, start, len, dst.cast()) }?;
    // SAFETY: checked by check_out.
    unsafe { dst_len.write(need) };
    Ok(())
}

/// Reads original bytes `[offset, offset + length)` of entry `index` into `dst` (room for `dst_capacity` bytes),
/// decoding only the chunks that hold them (each checked against its CRC-32; the entry digest is not, as it covers
/// the whole entry). On success `*dst_len` is `length`; on DASPACK_ERROR_BUFFER_TOO_SMALL, the bytes needed. A
/// range outside the entry fails with DASPACK_ERROR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_read_range(
    archive: *const DaspackArchive,
    index: u64,
    offset: u64,
    length: u64,
    dst: *mut c_void,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_archive_read_range", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        let e = entry_at(a, index)?;
        if offset.checked_add(length).is_none_or(|end| end > e.size) {
            return Err(Failure::invalid(format!(
                "bytes [{offset}, +{length}) are outside entry {:?} ({} bytes)",
                e.name, e.size
            )));
        }
        let what = format!("{length} bytes of entry {:?}", e.name);
        // SAFETY: the caller's contract.
        unsafe { read_bytes(a, e, offset, length, dst, dst_capacity, dst_len, &what) }
    })
}

/// Reads chunks `[first, first + count)` of entry `index` into `dst` (room for `dst_capacity` bytes): their
/// original bytes, in order (`daspack_archive_chunk_info` gives each one's place and size). On success
/// `*dst_len` is the bytes written; on DASPACK_ERROR_BUFFER_TOO_SMALL, the bytes needed.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_read_chunks(
    archive: *const DaspackArchive,
    index: u64,
    first: u64,
    count: u64,
    dst: *mut c_void,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_archive_read_chunks", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        let e = entry_at(a, index)?;
        let n = e.chunks.len() as u64;
        let end = first.checked_add(count).filter(|&end| end <= n).ok_or_else(|| {
            Failure::invalid(format!("chunks [{first}, +{count}) are outside entry {:?} ({n} chunks)", e.name))
        })?;
        let (start, len) = if count == 0 {
            (0, 0)
        } else {
            let last = (end - 1) as usize;
            let start = e.chunk_start(first as usize);
            (start, e.chunk_start(last) + u64::from(e.chunks[last].orig_len) - start)
        };
        let what = format!("chunks [{first}, +{count}) of entry {:?}", e.name);
        // SAFETY: the caller's contract.
        unsafe { read_bytes(a, e, start, len, dst, dst_capacity, dst_len, &what) }
    })
}

/// Reads rows `[row0, row0 + nrows)` of array entry `index` into `dst` (room for `dst_capacity` bytes): rows of
/// its memory layout seen as a `rows x cols` matrix (`DaspackEntryInfo.rows`, `.cols`; time samples of a
/// C-order `time x channel` DAS array), `cols * itemsize` bytes each. Only the chunks holding them are decoded.
/// Entries that are not arrays fail with DASPACK_ERROR_INVALID_ARGUMENT. On success `*dst_len` is the bytes
/// written; on DASPACK_ERROR_BUFFER_TOO_SMALL, the bytes needed.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_read_rows(
    archive: *const DaspackArchive,
    index: u64,
    row0: u64,
    nrows: u64,
    dst: *mut c_void,
    dst_capacity: usize,
    dst_len: *mut usize,
) -> DaspackError {
    guard("daspack_archive_read_rows", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        let e = entry_at(a, index)?;
        if e.kind != EntryKind::Array {
            return Err(Failure::invalid(format!("entry {:?} is a {}, not an array", e.name, e.kind.name())));
        }
        let npy = a.archive.npy_info(e).map_err(dpk_failure)?;
        let (rows, cols) = npy.layout_2d();
        if row0.checked_add(nrows).is_none_or(|end| end > rows) {
            return Err(Failure::invalid(format!(
                "rows [{row0}, +{nrows}) are outside entry {:?} ({rows} rows)",
                e.name
            )));
        }
        // The npy header was checked against the entry's size, so these products do not overflow.
        let row_bytes = cols * npy.itemsize;
        let what = format!("rows [{row0}, +{nrows}) of entry {:?}", e.name);
        // SAFETY: the caller's contract.
        unsafe { read_bytes(a, e, row0 * row_bytes, nrows * row_bytes, dst, dst_capacity, dst_len, &what) }
    })
}

/// Decodes every chunk of entry `index` on `threads` threads (0: one per core) and checks every CRC-32 and the
/// entry's digest, writing nothing. DASPACK_OK, or DASPACK_ERROR_CORRUPT (or TRUNCATED) with a message naming the
/// entry, the chunk number and its file offset.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_verify_entry(
    archive: *const DaspackArchive,
    index: u64,
    threads: u32,
) -> DaspackError {
    guard("daspack_archive_verify_entry", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        let threads = check_threads(threads)?;
        let e = entry_at(a, index)?;
        a.archive.verify_entry(e, threads).map_err(dpk_failure)?;
        Ok(())
    })
}

/// `daspack_archive_verify_entry` for every entry in turn: DASPACK_OK when the whole archive is intact, else the
/// first failure (the message names the entry and the chunk).
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_verify(archive: *const DaspackArchive, threads: u32) -> DaspackError {
    guard("daspack_archive_verify", || {
        // SAFETY: the caller's contract for the object.
        let a = unsafe { object(archive, "archive") }?;
        let threads = check_threads(threads)?;
        for e in &a.archive.index().entries {
            a.archive.verify_entry(e, threads).map_err(dpk_failure)?;
        }
        Ok(())
    })
}

// ---- Writing ----

/// Fills `options` with the defaults: DAS codec for arrays (zstd with byte shuffle for everything else),
/// default chunk sizes, XXH64 digests, the codec's default (lossless) parameters.
#[no_mangle]
pub unsafe extern "C" fn daspack_entry_options_init(options: *mut DaspackEntryOptions) -> DaspackError {
    guard("daspack_entry_options_init", || {
        let o = DaspackEntryOptions {
            codec: DASPACK_CODEC_DAS,
            level: 0,
            filters: DASPACK_FILTER_SHUFFLE,
            typesize: 0,
            chunk_size: DASPACK_DEFAULT_CHUNK_SIZE,
            das_chunk_size: DASPACK_DEFAULT_DAS_CHUNK_SIZE,
            checksum: DASPACK_CHECKSUM_XXH64,
            reserved: 0,
            das: default_params_c(),
        };
        // SAFETY: the caller's writable DaspackEntryOptions (NULL refused).
        unsafe { write_out(options, o, "options") }
    })
}

/// Reads and checks a C options struct. `elem`: the element size of an array entry (for the filters).
///
/// # Safety
/// `p` must be NULL or point to a `DaspackEntryOptions`.
unsafe fn read_options(p: *const DaspackEntryOptions, elem: u64) -> Result<EntryOptions> {
    non_null(p, "options")?;
    aligned(p, "options")?;
    // SAFETY: non-NULL and aligned; every bit pattern is a valid DaspackEntryOptions (integers and doubles).
    let c = unsafe { p.read() };
    let codec = usize::try_from(c.codec).ok().and_then(|i| ChunkCodec::ALL.get(i).copied()).ok_or_else(|| {
        Failure::invalid(format!("options.codec = {} is unknown (expected 0..=4, DASPACK_CODEC_*)", c.codec))
    })?;
    let level = match (codec, c.level) {
        (_, 0) => codec.default_level(),
        (ChunkCodec::Zstd, l) if (-7..=22).contains(&l) => l,
        (ChunkCodec::Deflate, l) if (1..=9).contains(&l) => l,
        (ChunkCodec::Zstd | ChunkCodec::Deflate, l) => {
            return Err(Failure::invalid(format!("options.level = {l} is out of range for {}", codec.name())))
        }
        (_, l) => l,
    };
    let typesize = match c.typesize {
        0 => None,
        t => Some(u8::try_from(t).map_err(|_| Failure::invalid(format!("options.typesize = {t} (1..=255)")))?),
    };
    let bits = u8::try_from(c.filters)
        .ok()
        .filter(|b| b & !7 == 0)
        .ok_or_else(|| Failure::invalid(format!("options.filters = {:#x} has unknown bits", c.filters)))?;
    let ts = typesize.unwrap_or(u8::try_from(elem).unwrap_or(1)).max(1);
    let mut filters = Filters::from_bits(bits, ts).map_err(|m| Failure::invalid(format!("options.filters {m}")))?;
    if ts == 1 {
        filters.shuffle = false; // the container drops a byte shuffle of single bytes too
    }
    let size = |v: u32, default: u32, name: &str| -> Result<u32> {
        match v {
            0 => Ok(default),
            v if v <= dpk::MAX_CHUNK_SIZE => Ok(v),
            v => Err(Failure::invalid(format!("options.{name} = {v} exceeds DASPACK_MAX_CHUNK_SIZE"))),
        }
    };
    if c.reserved != 0 {
        return Err(Failure::invalid("options.reserved must be 0"));
    }
    let mut das = params_from_c(c.das)?;
    das.threads = 0;
    Ok(EntryOptions {
        codec,
        level,
        filters,
        typesize,
        chunk_size: size(c.chunk_size, dpk::DEFAULT_CHUNK_SIZE, "chunk_size")?,
        das_chunk_size: size(c.das_chunk_size, dpk::DEFAULT_DAS_CHUNK_SIZE, "das_chunk_size")?,
        checksum: algorithm(c.checksum).map_err(|f| Failure::invalid(format!("options.checksum: {}", f.msg)))?,
        das,
        user_metadata: None,
    })
}

/// The archive being written and what commit or abandonment must do with its file.
enum Pending {
    /// A new archive in a temporary file next to `dest`, renamed over it at commit.
    Create { writer: Writer<BufWriter<File>>, tmp: PathBuf, dest: PathBuf },
    /// Entries appended to an existing archive; abandoning cuts `file` back to `end`.
    Append { appender: Appender, file: File, end: u64 },
}

impl Pending {
    fn writer(&mut self) -> &mut Writer<BufWriter<File>> {
        match self {
            Pending::Create { writer, .. } => writer,
            Pending::Append { appender, .. } => appender.writer(),
        }
    }

    /// Leaves the file system as it was: the temporary file removed, or the appended bytes cut off.
    fn abandon(self) {
        match self {
            Pending::Create { writer, tmp, .. } => {
                drop(writer);
                let _ = std::fs::remove_file(tmp);
            }
            Pending::Append { appender, file, end } => {
                drop(appender);
                let _ = file.set_len(end);
            }
        }
    }
}

/// An archive being written (opaque): created by `daspack_archive_writer_new` (a new file) or
/// `daspack_archive_writer_append` (an existing archive), filled with `daspack_archive_writer_add_*`, made
/// durable by `daspack_archive_writer_commit`, freed by `daspack_archive_writer_free` (which, without a commit,
/// leaves the destination as it was). Calls on one writer are serialised internally.
pub struct DaspackArchiveWriter {
    /// `None` after a commit (or a failed one).
    inner: Mutex<Option<Pending>>,
}

impl Drop for DaspackArchiveWriter {
    fn drop(&mut self) {
        let pending = match self.inner.get_mut() {
            Ok(p) => p.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(p) = pending {
            p.abandon();
        }
    }
}

fn lock(w: &DaspackArchiveWriter) -> Result<std::sync::MutexGuard<'_, Option<Pending>>> {
    w.inner.lock().map_err(|_| Failure::new(DASPACK_ERROR_INTERNAL, "writer unusable after an earlier internal error"))
}

fn committed() -> Failure {
    Failure::new(DASPACK_ERROR_STATE, "the writer was committed (or its commit failed); free it")
}

/// A temporary name next to `dest`, unique within the process.
fn temp_path(dest: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file = dest.file_name().ok_or_else(|| Failure::invalid(format!("{} does not name a file", dest.display())))?;
    let mut name = std::ffi::OsString::from(".");
    name.push(file);
    name.push(format!(".tmp-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    Ok(dest.with_file_name(name))
}

/// # Safety
/// `out` must be writable (checked non-NULL by the caller).
unsafe fn publish(p: Pending, out: *mut *mut DaspackArchiveWriter) -> Result<()> {
    let obj = Box::new(DaspackArchiveWriter { inner: Mutex::new(Some(p)) });
    // SAFETY: the caller's writable pointer slot.
    unsafe { out.write(Box::into_raw(obj)) };
    Ok(())
}

/// Starts a new archive to be committed to `path`, and stores the writer in `*writer` (NULL on failure). Entries
/// go to a temporary file in the same directory; `daspack_archive_writer_commit` renames it to `path` (replacing a
/// file there) in one step, so `path` never holds a partial archive. Chunks are coded on `threads` threads (0: one
/// per core, at most DASPACK_MAX_THREADS).
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_new(
    path: *const c_char,
    threads: u32,
    writer: *mut *mut DaspackArchiveWriter,
) -> DaspackError {
    guard("daspack_archive_writer_new", || {
        // SAFETY: the caller's writable pointer slot (NULL refused), cleared first.
        unsafe { write_out(writer, std::ptr::null_mut(), "writer") }?;
        // SAFETY: the caller's NUL-terminated path.
        let dest = unsafe { c_path(path, "path") }?;
        let threads = check_threads(threads)?;
        let tmp = temp_path(&dest)?;
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_failure("cannot create", &tmp, e))?;
        match Writer::new(BufWriter::with_capacity(1 << 20, f), threads) {
            // SAFETY: `writer` was checked above.
            Ok(w) => unsafe { publish(Pending::Create { writer: w, tmp, dest }, writer) },
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(dpk_failure(e))
            }
        }
    })
}

/// Opens the existing archive `path` for appending entries (names must be new), and stores the writer in
/// `*writer` (NULL on failure). Bytes left after the committed end by an interrupted append are dropped.
/// `daspack_archive_writer_commit` makes the new entries part of the archive; until then, and if the process
/// dies, readers see the archive as it was (see docs/format.md). `threads` as in daspack_archive_writer_new.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_append(
    path: *const c_char,
    threads: u32,
    writer: *mut *mut DaspackArchiveWriter,
) -> DaspackError {
    guard("daspack_archive_writer_append", || {
        // SAFETY: as in daspack_archive_writer_new.
        unsafe { write_out(writer, std::ptr::null_mut(), "writer") }?;
        // SAFETY: the caller's NUL-terminated path.
        let p = unsafe { c_path(path, "path") }?;
        let threads = check_threads(threads)?;
        let file = OpenOptions::new().read(true).write(true).open(&p).map_err(|e| io_failure("cannot open", &p, e))?;
        if file.metadata().map_err(|e| io_failure("cannot stat", &p, e))?.is_dir() {
            return Err(Failure::invalid(format!("{} is a directory", p.display())));
        }
        let end = Archive::open(&file).map_err(dpk_failure)?.committed_end();
        let keep = file.try_clone().map_err(|e| io_failure("cannot reopen", &p, e))?;
        let appender = Appender::open(file, threads).map_err(dpk_failure)?;
        // SAFETY: `writer` was checked above.
        unsafe { publish(Pending::Append { appender, file: keep, end }, writer) }
    })
}

/// Runs `f` on the writer of a live, uncommitted writer object.
///
/// # Safety
/// `w` must be NULL or a live writer.
unsafe fn with_writer(
    w: *mut DaspackArchiveWriter,
    f: impl FnOnce(&mut Writer<BufWriter<File>>) -> Result<()>,
) -> Result<()> {
    // SAFETY: the caller's contract for the object.
    let obj = unsafe { object(w, "writer") }?;
    let mut guard = lock(obj)?;
    let pending = guard.as_mut().ok_or_else(committed)?;
    f(pending.writer())
}

fn descr(d: DType) -> &'static str {
    match d {
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I32 => "<i4",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// The `.npy` (version 1.0) preamble and header numpy would write for a C-order array of `descr` and `shape`:
/// the dict padded with spaces so that the data starts at a multiple of 64 bytes.
fn npy_preamble(descr: &str, shape: &[u64]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let dims = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b
}

/// Adds an array entry named `name` (NUL-terminated UTF-8, `/`-separated relative path, new in the archive):
/// `shape[0] x ... x shape[ndim - 1]` elements of `dtype` (C order, machine byte order) at `data`, no alignment
/// needed. It is stored as a `.npy` array (unpacking gives back a `.npy` file): with DASPACK_CODEC_DAS each chunk
/// is a block of rows (`shape[0]`, the time axis) coded by the DAS codec with `options->das` (lossless, or within
/// `options->das.abs_error`); other codecs store its bytes. `ndim` is 1..=DASPACK_MAX_DIMS. A failed add leaves
/// the writer usable, but the name stays taken.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_add_array(
    writer: *mut DaspackArchiveWriter,
    name: *const c_char,
    dtype: DaspackDType,
    data: *const c_void,
    shape: *const u64,
    ndim: u32,
    options: *const DaspackEntryOptions,
) -> DaspackError {
    guard("daspack_archive_writer_add_array", || {
        // SAFETY: the caller's NUL-terminated name.
        let name = unsafe { c_str(name, "name") }?;
        non_null(data, "data")?;
        let dt = dtype_from_code(dtype)?;
        if ndim == 0 || ndim as usize > DASPACK_MAX_DIMS {
            return Err(Failure::invalid(format!("ndim = {ndim} is not in 1..={DASPACK_MAX_DIMS}")));
        }
        // SAFETY: `shape` holds `ndim` uint64_t (the caller's contract).
        let dims = unsafe { slice(shape, ndim as usize, "shape") }?;
        let elems = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let bytes = elems.and_then(|n| n.checked_mul(dt.size() as u64)).ok_or_else(|| {
            Failure::new(DASPACK_ERROR_TOO_LARGE, format!("shape {dims:?} of {} overflows", dt.name()))
        })?;
        let bytes = to_usize(bytes, "the array")?;
        // SAFETY: the caller's DaspackEntryOptions.
        let opts = unsafe { read_options(options, dt.size() as u64) }?;
        // SAFETY: `data` holds the array's `bytes` readable bytes (the caller's contract); read as bytes.
        let raw = unsafe { slice(data.cast::<u8>(), bytes, "data") }?;
        // The format stores little-endian elements.
        let le: std::borrow::Cow<'_, [u8]> = if cfg!(target_endian = "big") {
            let mut v = raw.to_vec();
            v.chunks_exact_mut(dt.size()).for_each(<[u8]>::reverse);
            v.into()
        } else {
            raw.into()
        };
        let pre = npy_preamble(descr(dt), dims);
        let file_len = (pre.len() + bytes) as u64;
        let input = std::io::Read::chain(std::io::Cursor::new(pre), &le[..]);
        // SAFETY: the caller's contract for the object.
        unsafe {
            with_writer(writer, |w| {
                let e = w.add_npy(name, input, file_len, &opts).map_err(dpk_failure)?;
                if e.kind != EntryKind::Array {
                    return Err(Failure::new(DASPACK_ERROR_INTERNAL, "the array was not recognised as one"));
                }
                Ok(())
            })
        }
    })
}

/// Adds a bytes (file) entry named `name` (as in daspack_archive_writer_add_array) holding `len` bytes at
/// `data` (`len` may be 0; `data` must still be non-NULL), coded by `options->codec` (DASPACK_CODEC_DAS means
/// zstd here) after `options->filters`. A failed add leaves the writer usable, but the name stays taken.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_add_bytes(
    writer: *mut DaspackArchiveWriter,
    name: *const c_char,
    data: *const u8,
    len: usize,
    options: *const DaspackEntryOptions,
) -> DaspackError {
    guard("daspack_archive_writer_add_bytes", || {
        // SAFETY: the caller's NUL-terminated name.
        let name = unsafe { c_str(name, "name") }?;
        // SAFETY: `data` holds `len` readable bytes (the caller's contract).
        let input = unsafe { slice(data, len, "data") }?;
        byte_len::<u8>(len, "data")?;
        // SAFETY: the caller's DaspackEntryOptions.
        let opts = unsafe { read_options(options, 1) }?;
        // SAFETY: the caller's contract for the object.
        unsafe { with_writer(writer, |w| w.add_reader(name, input, &opts).map(|_| ()).map_err(dpk_failure)) }
    })
}

/// Adds an empty directory entry named `name`, so that unpacking recreates it.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_add_dir(
    writer: *mut DaspackArchiveWriter,
    name: *const c_char,
) -> DaspackError {
    guard("daspack_archive_writer_add_dir", || {
        // SAFETY: the caller's NUL-terminated name.
        let name = unsafe { c_str(name, "name") }?;
        // SAFETY: the caller's contract for the object.
        unsafe { with_writer(writer, |w| w.add_dir(name).map(|_| ()).map_err(dpk_failure)) }
    })
}

/// Makes the archive durable: writes the index, syncs, and then either renames the temporary file to the path
/// given to daspack_archive_writer_new, or (append) switches the archive's commit slot. After it (success or
/// not) the writer only accepts daspack_archive_writer_free; on failure the destination is left as it was.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_commit(writer: *mut DaspackArchiveWriter) -> DaspackError {
    guard("daspack_archive_writer_commit", || {
        // SAFETY: the caller's contract for the object.
        let obj = unsafe { object(writer, "writer") }?;
        let pending = lock(obj)?.take().ok_or_else(committed)?;
        match pending {
            Pending::Create { writer, tmp, dest } => {
                let done = (|| -> Result<()> {
                    let out = writer.finish().map_err(dpk_failure)?;
                    let file = out.into_inner().map_err(|e| io_failure("cannot write", &tmp, e.into_error()))?;
                    file.sync_all().map_err(|e| io_failure("cannot sync", &tmp, e))?;
                    drop(file);
                    std::fs::rename(&tmp, &dest).map_err(|e| io_failure("cannot rename to", &dest, e))?;
                    // Make the rename itself durable (best effort: not every file system syncs directories).
                    let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                    if let Ok(d) = File::open(dir) {
                        let _ = d.sync_all();
                    }
                    Ok(())
                })();
                if done.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                done
            }
            Pending::Append { appender, file, end } => match appender.commit() {
                Ok(_) => Ok(()),
                Err(e) => {
                    let _ = file.set_len(end);
                    Err(dpk_failure(e))
                }
            },
        }
    })
}

/// Frees a writer. Without a successful commit, the destination is left as it was (the temporary file is
/// removed; appended bytes are cut off). NULL is accepted and ignored.
#[no_mangle]
pub unsafe extern "C" fn daspack_archive_writer_free(writer: *mut DaspackArchiveWriter) {
    crate::error::guard_value("daspack_archive_writer_free", (), || {
        if !writer.is_null() {
            // SAFETY: the caller's contract: a live writer from daspack_archive_writer_new/_append, not used again.
            drop(unsafe { Box::from_raw(writer) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{
        DASPACK_DTYPE_FLOAT32, DASPACK_DTYPE_FLOAT64, DASPACK_DTYPE_INT16, DASPACK_DTYPE_INT32, DASPACK_DTYPE_UINT16,
    };

    #[test]
    fn npy_preambles_are_what_numpy_writes() {
        let p = npy_preamble("<i4", &[150, 4082]);
        assert_eq!(p.len() % 64, 0);
        let text = std::str::from_utf8(&p[10..]).unwrap();
        assert_eq!(text.trim_end(), "{'descr': '<i4', 'fortran_order': False, 'shape': (150, 4082), }");
        let p = npy_preamble("<f8", &[7]);
        assert!(std::str::from_utf8(&p[10..]).unwrap().contains("'shape': (7,), }"));
        for d in [
            DASPACK_DTYPE_INT16,
            DASPACK_DTYPE_UINT16,
            DASPACK_DTYPE_INT32,
            DASPACK_DTYPE_FLOAT32,
            DASPACK_DTYPE_FLOAT64,
        ] {
            assert_eq!(dtype_code(dtype_from_code(d).unwrap()), d);
        }
    }

    #[test]
    fn constants_match_the_container() {
        assert_eq!(DASPACK_DEFAULT_CHUNK_SIZE, dpk::DEFAULT_CHUNK_SIZE);
        assert_eq!(DASPACK_DEFAULT_DAS_CHUNK_SIZE, dpk::DEFAULT_DAS_CHUNK_SIZE);
        assert_eq!(DASPACK_MAX_CHUNK_SIZE, dpk::MAX_CHUNK_SIZE);
        assert_eq!(DASPACK_MAX_DIMS, 32);
        for (c, code) in ChunkCodec::ALL.iter().zip(0u32..) {
            let want =
                [DASPACK_CODEC_STORED, DASPACK_CODEC_DAS, DASPACK_CODEC_ZSTD, DASPACK_CODEC_LZ4, DASPACK_CODEC_DEFLATE];
            assert_eq!(*c as DaspackCodec, code);
            assert_eq!(want[code as usize], code);
        }
        let f = Filters { delta: true, shuffle: false, bitshuffle: true };
        assert_eq!(u32::from(f.bits()), DASPACK_FILTER_DELTA | DASPACK_FILTER_BITSHUFFLE);
        assert_eq!(u32::from(Filters { shuffle: true, ..Filters::NONE }.bits()), DASPACK_FILTER_SHUFFLE);
    }

    #[test]
    fn container_errors_map_to_codes() {
        assert_eq!(dpk_failure(dpk::Error::BadMagic).code, DASPACK_ERROR_NOT_DASPACK);
        assert_eq!(dpk_failure(dpk::Error::NoCommit).code, DASPACK_ERROR_CORRUPT);
        let t = dpk::Error::Truncated { what: "index", offset: 80, end: 200, len: 100 };
        assert_eq!(dpk_failure(t).code, DASPACK_ERROR_TRUNCATED);
        let nan =
            dpk::Error::Invalid("a: element 3 is NaN: NaN and infinity cannot be stored with an error bound".into());
        assert_eq!(dpk_failure(nan).code, DASPACK_ERROR_UNREPRESENTABLE);
        assert_eq!(dpk_failure(dpk::Error::NotFound("x".into())).code, DASPACK_ERROR_INVALID_ARGUMENT);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(dpk_failure(dpk::Error::Io(denied)).code, DASPACK_ERROR_IO);
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(dpk_failure(dpk::Error::Io(eof)).code, DASPACK_ERROR_TRUNCATED);
    }
}
