//! Found while checking the decoders against the fuzz targets' memory limits: a lossless float tile (mode 2)
//! reserved room for its claimed exception count before reading any, so a 1 KiB stream claiming 2^24 exceptions
//! made the decoder reserve 256 MiB (16 bytes per exception) on top of its 64 MiB output. The reservation is now
//! bounded by the bytes left in the tile; checked here with the largest tile the format allows today (2^22 samples).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use daspack_codec::{decompress, CodecError};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = IN_USE.fetch_add(n, Ordering::SeqCst) + n;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only the counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grew(l.size());
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        grew(l.size());
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        IN_USE.fetch_sub(l.size(), Ordering::SeqCst);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        grew(new);
        IN_USE.fetch_sub(l.size(), Ordering::SeqCst);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A float32 stream in mode 2 (scale 1.0) of 2048 x 2048 elements in one tile: the tile claims 2^22 exceptions,
/// then holds zeros (exceptions 0, 1, 2, ... of value 0) up to a total stream size of 1024 bytes.
fn stream() -> Vec<u8> {
    let mut tile = vec![0, 0x80, 0x80, 0x80, 0x02]; // form byte 0 (scaled integers), then varint 2^22
    tile.resize(1024 - 64, 0);
    let mut s = b"DASP".to_vec();
    s.extend_from_slice(&[1, 4, 2, 0]); // version, float32, mode 2, reserved
    s.extend_from_slice(&2048u64.to_le_bytes()); // rows
    s.extend_from_slice(&2048u64.to_le_bytes()); // cols
    s.extend_from_slice(&2048u32.to_le_bytes()); // block height
    s.extend_from_slice(&2048u32.to_le_bytes()); // block width
    s.extend_from_slice(&0f64.to_le_bytes()); // abs_error
    s.extend_from_slice(&1f64.to_le_bytes()); // scale
    s.extend_from_slice(&1u32.to_le_bytes()); // tiles
    s.extend_from_slice(&(tile.len() as u32).to_le_bytes());
    s.extend_from_slice(&crc32fast::hash(&tile).to_le_bytes());
    let crc = crc32fast::hash(&s);
    s.extend_from_slice(&crc.to_le_bytes());
    s.extend_from_slice(&tile);
    s
}

#[test]
fn claimed_exceptions_reserve_no_more_than_the_input_allows() {
    let s = stream();
    assert_eq!(s.len(), 1024);
    let base = IN_USE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = decompress(&s, 0);
    assert!(matches!(r, Err(CodecError::Truncated { .. })), "{r:?}");
    let peak = PEAK.load(Ordering::SeqCst) - base;
    // The output this stream claims (16 MiB) plus a little bookkeeping.
    let allowed = (16 << 20) + (1 << 20);
    assert!(peak <= allowed, "decoding a {}-byte stream peaked at {peak} bytes (allowed {allowed})", s.len());
}
