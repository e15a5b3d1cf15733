//! The `.dpk` archive entry points called the way C does: writing (new and appended archives, every entry kind and
//! codec), listing, whole and partial reads, verification, then NULL pointers, zero lengths, too-small buffers,
//! bad options, misuse of the objects, and damaged or truncated archives, checking status and message each time.

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::PathBuf;
use std::ptr::{null, null_mut};

use daspack_capi::*;

fn last_error() -> String {
    // SAFETY: daspack_last_error returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(daspack_last_error()) }.to_str().unwrap().to_string()
}

/// Asserts status `got` is `want` and, on an error, that the message contains every fragment.
#[track_caller]
fn check(got: DaspackError, want: DaspackError, fragments: &[&str]) {
    let msg = last_error();
    assert_eq!(got, want, "status {got} (want {want}), message: {msg}");
    if want != DASPACK_OK {
        for f in fragments {
            assert!(msg.contains(f), "message {msg:?} lacks {f:?}");
        }
    }
}

/// A fresh directory under the system temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "daspack-capi-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> CString {
        CString::new(self.0.join(name).to_str().unwrap()).unwrap()
    }
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options() -> DaspackEntryOptions {
    let mut o = std::mem::MaybeUninit::<DaspackEntryOptions>::uninit();
    // SAFETY: a writable DaspackEntryOptions.
    check(unsafe { daspack_entry_options_init(o.as_mut_ptr()) }, DASPACK_OK, &[]);
    // SAFETY: initialised above.
    unsafe { o.assume_init() }
}

fn wave(rows: usize, cols: usize) -> Vec<i32> {
    (0..rows * cols)
        .map(|i| {
            let (t, x) = ((i / cols) as f64, (i % cols) as f64);
            (300.0 * ((t - 0.7 * x) / 9.0).sin() + 0.2 * t) as i32 + ((i * 7919) % 5) as i32
        })
        .collect()
}

fn as_bytes<T>(v: &[T]) -> &[u8] {
    // SAFETY: plain numbers, no padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

const ROWS: usize = 300;
const COLS: usize = 17;

fn bytes_payload() -> Vec<u8> {
    (0..50_000u32).flat_map(|i| ((i / 3) as u16).to_le_bytes()).collect()
}

struct Writer(*mut DaspackArchiveWriter);

impl Drop for Writer {
    fn drop(&mut self) {
        // SAFETY: a writer from this library (or NULL).
        unsafe { daspack_archive_writer_free(self.0) };
    }
}

fn writer_new(path: &CString) -> Writer {
    let mut w = null_mut();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_writer_new(path.as_ptr(), 2, &mut w) }, DASPACK_OK, &[]);
    assert!(!w.is_null());
    Writer(w)
}

fn add_array(
    w: &Writer,
    name: &str,
    dtype: DaspackDType,
    data: *const c_void,
    shape: &[u64],
    o: &DaspackEntryOptions,
) -> DaspackError {
    let name = CString::new(name).unwrap();
    // SAFETY: valid pointers; `data` holds the array.
    unsafe { daspack_archive_writer_add_array(w.0, name.as_ptr(), dtype, data, shape.as_ptr(), shape.len() as u32, o) }
}

fn add_bytes(w: &Writer, name: &str, data: &[u8], o: &DaspackEntryOptions) -> DaspackError {
    let name = CString::new(name).unwrap();
    // SAFETY: valid pointers.
    unsafe { daspack_archive_writer_add_bytes(w.0, name.as_ptr(), data.as_ptr(), data.len(), o) }
}

struct Reader(*mut DaspackArchive);

impl Drop for Reader {
    fn drop(&mut self) {
        // SAFETY: an archive from this library (or NULL).
        unsafe { daspack_archive_free(self.0) };
    }
}

// SAFETY: the archive object is read-only and documented as usable from several threads at once.
unsafe impl Send for Reader {}
// SAFETY: as above.
unsafe impl Sync for Reader {}

fn open(path: &CString) -> Reader {
    let mut a = null_mut();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_open(path.as_ptr(), &mut a) }, DASPACK_OK, &[]);
    Reader(a)
}

fn open_memory(bytes: &[u8]) -> std::result::Result<Reader, DaspackError> {
    let mut a = null_mut();
    // SAFETY: valid pointers.
    let st = unsafe { daspack_archive_open_memory(bytes.as_ptr(), bytes.len(), &mut a) };
    if st == DASPACK_OK {
        Ok(Reader(a))
    } else {
        assert!(a.is_null());
        Err(st)
    }
}

fn count(a: &Reader) -> u64 {
    let mut n = 0;
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_entry_count(a.0, &mut n) }, DASPACK_OK, &[]);
    n
}

fn info(a: &Reader, i: u64) -> DaspackEntryInfo {
    let mut out = std::mem::MaybeUninit::uninit();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_entry_info(a.0, i, out.as_mut_ptr()) }, DASPACK_OK, &[]);
    // SAFETY: written on success.
    unsafe { out.assume_init() }
}

fn name(a: &Reader, i: u64) -> String {
    let mut buf = [0 as c_char; 256];
    let mut len = 0;
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_entry_name(a.0, i, buf.as_mut_ptr(), buf.len(), &mut len) }, DASPACK_OK, &[]);
    // SAFETY: NUL-terminated by the call.
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_string();
    assert_eq!(len, s.len() + 1);
    s
}

fn find(a: &Reader, n: &str) -> u64 {
    let n = CString::new(n).unwrap();
    let mut i = u64::MAX;
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_find(a.0, n.as_ptr(), &mut i) }, DASPACK_OK, &[]);
    i
}

fn read(a: &Reader, i: u64) -> Vec<u8> {
    let size = info(a, i).size as usize;
    let mut out = vec![0u8; size + 3];
    let mut len = 0;
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_read(a.0, i, out.as_mut_ptr().cast(), out.len(), 0, &mut len) }, DASPACK_OK, &[]);
    assert_eq!(len, size);
    out.truncate(len);
    out
}

fn read_rows(a: &Reader, i: u64, r0: u64, n: u64) -> Vec<u8> {
    let mut out = vec![0u8; 1 << 20];
    let mut len = 0;
    // SAFETY: valid pointers.
    let st = unsafe { daspack_archive_read_rows(a.0, i, r0, n, out.as_mut_ptr().cast(), out.len(), &mut len) };
    check(st, DASPACK_OK, &[]);
    out.truncate(len);
    out
}

fn read_chunks(a: &Reader, i: u64, first: u64, n: u64) -> Vec<u8> {
    let mut out = vec![0u8; 1 << 20];
    let mut len = 0;
    // SAFETY: valid pointers.
    let st = unsafe { daspack_archive_read_chunks(a.0, i, first, n, out.as_mut_ptr().cast(), out.len(), &mut len) };
    check(st, DASPACK_OK, &[]);
    out.truncate(len);
    out
}

fn read_range(a: &Reader, i: u64, off: u64, n: u64) -> Vec<u8> {
    let mut out = vec![0u8; n as usize];
    let mut len = 0;
    // SAFETY: valid pointers (a non-NULL pointer even for n = 0).
    let st = unsafe {
        daspack_archive_read_range(
            a.0,
            i,
            off,
            n,
            out.as_mut_ptr().cast::<c_void>().wrapping_add(0),
            out.len(),
            &mut len,
        )
    };
    check(st, DASPACK_OK, &[]);
    assert_eq!(len as u64, n);
    out
}

/// An archive with an int32 DAS array in 6 chunks, bytes entries under every codec, and a directory.
fn sample_archive(dir: &TempDir) -> (CString, Vec<i32>, Vec<u8>) {
    let path = dir.path("sample.dpk");
    let data = wave(ROWS, COLS);
    let payload = bytes_payload();
    let w = writer_new(&path);
    let mut o = options();
    o.das_chunk_size = (50 * COLS * 4) as u32;
    check(
        add_array(&w, "das/wave.npy", DASPACK_DTYPE_INT32, data.as_ptr().cast(), &[ROWS as u64, COLS as u64], &o),
        DASPACK_OK,
        &[],
    );
    for (codec, n) in [
        (DASPACK_CODEC_ZSTD, "zstd.bin"),
        (DASPACK_CODEC_LZ4, "lz4.bin"),
        (DASPACK_CODEC_DEFLATE, "deflate.bin"),
        (DASPACK_CODEC_STORED, "stored.bin"),
    ] {
        let mut o = options();
        o.codec = codec;
        o.chunk_size = 30_000;
        o.typesize = 2;
        o.checksum = DASPACK_CHECKSUM_SHA256;
        check(add_bytes(&w, n, &payload, &o), DASPACK_OK, &[]);
    }
    check(add_bytes(&w, "empty", &payload[..0], &options()), DASPACK_OK, &[]);
    let d = CString::new("das/empty-dir").unwrap();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_writer_add_dir(w.0, d.as_ptr()) }, DASPACK_OK, &[]);
    // Nothing at the destination before the commit; only a temporary file.
    assert!(!dir.0.join("sample.dpk").exists());
    // SAFETY: a live writer.
    check(unsafe { daspack_archive_writer_commit(w.0) }, DASPACK_OK, &[]);
    drop(w);
    assert_eq!(dir.files(), ["sample.dpk"]);
    (path, data, payload)
}

#[test]
fn write_list_read_verify() {
    let dir = TempDir::new("rt");
    let (path, data, payload) = sample_archive(&dir);
    let bytes = std::fs::read(dir.0.join("sample.dpk")).unwrap();
    for a in [open(&path), open_memory(&bytes).unwrap()] {
        assert_eq!(count(&a), 7);
        let names: Vec<String> = (0..7).map(|i| name(&a, i)).collect();
        assert_eq!(
            names,
            ["das/wave.npy", "zstd.bin", "lz4.bin", "deflate.bin", "stored.bin", "empty", "das/empty-dir"]
        );
        let i = find(&a, "das/wave.npy");
        assert_eq!(i, 0);
        let e = info(&a, i);
        assert_eq!(
            (e.kind, e.codec, e.dtype, e.checksum),
            (DASPACK_ENTRY_ARRAY, DASPACK_CODEC_DAS, DASPACK_DTYPE_INT32, DASPACK_CHECKSUM_XXH64)
        );
        assert_eq!(
            (e.ndim, e.shape[0], e.shape[1], e.shape[2], e.rows, e.cols),
            (2, ROWS as u64, COLS as u64, 0, ROWS as u64, COLS as u64)
        );
        assert_eq!((e.size, e.itemsize, e.chunk_count, e.fortran_order), ((ROWS * COLS * 4) as u64, 4, 6, 0));
        assert_eq!(e.name_size, "das/wave.npy".len() as u64 + 1);
        assert!(e.stored_size > 0 && e.stored_size < e.size, "{e:?}");
        assert_eq!(e.abs_error, 0.0);
        let want = as_bytes(&data);
        assert_eq!(read(&a, i), want);
        let rb = COLS * 4;
        assert_eq!(read_rows(&a, i, 37, 100), &want[37 * rb..137 * rb]);
        assert_eq!(read_rows(&a, i, 299, 1), &want[299 * rb..]);
        assert_eq!(read_rows(&a, i, 10, 0), b"");
        assert_eq!(read_chunks(&a, i, 1, 2), &want[50 * rb..150 * rb]);
        assert_eq!(read_range(&a, i, 1001, 5000), &want[1001..6001]);
        let mut c = DaspackChunkInfo::default();
        // SAFETY: valid pointers.
        check(unsafe { daspack_archive_chunk_info(a.0, i, 5, &mut c) }, DASPACK_OK, &[]);
        assert_eq!((c.offset, c.size, c.reserved), ((250 * rb) as u64, (50 * rb) as u64, 0));
        assert!(c.file_offset >= 80 && c.stored_size > 0);
        for n in ["zstd.bin", "lz4.bin", "deflate.bin", "stored.bin"] {
            let j = find(&a, n);
            let e = info(&a, j);
            assert_eq!(
                (e.kind, e.dtype, e.size, e.chunk_count, e.checksum),
                (DASPACK_ENTRY_FILE, DASPACK_DTYPE_NONE, 100_000, 4, DASPACK_CHECKSUM_SHA256)
            );
            assert_eq!(e.filters, DASPACK_FILTER_SHUFFLE);
            assert_eq!(read(&a, j), payload, "{n}");
            assert_eq!(read_chunks(&a, j, 3, 1), &payload[90_000..]);
            assert_eq!(read_range(&a, j, 29_999, 2), &payload[29_999..30_001]);
        }
        assert_eq!(info(&a, 1).codec, DASPACK_CODEC_ZSTD);
        assert_eq!(info(&a, 4).stored_size, 100_000);
        let e = info(&a, 5);
        assert_eq!((e.size, e.chunk_count), (0, 0));
        assert_eq!(read(&a, 5), b"");
        assert_eq!(read_range(&a, 5, 0, 0), b"");
        assert_eq!(info(&a, 6).kind, DASPACK_ENTRY_DIR);
        // SAFETY: a live archive.
        check(unsafe { daspack_archive_verify(a.0, 0) }, DASPACK_OK, &[]);
        check(unsafe { daspack_archive_verify_entry(a.0, 3, 1) }, DASPACK_OK, &[]);
    }
}

#[test]
fn every_dtype_and_fixed_accuracy() {
    let dir = TempDir::new("dtypes");
    let path = dir.path("t.dpk");
    let w = writer_new(&path);
    let o = options();
    let (r, c) = (64usize, 9usize);
    let base = wave(r, c);
    let i16s: Vec<i16> = base.iter().map(|&v| v as i16).collect();
    let u16s: Vec<u16> = base.iter().map(|&v| (v + 400) as u16).collect();
    let f32s: Vec<f32> = base.iter().map(|&v| v as f32 * 0.37).collect();
    let f64s: Vec<f64> = base.iter().map(|&v| v as f64 * 1e-3).collect();
    let shape = [r as u64, c as u64];
    check(add_array(&w, "i16", DASPACK_DTYPE_INT16, i16s.as_ptr().cast(), &shape, &o), DASPACK_OK, &[]);
    check(add_array(&w, "u16", DASPACK_DTYPE_UINT16, u16s.as_ptr().cast(), &shape, &o), DASPACK_OK, &[]);
    check(add_array(&w, "f32", DASPACK_DTYPE_FLOAT32, f32s.as_ptr().cast(), &shape, &o), DASPACK_OK, &[]);
    check(add_array(&w, "f64-3d", DASPACK_DTYPE_FLOAT64, f64s.as_ptr().cast(), &[8, 8, 9], &o), DASPACK_OK, &[]);
    check(add_array(&w, "i32-1d", DASPACK_DTYPE_INT32, base.as_ptr().cast(), &[(r * c) as u64], &o), DASPACK_OK, &[]);
    let mut lossy = options();
    lossy.das.abs_error = 0.01;
    check(add_array(&w, "f32-lossy", DASPACK_DTYPE_FLOAT32, f32s.as_ptr().cast(), &shape, &lossy), DASPACK_OK, &[]);
    let mut zstd = options();
    zstd.codec = DASPACK_CODEC_ZSTD;
    check(add_array(&w, "i32-zstd", DASPACK_DTYPE_INT32, base.as_ptr().cast(), &shape, &zstd), DASPACK_OK, &[]);
    // NaN cannot be stored within a bound.
    let mut bad = f32s.clone();
    bad[17] = f32::NAN;
    check(
        add_array(&w, "nan", DASPACK_DTYPE_FLOAT32, bad.as_ptr().cast(), &shape, &lossy),
        DASPACK_ERROR_UNREPRESENTABLE,
        &["daspack_archive_writer_add_array", "NaN"],
    );
    // SAFETY: a live writer.
    check(unsafe { daspack_archive_writer_commit(w.0) }, DASPACK_OK, &[]);
    drop(w);
    let a = open(&path);
    assert_eq!(count(&a), 7);
    assert_eq!(read(&a, find(&a, "i16")), as_bytes(&i16s));
    assert_eq!(read(&a, find(&a, "u16")), as_bytes(&u16s));
    assert_eq!(read(&a, find(&a, "f32")), as_bytes(&f32s));
    assert_eq!(read(&a, find(&a, "i32-1d")), as_bytes(&base));
    assert_eq!(read(&a, find(&a, "i32-zstd")), as_bytes(&base));
    let e = info(&a, find(&a, "i32-zstd"));
    assert_eq!((e.kind, e.codec, e.dtype), (DASPACK_ENTRY_ARRAY, DASPACK_CODEC_ZSTD, DASPACK_DTYPE_INT32));
    let i = find(&a, "f64-3d");
    let e = info(&a, i);
    assert_eq!(
        (e.dtype, e.ndim, e.shape[..3].to_vec(), e.rows, e.cols),
        (DASPACK_DTYPE_FLOAT64, 3, vec![8, 8, 9], 8, 72)
    );
    assert_eq!(read(&a, i), as_bytes(&f64s));
    assert_eq!(read_rows(&a, i, 2, 3), &as_bytes(&f64s)[2 * 72 * 8..5 * 72 * 8]);
    let i = find(&a, "f32-lossy");
    let e = info(&a, i);
    assert_eq!((e.dtype, e.abs_error), (DASPACK_DTYPE_FLOAT32, 0.01));
    let back = read(&a, i);
    for (k, ch) in back.chunks_exact(4).enumerate() {
        let v = f32::from_le_bytes(ch.try_into().unwrap());
        assert!(((v - f32s[k]) as f64).abs() <= 0.01 * 1.0001, "element {k}: {v} vs {}", f32s[k]);
    }
    // SAFETY: a live archive.
    check(unsafe { daspack_archive_verify(a.0, 1) }, DASPACK_OK, &[]);
}

#[test]
fn append_commit_and_abandon() {
    let dir = TempDir::new("append");
    let (path, _, payload) = sample_archive(&dir);
    let file = dir.0.join("sample.dpk");
    let before = std::fs::read(&file).unwrap();
    // Abandoned: the file is exactly as it was.
    let mut w = null_mut();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_writer_append(path.as_ptr(), 1, &mut w) }, DASPACK_OK, &[]);
    let w = Writer(w);
    check(add_bytes(&w, "later.bin", &payload, &options()), DASPACK_OK, &[]);
    check(
        add_bytes(&w, "zstd.bin", &payload, &options()),
        DASPACK_ERROR_INVALID_ARGUMENT,
        &["daspack_archive_writer_add_bytes", "already has an entry named \"zstd.bin\""],
    );
    drop(w);
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // Committed: the new entries are there, the old ones unchanged.
    let mut w = null_mut();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_writer_append(path.as_ptr(), 0, &mut w) }, DASPACK_OK, &[]);
    let w = Writer(w);
    let data = wave(40, 3);
    check(add_array(&w, "more.npy", DASPACK_DTYPE_INT32, data.as_ptr().cast(), &[40, 3], &options()), DASPACK_OK, &[]);
    // SAFETY: a live writer.
    check(unsafe { daspack_archive_writer_commit(w.0) }, DASPACK_OK, &[]);
    check(
        unsafe { daspack_archive_writer_commit(w.0) },
        DASPACK_ERROR_STATE,
        &["daspack_archive_writer_commit", "committed"],
    );
    check(add_bytes(&w, "x", &payload, &options()), DASPACK_ERROR_STATE, &["daspack_archive_writer_add_bytes"]);
    drop(w);
    let a = open(&path);
    assert_eq!(count(&a), 8);
    assert_eq!(read(&a, find(&a, "more.npy")), as_bytes(&data));
    assert_eq!(read(&a, find(&a, "lz4.bin")), payload);
    // SAFETY: a live archive.
    check(unsafe { daspack_archive_verify(a.0, 0) }, DASPACK_OK, &[]);
    assert_eq!(dir.files(), ["sample.dpk"]);
}

#[test]
fn a_writer_freed_without_commit_leaves_nothing() {
    let dir = TempDir::new("abandon");
    let path = dir.path("never.dpk");
    let w = writer_new(&path);
    check(add_bytes(&w, "a", b"hello", &options()), DASPACK_OK, &[]);
    drop(w);
    assert!(dir.files().is_empty(), "{:?}", dir.files());
}

#[test]
fn null_pointers_and_bad_arguments() {
    let dir = TempDir::new("args");
    let (path, data, payload) = sample_archive(&dir);
    let a = open(&path);
    let mut buf = vec![0u8; 1 << 20];
    let b = buf.as_mut_ptr().cast::<c_void>();
    let (mut n, mut len, mut idx) = (0u64, 0usize, 0u64);
    let mut e = std::mem::MaybeUninit::<DaspackEntryInfo>::uninit();
    let mut c = DaspackChunkInfo::default();
    let mut obj: *mut DaspackArchive = null_mut();
    let wave_name = CString::new("das/wave.npy").unwrap();
    let rb = (COLS * 4) as u64;
    // SAFETY: every pointer is valid or NULL on purpose.
    unsafe {
        // Opening.
        check(daspack_archive_open(null(), &mut obj), DASPACK_ERROR_NULL_POINTER, &["daspack_archive_open", "`path`"]);
        check(daspack_archive_open(path.as_ptr(), null_mut()), DASPACK_ERROR_NULL_POINTER, &["`archive`"]);
        check(daspack_archive_open(c"".as_ptr(), &mut obj), DASPACK_ERROR_INVALID_ARGUMENT, &["empty path"]);
        let missing = dir.path("missing.dpk");
        check(daspack_archive_open(missing.as_ptr(), &mut obj), DASPACK_ERROR_IO, &["cannot open", "missing.dpk"]);
        let d = CString::new(dir.0.to_str().unwrap()).unwrap();
        check(daspack_archive_open(d.as_ptr(), &mut obj), DASPACK_ERROR_INVALID_ARGUMENT, &["is a directory"]);
        assert!(obj.is_null());
        check(
            daspack_archive_open_memory(null(), 10, &mut obj),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_open_memory", "`data`"],
        );
        check(
            daspack_archive_open_memory(buf.as_ptr(), 0, &mut obj),
            DASPACK_ERROR_NOT_DASPACK,
            &["daspack_archive_open_memory", "not a .dpk"],
        );
        check(
            daspack_archive_open_memory(c"\x89DPK\r\n\x1a\n\x01".as_ptr().cast(), 9, &mut obj),
            DASPACK_ERROR_TRUNCATED,
            &["truncated archive"],
        );
        check(
            daspack_archive_open_memory(payload.as_ptr(), 1000, &mut obj),
            DASPACK_ERROR_NOT_DASPACK,
            &["not a .dpk archive"],
        );
        check(
            daspack_archive_open_memory(payload.as_ptr(), 10, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["`archive`"],
        );
        assert!(obj.is_null());
        daspack_archive_free(null_mut());

        // Listing.
        check(
            daspack_archive_entry_count(null(), &mut n),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_entry_count", "`archive`"],
        );
        check(daspack_archive_entry_count(a.0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`count`"]);
        check(daspack_archive_entry_info(null(), 0, e.as_mut_ptr()), DASPACK_ERROR_NULL_POINTER, &["`archive`"]);
        check(daspack_archive_entry_info(a.0, 0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`info`"]);
        check(
            daspack_archive_entry_info(a.0, 7, e.as_mut_ptr()),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["entry 7 out of range", "7 entries"],
        );
        check(
            daspack_archive_entry_info(a.0, u64::MAX, e.as_mut_ptr()),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["out of range"],
        );
        let nb = buf.as_mut_ptr().cast::<c_char>();
        check(
            daspack_archive_entry_name(a.0, 0, nb, 12, &mut len),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["daspack_archive_entry_name", "needs 13"],
        );
        assert_eq!(len, 13);
        check(daspack_archive_entry_name(a.0, 0, nb, 0, &mut len), DASPACK_ERROR_BUFFER_TOO_SMALL, &["holds 0 bytes"]);
        check(daspack_archive_entry_name(a.0, 0, null_mut(), 100, &mut len), DASPACK_ERROR_NULL_POINTER, &["`dst`"]);
        check(daspack_archive_entry_name(a.0, 0, nb, 100, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`dst_len`"]);
        check(daspack_archive_entry_name(a.0, 9, nb, 100, &mut len), DASPACK_ERROR_INVALID_ARGUMENT, &["entry 9"]);
        assert_eq!(len, 0);
        check(
            daspack_archive_find(a.0, null(), &mut idx),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_find", "`name`"],
        );
        check(daspack_archive_find(a.0, wave_name.as_ptr(), null_mut()), DASPACK_ERROR_NULL_POINTER, &["`index`"]);
        check(daspack_archive_find(null(), wave_name.as_ptr(), &mut idx), DASPACK_ERROR_NULL_POINTER, &["`archive`"]);
        check(
            daspack_archive_find(a.0, c"nope".as_ptr(), &mut idx),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["no entry named \"nope\""],
        );
        check(daspack_archive_find(a.0, c"\xff".as_ptr(), &mut idx), DASPACK_ERROR_INVALID_ARGUMENT, &["not UTF-8"]);
        check(
            daspack_archive_chunk_info(a.0, 0, 6, &mut c),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["chunk 6 out of range", "6 chunks"],
        );
        check(daspack_archive_chunk_info(a.0, 0, 0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`info`"]);
        check(daspack_archive_chunk_info(null(), 0, 0, &mut c), DASPACK_ERROR_NULL_POINTER, &["`archive`"]);

        // Reading: NULLs, too-small buffers (with the size needed), ranges outside the entry.
        let size = (ROWS * COLS * 4) as u64;
        check(
            daspack_archive_read(null(), 0, b, 1 << 20, 0, &mut len),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_read", "`archive`"],
        );
        check(daspack_archive_read(a.0, 0, null_mut(), 1 << 20, 0, &mut len), DASPACK_ERROR_NULL_POINTER, &["`dst`"]);
        check(daspack_archive_read(a.0, 0, b, 1 << 20, 0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`dst_len`"]);
        check(
            daspack_archive_read(a.0, 0, b, size as usize - 1, 0, &mut len),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["needs 20400"],
        );
        assert_eq!(len as u64, size);
        check(daspack_archive_read(a.0, 0, b, 0, 0, &mut len), DASPACK_ERROR_BUFFER_TOO_SMALL, &["holds 0 bytes"]);
        assert_eq!(len as u64, size);
        check(
            daspack_archive_read(a.0, 0, b, 1 << 20, DASPACK_MAX_THREADS + 1, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["DASPACK_MAX_THREADS"],
        );
        check(daspack_archive_read(a.0, 7, b, 1 << 20, 0, &mut len), DASPACK_ERROR_INVALID_ARGUMENT, &["entry 7"]);
        check(
            daspack_archive_read_range(a.0, 0, size - 10, 11, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["daspack_archive_read_range", "outside entry"],
        );
        check(
            daspack_archive_read_range(a.0, 0, u64::MAX, 2, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["outside entry"],
        );
        check(
            daspack_archive_read_range(a.0, 0, 5, 100, b, 99, &mut len),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["needs 100"],
        );
        assert_eq!(len, 100);
        check(
            daspack_archive_read_range(a.0, 0, 5, 100, null_mut(), 100, &mut len),
            DASPACK_ERROR_NULL_POINTER,
            &["`dst`"],
        );
        check(
            daspack_archive_read_range(null(), 0, 5, 100, b, 100, &mut len),
            DASPACK_ERROR_NULL_POINTER,
            &["`archive`"],
        );
        check(
            daspack_archive_read_chunks(a.0, 0, 5, 2, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["daspack_archive_read_chunks", "6 chunks"],
        );
        check(
            daspack_archive_read_chunks(a.0, 0, u64::MAX, 2, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["outside entry"],
        );
        check(
            daspack_archive_read_chunks(a.0, 0, 0, 2, b, 10, &mut len),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["needs 6800"],
        );
        assert_eq!(len, 6800);
        check(daspack_archive_read_chunks(a.0, 0, 6, 0, b, 0, &mut len), DASPACK_OK, &[]);
        assert_eq!(len, 0);
        check(
            daspack_archive_read_chunks(a.0, 0, 0, 1, b, 1 << 20, null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["`dst_len`"],
        );
        check(
            daspack_archive_read_rows(a.0, 0, 299, 2, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["daspack_archive_read_rows", "300 rows"],
        );
        check(
            daspack_archive_read_rows(a.0, 0, u64::MAX, 2, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["outside entry"],
        );
        check(
            daspack_archive_read_rows(a.0, 0, 10, 3, b, (3 * rb - 1) as usize, &mut len),
            DASPACK_ERROR_BUFFER_TOO_SMALL,
            &["needs 204"],
        );
        assert_eq!(len as u64, 3 * rb);
        check(
            daspack_archive_read_rows(a.0, 1, 0, 1, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["is a file, not an array"],
        );
        check(
            daspack_archive_read_rows(a.0, 6, 0, 0, b, 1 << 20, &mut len),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["is a dir, not an array"],
        );
        check(
            daspack_archive_read_rows(null(), 0, 0, 1, b, 1 << 20, &mut len),
            DASPACK_ERROR_NULL_POINTER,
            &["`archive`"],
        );
        check(daspack_archive_verify(null(), 0), DASPACK_ERROR_NULL_POINTER, &["daspack_archive_verify", "`archive`"]);
        check(daspack_archive_verify(a.0, 5000), DASPACK_ERROR_INVALID_ARGUMENT, &["threads"]);
        check(daspack_archive_verify_entry(a.0, 70, 0), DASPACK_ERROR_INVALID_ARGUMENT, &["entry 70"]);
        check(daspack_archive_verify_entry(null(), 0, 0), DASPACK_ERROR_NULL_POINTER, &["`archive`"]);
    }
    assert_eq!(read(&a, 0), as_bytes(&data));

    // Writing.
    let out = dir.path("w.dpk");
    let mut w = null_mut();
    let o = options();
    let shape = [ROWS as u64, COLS as u64];
    // SAFETY: every pointer is valid or NULL on purpose.
    unsafe {
        check(
            daspack_entry_options_init(null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_entry_options_init", "`options`"],
        );
        check(
            daspack_archive_writer_new(null(), 0, &mut w),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_writer_new", "`path`"],
        );
        check(daspack_archive_writer_new(out.as_ptr(), 0, null_mut()), DASPACK_ERROR_NULL_POINTER, &["`writer`"]);
        check(daspack_archive_writer_new(out.as_ptr(), 100_000, &mut w), DASPACK_ERROR_INVALID_ARGUMENT, &["threads"]);
        let nodir = dir.path("no/such/dir/x.dpk");
        check(daspack_archive_writer_new(nodir.as_ptr(), 0, &mut w), DASPACK_ERROR_IO, &["cannot create", "x.dpk"]);
        check(
            daspack_archive_writer_append(null(), 0, &mut w),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_writer_append", "`path`"],
        );
        check(daspack_archive_writer_append(out.as_ptr(), 0, &mut w), DASPACK_ERROR_IO, &["cannot open"]);
        assert!(w.is_null());
        let junk = dir.path("junk.bin");
        std::fs::write(dir.0.join("junk.bin"), &payload[..500]).unwrap();
        check(
            daspack_archive_writer_append(junk.as_ptr(), 0, &mut w),
            DASPACK_ERROR_NOT_DASPACK,
            &["not a .dpk archive"],
        );
        assert_eq!(std::fs::read(dir.0.join("junk.bin")).unwrap(), &payload[..500]);
        daspack_archive_writer_free(null_mut());
    }
    let w = writer_new(&out);
    let d = data.as_ptr().cast::<c_void>();
    let nm = c"x".as_ptr();
    // SAFETY: every pointer is valid or NULL on purpose.
    unsafe {
        let add = |name: *const c_char,
                   dtype,
                   data: *const c_void,
                   shape: *const u64,
                   ndim,
                   o: *const DaspackEntryOptions| {
            daspack_archive_writer_add_array(w.0, name, dtype, data, shape, ndim, o)
        };
        check(add(nm, DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &o), DASPACK_OK, &[]);
        check(
            daspack_archive_writer_add_array(null_mut(), nm, DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &o),
            DASPACK_ERROR_NULL_POINTER,
            &["`writer`"],
        );
        check(add(null(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &o), DASPACK_ERROR_NULL_POINTER, &["`name`"]);
        check(
            add(c"y".as_ptr(), DASPACK_DTYPE_INT32, null(), shape.as_ptr(), 2, &o),
            DASPACK_ERROR_NULL_POINTER,
            &["`data`"],
        );
        check(add(c"y".as_ptr(), DASPACK_DTYPE_INT32, d, null(), 2, &o), DASPACK_ERROR_NULL_POINTER, &["`shape`"]);
        check(
            add(c"y".as_ptr(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, null()),
            DASPACK_ERROR_NULL_POINTER,
            &["`options`"],
        );
        check(add(c"y".as_ptr(), 0, d, shape.as_ptr(), 2, &o), DASPACK_ERROR_INVALID_ARGUMENT, &["unknown dtype 0"]);
        check(
            add(c"y".as_ptr(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 0, &o),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["ndim = 0"],
        );
        check(
            add(c"y".as_ptr(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 33, &o),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["ndim = 33"],
        );
        let huge = [u64::MAX, 3];
        check(
            add(c"y".as_ptr(), DASPACK_DTYPE_INT32, d, huge.as_ptr(), 2, &o),
            DASPACK_ERROR_TOO_LARGE,
            &["overflows"],
        );
        check(
            add(nm, DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &o),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["already has an entry named \"x\""],
        );
        for bad in [c"", c"../up", c"/abs", c"a//b", c"a\\b", c"./a"] {
            check(
                add(bad.as_ptr(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &o),
                DASPACK_ERROR_INVALID_ARGUMENT,
                &["daspack_archive_writer_add_array"],
            );
        }
        check(
            add(c"\xc3".as_ptr(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &o),
            DASPACK_ERROR_INVALID_ARGUMENT,
            &["not UTF-8"],
        );
        let mut bad = o;
        let mut try_opts = |f: &dyn Fn(&mut DaspackEntryOptions), frag: &str| {
            bad = o;
            f(&mut bad);
            check(
                add(c"z".as_ptr(), DASPACK_DTYPE_INT32, d, shape.as_ptr(), 2, &bad),
                DASPACK_ERROR_INVALID_ARGUMENT,
                &[frag],
            );
        };
        try_opts(&|o| o.codec = 5, "options.codec = 5");
        try_opts(&|o| (o.codec, o.level) = (DASPACK_CODEC_ZSTD, 23), "options.level = 23");
        try_opts(&|o| (o.codec, o.level) = (DASPACK_CODEC_DEFLATE, 10), "options.level = 10");
        try_opts(&|o| o.filters = 8, "unknown bits");
        try_opts(&|o| o.filters = DASPACK_FILTER_SHUFFLE | DASPACK_FILTER_BITSHUFFLE, "exclude each other");
        try_opts(&|o| (o.filters, o.typesize) = (DASPACK_FILTER_DELTA, 3), "delta needs");
        try_opts(&|o| o.typesize = 256, "options.typesize = 256");
        try_opts(&|o| o.chunk_size = DASPACK_MAX_CHUNK_SIZE + 1, "options.chunk_size");
        try_opts(&|o| o.das_chunk_size = u32::MAX, "options.das_chunk_size");
        try_opts(&|o| o.checksum = 11, "unknown checksum kind 11");
        try_opts(&|o| o.reserved = 1, "reserved");
        try_opts(&|o| o.das.abs_error = -1.0, "abs_error");
        try_opts(&|o| o.das.abs_error = f64::NAN, "abs_error");
        try_opts(&|o| o.das.lpc_order = 1000, "lpc_order");
        check(
            daspack_archive_writer_add_bytes(w.0, c"b".as_ptr(), null(), 0, &o),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_writer_add_bytes", "`data`"],
        );
        check(
            daspack_archive_writer_add_bytes(w.0, c"b".as_ptr(), payload.as_ptr(), 10, null()),
            DASPACK_ERROR_NULL_POINTER,
            &["`options`"],
        );
        check(
            daspack_archive_writer_add_bytes(null_mut(), c"b".as_ptr(), payload.as_ptr(), 10, &o),
            DASPACK_ERROR_NULL_POINTER,
            &["`writer`"],
        );
        check(
            daspack_archive_writer_add_bytes(w.0, null(), payload.as_ptr(), 10, &o),
            DASPACK_ERROR_NULL_POINTER,
            &["`name`"],
        );
        check(daspack_archive_writer_add_bytes(w.0, c"b".as_ptr(), payload.as_ptr(), 10, &o), DASPACK_OK, &[]);
        check(
            daspack_archive_writer_add_dir(w.0, null()),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_writer_add_dir", "`name`"],
        );
        check(daspack_archive_writer_add_dir(null_mut(), c"d".as_ptr()), DASPACK_ERROR_NULL_POINTER, &["`writer`"]);
        check(daspack_archive_writer_add_dir(w.0, c"b".as_ptr()), DASPACK_ERROR_INVALID_ARGUMENT, &["already has"]);
        check(
            daspack_archive_writer_commit(null_mut()),
            DASPACK_ERROR_NULL_POINTER,
            &["daspack_archive_writer_commit", "`writer`"],
        );
        check(daspack_archive_writer_commit(w.0), DASPACK_OK, &[]);
        check(daspack_archive_writer_add_dir(w.0, c"d".as_ptr()), DASPACK_ERROR_STATE, &["committed"]);
    }
    drop(w);
    let a = open(&out);
    assert_eq!(count(&a), 2);
    assert_eq!(read(&a, 0), as_bytes(&data));
    assert_eq!(read(&a, 1), &payload[..10]);
}

/// Flips one byte of the stored data of chunk `chunk` of entry 0.
fn damage_chunk(bytes: &[u8], chunk: u64) -> Vec<u8> {
    let a = open_memory(bytes).unwrap();
    let mut c = DaspackChunkInfo::default();
    // SAFETY: valid pointers.
    check(unsafe { daspack_archive_chunk_info(a.0, 0, chunk, &mut c) }, DASPACK_OK, &[]);
    let mut v = bytes.to_vec();
    v[(c.file_offset + c.stored_size / 2) as usize] ^= 0x40;
    v
}

#[test]
fn damaged_and_truncated_archives_fail_cleanly() {
    let dir = TempDir::new("corrupt");
    let _ = sample_archive(&dir);
    let bytes = std::fs::read(dir.0.join("sample.dpk")).unwrap();
    // A damaged chunk: listing works, verification and reads of that chunk name it; other chunks still read.
    let bad = damage_chunk(&bytes, 4);
    let a = open_memory(&bad).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let b = buf.as_mut_ptr().cast::<c_void>();
    let mut len = 0;
    let rb = (COLS * 4) as u64;
    // SAFETY: valid pointers.
    unsafe {
        check(
            daspack_archive_verify(a.0, 2),
            DASPACK_ERROR_CORRUPT,
            &["daspack_archive_verify", "chunk 4", "CRC-32 mismatch", "das/wave.npy"],
        );
        check(
            daspack_archive_verify_entry(a.0, 0, 1),
            DASPACK_ERROR_CORRUPT,
            &["daspack_archive_verify_entry", "chunk 4"],
        );
        check(daspack_archive_verify_entry(a.0, 1, 1), DASPACK_OK, &[]);
        check(
            daspack_archive_read(a.0, 0, b, buf.len(), 0, &mut len),
            DASPACK_ERROR_CORRUPT,
            &["daspack_archive_read", "chunk 4"],
        );
        assert_eq!(len, 0);
        check(daspack_archive_read_rows(a.0, 0, 210, 5, b, buf.len(), &mut len), DASPACK_ERROR_CORRUPT, &["chunk 4"]);
        check(daspack_archive_read_chunks(a.0, 0, 4, 1, b, buf.len(), &mut len), DASPACK_ERROR_CORRUPT, &["chunk 4"]);
        check(daspack_archive_read_rows(a.0, 0, 10, 5, b, buf.len(), &mut len), DASPACK_OK, &[]);
        assert_eq!(len as u64, 5 * rb);
    }
    // Every truncation: open fails cleanly (or, past the committed end, works); nothing crashes.
    for cut in (0..bytes.len()).step_by(97).chain([79, 80, 81, bytes.len() - 1]) {
        match open_memory(&bytes[..cut]) {
            Ok(a) => {
                // SAFETY: a live archive.
                let st = unsafe { daspack_archive_verify(a.0, 1) };
                assert!(st == DASPACK_OK || st == DASPACK_ERROR_TRUNCATED || st == DASPACK_ERROR_CORRUPT, "{st}");
            }
            Err(st) => {
                let msg = last_error();
                assert!(msg.starts_with("daspack_archive_open_memory: "), "{msg}");
                assert!(
                    [DASPACK_ERROR_TRUNCATED, DASPACK_ERROR_CORRUPT, DASPACK_ERROR_NOT_DASPACK].contains(&st),
                    "cut {cut}: {st} {msg}"
                );
            }
        }
    }
    let st = open_memory(&bytes[..bytes.len() - 1]).err().unwrap();
    check(st, DASPACK_ERROR_TRUNCATED, &["truncated archive", "index"]);
    // Damaged header, index and bad version.
    let mut v = bytes.clone();
    v[3] = b'X';
    check(open_memory(&v).err().unwrap(), DASPACK_ERROR_NOT_DASPACK, &["bad magic"]);
    let mut v = bytes.clone();
    v[8] = 2;
    let st = open_memory(&v).err().unwrap();
    assert!(st == DASPACK_ERROR_UNSUPPORTED_VERSION || st == DASPACK_ERROR_CORRUPT, "{st}: {}", last_error());
    let mut v = bytes.clone();
    let n = v.len();
    v[n - 30] ^= 1;
    check(open_memory(&v).err().unwrap(), DASPACK_ERROR_CORRUPT, &["index", "CRC-32 mismatch"]);
    let mut v = bytes.clone();
    v[20] ^= 1; // commit slot 0
    check(open_memory(&v).err().unwrap(), DASPACK_ERROR_CORRUPT, &["no committed index"]);
    // The same from a file.
    std::fs::write(dir.0.join("bad.dpk"), &bad).unwrap();
    let a = open(&dir.path("bad.dpk"));
    // SAFETY: a live archive.
    check(unsafe { daspack_archive_verify(a.0, 0) }, DASPACK_ERROR_CORRUPT, &["chunk 4"]);
}

#[test]
fn one_archive_read_from_many_threads() {
    let dir = TempDir::new("threads");
    let (path, data, _) = sample_archive(&dir);
    let a = open(&path);
    let want = as_bytes(&data).to_vec();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (a, want) = (&a, &want);
            s.spawn(move || {
                for k in 0..5u64 {
                    let r0 = (t * 37 + k * 11) % 250;
                    let got = read_rows(a, 0, r0, 50);
                    let rb = COLS * 4;
                    assert_eq!(got, &want[r0 as usize * rb..(r0 as usize + 50) * rb]);
                    // SAFETY: a live archive; errors are per thread.
                    check(unsafe { daspack_archive_verify_entry(a.0, 0, 1) }, DASPACK_OK, &[]);
                }
            });
        }
    });
}

/// The layouts tests/capi/abi_errors.c checks from C with sizeof/offsetof.
#[test]
fn archive_struct_layouts() {
    use std::mem::{offset_of, size_of};
    assert_eq!(size_of::<DaspackEntryInfo>(), 360);
    assert_eq!((offset_of!(DaspackEntryInfo, size), offset_of!(DaspackEntryInfo, abs_error)), (24, 88));
    assert_eq!((offset_of!(DaspackEntryInfo, ndim), offset_of!(DaspackEntryInfo, shape)), (96, 104));
    assert_eq!(size_of::<DaspackChunkInfo>(), 40);
    assert_eq!(size_of::<DaspackEntryOptions>(), 72);
    assert_eq!((offset_of!(DaspackEntryOptions, checksum), offset_of!(DaspackEntryOptions, das)), (24, 32));
}
