//! `.dpk` archives on hostile bytes: opening, every read path (single chunks, byte and row ranges, whole entries,
//! verification) never panics nor allocates more than the input justifies, and the paths agree: a whole entry
//! that extracts has the entry's size and its chunks and ranges give the same bytes. Each input is tried as is and
//! with its CRCs made consistent (fix_dpk_checksums), so that mutations reach the index parser and the decoders.
#![no_main]

use daspack_container::dpk::{Archive, EntryKind};
use daspack_fuzz::fix_dpk_checksums;
use libfuzzer_sys::fuzz_target;

/// Largest chunk the harness decodes.
const MAX_DECODE: u32 = 32 << 20;

fn exercise(data: &[u8]) {
    let Ok(a) = Archive::open(data) else { return };
    assert!(a.committed_end() <= data.len() as u64);
    for e in &a.index().entries {
        // A chunk may legitimately claim up to 2^20 times its stored bytes (DAS): decoding those would exceed the
        // smoke run's 512 MB limit, so such entries are only opened (the index checks ran) and their chunks read.
        if e.chunks.iter().any(|c| c.orig_len > MAX_DECODE) {
            for i in 0..e.chunks.len().min(8) {
                let _ = a.read_stored(e, i);
            }
            continue;
        }
        let whole = {
            let mut v = Vec::new();
            a.extract(e, &mut v, 1).map(|()| v)
        };
        let verified = a.verify_entry(e, 1);
        // Verification also checks an array's `npy` metadata (what rebuilding the .npy needs); extraction of the
        // data bytes does not.
        let metadata_ok = e.kind != EntryKind::Array || a.npy_info(e).is_ok();
        assert_eq!(whole.is_ok() && metadata_ok, verified.is_ok(), "extract and verify disagree on {:?}", e.name);
        if let Ok(bytes) = &whole {
            assert_eq!(bytes.len() as u64, e.size);
            for i in 0..e.chunks.len().min(8) {
                let c = a.read_chunk(e, i).expect("a chunk of a verified entry decodes");
                let start = e.chunk_start(i) as usize;
                assert_eq!(&bytes[start..start + c.len()], &c[..]);
            }
            let (lo, len) = (e.size / 3, e.size / 2);
            let r = a.read_range(e, lo, len).expect("a range of a verified entry decodes");
            assert_eq!(&bytes[lo as usize..(lo + len) as usize], &r[..]);
        } else {
            for i in 0..e.chunks.len().min(8) {
                let _ = a.read_chunk(e, i);
            }
        }
        if e.kind == EntryKind::Array {
            if let Ok(info) = a.npy_info(e) {
                let _ = info.preamble();
                let _ = a.read_rows(e, 0, info.layout_2d().0.min(2));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if let Some(fixed) = fix_dpk_checksums(data) {
        exercise(&fixed);
    }
});
