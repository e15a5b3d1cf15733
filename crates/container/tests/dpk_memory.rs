//! Memory of whole-entry decompression: with positional writes (`extract_to_file`, what `daspack decompress`
//! uses) and with an in-order writer (`extract`, stdout), the heap never holds more than a few chunks per thread,
//! whatever the entry's size. Measured by a counting global allocator (this test binary only), on a 96 MiB entry.

use daspack_container::dpk::{Archive, ChunkCodec, EntryOptions, Filters, Writer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

/// `len` bytes of slowly varying int32-like data, generated as they are read (never held whole).
struct Gen {
    pos: u64,
    len: u64,
}

impl Read for Gen {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        for (k, b) in buf[..n].iter_mut().enumerate() {
            let i = self.pos + k as u64;
            *b = if i % 4 < 2 { ((i / 4) % 251 / 3) as u8 } else { 0 };
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Discards what it is given.
struct Sink(u64);
impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SIZE: u64 = 96 << 20;
const CHUNK: u32 = 1 << 20;

/// Peak heap growth, in bytes, while `f` runs.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

#[test]
fn whole_entry_decompression_holds_a_few_chunks_per_thread_not_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.dpk");
    let opts = EntryOptions {
        codec: ChunkCodec::Zstd,
        level: 1,
        filters: Filters { shuffle: true, ..Filters::NONE },
        typesize: Some(4),
        chunk_size: CHUNK,
        ..Default::default()
    };
    let threads = 2;
    let write_peak = peak_during(|| {
        let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut w = Writer::new(f, threads).unwrap();
        w.add_reader("big", Gen { pos: 0, len: SIZE }, &opts).unwrap();
        w.finish().unwrap();
    });
    let a = Archive::open(std::fs::File::open(&path).unwrap()).unwrap();
    let e = a.entry("big").unwrap();
    assert_eq!((e.size, e.chunks.len()), (SIZE, 96));
    // Window of 2 x threads chunks, each held as stored, decoded and filtered copies, plus the pool: bounded by
    // 16 chunks, which is a sixth of the entry.
    let bound = 16 * CHUNK as usize;
    assert!(write_peak < bound, "compression peak {write_peak} bytes");

    let out = dir.path().join("big.out");
    let file = std::fs::File::create(&out).unwrap();
    let peak = peak_during(|| a.extract_to_file(e, &file, 0, threads).unwrap());
    assert!(peak < bound, "extract_to_file peak {peak} bytes for a {SIZE}-byte entry");
    drop(file);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), SIZE);
    // Spot-check the written bytes against the generator.
    let mut back = std::fs::File::open(&out).unwrap();
    let mut head = vec![0u8; 1 << 16];
    back.read_exact(&mut head).unwrap();
    let mut want = vec![0u8; 1 << 16];
    Gen { pos: 0, len: SIZE }.read_exact(&mut want).unwrap();
    assert!(head == want);
    std::fs::remove_file(&out).unwrap();

    let mut sink = Sink(0);
    let peak = peak_during(|| a.extract(e, &mut sink, threads).unwrap());
    assert_eq!(sink.0, SIZE);
    assert!(peak < bound, "extract peak {peak} bytes for a {SIZE}-byte entry");
    let peak = peak_during(|| {
        a.verify_entry(e, 1).unwrap();
    });
    assert!(peak < 4 * CHUNK as usize, "one-thread verify peak {peak} bytes");
}
